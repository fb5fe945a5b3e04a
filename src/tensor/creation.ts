/**
 * Making tensors: from JavaScript data (`tensor`) and the factories
 * (zeros, ones, full, arange, rand, ...), all with PyTorch's defaults:
 * float32 for floating values, int64 for integer data, the CPU device.
 */
import { type DType, dtypeCode, dtypeOfTypedArray } from './dtype.js';
import { native } from './native.js';
import { type NestedArray, Tensor, handleOf } from './tensor.js';

/** Options of the creation functions: dtype (each function's own default otherwise), device and requiresGrad. */
export interface CreationOptions {
  dtype?: DType;
  /** 'cpu' (the default) or any device libtorch knows, e.g. 'cuda:0' with a CUDA libtorch. */
  device?: string;
  /** Whether autograd records operations on the new tensor, as requiresGrad_() (default false). */
  requiresGrad?: boolean;
}

/** Options of `tensor()`: CreationOptions plus the shape. */
export interface TensorOptions extends CreationOptions {
  /** The shape of a flat typed array or array (default: inferred). */
  shape?: number[];
}

/** Checks that shape is an array of non-negative integers and returns it; throws a TypeError or RangeError naming op. */
export function checkShape(shape: unknown, op: string): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: the shape must be an array of sizes, got ${typeof shape}`);
  for (const size of shape) {
    if (typeof size !== 'number' || !Number.isInteger(size)) {
      throw new TypeError(`${op}: shape [${shape.join(', ')}] holds a non-integer size`);
    }
    if (size < 0) throw new RangeError(`${op}: shape [${shape.join(', ')}] holds a negative size`);
  }
  return shape as number[];
}

function finish(t: Tensor, options: CreationOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function code(options: CreationOptions, fallback: DType): number {
  return dtypeCode(options.dtype ?? fallback);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0]!;
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new RangeError('tensor: nested arrays are ragged (sub-arrays differ in length)');
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TypeError(`tensor: elements must be numbers or booleans, got ${typeof data}`);
    }
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new RangeError('tensor: nested arrays are ragged (sub-arrays differ in length)');
  }
  for (const item of data) flattenNested(item, shape, out, depth + 1);
}

function firstLeaf(data: NestedArray): NestedArray | undefined {
  let level: NestedArray | undefined = data;
  while (Array.isArray(level)) level = level[0];
  return level;
}

/**
 * A tensor from a number, nested arrays, or a typed array (with options.shape,
 * or 1-d). Like torch.tensor, integer data becomes int64, other numbers
 * float32 and booleans bool, unless options.dtype says otherwise.
 */
export function tensor(data: NestedArray | ArrayBufferView, options: TensorOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const source = dtypeOfTypedArray(data);
    if (source === undefined) throw new TypeError(`tensor: unsupported typed array ${data.constructor.name}`);
    const length = (data as unknown as { length: number }).length;
    const shape = checkShape(options.shape ?? [length], 'tensor');
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== length) {
      throw new RangeError(`tensor: ${length} values do not fill shape [${shape.join(', ')}] (${numel} elements)`);
    }
    const raw = new Tensor(native.fromBuffer(data, shape, dtypeCode(source), options.device));
    return finish(convert(raw, options.dtype), options);
  }
  const shape = inferShape(data);
  const values: number[] = [];
  flattenNested(data, shape, values);
  const leaf = firstLeaf(data);
  const inferred: DType =
    typeof leaf === 'boolean' ? 'bool' : values.every((v) => Number.isInteger(v)) && values.length > 0 ? 'int64' : 'float32';
  const target = options.dtype ?? inferred;
  const finalShape = options.shape === undefined ? shape : checkShape(options.shape, 'tensor');
  const raw = new Tensor(native.fromBuffer(new Float64Array(values), finalShape, dtypeCode('float64'), options.device));
  return finish(convert(raw, target), options);
}

function convert(t: Tensor, dtype: DType | undefined): Tensor {
  if (dtype === undefined || dtype === t.dtype) return t;
  const converted = t.to(dtype);
  t.dispose();
  return converted;
}

/** A scalar (0-d) tensor. */
export function scalarTensor(value: number, options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.full([], value, code(options, 'float32'), options.device)), options);
}

/** A tensor of zeros, float32 unless options.dtype says otherwise, as torch.zeros. */
export function zeros(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.zeros(checkShape(shape, 'zeros'), code(options, 'float32'), options.device)), options);
}

/** A tensor of ones, float32 unless options.dtype says otherwise, as torch.ones. */
export function ones(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.ones(checkShape(shape, 'ones'), code(options, 'float32'), options.device)), options);
}

/** Uninitialised memory: fast, for tensors that are about to be overwritten. */
export function empty(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.empty(checkShape(shape, 'empty'), code(options, 'float32'), options.device)), options);
}

/** A tensor filled with value: float32 unless options.dtype says otherwise (bool for a boolean). */
export function full(shape: number[], value: number | boolean, options: CreationOptions = {}): Tensor {
  // JS cannot tell 2 from 2.0, so unlike torch.full an integral value does not imply int64.
  const fallback: DType = typeof value === 'boolean' ? 'bool' : 'float32';
  return finish(new Tensor(native.full(checkShape(shape, 'full'), value, code(options, fallback), options.device)), options);
}

/** Values from start (inclusive) to end (exclusive) by step; arange(n) counts 0..n-1. */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError('arange: step must not be zero');
  const integral = [from, to, step].every((v) => Number.isInteger(v));
  return finish(new Tensor(native.arange(from, to, step, code(options, integral ? 'int64' : 'float32'), options.device)), options);
}

/** steps values evenly spaced from start to end, both included (float32 by default), as torch.linspace. */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError('linspace: steps must be a non-negative integer');
  return finish(new Tensor(native.linspace(start, end, steps, code(options, 'float32'), options.device)), options);
}

/** An n x m matrix (m defaults to n) with ones on the diagonal, float32 by default, as torch.eye. */
export function eye(n: number, m: number = n, options: CreationOptions = {}): Tensor {
  checkShape([n, m], 'eye');
  return finish(new Tensor(native.eye(n, m, code(options, 'float32'), options.device)), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.rand(checkShape(shape, 'rand'), code(options, 'float32'), options.device)), options);
}

/** Standard normal samples. */
export function randn(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.randn(checkShape(shape, 'randn'), code(options, 'float32'), options.device)), options);
}

/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: number[], options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: need integers low < high, got ${low} and ${high}`);
  }
  return finish(new Tensor(native.randint(low, high, checkShape(shape, 'randint'), code(options, 'int64'), options.device)), options);
}

