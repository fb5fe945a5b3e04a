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
    assert.throws(
      () =>
        S.scope(() => {
          S.ones([5]);
          throw new Error('inside');
        }),
      /inside/,
    );
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

  it('leaves no unhandled rejection behind when the refused async function fails (issue 42, defect 17)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (const wrap of [S.scope, S.noGrad, S.enableGrad, S.autocast] as ((fn: () => unknown) => unknown)[]) {
        assert.throws(
          () =>
            wrap(async () => {
              throw new Error('inside');
            }),
          /fn returned a Promise/,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', record);
    }
    assert.deepEqual(unhandled, []);
  });

  it(
    'reclaims forgotten tensors through the garbage collector',
    { skip: typeof globalThis.gc !== 'function' && 'needs node --expose-gc (npm test passes it)' },
    async () => {
      const gc = globalThis.gc!;
      gc(); // earlier tests' garbage: a collection may free it at any moment, so clear it before counting
      const before = S.memory().tensors;
      // A collection may run inside this loop and free some of them already: only what is left afterwards is certain.
      for (let i = 0; i < 1000; i++) S.ones([10]);
      for (let i = 0; i < 5 && S.memory().tensors > before; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(S.memory().tensors, before);
    },
  );
});

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * Runs fn on one libtorch thread. The long loops measure memory, not
 * speed; on a busy machine OpenMP's spinning threads made them take minutes.
 */
function withOneThread(fn: () => void): void {
  const threads = S.getNumThreads();
  S.setNumThreads(1);
  try {
    fn();
  } finally {
    S.setNumThreads(threads);
  }
}

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

// The long loops run before the tests below them: those make 1 GB peaks, and
// memory freed but still resident would hide a loop's growth.
describe('long loops keep memory flat', () => {
  it('keeps RSS flat over 20,000 iterations that free every tensor they make', () => {
    const a = S.keep(S.randn([64, 64]));
    const b = S.keep(S.randn([64, 64]));
    const iteration = () => {
      // Made and disposed outside any scope: three 256 KB tensors.
      const x = S.randn([256, 256]);
      const y = x.mul(2);
      const z = y.add(x);
      x.dispose();
      y.dispose();
      z.dispose();
      // Scoped: 64x64 matrix products.
      S.scope(() => a.matmul(b).relu().matmul(a).sum().item());
    };
    withOneThread(() => {
      for (let i = 0; i < 500; i++) iteration();
      S.emptyCache(); // memory freed by earlier tests, still resident, would hide growth
      globalThis.gc?.(); // earlier tests' forgotten tensors, which a collection in the loop would otherwise free and count
      const tensorsBefore = S.memory().tensors;
      const rss0 = rssMb();
      for (let i = 1; i <= 20_000; i++) {
        iteration();
        if (i % 1000 === 0) {
          const growth = rssMb() - rss0;
          assert.ok(growth < 50, `RSS grew by ${growth.toFixed(1)} MB after ${i} iterations`);
        }
      }
      assert.equal(S.memory().tensors, tensorsBefore);
    });
    S.dispose([a, b]);
  });
  it('20,000 steps of a small residual network leave the live-tensor count and RSS unchanged', () => {
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
    withOneThread(() => {
      const first = step();
      for (let i = 0; i < 100; i++) step(); // let allocator caches settle before measuring
      (globalThis as { gc?: () => void }).gc?.(); // forgotten tensors of earlier tests must not be counted
      S.emptyCache(); // memory freed by earlier tests, still resident, would hide growth
      globalThis.gc?.(); // earlier tests' forgotten tensors, which a collection in the loop would otherwise free and count
      const tensorsBefore = S.memory().tensors;
      const rss0 = rssMb();
      let last = first;
      for (let i = 1; i <= 20_000; i++) {
        last = step();
        if (i % 2000 === 0) {
          const growth = rssMb() - rss0;
          assert.ok(growth < 50, `RSS grew by ${growth.toFixed(1)} MB after ${i} steps`);
        }
      }
      assert.equal(S.memory().tensors, tensorsBefore);
      assert.ok(last < first, `the loss should fall (first ${first}, last ${last})`);
    });
  });
});

describe('forgotten tensors and peaks', () => {
  it('frees forgotten tensors inside synchronous code, during the collection that finds them', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return;
    gc();
    const before = S.memory().tensors;
    const bytesBefore = S.memory().bytes;
    const rss0 = rssMb();
    let peakLive = 0;
    let peakRss = 0;
    // 250 forgotten 4 MB tensors, 1 GB in all, without ever yielding to the event loop.
    for (let i = 0; i < 250; i++) {
      S.zeros([1024, 1024]);
      peakLive = Math.max(peakLive, S.memory().tensors - before);
      if (i % 10 === 0) peakRss = Math.max(peakRss, rssMb() - rss0);
    }
    assert.ok(peakLive < 100, `${peakLive} forgotten tensors were alive at once`);
    assert.ok(peakRss < 500, `RSS grew by ${peakRss.toFixed(0)} MB`);
    gc(); // synchronous: its finalizers free the rest before it returns
    assert.equal(S.memory().tensors, before);
    assert.equal(S.memory().bytes, bytesBefore);
  });

  it('returns the memory of a peak to the system once it is over', async () => {
    S.emptyCache();
    const rss0 = rssMb();
    S.scope(() => {
      for (let i = 0; i < 64; i++) S.ones([1024, 1024]); // 256 MB live at once, freed by the scope
    });
    assert.ok(S.memory().cachedBytes >= 256 * 2 ** 20, 'freed blocks are kept for reuse at first');
    assert.ok(rssMb() - rss0 > 200, 'the peak was resident');
    // A cached block idle for 4 s goes back to the system; a timer sweeps while Node idles.
    for (let waited = 0; waited < 10_000 && S.memory().cachedBytes > 0; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(S.memory().cachedBytes, 0);
    const left = rssMb() - rss0;
    assert.ok(left < 50, `RSS stayed ${left.toFixed(0)} MB above where it was before the peak`);
  });
});
