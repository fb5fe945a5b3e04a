import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose } from '../helpers.js';

describe('neural-net functions', () => {
  it('convolves with stride, padding, dilation, groups and bias', () => {
    const x = S.arange(16, undefined, 1, { dtype: 'float32' }).reshape([1, 1, 4, 4]);
    const w = S.ones([1, 1, 2, 2]);
    // 2x2 box sums of a 4x4 ramp.
    assert.deepEqual(S.conv2d(x, w).toArray(), [
      [
        [
          [10, 14, 18],
          [26, 30, 34],
          [42, 46, 50],
        ],
      ],
    ]);
    assert.deepEqual(S.conv2d(x, w, S.tensor([1], { dtype: 'float32' }), { stride: 2 }).toArray(), [
      [
        [
          [11, 19],
          [43, 51],
        ],
      ],
    ]);
    assert.deepEqual(S.conv2d(x, w, undefined, { padding: 1 }).shape, [1, 1, 5, 5]);
    assert.deepEqual(S.conv2d(x, w, undefined, { dilation: 2 }).toArray(), [
      [
        [
          [20, 24],
          [36, 40],
        ],
      ],
    ]);
    const two = S.cat([x, x.mul(-1)], 1);
    const grouped = S.conv2d(two, S.ones([2, 1, 2, 2]), undefined, { groups: 2 });
    assert.deepEqual(grouped.shape, [1, 2, 3, 3]);
    assert.equal(grouped.select(1, 1).sum().item(), -grouped.select(1, 0).sum().item());
  });

  it('batch-normalises, updating running statistics in place while training', () => {
    const x = S.tensor([[[[1, 3]]], [[[5, 7]]]], { dtype: 'float32' }); // N=2, C=1, values 1,3,5,7
    const runningMean = S.zeros([1]);
    const runningVar = S.ones([1]);
    const y = S.batchNorm(x, { runningMean, runningVar, training: true, momentum: 0.1, eps: 0 });
    const sd = Math.sqrt(5); // biased variance of 1,3,5,7 is 5
    assertClose(y.flatten(), [-3 / sd, -1 / sd, 1 / sd, 3 / sd], 1e-6);
    assertClose(runningMean, [0.4], 1e-6); // 0.9*0 + 0.1*4
    assertClose(runningVar, [0.9 + 0.1 * (20 / 3)], 1e-6); // unbiased variance 20/3
    const evalOut = S.batchNorm(x, {
      runningMean,
      runningVar,
      weight: S.full([1], 2.0),
      bias: S.full([1], 1.0),
      training: false,
      eps: 0,
    });
    const rv = 0.9 + 0.1 * (20 / 3);
    assertClose(
      evalOut.flatten(),
      [1, 3, 5, 7].map((v) => (2 * (v - 0.4)) / Math.sqrt(rv) + 1),
      1e-5,
    );
  });

  it('pools', () => {
    const x = S.arange(16, undefined, 1, { dtype: 'float32' }).reshape([1, 1, 4, 4]);
    assert.deepEqual(S.maxPool2d(x, 2).toArray(), [
      [
        [
          [5, 7],
          [13, 15],
        ],
      ],
    ]);
    assert.deepEqual(S.avgPool2d(x, 2).toArray(), [
      [
        [
          [2.5, 4.5],
          [10.5, 12.5],
        ],
      ],
    ]);
    assert.deepEqual(S.maxPool2d(x, 3, { stride: 1 }).toArray(), [
      [
        [
          [10, 11],
          [14, 15],
        ],
      ],
    ]);
    assert.deepEqual(S.adaptiveAvgPool2d(x, 1).toArray(), [[[[7.5]]]]);
  });

  it('applies linear layers, softmax and dropout', () => {
    const x = S.tensor([[1, 2]], { dtype: 'float32' });
    const w = S.tensor(
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      { dtype: 'float32' },
    );
    assert.deepEqual(S.linear(x, w, S.tensor([0, 0, 1], { dtype: 'float32' })).toArray(), [[1, 2, 4]]);
    const logits = S.tensor([[1, 2, 3]], { dtype: 'float64' });
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assertClose(S.softmax(logits, 1), [[Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z]]);
    assertClose(S.logSoftmax(logits, -1), [[1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z)]]);
    S.manualSeed(0);
    const dropped = S.dropout(S.ones([10000]), 0.25, true);
    const kept = dropped.gt(0).sum().item();
    assert.ok(Math.abs(kept / 10000 - 0.75) < 0.03);
    assertClose(dropped.max(), 1 / 0.75);
    assert.deepEqual(S.dropout(S.ones([3]), 0.5, false).toArray(), [1, 1, 1]);
  });

  it('computes the losses like torch.nn.functional', () => {
    const logits = S.tensor(
      [
        [2, 0, 0],
        [0, 1, 0],
      ],
      { dtype: 'float64' },
    );
    const target = S.tensor([0, 2]);
    const lse = (row: number[]) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    const l0 = lse([2, 0, 0]) - 2;
    const l1 = lse([0, 1, 0]) - 0;
    assertClose(S.crossEntropy(logits, target), (l0 + l1) / 2);
    assertClose(S.crossEntropy(logits, target, { reduction: 'sum' }), l0 + l1);
    assertClose(S.crossEntropy(logits, target, { reduction: 'none' }), [l0, l1]);
    // Label smoothing e mixes the target with a uniform distribution over C classes.
    const e = 0.1;
    const smooth = (row: number[], t: number) => {
      const logp = row.map((v) => v - lse(row));
      return -(1 - e) * logp[t]! - (e / 3) * logp.reduce((s, v) => s + v, 0);
    };
    assertClose(S.crossEntropy(logits, target, { labelSmoothing: e }), (smooth([2, 0, 0], 0) + smooth([0, 1, 0], 2)) / 2);
    assertClose(S.nllLoss(S.logSoftmax(logits, 1), target), (l0 + l1) / 2);
    assertClose(S.mseLoss(S.tensor([1, 2], { dtype: 'float32' }), S.tensor([3, 2], { dtype: 'float32' })), 2);
    assert.deepEqual(S.oneHot(S.tensor([0, 2]), 3).toArray(), [
      [1, 0, 0],
      [0, 0, 1],
    ]);
  });
});
