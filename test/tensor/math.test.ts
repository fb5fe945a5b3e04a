import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose } from '../helpers.js';

const a = () =>
  S.tensor(
    [
      [1, -2, 3],
      [-4, 5, -6],
    ],
    { dtype: 'float32' },
  );

describe('elementwise math', () => {
  it('adds, subtracts, multiplies and divides with broadcasting and scalars', () => {
    const row = S.tensor([10, 20, 30], { dtype: 'float32' });
    assert.deepEqual(a().add(row).toArray(), [
      [11, 18, 33],
      [6, 25, 24],
    ]);
    assert.deepEqual(a().add(row, 2).toArray(), [
      [21, 38, 63],
      [16, 45, 54],
    ]);
    assert.deepEqual(a().sub(1).toArray(), [
      [0, -3, 2],
      [-5, 4, -7],
    ]);
    assert.deepEqual(a().mul(row).toArray(), [
      [10, -40, 90],
      [-40, 100, -180],
    ]);
    assert.deepEqual(a().div(2).toArray(), [
      [0.5, -1, 1.5],
      [-2, 2.5, -3],
    ]);
    assert.deepEqual(S.tensor([1, 2]).add(2).dtype, 'int64');
    assert.deepEqual(S.tensor([1, 2]).add(0.5).toArray(), [1.5, 2.5]);
  });

  it('computes the unary functions', () => {
    const x = S.tensor([0.25, 1, 4], { dtype: 'float64' });
    assertClose(x.neg(), [-0.25, -1, -4]);
    assertClose(a().abs(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertClose(x.exp(), [Math.exp(0.25), Math.E, Math.exp(4)]);
    assertClose(x.log(), [Math.log(0.25), 0, Math.log(4)]);
    assertClose(x.sqrt(), [0.5, 1, 2]);
    assertClose(x.rsqrt(), [2, 1, 0.5]);
    assertClose(x.pow(2), [0.0625, 1, 16]);
    assertClose(x.pow(S.tensor([2, 3, 0.5], { dtype: 'float64' })), [0.0625, 1, 2]);
    assertClose(x.sigmoid(), [1 / (1 + Math.exp(-0.25)), 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-4))]);
    assertClose(x.tanh(), [Math.tanh(0.25), Math.tanh(1), Math.tanh(4)]);
    assertClose(a().relu(), [
      [1, 0, 3],
      [0, 5, 0],
    ]);
    assertClose(a().leakyRelu(0.1), [
      [1, -0.2, 3],
      [-0.4, 5, -0.6],
    ]);
    // gelu(x) = x * Phi(x); Phi(1) = 0.841344746
    assertClose(S.tensor([1, 0, -1], { dtype: 'float64' }).gelu(), [0.841344746, 0, -0.158655254], 1e-6);
    assertClose(a().clamp(-2, 2), [
      [1, -2, 2],
      [-2, 2, -2],
    ]);
    assertClose(a().clamp(0), [
      [1, 0, 3],
      [0, 5, 0],
    ]);
  });

  it('multiplies matrices', () => {
    const m = S.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { dtype: 'float32' },
    );
    assert.deepEqual(a().matmul(m).toArray(), [
      [10, 12],
      [-19, -24],
    ]);
    const batch = S.ones([4, 2, 3]).matmul(S.ones([3, 5]));
    assert.deepEqual(batch.shape, [4, 2, 5]);
    assert.equal(batch.max().item(), 3);
  });

  it('compares and selects', () => {
    assert.deepEqual(a().gt(0).toArray(), [
      [true, false, true],
      [false, true, false],
    ]);
    assert.deepEqual(a().eq(3).toArray(), [
      [false, false, true],
      [false, false, false],
    ]);
    assert.deepEqual(a().ne(3).toArray(), [
      [true, true, false],
      [true, true, true],
    ]);
    assert.deepEqual(a().lt(-4).toArray(), [
      [false, false, false],
      [false, false, true],
    ]);
    assert.deepEqual(a().le(-4).toArray(), [
      [false, false, false],
      [true, false, true],
    ]);
    assert.deepEqual(a().ge(5).toArray(), [
      [false, false, false],
      [false, true, false],
    ]);
    assert.deepEqual(S.where(a().gt(0), a(), 0).toArray(), [
      [1, 0, 3],
      [0, 5, 0],
    ]);
    assert.deepEqual(S.where(a().gt(0), 1, -1).toArray(), [
      [1, -1, 1],
      [-1, 1, -1],
    ]);
    assert.deepEqual(
      a()
        .maximum(S.zeros([3]))
        .toArray(),
      [
        [1, 0, 3],
        [0, 5, 0],
      ],
    );
  });
});

describe('reductions', () => {
  it('sums and averages over all or some dimensions', () => {
    assert.equal(a().sum().item(), -3);
    assert.deepEqual(a().sum(0).toArray(), [-3, 3, -3]);
    assert.deepEqual(a().sum(1, { keepdim: true }).toArray(), [[2], [-5]]);
    assert.deepEqual(a().sum([0, 1]).item(), -3);
    assert.equal(a().mean().item(), -0.5);
    assert.deepEqual(
      a().mean(1).toArray(),
      [2 / 3, -5 / 3].map((v) => Math.fround(v)),
    );
  });

  it('finds extremes and their indices', () => {
    assert.equal(a().max().item(), 5);
    assert.equal(a().min().item(), -6);
    assert.deepEqual(a().max(1).toArray(), [3, 5]);
    assert.deepEqual(a().min(0, { keepdim: true }).toArray(), [[-4, -2, -6]]);
    assert.deepEqual(a().argmax(1).toArray(), [2, 1]);
    assert.equal(a().argmax().item(), 4);
    assert.deepEqual(a().argmin(0).toArray(), [1, 0, 1]);
  });

  it('computes standard deviation and variance, biased or not', () => {
    const x = S.tensor([2, 4, 4, 4, 5, 5, 7, 9], { dtype: 'float64' });
    assertClose(x.var(undefined, { unbiased: false }), 4);
    assertClose(x.std(undefined, { unbiased: false }), 2);
    assertClose(x.var(), 32 / 7);
    assertClose(x.reshape([2, 4]).std(1, { unbiased: false }), [Math.sqrt(0.75), Math.sqrt(2.75)]);
    assertClose(S.tensor([3, 4], { dtype: 'float32' }).norm(), 5);
  });
});
