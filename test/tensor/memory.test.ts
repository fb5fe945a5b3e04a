import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

describe('tensor lifetimes', () => {
  it('scope frees everything made inside except what it returns', () => {
    const before = S.memory().tensors;
    const kept = S.scope(() => {
      const a = S.ones([100]);
      const b = a.mul(2);
      b.add(1);
      return { result: b.sum(), list: [a.mean()] };
    });
    assert.equal(S.memory().tensors, before + 2);
    assert.equal(kept.result.item(), 200);
    S.dispose(kept);
    assert.equal(S.memory().tensors, before);
  });

  it('nested scopes hand returned tensors to the enclosing scope', () => {
    const before = S.memory().tensors;
    S.scope(() => {
      const inner = S.scope(() => S.ones([3]).mul(2));
      assert.equal(inner.isDisposed, false);
    });
    assert.equal(S.memory().tensors, before);
  });

  it('keep exempts a tensor from every scope, and a throwing scope still frees', () => {
    const before = S.memory().tensors;
    const survivor = S.scope(() => {
      S.ones([1]);
      return S.keep(S.ones([2]));
    });
    assert.throws(() => S.scope(() => { S.ones([5]); throw new Error('inside'); }), /inside/);
    assert.equal(S.memory().tensors, before + 1);
    survivor.dispose();
    assert.equal(S.memory().tensors, before);
  });

  it('reports native bytes', () => {
    const before = S.memory().bytes;
    const big = S.zeros([1000, 1000]);
    assert.equal(S.memory().bytes - before, 4_000_000);
    big.dispose();
    assert.equal(S.memory().bytes, before);
  });

  it('rejects async functions in scope, noGrad and autocast', () => {
    assert.throws(() => S.scope(async () => 1), /Promise/);
    assert.throws(() => S.noGrad(async () => 1), /Promise/);
    assert.throws(() => S.autocast(async () => 1), /Promise/);
  });

  it('reclaims forgotten tensors through the garbage collector', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return; // the test runner sets --expose-gc; see package.json
    const before = S.memory().tensors;
    for (let i = 0; i < 1000; i++) S.ones([10]);
    assert.ok(S.memory().tensors >= before + 1000);
    for (let i = 0; i < 5 && S.memory().tensors > before; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(S.memory().tensors, before);
  });
});

/** A small residual network written with the functional API: stem, 2 blocks, head. */
function makeResidualNet() {
  const param = (shape: number[], scale: number) => S.keep(S.randn(shape).mul(scale).requiresGrad_(true));
  const params = {
    stem: param([8, 1, 3, 3], 0.3),
    blocks: [0, 1].map(() => ({
      w1: param([8, 8, 3, 3], 0.1),
      w2: param([8, 8, 3, 3], 0.1),
      g: S.keep(S.ones([8], { requiresGrad: true })),
      b: S.keep(S.zeros([8], { requiresGrad: true })),
      mean: S.keep(S.zeros([8])),
      var: S.keep(S.ones([8])),
    })),
    fc: param([10, 8], 0.3),
  };
  const forward = (x: S.Tensor) => {
    let h = S.conv2d(x, params.stem, undefined, { padding: 1 }).relu();
    for (const b of params.blocks) {
      const out = S.conv2d(S.conv2d(h, b.w1, undefined, { padding: 1 }).relu(), b.w2, undefined, { padding: 1 });
      h = S.batchNorm(out, { weight: b.g, bias: b.b, runningMean: b.mean, runningVar: b.var, training: true }).add(h).relu();
    }
    return S.linear(S.adaptiveAvgPool2d(h, 1).flatten(1), params.fc);
  };
  const list = [params.stem, params.fc, ...params.blocks.flatMap((b) => [b.w1, b.w2, b.g, b.b])];
  return { forward, list };
}

describe('a training loop keeps memory flat', () => {
  it('2,000 steps of a small residual network leave the live-tensor count unchanged', () => {
    S.manualSeed(1);
    const net = makeResidualNet();
    const x = S.keep(S.randn([4, 1, 8, 8]));
    const y = S.keep(S.randint(0, 10, [4]));
    const momentum = net.list.map((p) => S.keep(S.zerosLike(p)));
    const step = () =>
      S.scope(() => {
        const loss = S.crossEntropy(net.forward(x), y);
        loss.backward();
        const grads = S.gradsOf(net.list) as S.Tensor[];
        S.noGrad(() => {
          S.foreachMul_(momentum, 0.9);
          S.foreachAdd_(momentum, grads);
          S.foreachAdd_(net.list, momentum, -0.01);
        });
        S.zeroGrads(net.list);
        return loss.item();
      });
    const first = step();
    for (let i = 0; i < 100; i++) step(); // let allocator caches settle before measuring
    const tensorsBefore = S.memory().tensors;
    const rssBefore = process.memoryUsage().rss;
    let last = first;
    for (let i = 0; i < 2000; i++) last = step();
    assert.equal(S.memory().tensors, tensorsBefore);
    const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(growthMb < 50, `RSS grew by ${growthMb.toFixed(1)} MB`);
    assert.ok(last < first, `the loss should fall (first ${first}, last ${last})`);
  });
});
