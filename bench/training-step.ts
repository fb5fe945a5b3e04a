/**
 * Training-step benchmark, skipstudio against PyTorch in one run.
 *
 * One step = forward, cross-entropy, backward, SGD with momentum, on the same
 * residual networks with the same batch, threads and precision: (a) a 3x3
 * conv stem and 4 residual blocks of 64 channels at 32x32, batch 32; (b) a
 * 20-block residual network (HW5Net's default). The two engines take turns
 * in rounds so that both see the same machine state; the medians and their
 * ratio are printed. Then evaluation throughput: skipstudio's evaluate()
 * (eval mode, no autograd, bf16 autocast and channels-last where the CPU
 * has native bf16, data loading and per-image predictions included) against
 * PyTorch's forward under inference_mode on ready tensors. Also times the
 * per-op overhead of a small add. Where the PyTorch is 2.x, the training
 * steps again with PyTorch's model through torch.compile, the reference a
 * PyTorch 2 user would reach for (--compile off leaves it out, on asks for it).
 *
 *   npm run bench [-- --rounds 5 --steps 4 --threads 2 --eval-images 1000 --compile auto --json]
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as S from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '4' },
    threads: { type: 'string', default: String(availableParallelism()) },
    batch: { type: 'string', default: '32' },
    nets: { type: 'string', default: 'blocks4,blocks20' },
    precisions: { type: 'string' },
    'eval-images': { type: 'string', default: '1000' },
    compile: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(flags.rounds);
const steps = Number(flags.steps);
const threads = Number(flags.threads);
const batch = Number(flags.batch);
const evalImages = Number(flags['eval-images']);
const EVAL_BATCH = 250;

/** The benchmark's network (a): a conv stem and 4 SkipBlocks of 64 channels. */
class Blocks4 extends S.Module {
  stem = new S.Conv2d(3, 64, 3, { padding: 1, bias: false });
  stem_bn = new S.BatchNorm2d(64);
  blocks = Array.from({ length: 4 }, () => new S.SkipBlock(64, 64));
  fc = new S.Linear(64, 10);

