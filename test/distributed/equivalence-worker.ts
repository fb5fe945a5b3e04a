/**
 * One side of the data-parallel equivalence test, run as its own process.
 *   node equivalence-worker.js ddp <model> <rank> <worldSize> <port> <out.json>
 *   node equivalence-worker.js single <model> <out.json>
 * Both train `model` (mlp, or hw5net with batch norm) for 20 SGD steps on the
 * same global batches of 8. The data-parallel side gives each rank half of
 * every batch and lets DistributedDataParallel average the gradients (hw5net
 * with synchronised batch statistics). The single side accumulates the
 * gradients of the same two halves (mlp), or takes the whole batch (hw5net,
 * whose synchronised statistics are those of the whole batch). Each writes
 * its final weights.
 */
import { writeFileSync } from 'node:fs';

import {
  Linear,
  type Module,
  ReLU,
  SGD,
  Sequential,
  buildModel,
  crossEntropy,
  manualSeed,
  rand,
  randint,
  scope,
  setNumThreads,
} from '../../src/index.js';
import { DistributedDataParallel, convertSyncBatchNorm, destroyProcessGroup, initProcessGroup } from '../../src/distributed/index.js';

const STEPS = Number(process.env.EQUIVALENCE_STEPS ?? 20);
const BATCH = 8;
const [mode, modelName, ...rest] = process.argv.slice(2);

// HW5Net trains in float64: its batch norms on random labels amplify float32
// rounding (the order of a sum over 8 images or over two sums of 4) from 1e-7
// after 5 steps to 1e-2 after 20, which would hide what is compared.
const DTYPE = modelName === 'mlp' ? 'float32' : 'float64';

function makeModel(): Module {
  if (modelName === 'mlp') return new Sequential(new Linear(48, 32), new ReLU(), new Linear(32, 10));
  return buildModel('hw5net', { channels: 3, height: 16, width: 16 }, 10, { width: 4, blocksPerStage: 1 }).to({ dtype: DTYPE });
}

function data() {
  // The same batches on every process: drawn from a fixed seed before the model exists.
  manualSeed(7);
  const shape = modelName === 'mlp' ? [STEPS, BATCH, 48] : [STEPS, BATCH, 3, 16, 16];
  return { x: rand(shape).sub(0.5).to(DTYPE), y: randint(0, 10, [STEPS, BATCH]) };
}

function weights(model: Module): Record<string, number[]> {
  return Object.fromEntries(model.namedParameters().map(([k, t]) => [k, Array.from(t.contiguous().data() as Float32Array | Float64Array)]));
}

async function main() {
  setNumThreads(1);
  const { x, y } = data();
  if (mode === 'ddp') {
    const [rank, worldSize, port, out] = [Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3]!];
    await initProcessGroup({ rank, worldSize, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 30_000 });
    // Different initial weights per rank: DistributedDataParallel must make them rank 0's.
    manualSeed(100 + rank);
    const model = makeModel();
    if (modelName !== 'mlp') convertSyncBatchNorm(model);
    const ddp = await DistributedDataParallel.create(model);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const half = BATCH / worldSize;
    for (let step = 0; step < STEPS; step++) {
      scope(() => {
        const xs = x.select(0, step).narrow(0, rank * half, half);
        const ys = y.select(0, step).narrow(0, rank * half, half);
        crossEntropy(ddp.forward(xs), ys).backward();
        optimizer.step();
        optimizer.zeroGrad();
      });
    }
    if (rank === 0) writeFileSync(out, JSON.stringify(weights(model)));
    ddp.release();
    destroyProcessGroup();
  } else {
    const out = rest[0]!;
    manualSeed(100);
    const model = makeModel();
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    for (let step = 0; step < STEPS; step++) {
      scope(() => {
        const xb = x.select(0, step);
        const yb = y.select(0, step);
        if (modelName === 'mlp') {
          for (const h of [0, 1])
            crossEntropy(model.forward(xb.narrow(0, h * 4, 4)), yb.narrow(0, h * 4, 4))
              .div(2)
              .backward();
        } else {
          crossEntropy(model.forward(xb), yb).backward();
        }
        optimizer.step();
        optimizer.zeroGrad();
      });
    }
    writeFileSync(out, JSON.stringify(weights(model)));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