/** A random permutation of 0..n-1. */
export function randperm(n: number, options: CreationOptions = {}): Tensor {
  checkShape([n], 'randperm');
  return finish(new Tensor(native.randperm(n, code(options, 'int64'), options.device)), options);
}

/** Zeros of like's shape, on like's device and in its dtype unless options.dtype says otherwise, as torch.zeros_like. */
export function zerosLike(like: Tensor, options: CreationOptions = {}): Tensor {
  const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
  return finish(new Tensor(native.zerosLike(handleOf(like, 'zerosLike'), dtype)), options);
}

/** Ones of like's shape, on like's device and in its dtype unless options.dtype says otherwise, as torch.ones_like. */
export function onesLike(like: Tensor, options: CreationOptions = {}): Tensor {
  const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
  return finish(new Tensor(native.onesLike(handleOf(like, 'onesLike'), dtype)), options);
}

/** value in like's shape, on like's device and in its dtype unless options.dtype says otherwise, as torch.full_like. */
export function fullLike(like: Tensor, value: number | boolean, options: CreationOptions = {}): Tensor {
  const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
  return finish(new Tensor(native.fullLike(handleOf(like, 'fullLike'), value, dtype)), options);
}

/** A tensor from raw little-endian bytes of the given dtype (the inverse of Tensor.bytes()). */
export function fromBytes(bytes: Uint8Array, shape: number[], dtype: DType, options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.fromBuffer(bytes, checkShape(shape, 'fromBytes'), dtypeCode(dtype), options.device)), options);
}
