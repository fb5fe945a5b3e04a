/**
 * The Hessian's curvature measures (issue 40) against an independent
 * computation: on a two-layer tanh network in float64, small enough to hold
 * its 26 x 26 Hessian, built column by column from central differences of
 * first-order gradients. Hessian-vector products match it, power iteration
 * finds its dominant eigenvalues (Jacobi's method on the explicit matrix),
 * Hutchinson's trace lies within four of its own standard errors of the
 * explicit trace, and the model, its gradients, its mode and the generator
 * are as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { hessianCurvature, hessianVectorProduct } from '../../src/train/curvature.js';

class TanhNet extends S.Module {
  first = new S.Linear(3, 4);
  second = new S.Linear(4, 2);
  forward(x: S.Tensor): S.Tensor {
    return this.second.forward(this.first.forward(x).tanh());
  }
}

S.manualSeed(11);
const model = new TanhNet().to({ dtype: 'float64' });
const batch = { x: S.keep(S.randn([6, 3], { dtype: 'float64' }).mul(1.5)), y: S.keep(S.tensor([0, 1, 1, 0, 1, 0], { dtype: 'int64' })) };
const weights = model.parameters();
const flat = (tensors: S.Tensor[]) => tensors.flatMap((t) => Array.from(t.to('float64').data() as Float64Array));
const sizes = weights.map((w) => w.numel);
const P = sizes.reduce((a, b) => a + b, 0);

/** The gradient of the batch's mean cross-entropy, flat, by first-order autograd only. */
function gradient(): number[] {
  return S.scope(() => flat(S.grad(S.crossEntropy(model.forward(batch.x), batch.y), weights).map((g) => g!)));
}

/** The explicit Hessian: column j from the gradient at w_j +- h, symmetrised. */
function explicitHessian(h = 1e-5): number[][] {
  const columns: number[][] = [];
  for (let j = 0; j < P; j++) {
    let k = j;
    const w = weights.find((t, i) => (k < sizes[i]! ? true : ((k -= sizes[i]!), false)))!;
    const base = Array.from(w.data() as Float64Array);
    const gradientAt = (value: number) => {
      const values = [...base];
      values[k] = value;
      S.noGrad(() => S.scope(() => w.copy_(S.tensor(values, { dtype: 'float64' }).view(w.shape))));
      return gradient();
    };
    const plus = gradientAt(base[k]! + h);
    const minus = gradientAt(base[k]! - h);
    S.noGrad(() => S.scope(() => w.copy_(S.tensor(base, { dtype: 'float64' }).view(w.shape))));
    columns.push(plus.map((g, i) => (g - minus[i]!) / (2 * h)));
  }
  return columns.map((col, i) => col.map((v, j) => (v + columns[j]![i]!) / 2));
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (float64). */
function jacobiEigenvalues(matrix: number[][]): number[] {
  const a = matrix.map((row) => [...row]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k]![p]!, a[k]![q]!];
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p]![k]!, a[q]![k]!];
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]!);
}

const H = explicitHessian();
const byMagnitude = jacobiEigenvalues(H).sort((x, y) => Math.abs(y) - Math.abs(x));
const trace = H.reduce((t, row, i) => t + row[i]!, 0);

describe('Hessian-vector products', () => {
  it('match the explicit Hessian times the vector', () => {
    S.manualSeed(5);
    const v = weights.map((w) => S.randn(w.shape, { dtype: 'float64' }));
    const hv = flat(hessianVectorProduct(model, batch, v));
    const vFlat = flat(v);
    const expected = H.map((row) => row.reduce((sum, h, j) => sum + h * vFlat[j]!, 0));
    hv.forEach((x, i) =>
      assert.ok(Math.abs(x - expected[i]!) <= 1e-6 * Math.max(1, Math.abs(expected[i]!)), `entry ${i}: ${x} against ${expected[i]}`),
    );
  });

  it('refuse a vector that is not shaped like the weights, naming what it needs', () => {
    assert.throws(
      () => hessianVectorProduct(model, batch, [S.zeros([3])]),
      /needs one tensor per trainable weight, shaped like it \(4 weights\)/,
    );
  });
});

