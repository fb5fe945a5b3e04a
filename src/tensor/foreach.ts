/**
 * libtorch's multi-tensor (_foreach_) kernels: one native call updates a whole
 * list of tensors, which keeps an optimizer step to a handful of calls.
 */
import { native } from './native.js';
import { Tensor, handlesOf } from './tensor.js';

function lists(op: string, ...groups: readonly Tensor[][]) {
  const length = groups[0]!.length;
  for (const group of groups) {
    if (group.length !== length) throw new RangeError(`${op}: the tensor lists differ in length`);
  }
  return groups.map((group) => handlesOf(group, op));
}

/** self[i] += alpha * other[i], or self[i] += scalar. */
export function foreachAdd_(self: Tensor[], other: Tensor[] | number, alpha?: number): void {
  if (typeof other === 'number') native.foreachAdd_(handlesOf(self, 'foreachAdd_'), other);
  else {
    const [a, b] = lists('foreachAdd_', self, other);
    native.foreachAdd_(a!, b!, alpha);
  }
}

/** [self[i] + alpha * other[i]] as new tensors. */
export function foreachAdd(self: Tensor[], other: Tensor[], alpha = 1): Tensor[] {
  const [a, b] = lists('foreachAdd', self, other);
  return native.foreachAdd(a!, b!, alpha).map((h) => new Tensor(h!));
}

/** self[i] *= other[i], or self[i] *= scalar (torch._foreach_mul_). */
export function foreachMul_(self: Tensor[], other: Tensor[] | number): void {
  if (typeof other === 'number') native.foreachMul_(handlesOf(self, 'foreachMul_'), other);
  else {
    const [a, b] = lists('foreachMul_', self, other);
    native.foreachMul_(a!, b!);
  }
}

/** self[i] /= other[i], or self[i] /= scalar (torch._foreach_div_). */
export function foreachDiv_(self: Tensor[], other: Tensor[] | number): void {
  if (typeof other === 'number') native.foreachDiv_(handlesOf(self, 'foreachDiv_'), other);
  else {
    const [a, b] = lists('foreachDiv_', self, other);
    native.foreachDiv_(a!, b!);
  }
}

/** self[i] += value * t1[i] * t2[i] */
export function foreachAddcmul_(self: Tensor[], t1: Tensor[], t2: Tensor[], value = 1): void {
  const [a, b, c] = lists('foreachAddcmul_', self, t1, t2);
  native.foreachAddcmul_(a!, b!, c!, value);
}

/** self[i] += value * t1[i] / t2[i] */
export function foreachAddcdiv_(self: Tensor[], t1: Tensor[], t2: Tensor[], value = 1): void {
  const [a, b, c] = lists('foreachAddcdiv_', self, t1, t2);
  native.foreachAddcdiv_(a!, b!, c!, value);
}

/** Fills every tensor of self with zeros (torch._foreach_zero_). */
export function foreachZero_(self: Tensor[]): void {
  native.foreachZero_(handlesOf(self, 'foreachZero_'));
}

/** self[i].copy_(source[i]) for each i (as torch._foreach_copy_). */
export function foreachCopy_(self: Tensor[], source: Tensor[]): void {
  const [a, b] = lists('foreachCopy_', self, source);
  native.foreachCopy_(a!, b!);
}

/** [sqrt(self[i])] as new tensors (torch._foreach_sqrt). */
export function foreachSqrt(self: Tensor[]): Tensor[] {
  return native.foreachSqrt(handlesOf(self, 'foreachSqrt')).map((h) => new Tensor(h));
}

/** self[i] = max(self[i], other[i]) elementwise. */
export function foreachMaximum_(self: Tensor[], other: Tensor[]): void {
  const [a, b] = lists('foreachMaximum_', self, other);
  native.foreachMaximum_(a!, b!);
}

/** The p-norm of each tensor, as 0-d tensors. */
export function foreachNorm(self: Tensor[], p = 2): Tensor[] {
  return native.foreachNorm(handlesOf(self, 'foreachNorm'), p).map((h) => new Tensor(h!));
}
