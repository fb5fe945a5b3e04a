/**
 * The Tensor class: a typed handle to one libtorch tensor, with PyTorch's
 * method names. Methods that make a new tensor return a new Tensor (tracked by
 * the enclosing scope); methods ending in `_` update in place and return this.
 */
import { inspect } from 'node:util';

import { type AnyTypedArray, type DType, dtypeCode, dtypeName, viewBuffer } from './dtype.js';
import { ScopedResource, insideScope } from './memory.js';
import { type NativeHandle, native } from './native.js';

/** A memory layout: 'contiguous' is row-major, 'channelsLast' is NHWC in memory (as torch.contiguous_format, torch.channels_last). */
export type MemoryFormat = 'contiguous' | 'channelsLast';
/** A number or boolean, passed to libtorch as a scalar operand. */
export type Scalar = number | boolean;
/** An operand that is a tensor or a scalar, as PyTorch ops take a tensor or a Python number. */
export type TensorOrScalar = Tensor | Scalar;

/** A nested array of numbers or booleans, as `toArray()` returns it. */
export type NestedArray = number | boolean | NestedArray[];

/** Options of `Tensor.to`: the target dtype and/or device (e.g. 'cpu', 'cuda:0'). */
export interface ToOptions {
  dtype?: DType;
  device?: string;
  /** Always copy, even when dtype and device already match. */
  copy?: boolean;
}

/** Options of the reductions (sum, mean, max, ...). */
export interface ReduceOptions {
  /** Keep each reduced dimension with size 1 (default false), as PyTorch's keepdim. */
  keepdim?: boolean;
}

/** Options of `std` and `var`: ReduceOptions plus Bessel's correction. */
export interface VarianceOptions extends ReduceOptions {
  /** Bessel's correction: true (the default) divides by N-1, false by N. */
  unbiased?: boolean;
}

/** Options of `Tensor.backward`, as PyTorch's retain_graph and create_graph (both default false). */
export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
}

/** The native operand for a tensor-or-number argument. */
export function operand(value: TensorOrScalar, op: string): NativeHandle | Scalar {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return handleOf(value, op);
}

