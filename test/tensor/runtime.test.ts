import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

describe('runtime settings', () => {
  it('uses every core by default and can change the thread count', () => {
    const initial = S.getNumThreads();
    assert.equal(initial, Number(process.env.SKIPSTUDIO_THREADS) || availableParallelism());
    S.setNumThreads(1);
    assert.equal(S.getNumThreads(), 1);
    S.setNumThreads(initial);
  });

  it('runs convolutions and matrix products in bfloat16 under autocast, and restores float32 after', () => {
    const x = S.randn([2, 3, 8, 8]);
    const w = S.randn([4, 3, 3, 3]);
    const y = S.autocast(() => S.conv2d(x, w));
    assert.equal(y.dtype, 'bfloat16');
    const m = S.autocast(() => S.ones([2, 3]).matmul(S.ones([3, 2])));
    assert.equal(m.dtype, 'bfloat16');
    assert.equal(S.conv2d(x, w).dtype, 'float32');
    // Results agree with float32 to bfloat16's precision.
    const reference = S.conv2d(x, w);
    const diff = y.to('float32').sub(reference).abs().max().item();
    assert.ok(diff < 0.05 * reference.abs().max().item(), `bf16 differs by ${diff}`);
    // Precision-sensitive ops stay float32 inside autocast.
    assert.equal(S.autocast(() => S.crossEntropy(S.randn([2, 3]), S.tensor([0, 1]))).dtype, 'float32');
    assert.equal(S.autocast(() => S.conv2d(x, w), { enabled: false }).dtype, 'float32');
  });

  it('trains through autocast (gradients reach float32 weights)', () => {
    const w = S.randn([4, 3, 3, 3], { requiresGrad: true });
    const loss = S.autocast(() =>
      S.conv2d(S.randn([2, 3, 8, 8]), w)
        .float()
        .square()
        .mean(),
    );
    loss.backward();
    assert.equal(w.grad!.dtype, 'float32');
    assert.ok(w.grad!.abs().sum().item() > 0);
  });

  it('refuses a seed a JavaScript number cannot hold exactly, which libtorch would take as another (issue 42, defect 13)', () => {
    for (const seed of [2 ** 64, 2 ** 53, -1, 0.5])
      assert.throws(
        () => S.manualSeed(seed),
        /^RangeError: manualSeed: need an integer from 0 to 2\^53 - 1 \(Number\.MAX_SAFE_INTEGER\), got /,
        String(seed),
      );
    S.manualSeed(Number.MAX_SAFE_INTEGER);
    const big = S.rand([3]).toArray();
    S.manualSeed(0);
    assert.notDeepEqual(S.rand([3]).toArray(), big, 'the largest seed is not seed 0');
  });

  it('reports the libtorch build', () => {
    const info = S.buildInfo();
    assert.match(info.torchVersion, /^\d+\.\d+/);
    assert.equal(typeof info.cudaAvailable, 'boolean');
  });
});
