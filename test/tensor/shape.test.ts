import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

const grid = () => S.arange(6).reshape([2, 3]);

describe('shape ops', () => {
  it('reshapes, views and flattens', () => {
    assert.deepEqual(grid().toArray(), [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(grid().view([3, 2]).toArray(), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assert.deepEqual(grid().reshape([-1]).toArray(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(S.zeros([2, 3, 4, 5]).flatten(1).shape, [2, 60]);
    assert.deepEqual(S.zeros([2, 3, 4, 5]).flatten(1, 2).shape, [2, 12, 5]);
  });

  it('squeezes, unsqueezes, permutes and transposes', () => {
    assert.deepEqual(S.zeros([1, 3, 1]).squeeze().shape, [3]);
    assert.deepEqual(S.zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
    assert.deepEqual(S.zeros([3]).unsqueeze(0).shape, [1, 3]);
    assert.deepEqual(grid().transpose(0, 1).toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(S.zeros([2, 3, 4]).permute([2, 0, 1]).shape, [4, 2, 3]);
    assert.equal(grid().transpose(0, 1).isContiguous(), false);
    assert.equal(grid().transpose(0, 1).contiguous().isContiguous(), true);
  });

  it('converts to and from the channels-last memory format', () => {
    const x = S.randn([2, 3, 4, 5]);
    const nhwc = x.contiguous('channelsLast');
    assert.deepEqual(nhwc.shape, [2, 3, 4, 5]);
    assert.equal(nhwc.isContiguous('channelsLast'), true);
    assert.deepEqual(nhwc.strides, [60, 1, 15, 3]);
    assert.ok(nhwc.allclose(x, 0, 0));
  });

  it('joins with cat and stack', () => {
    assert.deepEqual(S.cat([grid(), grid()], 0).shape, [4, 3]);
    assert.deepEqual(S.cat([grid(), grid()], 1).toArray(), [
      [0, 1, 2, 0, 1, 2],
      [3, 4, 5, 3, 4, 5],
    ]);
    assert.deepEqual(S.stack([grid(), grid()], 0).shape, [2, 2, 3]);
  });

  it('indexes with narrow, select, indexSelect and gather', () => {
    assert.deepEqual(grid().narrow(1, 1, 2).toArray(), [
      [1, 2],
      [4, 5],
    ]);
    assert.deepEqual(grid().select(0, 1).toArray(), [3, 4, 5]);
    assert.deepEqual(
      grid()
        .indexSelect(1, S.tensor([2, 0]))
        .toArray(),
      [
        [2, 0],
        [5, 3],
      ],
    );
    assert.deepEqual(
      grid()
        .gather(1, S.tensor([[0], [2]]))
        .toArray(),
      [[0], [5]],
    );
  });

  it('expands, repeats, flips and pads', () => {
    assert.deepEqual(
      S.tensor([[1], [2]])
        .expand([2, 3])
        .toArray(),
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
    );
    assert.deepEqual(S.tensor([1, 2]).repeat([2]).toArray(), [1, 2, 1, 2]);
    assert.deepEqual(grid().flip([1]).toArray(), [
      [2, 1, 0],
      [5, 4, 3],
    ]);
    assert.deepEqual(
      S.tensor([[1]])
        .pad([1, 1, 0, 1])
        .toArray(),
      [
        [0, 1, 0],
        [0, 0, 0],
      ],
    );
  });

  it('converts dtypes and copies', () => {
    const f = S.tensor([1.7, -1.7]).to('int32');
    assert.equal(f.dtype, 'int32');
    assert.deepEqual(f.toArray(), [1, -1]);
    const x = S.ones([2]);
    const copy = x.to({ dtype: 'float32', copy: true });
    copy.add_(1);
    assert.deepEqual(x.toArray(), [1, 1]);
    const c = x.clone();
    c.mul_(3);
    assert.deepEqual(x.toArray(), [1, 1]);
    assert.deepEqual(c.toArray(), [3, 3]);
  });
});

describe('in-place ops', () => {
  it('updates values in place and returns the same tensor', () => {
    const x = S.tensor([1, 2, 3], { dtype: 'float32' });
    assert.equal(x.add_(1), x);
    assert.deepEqual(x.toArray(), [2, 3, 4]);
    x.mul_(2).sub_(S.ones([3]), 2);
    assert.deepEqual(x.toArray(), [2, 4, 6]);
    x.div_(2);
    assert.deepEqual(x.toArray(), [1, 2, 3]);
    x.addcmul_(S.tensor([1, 2, 3], { dtype: 'float32' }), S.tensor([2, 2, 2], { dtype: 'float32' }), 0.5);
    assert.deepEqual(x.toArray(), [2, 4, 6]);
    x.addcdiv_(S.tensor([2, 2, 2], { dtype: 'float32' }), S.tensor([1, 2, 4], { dtype: 'float32' }), 2);
    assert.deepEqual(x.toArray(), [6, 6, 7]);
    x.copy_(S.tensor([9, 8, 7], { dtype: 'float32' }));
    assert.deepEqual(x.toArray(), [9, 8, 7]);
    x.clamp_(undefined, 8);
    assert.deepEqual(x.toArray(), [8, 8, 7]);
    x.fill_(5);
    assert.deepEqual(x.toArray(), [5, 5, 5]);
    x.zero_();
    assert.deepEqual(x.toArray(), [0, 0, 0]);
  });

  it('updates whole lists with the _foreach_ kernels', () => {
    const params = [S.ones([2]), S.ones([3])];
    const grads = [S.full([2], 0.5), S.full([3], 2.0)];
    S.foreachAdd_(params, grads, -2);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [0, 0],
        [-3, -3, -3],
      ],
    );
    S.foreachMul_(params, 2);
    S.foreachAdd_(params, 1);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [1, 1],
        [-5, -5, -5],
      ],
    );
    S.foreachAddcmul_(params, grads, grads, 1);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [1.25, 1.25],
        [-1, -1, -1],
      ],
    );
    S.foreachAddcdiv_(params, grads, grads, 2);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [3.25, 3.25],
        [1, 1, 1],
      ],
    );
    S.foreachDiv_(params, 0.5);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [6.5, 6.5],
        [2, 2, 2],
      ],
    );
    const roots = S.foreachSqrt([S.full([1], 4.0), S.full([1], 9.0)]);
    assert.deepEqual(
      roots.map((r) => r.toArray()),
      [[2], [3]],
    );
    S.foreachMaximum_(params, [S.full([2], 7.0), S.full([3], 1.0)]);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [7, 7],
        [2, 2, 2],
      ],
    );
    assert.deepEqual(
      S.foreachNorm([S.tensor([3, 4], { dtype: 'float32' })]).map((n) => n.item()),
      [5],
    );
    S.foreachCopy_(params, [S.zeros([2]), S.ones([3])]);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [0, 0],
        [1, 1, 1],
      ],
    );
    S.foreachZero_(params);
    assert.deepEqual(
      params.map((p) => p.toArray()),
      [
        [0, 0],
        [0, 0, 0],
      ],
    );
  });
});
