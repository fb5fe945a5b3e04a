/** Ops over several tensors that are not naturally methods of one: cat, stack, where. */
import { native } from './native.js';
import { Tensor, type TensorOrScalar, handleOf, handlesOf, operand } from './tensor.js';

/** Joins tensors along an existing dimension. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat: expected at least one tensor');
  return new Tensor(native.cat(handlesOf(tensors, 'cat'), dim));
}

/** Joins same-shaped tensors along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack: expected at least one tensor');
  return new Tensor(native.stack(handlesOf(tensors, 'stack'), dim));
}

/** Elementwise choice: a where condition is true, else b (broadcasting). */
export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return new Tensor(native.where(handleOf(condition, 'where'), operand(a, 'where'), operand(b, 'where')));
}
