/**
 * A network of your own SkipBlocks, trained for one epoch on Fashion-MNIST
 * with the library alone (no CLI), then evaluated on the test set.
 *
 *   node dist/examples/custom-skipblocks.js [--steps N]
 *
 * `--steps N` stops the epoch after N batches (the tests run a few).
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  DataLoader,
  Linear,
  Module,
  SGD,
  SkipBlock,
  type Tensor,
  computeNormalization,
  crossEntropy,
  loadFashionMnist,
  manualSeed,
  noGrad,
  scope,
} from 'skipstudio';

/** A stem, two stages of SkipBlocks joined by a downsampling one, and a linear head. */
class SmallResNet extends Module {
  stem = new Conv2d(1, 8, 3, { padding: 1, bias: false });
  stem_bn = new BatchNorm2d(8);
  stage1 = [new SkipBlock(8, 8), new SkipBlock(8, 8)];
  down = new SkipBlock(8, 16, { downsample: true });
  stage2 = [new SkipBlock(16, 16), new SkipBlock(16, 16)];
  pool = new AdaptiveAvgPool2d(1);
  fc = new Linear(16, 10);

  forward(x: Tensor): Tensor {
    let out = this.stem_bn.forward(this.stem.forward(x)).relu();
    for (const block of this.stage1) out = block.forward(out);
    out = this.down.forward(out);
    for (const block of this.stage2) out = block.forward(out);
    return this.fc.forward(this.pool.forward(out).flatten(1));
  }
}

/** The value after `--steps`, or every batch of the epoch. */
function stepLimit(argv: string[]): number {
  const at = argv.indexOf('--steps');
  if (at < 0) return Infinity;
  const steps = Number(argv[at + 1]);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`--steps must be a positive integer, got ${argv[at + 1]}`);
  return steps;
}

manualSeed(0);
const steps = stepLimit(process.argv);
const { train, test } = loadFashionMnist();
const normalization = computeNormalization(train);
const model = new SmallResNet();
const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
console.log(`SmallResNet: ${model.parameters().length} learnable layers`);

let step = 0;
for (const { x, y } of new DataLoader(train, { batchSize: 64, seed: 0, normalization }).epoch(0)) {
  const loss = scope(() => {
    const l = crossEntropy(model.forward(x), y);
    l.backward();
    optimizer.step();
    optimizer.zeroGrad();
    return l.item();
  });
  x.dispose();
  y.dispose();
  if (++step % 100 === 0 || step === steps) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
  if (step >= steps) break;
}

model.eval();
let correct = 0;
let seen = 0;
noGrad(() => {
  for (const { x, y } of new DataLoader(test, { batchSize: 500, shuffle: false, normalization }).epoch(0)) {
    correct += scope(() => model.forward(x).argmax(1).eq(y).sum().item());
    seen += y.shape[0];
    x.dispose();
    y.dispose();
  }
});
console.log(`test accuracy after ${step} steps: ${((100 * correct) / seen).toFixed(2)}% of ${seen} images`);
