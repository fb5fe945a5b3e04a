import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose } from '../helpers.js';

describe('tensor creation', () => {
  it('infers shape and dtype from nested arrays like torch.tensor', () => {
    const ints = S.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(ints.shape, [2, 3]);
    assert.equal(ints.dtype, 'int64');
    assert.deepEqual(ints.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(S.tensor([0.5, 1]).dtype, 'float32');
    assert.equal(S.tensor([true, false]).dtype, 'bool');
    assert.deepEqual(S.tensor([true, false]).toArray(), [true, false]);
    assert.equal(S.tensor(3.5).ndim, 0);
    assert.equal(S.tensor(3.5).item(), 3.5);
  });

  it('takes typed arrays with a shape, keeping their dtype unless told otherwise', () => {
    const t = S.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.toArray(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.equal(S.tensor(new Uint8Array([1, 255])).dtype, 'uint8');
    assert.deepEqual(Array.from(S.tensor(new Int32Array([7, -8])).data() as Int32Array), [7, -8]);
    const bf = S.tensor(new Float32Array([1.5, -2.25]), { dtype: 'bfloat16' });
    assert.equal(bf.dtype, 'bfloat16');
    assert.deepEqual(Array.from(bf.data() as Float32Array), [1.5, -2.25]);
    assert.deepEqual(S.tensor(new BigInt64Array([5n, -6n])).toArray(), [5, -6]);
  });

  it('supports every listed dtype', () => {
    for (const dtype of ['float32', 'float64', 'bfloat16', 'float16', 'int64', 'int32', 'uint8', 'bool'] as const) {
      const t = S.ones([2], { dtype });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.toArray(), dtype === 'bool' ? [true, true] : [1, 1]);
    }
  });

  it('fills with the factories', () => {
    assert.deepEqual(S.zeros([2, 2]).toArray(), [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(S.full([3], 7).toArray(), [7, 7, 7]);
    assert.equal(S.full([3], 7).dtype, 'float32');
    assert.equal(S.full([3], 7, { dtype: 'int64' }).dtype, 'int64');
    assert.equal(S.full([3], 0.5).dtype, 'float32');
    assert.deepEqual(S.empty([4, 5]).shape, [4, 5]);
    assert.deepEqual(S.arange(4).toArray(), [0, 1, 2, 3]);
    assert.deepEqual(S.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
    assertClose(S.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(S.eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const like = S.randn([2, 3]);
    assert.deepEqual(S.zerosLike(like).toArray(), [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(S.onesLike(like, { dtype: 'int32' }).toArray(), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual(S.fullLike(like, 2).toArray(), [
      [2, 2, 2],
      [2, 2, 2],
    ]);
  });

  it('draws random values in range, repeatably after manualSeed', () => {
    S.manualSeed(123);
    const a = S.rand([1000]);
    const ints = S.randint(3, 7, [1000]);
    S.manualSeed(123);
    const b = S.rand([1000]);
    assert.ok(a.allclose(b, 0, 0));
    assert.ok(a.min().item() >= 0 && a.max().item() < 1);
    assert.ok(ints.min().item() >= 3 && ints.max().item() <= 6);
    const normal = S.randn([20000]);
    assert.ok(Math.abs(normal.mean().item()) < 0.05);
    assert.ok(Math.abs(normal.std().item() - 1) < 0.05);
    const perm = S.randperm(10).toArray() as number[];
    assert.deepEqual(
      [...perm].sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  it('restores the generator state for exact resumption', () => {
    const state = S.getRngState();
    const first = S.randn([5]);
    S.setRngState(state);
    assert.ok(S.randn([5]).allclose(first, 0, 0));
  });

  it('prints readably', () => {
    const text = S.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32' },
    ).toString();
    assert.match(text, /shape=\[2, 2\], dtype=float32, device=cpu/);
    assert.match(text, /1\s+2/);
  });
});
