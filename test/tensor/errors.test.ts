import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

describe('bad input becomes a JS error and the process lives on', () => {
  it('mismatched conv channels', () => {
    assert.throws(
      () => S.conv2d(S.ones([1, 3, 8, 8]), S.ones([4, 2, 3, 3])),
      (e: Error) => e.constructor === Error && /^conv2d: .*expected input\[1, 3, 8, 8\] to have 2 channels/.test(e.message),
    );
  });

  it('matmul shapes', () => {
    assert.throws(
      () => S.ones([2, 3]).matmul(S.ones([2, 3])),
      /^Error: matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)|matmul: mat1 and mat2 shapes/,
    );
  });

  it('broadcasting mismatch', () => {
    assert.throws(() => S.ones([2, 3]).add(S.ones([4])), /add: The size of tensor a \(3\) must match the size of tensor b \(4\)/);
  });

  it('a disposed tensor', () => {
    const t = S.ones([2]);
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.throws(
      () => t.add(1),
      (e: Error) => e instanceof TypeError && /disposed/.test(e.message),
    );
    assert.throws(
      () => S.ones([2]).add(t),
      (e: Error) => e instanceof TypeError && /argument 1 is a disposed tensor/.test(e.message),
    );
    assert.throws(
      () => S.cat([S.ones([1]), t]),
      (e: Error) => e instanceof TypeError && /disposed/.test(e.message),
    );
    t.dispose(); // twice is harmless
  });

  it('out-of-range indices', () => {
    assert.throws(() => S.ones([2, 3]).select(0, 5), /select: .*index 5 out of range/);
    assert.throws(() => S.ones([2, 3]).indexSelect(1, S.tensor([7])), /indexSelect: .*out of .*bounds/);
    assert.throws(() => S.ones([2, 3]).sum(4), /sum: Dimension out of range/);
    assert.throws(() => S.ones([2]).size(3), RangeError);
    assert.throws(() => S.crossEntropy(S.ones([2, 3]), S.tensor([0, 9])), /crossEntropy: .*out of bounds|Target 9 is out of bounds/);
  });

  it('bad dtypes and wrong argument types', () => {
    assert.throws(
      // @ts-expect-error deliberately wrong
      () => S.zeros([2], { dtype: 'float8' }),
      (e: Error) => e instanceof TypeError && /unknown dtype 'float8'/.test(e.message),
    );
    // @ts-expect-error deliberately wrong
    assert.throws(() => S.ones([2]).to('complex'), TypeError);
    assert.throws(
      // @ts-expect-error deliberately wrong
      () => S.ones([2]).add('3'),
      (e: Error) => e instanceof TypeError && /add: expected a Tensor, got string/.test(e.message),
    );
    // @ts-expect-error deliberately wrong
    assert.throws(() => S.ones([2]).matmul([1, 2]), TypeError);
    assert.throws(() => S.ones([2, 2]).matmul(S.ones([2, 2], { dtype: 'float64' })), /matmul: expected .*Float.*Double|matmul: .*dtype/);
  });

  it('negative or non-integer sizes', () => {
    assert.throws(() => S.zeros([2, -1]), RangeError);
    assert.throws(() => S.ones([1.5]), TypeError);
    assert.throws(() => S.randint(5, 2, [3]), RangeError);
    assert.throws(() => S.tensor(new Float32Array(5), { shape: [2, 2] }), RangeError);
    assert.throws(() => S.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => S.ones([4]).reshape([3]), /reshape: shape '\[3\]' is invalid for input of size 4/);
    assert.throws(() => S.setNumThreads(0), RangeError);
    // 100,000 OpenMP workers stalled the first op for minutes (issue 42, defect 15): a count has a ceiling, the settings' own.
    assert.throws(
      () => S.setNumThreads(100_000),
      /setNumThreads: need an integer from 1 to 1024 \(threads beyond the cores only slow an op down\), got 100000/,
    );
    assert.throws(() => S.setNumThreads(S.MAX_THREADS + 1), RangeError);
    assert.equal(S.TRAIN_SETTINGS.threads.range![1], S.MAX_THREADS);
  });

  it('backward twice through a freed graph, and backward of a non-scalar without a gradient', () => {
    const x = S.ones([2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    assert.throws(() => y.backward(), /backward: Trying to backward through the graph a second time/);
    assert.throws(() => x.mul(2).backward(), /grad can be implicitly created only for scalar outputs/);
  });

  it('item of a non-scalar', () => {
    assert.throws(() => S.ones([3]).item(), RangeError);
  });
});