  forward(x: S.Tensor): S.Tensor {
    let out = this.stem_bn.forward(this.stem.forward(x)).relu();
    for (const block of this.blocks) out = block.forward(out);
    return this.fc.forward(S.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}

const NETS: Record<string, () => S.Module> = {
  blocks4: () => new Blocks4(),
  blocks20: () => new S.HW5Net({ width: 16 }),
};

type Precision = 'fp32' | 'bf16';

/** True when the CPU has native bfloat16 arithmetic (what --precision auto looks for); elsewhere bf16 is emulated and far slower than fp32. */
function cpuHasBf16(): boolean {
  return S.resolvePrecision('auto').precision === 'bf16';
}

function skipstudioSteps(net: string, precision: Precision, count: number, cache: Map<string, () => number>): number[] {
  const key = `${net}/${precision}`;
  if (!cache.has(key)) {
    S.manualSeed(0);
    const model = NETS[net]!();
    let x = S.keep(S.randn([batch, 3, 32, 32]));
    if (precision === 'bf16') {
      model.to({ memoryFormat: 'channelsLast' });
      x = S.keep(x.contiguous('channelsLast'));
    }
    const y = S.keep(S.randint(0, 10, [batch]));
    const optimizer = new S.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    cache.set(key, () => {
      const start = performance.now();
      S.scope(() => {
        const loss = S.autocast(() => S.crossEntropy(model.forward(x), y), { enabled: precision === 'bf16' });
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
      });
      return (performance.now() - start) / 1000;
    });
  }
  const step = cache.get(key)!;
  return Array.from({ length: count }, () => step());
}

/** A test split of random 32x32 colour images, as a dataset a DataLoader reads. */
function evalDataset(count: number): S.ImageDataset {
  const images = new Uint8Array(count * 3 * 32 * 32);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return {
    name: 'bench',
    images,
    labels: new Uint8Array(count).map((_, i) => i % 10),
    shape: { channels: 3, height: 32, width: 32 },
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
  };
}

/** Seconds for one evaluate() pass over the images, as the trainer evaluates after each epoch. */
function skipstudioEval(net: string, precision: Precision, cache: Map<string, () => number>): number {
  const key = `eval/${net}/${precision}`;
  if (!cache.has(key)) {
    S.manualSeed(0);
    const memoryFormat = S.trainingMemoryFormat({ precision, memoryFormat: 'contiguous' });
    const model = NETS[net]!().to({ memoryFormat });
    const loader = new S.DataLoader(evalDataset(evalImages), { batchSize: EVAL_BATCH, shuffle: false });
    cache.set(key, () => {
      const start = performance.now();
      S.evaluate(model, loader, { precision, memoryFormat });
      return (performance.now() - start) / 1000;
    });
  }
  return cache.get(key)!();
}

async function evaluationRows(
  worker: PyTorchWorker,
  precisions: Precision[],
  cache: Map<string, () => number>,
  log: (line: string) => void,
) {
  const rows: Record<string, unknown>[] = [];
  log(`evaluation, ${evalImages} images in batches of ${EVAL_BATCH}: images/s (skipstudio evaluate() / PyTorch inference_mode forward)`);
  for (const net of flags.nets!.split(',')) {
    for (const precision of precisions) {
      const request = { op: 'eval', net, precision, images: evalImages, batch: EVAL_BATCH, threads };
      skipstudioEval(net, precision, cache);
      await worker.request(request);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        ours.push(skipstudioEval(net, precision, cache));
        theirs.push((await worker.request<{ seconds: number }>(request)).seconds);
      }
      const [ss, pt] = [evalImages / median(ours), evalImages / median(theirs)];
      rows.push({ eval: net, precision, skipstudioImagesPerSecond: ss, pytorchImagesPerSecond: pt, ratio: ss / pt });
      log(
        `${net.padEnd(10)} ${precision.padEnd(9)} ${ss.toFixed(0).padStart(8)} / ${pt.toFixed(0).padEnd(8)} ${(ss / pt).toFixed(3).padStart(8)}x`,
      );
    }
  }
  return rows;
}

function addOverhead(iterations: number): number {
  const a = S.keep(S.ones([2, 2]));
  const b = S.keep(S.ones([2, 2]));
  const start = performance.now();
  for (let i = 0; i < iterations; i += 1000) {
    S.scope(() => {
      for (let k = 0; k < 1000; k++) a.add(b);
    });
  }
  return (performance.now() - start) / 1000 / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

class PyTorchWorker {
  readonly #child = spawn('/usr/bin/python3', [join(dirname(fileURLToPath(import.meta.url)), '../../bench/pytorch_worker.py')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  readonly #lines = createInterface({ input: this.#child.stdout! })[Symbol.asyncIterator]();

  async request<T>(message: object): Promise<T> {
    this.#child.stdin!.write(`${JSON.stringify(message)}\n`);
    const { value, done } = await this.#lines.next();
    if (done) throw new Error('the PyTorch worker exited (is python3-torch installed?)');
    return JSON.parse(value as string) as T;
  }

  close(): void {
    this.#child.stdin!.end();
  }
}

/** One network and precision: both engines' steps in alternating rounds after a warm-up, their medians and ratio. */
async function trainingRow(
  worker: PyTorchWorker,
  net: string,
  precision: Precision,
  compile: boolean,
  cache: Map<string, () => number>,
  log: (line: string) => void,
) {
  const request = { net, precision, batch, steps, threads, compile };
  // Warm-up: first steps allocate, pick oneDNN kernels and fill caches (and, with compile, compile).
  skipstudioSteps(net, precision, 2, cache);
  await worker.request({ ...request, steps: 2 });
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(...skipstudioSteps(net, precision, steps, cache));
    theirs.push(...(await worker.request<{ times: number[] }>(request)).times);
  }
  const ss = median(ours);
  const pt = median(theirs);
  log(
    `${net.padEnd(10)} ${precision.padEnd(9)} ${(ss * 1000).toFixed(1).padStart(20)} ${(pt * 1000).toFixed(1).padStart(17)}` +
      `   ${(batch / ss).toFixed(0).padStart(8)} / ${(batch / pt).toFixed(0).padEnd(8)}   ${(pt / ss).toFixed(3).padStart(10)}x`,
  );
  return { net, precision, pytorch: compile ? 'torch.compile' : 'eager', skipstudioMs: ss * 1000, pytorchMs: pt * 1000, ratio: pt / ss };
}

async function main(): Promise<void> {
  S.setNumThreads(threads);
  const worker = new PyTorchWorker();
  const cache = new Map<string, () => number>();
  const results: Record<string, unknown>[] = [];
  const log = (line: string) => {
    if (!flags.json) console.log(line);
  };
  const precisions = (flags.precisions ?? (cpuHasBf16() ? 'fp32,bf16' : 'fp32')).split(',') as Precision[];
  if (flags.precisions === undefined && !cpuHasBf16()) {
    log('This CPU has no native bfloat16 (avx512_bf16/amx_bf16): bf16 is skipped; --precisions fp32,bf16 measures it anyway.');
  }
  const pytorch = await worker.request<{ version: string; compile: boolean }>({ op: 'version' });
  log(
    `skipstudio (libtorch ${S.buildInfo().torchVersion}) vs PyTorch ${pytorch.version}: ${threads} threads, batch ${batch}, ${rounds} rounds x ${steps} steps (medians)`,
  );
  log('network    precision   skipstudio ms/step   PyTorch ms/step   images/s (ss / pt)   ratio (pt time / ss time)');
  const own: Record<string, number> = {};
  const nets = flags.nets!.split(',');
  for (const net of nets) {
    for (const precision of precisions) {
      const row = await trainingRow(worker, net, precision, false, cache, log);
      own[`${net}/${precision}`] = row.skipstudioMs;
      results.push(row);
    }
    if (own[`${net}/fp32`] !== undefined && own[`${net}/bf16`] !== undefined) {
      log(`${net}: skipstudio bf16 autocast is ${(own[`${net}/fp32`]! / own[`${net}/bf16`]!).toFixed(2)}x its own fp32`);
    }
  }
  if (flags.compile === 'on' || (flags.compile === 'auto' && pytorch.compile)) {
    log("the same steps with PyTorch's model through torch.compile (Inductor; its compiling first steps are the warm-up, not timed):");
    for (const net of nets) {
      for (const precision of precisions) results.push(await trainingRow(worker, net, precision, true, cache, log));
    }
  }
  results.push(...(await evaluationRows(worker, precisions, cache, log)));
  const iterations = 100_000;
  const ssAdd = median([addOverhead(iterations), addOverhead(iterations), addOverhead(iterations)]);
  const ptTimes: number[] = [];
  for (let i = 0; i < 3; i++) ptTimes.push((await worker.request<{ perOp: number }>({ op: 'add', iterations, threads })).perOp);
  const ptAdd = median(ptTimes);
  results.push({ op: 'add [2,2]', skipstudioUs: ssAdd * 1e6, pytorchUs: ptAdd * 1e6 });
  log(
    `per-op overhead, add of two [2, 2] tensors: skipstudio ${(ssAdd * 1e6).toFixed(2)} us, PyTorch eager ${(ptAdd * 1e6).toFixed(2)} us`,
  );
  worker.close();
  if (flags.json) console.log(JSON.stringify(results, null, 2));
}

await main();
