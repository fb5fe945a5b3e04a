/**
 * A short training run of a small residual network on Fashion-MNIST: the
 * smoke test of the whole stack (data, model, autograd, optimizer) that
 * `npm start` runs until the full experiment lands. Prints the loss every
 * few steps and the throughput, then the accuracy on the full test set.
 */
import { DataLoader, computeNormalization, loadFashionMnist } from '../data/index.js';
import { HW5Net } from '../models/index.js';
import { Adam } from '../optim/index.js';
import { crossEntropy, manualSeed, noGrad, scope } from '../tensor/index.js';

export interface QuickTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  dataDir?: string;
  logEvery: number;
  log: (line: string) => void;
}

export interface QuickTrainResult {
  finalLoss: number;
  imagesPerSecond: number;
  testAccuracy: number;
}

export function quickTrain(options: QuickTrainOptions): QuickTrainResult {
  const { steps, batchSize, lr, seed, logEvery, log } = options;
  manualSeed(seed);
  const data = loadFashionMnist(options.dataDir);
  const normalization = computeNormalization(data.train);
  const train = new DataLoader(data.train, { batchSize, shuffle: true, dropLast: true, seed, normalization });
  const test = new DataLoader(data.test, { batchSize: 500, shuffle: false, normalization });
  const model = new HW5Net({ inChannels: 1, imageSize: [28, 28], numClasses: 10, width: 8, blocksPerStage: 2 });
  const optimizer = new Adam(model.parameters(), { lr });
  log(`Training a ${model.numSkipBlocks}-SkipBlock HW5Net (${model.parameters().length} learnable layers, ` +
    `${model.numParameters().toLocaleString('en-US')} parameters) on Fashion-MNIST for ${steps} steps of ${batchSize} images`);

  let step = 0;
  let epoch = 0;
  let windowLoss = 0;
  let finalLoss = Number.NaN;
  const start = performance.now();
  while (step < steps) {
    for (const batch of train.epoch(epoch)) {
      const loss = scope(() => {
        const value = crossEntropy(model.forward(batch.x), batch.y);
        value.backward();
        optimizer.step();
        optimizer.zeroGrad();
        return value.item();
      });
      batch.x.dispose();
      batch.y.dispose();
      windowLoss += loss;
      step += 1;
      if (step % logEvery === 0 || step === steps) {
        const seconds = (performance.now() - start) / 1000;
        finalLoss = windowLoss / (step % logEvery || logEvery);
        log(`step ${String(step).padStart(5)}  loss ${finalLoss.toFixed(4)}  ${(step * batchSize / seconds).toFixed(0)} images/s`);
        windowLoss = 0;
      }
      if (step >= steps) break;
    }
    epoch += 1;
  }
  const imagesPerSecond = (steps * batchSize) / ((performance.now() - start) / 1000);

  model.eval();
  let correct = 0;
  for (const batch of test.epoch()) {
    correct += scope(() => noGrad(() => model.forward(batch.x).argmax(1).eq(batch.y).sum().item()));
    batch.x.dispose();
    batch.y.dispose();
  }
  const testAccuracy = correct / test.size;
  log(`test accuracy ${(100 * testAccuracy).toFixed(2)}% on ${test.size.toLocaleString('en-US')} test images`);
  return { finalLoss, imagesPerSecond, testAccuracy };
}
