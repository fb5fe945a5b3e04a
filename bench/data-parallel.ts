/**
 * Data-parallel benchmark on this machine: the same global batch trained as
 * 1 process x 2 threads and as 2 processes x 1 thread (DistributedDataParallel
 * over Gloo on 127.0.0.1), in alternating rounds; and the 2 processes once
 * more without synchronising (each its half batch, no all-reduce), so that
 * the difference is what synchronisation costs per step. Prints the medians.
 *
 *   node dist/bench/data-parallel.js [--rounds 3 --steps 10 --batch 32 --model hw5net --json]
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    batch: { type: 'string', default: '32' },
    model: { type: 'string', default: 'hw5net' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(flags.rounds);
const steps = Number(flags.steps);
const batch = Number(flags.batch);
const worker = join(dirname(fileURLToPath(import.meta.url)), 'data-parallel-worker.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface WorkerResult {
  msPerStep: number;
  allReduceMs?: number;
}

function runWorker(args: string[]): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker ${args.join(' ')} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as WorkerResult);
    });
  });
}

/** Milliseconds per global step (the slowest process's), and of one all-reduce of all gradients. */
async function measure(mode: 'single' | 'ddp' | 'alone'): Promise<{ step: number; allReduce: number }> {
  const port = await freePort();
  const processes = mode === 'single' ? 1 : 2;
  const threads = mode === 'single' ? 2 : 1;
  const times = await Promise.all(
    Array.from({ length: processes }, (_, rank) =>
      runWorker([
        mode,
        String(rank),
        String(processes),
        String(port),
        String(threads),
        String(batch / processes),
        String(steps),
        flags.model!,
      ]),
    ),
  );
  return { step: Math.max(...times.map((t) => t.msPerStep)), allReduce: Math.max(...times.map((t) => t.allReduceMs ?? 0)) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: Record<'single' | 'ddp' | 'alone', number[]> = { single: [], ddp: [], alone: [] };
const allReduces: number[] = [];
for (let round = 0; round < rounds; round++) {
  for (const mode of ['single', 'ddp', 'alone'] as const) {
    const m = await measure(mode);
    results[mode].push(m.step);
    if (mode === 'ddp') allReduces.push(m.allReduce);
  }
}
const allReduceMs = median(allReduces);
const single = median(results.single);
const ddp = median(results.ddp);
const alone = median(results.alone);
const summary = {
  model: flags.model,
  globalBatch: batch,
  steps,
  rounds,
  oneProcessTwoThreads: { msPerStep: single, imagesPerSecond: (1000 * batch) / single },
  twoProcessesOneThread: { msPerStep: ddp, imagesPerSecond: (1000 * batch) / ddp },
  twoProcessesUnsynchronised: { msPerStep: alone },
  synchronisationMsPerStep: ddp - alone,
  allReduceAllGradientsMs: allReduceMs,
  speedup: single / ddp,
};
if (flags.json) {
  console.log(JSON.stringify(summary));
} else {
  console.log(`${flags.model}, global batch ${batch}, median of ${rounds} rounds of ${steps} steps:`);
  console.log(
    `  1 process  x 2 threads: ${single.toFixed(1)} ms/step, ${summary.oneProcessTwoThreads.imagesPerSecond.toFixed(0)} images/s`,
  );
  console.log(
    `  2 processes x 1 thread (DDP over Gloo): ${ddp.toFixed(1)} ms/step, ${summary.twoProcessesOneThread.imagesPerSecond.toFixed(0)} images/s (x${summary.speedup.toFixed(2)})`,
  );
  console.log(
    `  2 processes x 1 thread, not synchronised: ${alone.toFixed(1)} ms/step; synchronisation costs ${(ddp - alone).toFixed(1)} ms/step`,
  );
  console.log(`  one all-reduce of all gradients at once (no overlap): ${allReduceMs.toFixed(2)} ms`);
}
