/**
 * One process of the data-parallel benchmark (bench/data-parallel.ts):
 *   node data-parallel-worker.js <mode> <rank> <worldSize> <port> <threads> <batch> <steps> <model>
 * mode: single (no group), ddp (DistributedDataParallel over Gloo), or
 * alone (one of worldSize processes that train side by side without
 * synchronising: the same work, no all-reduce, to isolate its cost).
 * Trains `steps` SGD steps on a fixed synthetic batch after 3 warm-up steps
 * and prints { msPerStep } as JSON; with ddp also { allReduceMs }: one
 * all-reduce of every gradient at once, what a step's synchronisation would
 * cost without overlap.
 */
// The modules it needs, not the package entry: the data and report modules' npm dependencies play no part here.
import * as S from '../src/tensor/index.js';
import { SGD } from '../src/optim/index.js';
import { buildModel } from '../src/models/index.js';
import { DistributedDataParallel, allReduce, barrier, destroyProcessGroup, initProcessGroup } from '../src/distributed/index.js';

const [mode, rankArg, worldArg, portArg, threadsArg, batchArg, stepsArg, modelArg] = process.argv.slice(2);
const rank = Number(rankArg);
const worldSize = Number(worldArg);
const batch = Number(batchArg);
const steps = Number(stepsArg);

S.setNumThreads(Number(threadsArg));
S.manualSeed(rank);
const model = buildModel(modelArg ?? 'hw5net', { channels: 1, height: 28, width: 28 }, 10);
const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const x = S.keep(S.randn([batch, 1, 28, 28]));
const y = S.keep(S.randint(0, 10, [batch]));

let forward = (input: S.Tensor) => model.forward(input);
if (mode === 'ddp') {
  await initProcessGroup({ rank, worldSize, masterAddr: '127.0.0.1', masterPort: Number(portArg), timeoutMs: 60_000 });
  const ddp = await DistributedDataParallel.create(model);
  forward = (input) => ddp.forward(input);
}

const step = () =>
  S.scope(() => {
    S.crossEntropy(forward(x), y).backward();
    optimizer.step();
    optimizer.zeroGrad();
  });

for (let i = 0; i < 3; i++) step();
if (mode === 'ddp') await barrier();
const started = performance.now();
for (let i = 0; i < steps; i++) step();
const msPerStep = (performance.now() - started) / steps;
let allReduceMs: number | undefined;
if (mode === 'ddp') {
  const flat = S.keep(S.zeros([model.parameters().reduce((n, p) => n + p.numel, 0)]));
  await allReduce(flat);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await allReduce(flat);
  allReduceMs = (performance.now() - t0) / steps;
  destroyProcessGroup();
}
console.log(JSON.stringify({ msPerStep, allReduceMs }));
