/** Shared test helpers: approximate comparison and finite-difference gradient checks. */
import assert from 'node:assert/strict';

import { type NestedArray, Tensor, noGrad, scope, tensor } from '../src/index.js';

/** Asserts that two nested arrays of numbers agree within tol. */
export function assertClose(actual: NestedArray | Tensor, expected: NestedArray, tol = 1e-5, path = ''): void {
  const value = actual instanceof Tensor ? actual.toArray() : actual;
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(value), `${path}: expected an array, got ${JSON.stringify(value)}`);
    assert.equal(value.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose((value as NestedArray[])[i]!, e, tol, `${path}[${i}]`));
    return;
  }
  const a = Number(value);
  const e = Number(expected);
  if (Number.isNaN(e)) {
    assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    return;
  }
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${path}: ${a} differs from ${e} by more than ${tol}`);
}

/**
 * Compares autograd's gradient of sum(f(inputs) * weights) with central finite
 * differences, in float64, for every element of every input.
 */
export function gradcheck(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6, tol = 1e-5): void {
  scope(() => {
    const leaves = inputs.map((t) => t.to({ dtype: 'float64', copy: true }).requiresGrad_(true));
    const out0 = f(...leaves);
    // Random weights make every output element matter to the checked scalar.
    const weights = tensor(Array.from({ length: out0.numel }, (_, i) => 0.5 + ((i * 7919) % 13) / 13), {
      dtype: 'float64',
      shape: out0.shape,
    });
    out0.mul(weights).sum().backward();
    leaves.forEach((leaf, k) => {
      const analytic = leaf.grad!.data() as Float64Array;
      const values = leaf.detach().data() as Float64Array;
      for (let i = 0; i < values.length; i++) {
        const numeric = noGrad(() => {
          const at = (delta: number) => {
            const shifted = Float64Array.from(values);
            shifted[i]! += delta;
            const args = leaves.map((l, j) =>
              j === k ? tensor(shifted, { dtype: 'float64', shape: l.shape }) : l.detach(),
            );
            return f(...args).mul(weights).sum().item();
          };
          return (at(eps) - at(-eps)) / (2 * eps);
        });
        const a = analytic[i]!;
        assert.ok(
          Math.abs(a - numeric) <= tol * Math.max(1, Math.abs(numeric)),
          `input ${k} element ${i}: autograd ${a} vs finite difference ${numeric}`,
        );
      }
    });
  });
}
