/**
 * Why HW5Net defaults to width 8, and why training runs channels-last:
 * training throughput of its 20-SkipBlock shape (--blocks: SkipBlocks a stage, 6)
 * at widths 8 and 16 (--widths), in both
 * memory formats, on 28x28 grayscale images (Fashion-MNIST's shape), batch
 * 64 (--batch), SGD with momentum. Accuracy per epoch comes from the experiment (`npm
 * start`); this measures the per-epoch cost.
 *
 * Last, each width in its faster format again, fed by the trainer's own data
 * path (the DataLoader prefetching Fashion-MNIST batches on a worker thread,
 * with crops and flips) instead of one fixed batch: the data path should cost
 * next to nothing (it once cost 15-40%: the worker thread's ops started a
 * second OpenMP team whose spinning took the cores from the step).
 *
 *   npm run bench:width [-- --steps 10 --batch 64 --blocks 6 --widths 8,16]
 */
import { parseArgs } from 'node:util';

import * as S from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    batch: { type: 'string', default: '64' },
    blocks: { type: 'string', default: '6' },
    widths: { type: 'string', default: '8,16' },
  },
});
const steps = Number(flags.steps);
const batch = Number(flags.batch);
const blocksPerStage = Number(flags.blocks);
const widths = flags.widths.split(',').map(Number);

function setUp(width: number, memoryFormat: S.MemoryFormat) {
  S.manualSeed(0);
  const model = new S.HW5Net({ inChannels: 1, imageSize: [28, 28], width, blocksPerStage }).to({ memoryFormat });
  const optimizer = new S.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = (x: S.Tensor, y: S.Tensor) =>
    S.scope(() => {
      S.crossEntropy(model.forward(x.contiguous(memoryFormat)), y).backward();
      optimizer.step();
      optimizer.zeroGrad();
    });
  return { model, step };
}

/** Images a second over `steps` training steps after 3 of warm-up. */
async function rate(trainOneStep: () => Promise<void>): Promise<number> {
  let start = 0;
  for (let i = 0; i < 3 + steps; i++) {
    if (i === 3) start = performance.now();
    await trainOneStep();
  }
  return (steps * batch) / ((performance.now() - start) / 1000);
}

const fixedRates = new Map<string, number>();
for (const width of widths)
  for (const memoryFormat of ['contiguous', 'channelsLast'] as const) {
    const { model, step } = setUp(width, memoryFormat);
    const x = S.keep(S.randn([batch, 1, 28, 28]));
    const y = S.keep(S.randint(0, 10, [batch]));
    const perSecond = await rate(async () => step(x, y));
    fixedRates.set(`${width} ${memoryFormat}`, perSecond);
    console.log(
      `HW5Net width ${width}, ${memoryFormat} (${model.numParameters().toLocaleString('en-US')} parameters): ${perSecond.toFixed(0)} images/s, ` +
        `${(60_000 / perSecond).toFixed(0)} s per Fashion-MNIST epoch`,
    );
  }

const train = S.loadFashionMnist().train;
for (const width of widths) {
  const memoryFormat = fixedRates.get(`${width} contiguous`)! >= fixedRates.get(`${width} channelsLast`)! ? 'contiguous' : 'channelsLast';
  const { step } = setUp(width, memoryFormat);
  const batches = new S.DataLoader(train, { batchSize: batch, augment: true }).prefetchingEpoch(0);
  const perSecond = await rate(async () => {
    const { x, y } = (await batches.next()).value as S.Batch;
    step(x, y);
    S.dispose([x, y]);
  });
  await batches.return(undefined);
  console.log(
    `HW5Net width ${width}, ${memoryFormat}, fed by the DataLoader (prefetching, crops and flips): ${perSecond.toFixed(0)} images/s, ` +
      `${(perSecond / fixedRates.get(`${width} ${memoryFormat}`)!).toFixed(2)}x the fixed batch's rate`,
  );
}