describe('hessianCurvature', () => {
  it('finds the dominant eigenvalues by power iteration, as Jacobi finds them in the explicit Hessian', () => {
    const result = hessianCurvature(model, [batch], { topEigenvalues: 2, tolerance: 1e-10, maxIterations: 2000, traceSamples: 1 });
    const [first, second] = result.topEigenvalues[0]!;
    assert.ok(Math.abs(first! - byMagnitude[0]!) <= 1e-6 * Math.abs(byMagnitude[0]!), `${first} against ${byMagnitude[0]}`);
    assert.ok(Math.abs(second! - byMagnitude[1]!) <= 1e-5 * Math.abs(byMagnitude[0]!), `${second} against ${byMagnitude[1]}`);
    assert.equal(result.topEigenvalue.perBatch[0], first);
    assert.ok(result.hvps > 2 && result.hvps === result.hvpsPerBatch[0], 'the products are counted');
  });

  it("estimates the trace within four standard errors of Hutchinson's estimator, worked out from the explicit Hessian", () => {
    const samples = 400;
    const result = hessianCurvature(model, [batch], { traceSamples: samples, seed: 3 });
    // Var(v'Hv) for Rademacher v is 2 times the sum of the squared off-diagonal entries.
    const offDiagonal = H.reduce((t, row, i) => t + row.reduce((u, h, j) => u + (i === j ? 0 : h * h), 0), 0);
    const standardError = Math.sqrt((2 * offDiagonal) / samples);
    assert.ok(Math.abs(result.trace.mean - trace) <= 4 * standardError, `${result.trace.mean} against ${trace} (se ${standardError})`);
  });

  it('summarises several batches: per batch, their mean and a t-interval', () => {
    const halves = [0, 3].map((start) => ({ x: batch.x.narrow(0, start, 3), y: batch.y.narrow(0, start, 3) }));
    const result = hessianCurvature(model, halves, { traceSamples: 5 });
    assert.equal(result.topEigenvalue.perBatch.length, 2);
    const [a, b] = result.topEigenvalue.perBatch as [number, number];
    assert.ok(Math.abs(result.topEigenvalue.mean - (a + b) / 2) < 1e-12);
    assert.deepEqual(result.topEigenvalue.interval95, S.describeSample([a, b]).interval95);
    assert.equal(result.sample, 6);
  });

  it('leaves the weights, their gradients, the mode, the generator and the live tensors as they were', () => {
    const before = weights.map((w) => Buffer.from(w.bytes()).toString('hex'));
    model.train(true);
    const state = S.getRngState();
    const expectedDraw = S.rand([4]).toArray();
    S.setRngState(state);
    const live = S.memory().tensors;
    hessianCurvature(model, [batch], { topEigenvalues: 2, traceSamples: 3 });
    assert.equal(S.memory().tensors, live, 'no tensor left alive');
    assert.deepEqual(S.rand([4]).toArray(), expectedDraw, 'the generator as it was');
    assert.deepEqual(
      weights.map((w) => Buffer.from(w.bytes()).toString('hex')),
      before,
    );
    assert.ok(
      weights.every((w) => w.grad === undefined),
      'no gradient left on a weight',
    );
    assert.equal(model.training, true);
    state.dispose();
  });

  it('refuses options it cannot use, and an empty sample, naming each', () => {
    assert.throws(() => hessianCurvature(model, [], {}), /hessianCurvature: the sample holds no batch/);
    assert.throws(
      () => hessianCurvature(model, [batch], { topEigenvalues: 0, tolerance: 2, traceSamples: 1.5 }),
      /topEigenvalues must be an integer from 1 to 20, got 0; traceSamples must be an integer from 1 to 10000, got 1.5; tolerance must be in \(0, 1\), got 2/,
    );
  });
});
