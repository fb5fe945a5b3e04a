/**
 * Memory over long loops, the figures behind the guide's Memory paragraph (docs/guide.md):
 * forgotten tensors in a synchronous loop (how many are alive at once, the RSS
 * peak), loops that dispose or scope their tensors (RSS growth), a small
 * training loop over many steps, and RSS after an idle pause that follows a
 * peak. Each case runs in its own process, so one case's heap cannot hide
 * another's growth. Run with `npm run bench:memory`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import * as S from '../src/index.js';

const rssMB = () => process.memoryUsage().rss / 2 ** 20;

type Case = (n: number) => Promise<Record<string, number>> | Record<string, number>;

const CASES: Record<string, [number, string, Case]> = {
  forgotten: [
    2000,
    'forgotten 4 MB tensors in a synchronous loop',
    (n) => {
      const r0 = rssMB();
      let peakLive = 0;
      let peakRss = 0;
      for (let i = 0; i < n; i++) {
        S.zeros([1024, 1024]);
        if (i % 25 === 0) {
          peakLive = Math.max(peakLive, S.memory().tensors);
          peakRss = Math.max(peakRss, rssMB() - r0);
        }
      }
      (globalThis as { gc?: () => void }).gc?.();
      return { peakLive, peakRssMB: peakRss, liveAfterGc: S.memory().tensors };
    },
  ],
  disposed: [
    6000,
    'three 256x256 tensors made and disposed per iteration',
    (n) => {
      const step = () => {
        const x = S.randn([256, 256]);
        const y = x.mul(2);
        const z = y.add(x);
        S.dispose([x, y, z]);
      };
      for (let i = 0; i < 200; i++) step();
      const r0 = rssMB();
      for (let i = 0; i < n; i++) step();
      return { rssGrowthMB: rssMB() - r0, live: S.memory().tensors };
    },
  ],
  training: [
    20000,
    'steps of a small training loop (Net2 on 8 images of 32x32)',
    (n) => {
      S.setNumThreads(1);
      S.manualSeed(0);
      const model = new S.Net2({ imageSize: [32, 32] });
      const optimizer = new S.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = S.keep(S.randn([8, 3, 32, 32]));
      const y = S.keep(S.randint(0, 10, [8]));
      const step = () =>
        S.scope(() => {
          S.crossEntropy(model.forward(x), y).backward();
          optimizer.step();
          optimizer.zeroGrad();
        });
      for (let i = 0; i < 200; i++) step();
      const [r0, live0] = [rssMB(), S.memory().tensors];
      for (let i = 0; i < n; i++) step();
      return { rssGrowthMB: rssMB() - r0, liveBefore: live0, liveAfter: S.memory().tensors };
    },
  ],
  peak: [
    256,
    'MB held at once, then released; idle until the cache is returned (10 s at most)',
    async (n) => {
      const r0 = rssMB();
      const held = Array.from({ length: n / 4 }, () => S.zeros([1024, 1024]));
      const peak = rssMB() - r0;
      S.dispose(held);
      const released = performance.now();
      while (S.memory().cachedBytes > 0 && performance.now() - released < 10_000) await new Promise((resolve) => setTimeout(resolve, 250));
      return {
        peakMB: peak,
        idleSeconds: (performance.now() - released) / 1000,
        afterIdleMB: rssMB() - r0,
        cachedMB: S.memory().cachedBytes / 2 ** 20,
      };
    },
  ],
};

const [, , only, count] = process.argv;
if (only !== undefined && only in CASES) {
  const [defaultN, , run] = CASES[only]!;
  console.log(JSON.stringify(await run(Number(count ?? defaultN))));
} else {
  console.log('memory over long loops (each case in its own process; RSS in MB)');
  for (const [name, [n, what]] of Object.entries(CASES)) {
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), name, String(n)], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${name}: ${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    const figures = Object.entries(result)
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
      .join(', ');
    console.log(`${name.padEnd(10)} ${n} ${what}: ${figures}`);
  }
}