/** The native handle of a tensor argument, with a TypeError for anything else. */
export function handleOf(value: Tensor, op: string): NativeHandle {
  if (!(value instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${describe(value)}`);
  return value.handle;
}

/** The native handles of an array of tensors, with a TypeError for a non-array or any element that is not a Tensor. */
export function handlesOf(values: readonly Tensor[], op: string): NativeHandle[] {
  if (!Array.isArray(values)) throw new TypeError(`${op}: expected an array of Tensors, got ${describe(values)}`);
  return values.map((value) => handleOf(value, op));
}

function dims(dim: number | number[] | undefined): number[] | undefined {
  if (dim === undefined) return undefined;
  return Array.isArray(dim) ? dim : [dim];
}

/**
 * A handle to one libtorch tensor with PyTorch's method names, as torch.Tensor. Made inside `scope()`, it is freed when the scope
 * returns (unless returned or kept); otherwise it lives until `dispose()` or garbage collection.
 */
export class Tensor extends ScopedResource {
  #handle: NativeHandle;
  #disposed = false;
  /** Whether the GC frees the native tensor with this object (native.track). */
  #tracked = false;
  #shape: number[] | undefined;
  #dtype: DType | undefined;

  /** Wraps a native handle; users make tensors with the creation functions. */
  constructor(handle: NativeHandle) {
    super();
    this.#handle = handle;
    if (!insideScope()) this.escapeScopes();
  }

  /** The native handle, for the library's own modules. */
  get handle(): NativeHandle {
    return this.#handle;
  }

  // ---- inspection -------------------------------------------------------

  get shape(): number[] {
    this.#shape ??= native.shape(this.#handle);
    return [...this.#shape];
  }

  get ndim(): number {
    this.#shape ??= native.shape(this.#handle);
    return this.#shape.length;
  }

  get dtype(): DType {
    this.#dtype ??= dtypeName(native.dtype(this.#handle));
    return this.#dtype;
  }

  get device(): string {
    return native.device(this.#handle);
  }

  get numel(): number {
    return native.numel(this.#handle);
  }

  get strides(): number[] {
    return native.strides(this.#handle);
  }

  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    const shape = this.shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) {
      throw new RangeError(`size: dimension ${dim} is out of range for a ${shape.length}-d tensor`);
    }
    return shape[d]!;
  }

  /** Whether the elements lie densely in the given memory format (default 'contiguous'), as torch.Tensor.is_contiguous. */
  isContiguous(memoryFormat: MemoryFormat = 'contiguous'): boolean {
    return native.isContiguous(this.#handle, memoryFormat === 'channelsLast');
  }

  /** A copy of the elements in row-major order (half types as float32, int64 as BigInt64Array). */
  data(): AnyTypedArray {
    return viewBuffer(native.toBuffer(this.#handle), this.dtype);
  }

  /** The elements' raw little-endian bytes in row-major order, in the tensor's own dtype (for serialisation). */
  bytes(): Uint8Array {
    return new Uint8Array(native.toBuffer(this.#handle, true));
  }

  /** The single element as a number. */
  item(): number {
    return native.item(this.#handle);
  }

  /** The elements as nested arrays of numbers (booleans for a bool tensor). */
  toArray(): NestedArray {
    const values = this.data();
    const isBool = this.dtype === 'bool';
    const read = (i: number): number | boolean => {
      const v = values[i]!;
      return isBool ? v !== 0 : Number(v);
    };
    const shape = this.shape;
    if (shape.length === 0) return read(0);
    let offset = 0;
    const build = (depth: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[depth]!; i++) {
        out.push(depth === shape.length - 1 ? read(offset++) : build(depth + 1));
      }
      return out;
    };
    return build(0);
  }

  override toString(): string {
    if (this.#disposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})\n${native.format(this.#handle)}`;
  }

  /** Node's util.inspect hook: console.log shows `toString()`, values included. */
  [inspect.custom](): string {
    return this.toString();
  }

  // ---- lifetime -----------------------------------------------------------

  /** Frees the native tensor now; calling it again does nothing. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#tracked) native.dispose(this.#handle, this);
    else native.dispose(this.#handle);
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  escapeScopes(): void {
    if (this.#disposed || this.#tracked) return;
    this.#tracked = true;
    native.track(this, this.#handle);
  }

  // ---- elementwise math ---------------------------------------------------

  /** this + alpha * other (alpha defaults to 1), broadcasting, as torch.add. */
  add(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(native.add(this.#handle, operand(other, 'add'), alpha));
  }
  /** this - alpha * other (alpha defaults to 1), broadcasting, as torch.sub. */
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(native.sub(this.#handle, operand(other, 'sub'), alpha));
  }
  /** Elementwise product with a tensor (broadcasting) or a scalar, as torch.mul. */
  mul(other: TensorOrScalar): Tensor {
    return new Tensor(native.mul(this.#handle, operand(other, 'mul')));
  }
  /** Elementwise true division by a tensor (broadcasting) or a scalar, as torch.div. */
  div(other: TensorOrScalar): Tensor {
    return new Tensor(native.div(this.#handle, operand(other, 'div')));
  }
  /** Elementwise power by a tensor (broadcasting) or a scalar exponent, as torch.pow. */
  pow(exponent: TensorOrScalar): Tensor {
    return new Tensor(native.pow(this.#handle, operand(exponent, 'pow')));
  }
  /** Elementwise remainder with the sign of the divisor (Python's %), as torch.remainder. */
  remainder(other: TensorOrScalar): Tensor {
    return new Tensor(native.remainder(this.#handle, operand(other, 'remainder')));
  }
  /** Elementwise maximum of two tensors (broadcasting), as torch.maximum. */
  maximum(other: Tensor): Tensor {
    return new Tensor(native.maximum(this.#handle, handleOf(other, 'maximum')));
  }
  /** Elementwise minimum of two tensors (broadcasting), as torch.minimum. */
  minimum(other: Tensor): Tensor {
    return new Tensor(native.minimum(this.#handle, handleOf(other, 'minimum')));
  }
  /** Matrix product, with broadcast batch dimensions, as torch.matmul. */
  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.#handle, handleOf(other, 'matmul')));
  }
  /** Elementwise negation, as torch.neg. */
  neg(): Tensor {
    return new Tensor(native.neg(this.#handle));
  }
  /** Elementwise absolute value, as torch.abs. */
  abs(): Tensor {
    return new Tensor(native.abs(this.#handle));
  }
  /** Elementwise e^x, as torch.exp. */
  exp(): Tensor {
    return new Tensor(native.exp(this.#handle));
  }
  /** Elementwise natural logarithm, as torch.log. */
  log(): Tensor {
    return new Tensor(native.log(this.#handle));
  }
  /** Elementwise square root, as torch.sqrt. */
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.#handle));
  }
  /** Elementwise 1 / sqrt(x), as torch.rsqrt. */
  rsqrt(): Tensor {
    return new Tensor(native.rsqrt(this.#handle));
  }
  /** Elementwise x * x, as torch.square. */
  square(): Tensor {
    return new Tensor(native.square(this.#handle));
  }
  /** Elementwise sign (-1, 0 or 1), as torch.sign. */
  sign(): Tensor {
    return new Tensor(native.sign(this.#handle));
  }
  /** Elementwise rounding down, as torch.floor. */
  floor(): Tensor {
    return new Tensor(native.floor(this.#handle));
  }
  /** Elementwise logistic sigmoid 1 / (1 + e^-x), as torch.sigmoid. */
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.#handle));
  }
  /** Elementwise hyperbolic tangent, as torch.tanh. */
  tanh(): Tensor {
    return new Tensor(native.tanh(this.#handle));
  }
  /** Elementwise max(x, 0), as torch.relu. */
  relu(): Tensor {
    return new Tensor(native.relu(this.#handle));
  }
  /** Elementwise x for x >= 0, else negativeSlope * x (default 0.01), as F.leaky_relu. */
  leakyRelu(negativeSlope = 0.01): Tensor {
    return new Tensor(native.leakyRelu(this.#handle, negativeSlope));
  }
  /** Elementwise GELU, exact ('none', the default) or with the tanh approximation, as F.gelu. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return new Tensor(native.gelu(this.#handle, approximate));
  }
  /** Clamps each element into [min, max]; either bound may be left out, not both. As torch.clamp. */
  clamp(min?: number, max?: number): Tensor {
    if (min === undefined && max === undefined) throw new TypeError('clamp: give min, max or both');
    return new Tensor(native.clamp(this.#handle, min, max));
  }
  /** A bool tensor, true where an element is NaN, as torch.isnan. */
  isnan(): Tensor {
    return new Tensor(native.isnan(this.#handle));
  }
  /** A bool tensor, true where an element is neither infinite nor NaN, as torch.isfinite. */
  isfinite(): Tensor {
    return new Tensor(native.isfinite(this.#handle));
  }
  /** A bool tensor, true where an element is zero (or false), as torch.logical_not. */
  logicalNot(): Tensor {
    return new Tensor(native.logicalNot(this.#handle));
  }

  // ---- comparisons ---------------------------------------------------------

  /** Elementwise this == other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.eq. */
  eq(other: TensorOrScalar): Tensor {
    return new Tensor(native.eq(this.#handle, operand(other, 'eq')));
  }
  /** Elementwise this != other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.ne. */
  ne(other: TensorOrScalar): Tensor {
    return new Tensor(native.ne(this.#handle, operand(other, 'ne')));
  }
  /** Elementwise this < other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.lt. */
  lt(other: TensorOrScalar): Tensor {
    return new Tensor(native.lt(this.#handle, operand(other, 'lt')));
  }
  /** Elementwise this <= other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.le. */
  le(other: TensorOrScalar): Tensor {
    return new Tensor(native.le(this.#handle, operand(other, 'le')));
  }
  /** Elementwise this > other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.gt. */
  gt(other: TensorOrScalar): Tensor {
    return new Tensor(native.gt(this.#handle, operand(other, 'gt')));
  }
  /** Elementwise this >= other (a tensor, broadcasting, or a scalar) as a bool tensor, as torch.ge. */
  ge(other: TensorOrScalar): Tensor {
    return new Tensor(native.ge(this.#handle, operand(other, 'ge')));
  }
  /** True when every element is within atol + rtol * |other| (like torch.allclose). */
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8, equalNan = false): boolean {
    return native.allclose(this.#handle, handleOf(other, 'allclose'), rtol, atol, equalNan);
  }

  // ---- reductions ----------------------------------------------------------

  /** The sum of all elements, or over dim(s); options.dtype casts the input first (torch.sum's dtype). As torch.sum. */
  sum(dim?: number | number[], options: ReduceOptions & { dtype?: DType } = {}): Tensor {
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return new Tensor(native.sum(this.#handle, dims(dim), options.keepdim ?? false, dtype));
  }
  /** The mean of all elements, or over dim(s), as torch.mean. */
  mean(dim?: number | number[], options: ReduceOptions = {}): Tensor {
    return new Tensor(native.mean(this.#handle, dims(dim), options.keepdim ?? false));
  }
  /** The largest element, or the largest along dim (values only; argmax gives indices). */
  max(dim?: number, options: ReduceOptions = {}): Tensor {
    return new Tensor(native.max(this.#handle, dim, options.keepdim ?? false));
  }
  /** The smallest element, or the smallest along dim (values only; argmin gives indices). */
  min(dim?: number, options: ReduceOptions = {}): Tensor {
    return new Tensor(native.min(this.#handle, dim, options.keepdim ?? false));
  }
  /** The index of the largest element (in the flattened tensor when dim is left out), or indices along dim, as torch.argmax. */
  argmax(dim?: number, options: ReduceOptions = {}): Tensor {
    return new Tensor(native.argmax(this.#handle, dim, options.keepdim ?? false));
  }
  /** The index of the smallest element (in the flattened tensor when dim is left out), or indices along dim, as torch.argmin. */
  argmin(dim?: number, options: ReduceOptions = {}): Tensor {
    return new Tensor(native.argmin(this.#handle, dim, options.keepdim ?? false));
  }
  /** The standard deviation of all elements, or over dim(s), with Bessel's correction unless options.unbiased is false. As torch.std. */
  std(dim?: number | number[], options: VarianceOptions = {}): Tensor {
    const correction = (options.unbiased ?? true) ? 1 : 0;
    return new Tensor(native.std(this.#handle, dims(dim), correction, options.keepdim ?? false));
  }
  /** The variance of all elements, or over dim(s), with Bessel's correction unless options.unbiased is false. As torch.var. */
  var(dim?: number | number[], options: VarianceOptions = {}): Tensor {
    const correction = (options.unbiased ?? true) ? 1 : 0;
    return new Tensor(native.var(this.#handle, dims(dim), correction, options.keepdim ?? false));
  }
  /** The p-norm (default 2) of all elements, or over dim(s), as torch.norm. */
  norm(p = 2, dim?: number | number[], options: ReduceOptions = {}): Tensor {
    return new Tensor(native.norm(this.#handle, p, dims(dim), options.keepdim ?? false));
  }

  // ---- shape -----------------------------------------------------------------

  /** The elements in a new shape (one size may be -1): a view where the strides allow, else a copy. As torch.reshape. */
  reshape(shape: number[]): Tensor {
    return new Tensor(native.reshape(this.#handle, shape));
  }
  /** A view with a new shape; fails where the strides do not allow one (use reshape). */
  view(shape: number[]): Tensor {
    return new Tensor(native.view(this.#handle, shape));
  }
  /** Merges dimensions startDim..endDim (default all) into one, as torch.flatten. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(native.flatten(this.#handle, startDim, endDim));
  }
  /** Removes dimensions of size 1: every one, or only dim. As torch.squeeze. */
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.#handle, dim));
  }
  /** Inserts a dimension of size 1 at dim, as torch.unsqueeze. */
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.#handle, dim));
  }
  /** A view with the dimensions reordered as dims, as torch.permute. */
  permute(dims: number[]): Tensor {
    return new Tensor(native.permute(this.#handle, dims));
  }
  /** A view with dimensions dim0 and dim1 swapped, as torch.transpose. */
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native.transpose(this.#handle, dim0, dim1));
  }
  /** The tensor laid out densely in the given memory format (channelsLast = NHWC in memory). */
  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor {
    return new Tensor(native.contiguous(this.#handle, memoryFormat === 'channelsLast'));
  }
  /** A view of length elements from start along dim, as torch.narrow. */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.#handle, dim, start, length));
  }
  /** A view of the slice at index along dim, without that dimension, as torch.select. */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.#handle, dim, index));
  }
  /** A copy of the entries along dim at the positions in index (a 1-d integer tensor), as torch.index_select. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.#handle, dim, handleOf(index, 'indexSelect')));
  }
  /** The values along dim at the positions in index (an int64 tensor), as torch.gather. */
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.#handle, dim, handleOf(index, 'gather')));
  }
  /** A view broadcast to shape without copying (-1 keeps a size), as torch.Tensor.expand. */
  expand(shape: number[]): Tensor {
    return new Tensor(native.expand(this.#handle, shape));
  }
  /** A copy tiled repeats[i] times along each dimension, as torch.Tensor.repeat. */
  repeat(repeats: number[]): Tensor {
    return new Tensor(native.repeat(this.#handle, repeats));
  }
  /** A copy with the order of elements reversed along dims, as torch.flip. */
  flip(dims: number[]): Tensor {
    return new Tensor(native.flip(this.#handle, dims));
  }
  /** Constant padding; pads lists (before, after) pairs from the last dimension backwards, as F.pad. */
  pad(pads: number[], value = 0): Tensor {
    return new Tensor(native.pad(this.#handle, pads, value));
  }

  // ---- conversion --------------------------------------------------------------

  /** Converts dtype and/or device; returns a new handle (sharing storage when nothing changes, unless copy). */
  to(target: DType | ToOptions): Tensor {
    const options: ToOptions = typeof target === 'string' ? { dtype: target } : target;
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return new Tensor(native.to(this.#handle, dtype, options.device, options.copy ?? false));
  }
  /** The tensor as float32: shorthand for `to('float32')`. */
  float(): Tensor {
    return this.to('float32');
  }
  /** A copy with its own storage (recorded by autograd), as torch.clone. */
  clone(): Tensor {
    return new Tensor(native.clone(this.#handle));
  }

  // ---- in place ------------------------------------------------------------------

  /** In place: this += alpha * other (alpha defaults to 1); returns this. As torch.Tensor.add_. */
  add_(other: TensorOrScalar, alpha?: number): this {
    native.add_(this.#handle, operand(other, 'add_'), alpha);
    return this;
  }
  /** In place: this -= alpha * other (alpha defaults to 1); returns this. As torch.Tensor.sub_. */
  sub_(other: TensorOrScalar, alpha?: number): this {
    native.sub_(this.#handle, operand(other, 'sub_'), alpha);
    return this;
  }
  /** In place: this *= other (a tensor or a scalar); returns this. As torch.Tensor.mul_. */
  mul_(other: TensorOrScalar): this {
    native.mul_(this.#handle, operand(other, 'mul_'));
    return this;
  }
  /** In place: this /= other (a tensor or a scalar); returns this. As torch.Tensor.div_. */
  div_(other: TensorOrScalar): this {
    native.div_(this.#handle, operand(other, 'div_'));
    return this;
  }
  /** In place: this += value * tensor1 * tensor2 (value defaults to 1); returns this. As torch.Tensor.addcmul_. */
  addcmul_(tensor1: Tensor, tensor2: Tensor, value = 1): this {
    native.addcmul_(this.#handle, handleOf(tensor1, 'addcmul_'), handleOf(tensor2, 'addcmul_'), value);
    return this;
  }
  /** In place: this += value * tensor1 / tensor2 (value defaults to 1); returns this. As torch.Tensor.addcdiv_. */
  addcdiv_(tensor1: Tensor, tensor2: Tensor, value = 1): this {
    native.addcdiv_(this.#handle, handleOf(tensor1, 'addcdiv_'), handleOf(tensor2, 'addcdiv_'), value);
    return this;
  }
  /** In place: copies source's values into this tensor (broadcasting, converting dtype and device); returns this. As torch.Tensor.copy_. */
  copy_(source: Tensor): this {
    native.copy_(this.#handle, handleOf(source, 'copy_'));
    return this;
  }
  /** In place: fills with zeros; returns this. As torch.Tensor.zero_. */
  zero_(): this {
    native.zero_(this.#handle);
    return this;
  }
  /** In place: fills with value; returns this. As torch.Tensor.fill_. */
  fill_(value: Scalar): this {
    native.fill_(this.#handle, value);
    return this;
  }
  /** In place: clamps each element into [min, max] (either bound may be left out, not both); returns this. As torch.Tensor.clamp_. */
  clamp_(min?: number, max?: number): this {
    if (min === undefined && max === undefined) throw new TypeError('clamp_: give min, max or both');
    native.clamp_(this.#handle, min, max);
    return this;
  }
  /** In place: fills with uniform samples in [low, high) (default [0, 1)); returns this. As torch.Tensor.uniform_. */
  uniform_(low = 0, high = 1): this {
    native.uniform_(this.#handle, low, high);
    return this;
  }
  /** In place: fills with normal samples of the given mean and std (default 0 and 1); returns this. As torch.Tensor.normal_. */
  normal_(mean = 0, std = 1): this {
    native.normal_(this.#handle, mean, std);
    return this;
  }

  // ---- autograd ------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.#handle);
  }
  set requiresGrad(flag: boolean) {
    native.requiresGrad_(this.#handle, flag);
  }
  /** Sets whether autograd records operations on this tensor (default true); returns this. As torch.Tensor.requires_grad_. */
  requiresGrad_(flag = true): this {
    native.requiresGrad_(this.#handle, flag);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.#handle);
  }
  /** The accumulated gradient as a new handle, or undefined before any backward pass. */
  get grad(): Tensor | undefined {
    const g = native.grad(this.#handle);
    return g === undefined ? undefined : new Tensor(g);
  }
  set grad(value: Tensor | undefined) {
    native.setGrad(this.#handle, value === undefined ? undefined : handleOf(value, 'grad'));
  }
  /** Accumulates d(this)/d(leaf) into every leaf's .grad; a non-scalar needs `gradient`. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    const g = gradient === undefined ? undefined : handleOf(gradient, 'backward');
    native.backward(this.#handle, g, options.retainGraph ?? false, options.createGraph ?? false);
  }
  /**
   * Swaps in another tensor's data (shape, dtype, device, memory format) while
   * this tensor keeps its identity and requiresGrad: how a module moves its
   * parameters, like PyTorch's `param.data = ...`.
   */
  setData_(source: Tensor): this {
    native.setData(this.#handle, handleOf(source, 'setData_'));
    this.#shape = undefined;
    this.#dtype = undefined;
    return this;
  }

  /** The same values, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.#handle));
  }
}
