/**
 * Why HW5Net defaults to width 8, and why training runs channels-last:
 * training throughput of its 20-SkipBlock shape at widths 8 and 16, in both
 * memory formats, on 28x28 grayscale images (Fashion-MNIST's shape), batch
 * 64 (--batch), SGD with momentum. Accuracy per epoch comes from the experiment (`npm
 * start`); this measures the per-epoch cost.
 *
 *   npm run bench:width [-- --steps 10 --batch 64]
 */
import { parseArgs } from 'node:util';

import * as S from '../src/index.js';

const { values: flags } = parseArgs({ options: { steps: { type: 'string', default: '10' }, batch: { type: 'string', default: '64' } } });
const steps = Number(flags.steps);
const batch = Number(flags.batch);

const formats: S.MemoryFormat[] = ['contiguous', 'channelsLast'];
for (const width of [8, 16]) for (const memoryFormat of formats) {
  S.manualSeed(0);
  const model = new S.HW5Net({ inChannels: 1, imageSize: [28, 28], width }).to({ memoryFormat });
  const optimizer = new S.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = S.keep(S.randn([batch, 1, 28, 28]).contiguous(memoryFormat));
  const y = S.keep(S.randint(0, 10, [batch]));
  const step = () =>
    S.scope(() => {
      S.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
      optimizer.zeroGrad();
    });
  for (let i = 0; i < 3; i++) step();
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const rate = (steps * batch) / ((performance.now() - start) / 1000);
  console.log(`HW5Net width ${width}, ${memoryFormat} (${model.numParameters().toLocaleString('en-US')} parameters): ${rate.toFixed(0)} images/s, ` +
    `${(60_000 / rate).toFixed(0)} s per Fashion-MNIST epoch`);
}
