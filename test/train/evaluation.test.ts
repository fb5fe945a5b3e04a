/**
 * The parts that produce the study's answers: the classification report
 * (checked on asymmetric cases written out by hand, so a transposed matrix or
 * precision in place of per-class accuracy fails), the trainer's evaluate
 * (argmax of logits the test controls), and an end-to-end run on a learnable
 * dataset that must classify it, with eval.json, predictions.json and
 * `eval --checkpoint` agreeing with each other.
 *
 * Then the evaluation called directly: evaluate's loss, predictions and flip test-time augmentation against sums written out here, bf16 autocast only when asked, the training mode restored; evaluateSharded across two real ranks with a padded shard; evaluateCheckpoint and evaluateRun against an evaluation of the same weights by hand; checkpointEvalConfig's precedence and messages; formatEvaluation's text.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';
import { freePort, runNode } from '../distributed/helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function skipstudio(...args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const trace = (m: number[][]) => sum(m.map((row, i) => row[i]!));

/** NaN-aware deep equality for arrays of numbers (assert.deepEqual treats NaN as equal to NaN, but say it plainly). */
function assertNumbers(actual: number[], expected: number[], label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) assert.ok(Number.isNaN(actual[i]), `${label}[${i}]: expected NaN, got ${actual[i]}`);
    else assert.ok(Math.abs(actual[i]! - e) < 1e-12, `${label}[${i}]: expected ${e}, got ${actual[i]}`);
  });
}

describe('classificationReport', () => {
  it('counts confusionMatrix[true][predicted] and per-class accuracy as recall (an absent class is NaN)', () => {
    const actual = [0, 0, 0, 0, 1, 1, 2, 2, 2];
    const predicted = [0, 0, 1, 3, 1, 0, 2, 2, 1];
    const r = S.classificationReport(predicted, actual, 4);
    assert.deepEqual(r.confusionMatrix, [
      [2, 1, 0, 1], // class 0: two right, one taken for 1, one for 3
      [1, 1, 0, 0],
      [0, 1, 2, 0],
      [0, 0, 0, 0], // class 3 never occurs, though it is predicted once
    ]);
    // Recall, not precision: precision would be [2/3, 1/3, 1, 0].
    assertNumbers(r.perClassAccuracy, [2 / 4, 1 / 2, 2 / 3, Number.NaN], 'perClassAccuracy');
    assert.equal(r.accuracy, 5 / 9);
    assert.equal(r.count, 9);
    assert.equal(r.accuracy, trace(r.confusionMatrix) / sum(r.confusionMatrix.flat()));
  });

  it('tells a model that always answers one class apart from a perfect one', () => {
    const r = S.classificationReport(Int32Array.from([0, 0, 0, 0]), Int32Array.from([0, 1, 1, 1]), 2);
    assert.deepEqual(r.confusionMatrix, [
      [1, 0],
      [3, 0],
    ]);
    assertNumbers(r.perClassAccuracy, [1, 0], 'perClassAccuracy');
    assert.equal(r.accuracy, 0.25);
    const perfect = S.classificationReport([2, 0, 1], [2, 0, 1], 3);
    assert.deepEqual(perfect.confusionMatrix, [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    assertNumbers(perfect.perClassAccuracy, [1, 1, 1], 'perfect');
    assert.equal(perfect.accuracy, 1);
  });

  it('refuses mismatched lengths and reports an empty split as NaN', () => {
    assert.throws(() => S.classificationReport([0, 1], [0], 2), /2 predictions for 1 labels/);
    const empty = S.classificationReport([], [], 2);
    assert.ok(Number.isNaN(empty.accuracy));
    assert.equal(empty.count, 0);
    assert.deepEqual(empty.confusionMatrix, [
      [0, 0],
      [0, 0],
    ]);
  });
});

/** Returns its input flattened: with 1x1x3 images and no normalisation, the logits are the pixels / 255. */
class PixelsAreLogits extends S.Module {
  forward(x: S.Tensor): S.Tensor {
    return x.flatten(1);
  }
}

describe('evaluate', () => {
  // Each image's three pixels are its logits (x 255); the comments give argmax and argmin.
  const pixels = [
    [200, 10, 50], // label 0: argmax 0 (right), argmin 1
    [30, 250, 5], // label 0: argmax 1, argmin 2
    [90, 20, 10], // label 0: argmax 0 (right), argmin 2
    [10, 120, 60], // label 1: argmax 1 (right), argmin 0
    [5, 40, 220], // label 1: argmax 2, argmin 0
    [15, 70, 240], // label 2: argmax 2 (right), argmin 0
    [0, 180, 100], // label 2: argmax 1, argmin 0
  ];
  const labels = [0, 0, 0, 1, 1, 2, 2];
  const dataset: S.ImageDataset = {
    name: 'controlled',
    images: Uint8Array.from(pixels.flat()),
    labels: Uint8Array.from(labels),
    shape: { channels: 1, height: 1, width: 3 },
    classes: ['a', 'b', 'c'],
  };

  it('predicts the argmax of the logits, in the loader order, across batches', () => {
    const model = new PixelsAreLogits();
    // Batches of 3, 3 and 1: the offsets into the prediction array must follow.
    const loader = new S.DataLoader(dataset, { batchSize: 3, shuffle: false });
    const before = S.memory().tensors;
    const { loss, report, predictions } = S.evaluate(model, loader, { precision: 'fp32', memoryFormat: 'contiguous' });
    assert.equal(S.memory().tensors, before, 'evaluate frees its batches');
    assert.deepEqual(predictions, { split: 'test', labels, predicted: [0, 1, 0, 1, 2, 2, 1] });
    assert.deepEqual(report.confusionMatrix, [
      [2, 1, 0],
      [0, 1, 1],
      [0, 1, 1],
    ]);
    assertNumbers(report.perClassAccuracy, [2 / 3, 1 / 2, 1 / 2], 'perClassAccuracy');
    assert.equal(report.accuracy, 4 / 7);
    // The mean cross-entropy of the same logits, by hand.
    const expectedLoss =
      sum(
        pixels.map((p, i) => {
          const z = p.map((v) => v / 255);
          return Math.log(sum(z.map(Math.exp))) - z[labels[i]!]!;
        }),
      ) / pixels.length;
    assert.ok(Math.abs(loss - expectedLoss) < 1e-5, `loss ${loss}, expected ${expectedLoss}`);
    assert.equal(model.training, true, 'evaluate restores the training mode');
  });

  it("with flipTest, predicts from the mean of the image's and its mirror image's logits", () => {
    const weights = [1, 1, 1.5];
    // Unequal weights per logit, so the mirror image's logits differ from the image's and no two means tie.
    const model = new (class extends S.Module {
      forward(x: S.Tensor): S.Tensor {
        return x.flatten(1).mul(S.tensor(weights));
      }
    })();
    const loader = new S.DataLoader(dataset, { batchSize: 3, shuffle: false });
    const { loss, predictions } = S.evaluate(model, loader, { precision: 'fp32', memoryFormat: 'contiguous', flipTest: true });
    const means = pixels.map((p) => p.map((_, i) => (weights[i]! * (p[i]! + p[2 - i]!)) / 2 / 255));
    const argmax = (z: number[]) => z.indexOf(Math.max(...z));
    assert.deepEqual(predictions.predicted, means.map(argmax));
    assert.notDeepEqual(
      means.map(argmax),
      pixels.map((p) => argmax(p.map((v, i) => weights[i]! * v))),
      'the flips change some predictions',
    );
    const expectedLoss = sum(means.map((z, i) => Math.log(sum(z.map(Math.exp))) - z[labels[i]!]!)) / pixels.length;
    assert.ok(Math.abs(loss - expectedLoss) < 1e-5, `loss ${loss}, expected ${expectedLoss}`);
  });
});

describe('a trained model classifies the learnable tiny dataset', () => {
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-evaluation-'));
  const data = writeTinyFashionMnist(join(root, 'data'));
  const out = join(root, 'run');
  after(() => rmSync(root, { recursive: true, force: true }));
  const read = (name: string) => JSON.parse(readFileSync(join(out, name), 'utf8'));

  it('reaches >= 90% test accuracy, and eval.json agrees with its matrix and with predictions.json', () => {
    const run = skipstudio(
      'train',
      '--data-dir',
      data,
      '--model',
      'net1',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--schedule',
      'constant',
      '--weight-decay',
      '0',
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--threads',
      '1',
      '--out',
      out,
    );
    assert.equal(run.status, 0, run.stderr);
    const evaluation = read('eval.json');
    const m = evaluation.confusionMatrix as number[][];
    assert.ok(evaluation.accuracy >= 0.9, `test accuracy ${evaluation.accuracy} after 2 epochs on a dataset a linear model separates`);
    assert.equal(sum(m.flat()), 64);
    assert.equal(evaluation.count, 64);
    assert.equal(evaluation.accuracy, trace(m) / sum(m.flat()));
    m.forEach((row, c) => assert.equal(evaluation.perClassAccuracy[c], row[c]! / sum(row), `class ${c}`));
    // Rows are the true classes: the tiny test split has labels i % 10, so classes 0-3 have 7 images and 4-9 have 6.
    assert.deepEqual(m.map(sum), [7, 7, 7, 7, 6, 6, 6, 6, 6, 6]);

    const predictions = read('predictions.json') as S.Predictions;
    assert.deepEqual(
      predictions.labels,
      Array.from({ length: 64 }, (_, i) => i % 10),
      'labels in the test split order',
    );
    assert.equal(predictions.predicted.length, 64);
    const recomputed = S.classificationReport(predictions.predicted, predictions.labels, 10);
    assert.deepEqual(recomputed.confusionMatrix, m);
    assert.equal(recomputed.accuracy, evaluation.accuracy);
    const epochs = new S.RunDirectory(out).records().filter((r): r is S.EpochRecord => r.type === 'epoch');
    assert.equal(epochs.at(-1)!.testAccuracy, evaluation.accuracy);
  });

  it('eval --checkpoint with --model, --dataset and --data-dir gives the same evaluation', () => {
    const run = skipstudio(
      'eval',
      '--checkpoint',
      join(out, 'checkpoints/last.safetensors'),
      '--model',
      'net1',
      '--dataset',
      'fashion-mnist',
      '--data-dir',
      data,
      '--json',
    );
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    const saved = read('eval.json');
    assert.equal(result.split, 'test');
    assert.equal(result.checkpoint, join(out, 'checkpoints/last.safetensors'));
    assert.equal(result.classes.length, 10);
    assert.equal(result.classes[9], 'Ankle boot');
    assert.deepEqual(result.confusionMatrix, saved.confusionMatrix);
    assert.equal(result.accuracy, saved.accuracy);
    assert.ok(Math.abs(result.loss - saved.loss) < 1e-4, `loss ${result.loss} vs ${saved.loss}`);
    assert.equal(result.predictions, undefined, 'the printed JSON leaves the predictions out');

    const missing = skipstudio('eval', '--checkpoint', join(out, 'checkpoints/last.safetensors'), '--run', out);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /give either --run DIR or --checkpoint FILE/);
    const wrongModel = skipstudio('eval', '--checkpoint', join(out, 'checkpoints/last.safetensors'), '--model', 'net2', '--data-dir', data);
    assert.notEqual(wrongModel.status, 0);
    assert.match(
      wrongModel.stderr,
      /last\.safetensors holds a net1 \(its saved config says so\), not a net2: leave out --model or give the right one/,
    );
    // Without --model, the checkpoint's own config names the model (and its options).
    const fromConfig = skipstudio('eval', '--checkpoint', join(out, 'checkpoints/last.safetensors'), '--data-dir', data, '--json');
    assert.equal(fromConfig.status, 0, fromConfig.stderr);
    assert.equal(JSON.parse(fromConfig.stdout).accuracy, JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).accuracy);
  });
});

const here = dirname(fileURLToPath(import.meta.url));
const library = join(here, '../../src/index.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-evaluation-answers-'));
after(() => rmSync(root, { recursive: true, force: true }));

const argmax = (z: number[]) => z.indexOf(Math.max(...z));
const crossEntropy = (z: number[], label: number) => Math.log(sum(z.map(Math.exp))) - z[label]!;

// Seven 1x2x3 images (the flattened pixels, row by row) and a 6x3 projection: each image's logits are (pixels / 255) @ W.
const W = [
  [1.5, -0.5, 0.2],
  [0.3, 1.1, -0.7],
  [-0.4, 0.6, 1.3],
  [0.9, -1.2, 0.5],
  [-0.8, 0.4, 0.7],
  [0.2, 0.9, -1.1],
];
const pixels = [
  [200, 13, 77, 31, 250, 9],
  [17, 181, 64, 222, 5, 140],
  [91, 44, 203, 12, 168, 59],
  [3, 128, 251, 87, 36, 199],
  [176, 211, 8, 143, 97, 25],
  [60, 7, 119, 240, 188, 73],
  [234, 156, 42, 11, 69, 213],
];
const labels = [2, 0, 1, 0, 2, 1, 0]; // not sorted: a shard put back in the wrong order shows
const dataset: S.ImageDataset = {
  name: 'controlled',
  images: Uint8Array.from(pixels.flat()),
  labels: Uint8Array.from(labels),
  shape: { channels: 1, height: 2, width: 3 },
  classes: ['a', 'b', 'c'],
};
const logitsOf = (p: number[]) => [0, 1, 2].map((j) => sum(p.map((v, k) => (v / 255) * W[k]![j]!)));
/** The image mirrored along its width (each row reversed). */
const mirror = (p: number[]) => [p[2]!, p[1]!, p[0]!, p[5]!, p[4]!, p[3]!];
const plainLogits = pixels.map(logitsOf);
const flipLogits = pixels.map((p) => logitsOf(p).map((v, j) => (v + logitsOf(mirror(p))[j]!) / 2));
const meanLoss = (logits: number[][]) => sum(logits.map((z, i) => crossEntropy(z, labels[i]!))) / logits.length;

const projection = S.keep(S.tensor(W));
/** Logits = flattened pixels @ W: a matmul, which bf16 autocast runs in bf16. */
class Projection extends S.Module {
  forward(x: S.Tensor): S.Tensor {
    return x.flatten(1).matmul(projection);
  }
}
const FP32 = { precision: 'fp32', memoryFormat: 'contiguous' } as const;

describe('evaluate', () => {
  it('gives the mean cross-entropy and the argmax of the logits, in loader order, across uneven batches', () => {
    const model = new Projection();
    const loader = new S.DataLoader(dataset, { batchSize: 3, shuffle: false }); // batches of 3, 3 and 1
    (globalThis as { gc?: () => void }).gc?.();
    const before = S.memory().tensors;
    const { loss, report, predictions } = S.evaluate(model, loader, FP32);
    assert.equal(S.memory().tensors, before, 'evaluate frees what it makes');
    const predicted = plainLogits.map(argmax);
    assert.deepEqual(predicted, [2, 0, 2, 1, 0, 2, 0], 'the hand computation');
    assert.deepEqual(predictions, { split: 'test', labels, predicted });
    assert.deepEqual(report.confusionMatrix, [
      [2, 1, 0],
      [0, 0, 2],
      [1, 0, 1],
    ]);
    assert.equal(report.count, 7);
    assert.equal(report.accuracy, 3 / 7);
    const expected = meanLoss(plainLogits);
    assert.ok(Math.abs(loss - expected) < 1e-6, `loss ${loss}, expected ${expected}`);
  });

  it('with flipTest, averages the logits of each image and its mirror image (flipped along the width)', () => {
    const loader = new S.DataLoader(dataset, { batchSize: 3, shuffle: false });
    const { loss, predictions } = S.evaluate(new Projection(), loader, { ...FP32, flipTest: true });
    assert.deepEqual(predictions.predicted, flipLogits.map(argmax));
    assert.notDeepEqual(flipLogits.map(argmax), plainLogits.map(argmax), 'the mirror images change some predictions');
    const expected = meanLoss(flipLogits);
    assert.ok(Math.abs(loss - expected) < 1e-6, `loss ${loss}, expected ${expected}`);
    // flipTest false, or left out, is the plain evaluation.
    for (const config of [{ ...FP32, flipTest: false }, FP32]) {
      const plain = S.evaluate(new Projection(), loader, config);
      assert.deepEqual(plain.predictions.predicted, plainLogits.map(argmax));
      assert.ok(Math.abs(plain.loss - meanLoss(plainLogits)) < 1e-6);
    }
  });

  it('runs under bf16 autocast for precision bf16 only', () => {
    const loader = new S.DataLoader(dataset, { batchSize: 4, shuffle: false });
    const fp32 = S.evaluate(new Projection(), loader, FP32).loss;
    const bf16 = S.evaluate(new Projection(), loader, { precision: 'bf16', memoryFormat: 'contiguous' }).loss;
    const exact = meanLoss(plainLogits);
    assert.ok(Math.abs(fp32 - exact) < 1e-6, `fp32 loss ${fp32} is the float64 loss ${exact} to float32 rounding`);
    assert.ok(Math.abs(bf16 - exact) > 1e-4, `bf16 loss ${bf16} carries bf16 rounding (fp32: ${fp32})`);
    assert.ok(Math.abs(bf16 - exact) < 1e-2, `bf16 loss ${bf16} is still the loss`);
  });

  it("restores the model's mode: training stays training, eval stays eval", () => {
    const loader = new S.DataLoader(dataset, { batchSize: 7, shuffle: false });
    const training = new Projection();
    S.evaluate(training, loader, FP32);
    assert.equal(training.training, true);
    const evaluating = new Projection().eval();
    S.evaluate(evaluating, loader, FP32);
    assert.equal(evaluating.training, false);
    // And the model is in eval mode while it predicts.
    const modes: boolean[] = [];
    const spy = new (class extends Projection {
      override forward(x: S.Tensor): S.Tensor {
        modes.push(this.training);
        return super.forward(x);
      }
    })();
    S.evaluate(spy, loader, FP32);
    assert.deepEqual(modes, [false]);
    assert.equal(spy.training, true);
  });
});

describe('evaluateSharded', () => {
  it("puts two ranks' shards back in the split's order, drops the padding and averages over the split", async () => {
    const one = S.evaluate(new Projection(), new S.DataLoader(dataset, { batchSize: 7, shuffle: false }), FP32);
    const port = await freePort();
    // Rank 1 holds images 1, 3, 5 and one of padding (7 images over 2 ranks of 4); rank 0 holds 0, 2, 4, 6.
    const child = `import * as S from ${JSON.stringify(library)};
      const W = S.tensor(${JSON.stringify(W)});
      class Projection extends S.Module { forward(x) { return x.flatten(1).matmul(W); } }
      const dataset = { name: 'controlled', images: Uint8Array.from(${JSON.stringify(pixels.flat())}), labels: Uint8Array.from(${JSON.stringify(labels)}),
        shape: { channels: 1, height: 2, width: 3 }, classes: ['a', 'b', 'c'] };
      await S.initProcessGroup({ rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: ${port}, timeoutMs: 30000 });
      const loader = new S.DataLoader(dataset, { batchSize: 2, shuffle: false, shard: { rank: 1, worldSize: 2 } });
      const e = await S.evaluateSharded(new Projection(), loader, { precision: 'fp32', memoryFormat: 'contiguous' });
      S.destroyProcessGroup();
      console.log(JSON.stringify(e));`;
    const rank1 = runNode(['--input-type=module', '-e', child], { timeoutMs: 60_000 });
    await S.initProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 30_000 });
    let sharded: S.Evaluation;
    try {
      const loader = new S.DataLoader(dataset, { batchSize: 2, shuffle: false, shard: { rank: 0, worldSize: 2 } });
      sharded = await S.evaluateSharded(new Projection(), loader, FP32);
    } finally {
      S.destroyProcessGroup();
    }
    const other = await rank1;
    assert.equal(other.code, 0, other.stderr);
    assert.deepEqual(sharded.predictions, { split: 'test', labels, predicted: plainLogits.map(argmax) });
    assert.deepEqual(sharded.predictions, one.predictions);
    assert.deepEqual(sharded.report, one.report);
    assert.ok(Math.abs(sharded.loss - one.loss) < 1e-12, `loss ${sharded.loss} against one process's ${one.loss}`);
    assert.ok(Math.abs(sharded.loss - meanLoss(plainLogits)) < 1e-6);
    // Rank 1 computes the same evaluation.
    const theirs = JSON.parse(other.stdout) as S.Evaluation;
    assert.deepEqual(theirs.predictions, sharded.predictions);
    assert.ok(Math.abs(theirs.loss - sharded.loss) < 1e-12);
  });
});

describe('evaluateCheckpoint and evaluateRun', () => {
  const data = writeTinyFashionMnist(join(root, 'data'), 20, 10);
  const shape = { channels: 1, height: 28, width: 28 };
  const config = S.resolveTrainConfig({
    model: 'net1',
    dataDir: data,
    precision: 'fp32',
    memoryFormat: 'contiguous',
    out: join(root, 'run'),
  });

  /** A net1 with seeded weights, and its evaluation by hand: the training split's normalisation, the test split in order. */
  async function reference() {
    S.manualSeed(11);
    const model = S.buildModel('net1', shape, 10);
    const splits = await S.loadDataset('fashion-mnist', data);
    const loader = new S.DataLoader(splits.test, { batchSize: 4, shuffle: false, normalization: S.computeNormalization(splits.train) });
    return { model, expected: S.evaluate(model, loader, FP32) };
  }

  it("evaluates the checkpoint's weights on the test split in order, normalised as in training", async () => {
    const { model, expected } = await reference();
    const path = join(root, 'net1.safetensors');
    S.saveCheckpoint(path, { model, epoch: 1, step: 2 });
    const stored = Object.keys(model.stateDict()).length + 1; // the weights and the generator's state
    (globalThis as { gc?: () => void }).gc?.();
    const before = S.memory().tensors;
    const result = await S.evaluateCheckpoint(path, config);
    // Counted before any collection: the checkpoint's tensors must be disposed, not left to the garbage collector.
    const held = S.memory().tensors - before;
    assert.ok(held < stored, `${held} tensors still held after evaluating a checkpoint of ${stored}`);
    assert.equal(result.split, 'test');
    assert.equal(result.checkpoint, path);
    assert.deepEqual(result.classes, (await S.loadDataset('fashion-mnist', data)).test.classes);
    assert.equal(result.classes[9], 'Ankle boot');
    assert.deepEqual(result.predictions, expected.predictions);
    assert.deepEqual(result.predictions.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "the test split's order");
    assert.deepEqual(result.confusionMatrix, expected.report.confusionMatrix);
    assert.deepEqual(result.perClassAccuracy, expected.report.perClassAccuracy);
    assert.equal(result.accuracy, expected.report.accuracy);
    assert.equal(result.count, 10);
    assert.ok(Math.abs(result.loss - expected.loss) < 1e-6, `loss ${result.loss}, expected ${expected.loss}`);
  });

  it('refuses a checkpoint of non-finite weights', async () => {
    S.manualSeed(11);
    const model = S.buildModel('net1', shape, 10);
    const key = Object.keys(model.stateDict())[0]!;
    S.noGrad(() => model.parameters()[0]!.fill_(Number.NaN));
    const path = join(root, 'nan.safetensors');
    S.saveCheckpoint(path, { model, epoch: 1, step: 2 });
    await assert.rejects(S.evaluateCheckpoint(path, config), (e: Error) =>
      e.message.startsWith(`${path} holds non-finite weights (NaN or infinity) in ${key}: `),
    );
  });

  it("evaluateRun evaluates the run's last checkpoint with its config and writes eval.json and predictions.json", async () => {
    const { model, expected } = await reference();
    const out = join(root, 'run');
    mkdirSync(join(out, 'checkpoints'), { recursive: true });
    writeFileSync(join(out, 'config.json'), JSON.stringify(config));
    S.saveCheckpoint(join(out, 'checkpoints/last.safetensors'), { model, epoch: 1, step: 2, config });
    const result = await S.evaluateRun(out);
    assert.equal(result.checkpoint, join(out, 'checkpoints/last.safetensors'));
    assert.deepEqual(result.predictions, expected.predictions);
    assert.ok(Math.abs(result.loss - expected.loss) < 1e-6);
    const read = (name: string) => JSON.parse(readFileSync(join(out, name), 'utf8')) as unknown;
    const { predictions, ...evaluation } = result;
    assert.deepEqual(read('eval.json'), JSON.parse(JSON.stringify(evaluation)));
    assert.equal((read('eval.json') as { predictions?: unknown }).predictions, undefined);
    assert.deepEqual(read('predictions.json'), predictions);
  });
});

describe('checkpointEvalConfig', () => {
  const saved = {
    model: 'hw5net',
    modelOptions: { width: 4 },
    dataset: 'cifar10',
    dataDir: '/saved/data',
    precision: 'bf16',
    memoryFormat: 'channelsLast',
    flipTest: true,
    lr: 0.5,
  };
  const withConfig = join(root, 'with-config.safetensors');
  const without = join(root, 'without-config.safetensors');
  S.saveCheckpoint(withConfig, { model: new S.Linear(1, 1), epoch: 0, step: 0, config: saved });
  S.saveCheckpoint(without, { model: new S.Linear(1, 1), epoch: 0, step: 0 });

  it("takes the model, its options, dataset, folder, precision, layout and flip test from the checkpoint's config", () => {
    const config = S.checkpointEvalConfig(withConfig, {});
    assert.equal(config.model, 'hw5net');
    assert.deepEqual(config.modelOptions, { width: 4 });
    assert.equal(config.dataset, 'cifar10');
    assert.equal(config.dataDir, '/saved/data');
    assert.equal(config.precision, 'bf16');
    assert.equal(config.memoryFormat, 'channelsLast');
    assert.equal(config.flipTest, true);
    assert.equal(config.out, 'unused');
    assert.equal(config.lr, S.DEFAULT_TRAIN_CONFIG.lr, 'the training settings are not carried over');
  });

  it('prefers the given dataset and folder, and takes a model named in other case', () => {
    const config = S.checkpointEvalConfig(withConfig, { model: 'HW5Net', dataset: 'coco', dataDir: '/given/data' });
    assert.equal(config.model, 'HW5Net');
    assert.equal(config.dataset, 'coco');
    assert.equal(config.dataDir, '/given/data');
    assert.deepEqual(config.modelOptions, { width: 4 });
    assert.equal(S.checkpointEvalConfig(withConfig, { model: 'hw5net' }).model, 'hw5net');
  });

  it('refuses a model that contradicts the checkpoint', () => {
    assert.throws(
      () => S.checkpointEvalConfig(withConfig, { model: 'net2' }),
      (e: Error) =>
        e.message === `${withConfig} holds a hw5net (its saved config says so), not a net2: leave out --model or give the right one`,
    );
  });

  it('needs the model for a checkpoint without a config', () => {
    assert.throws(
      () => S.checkpointEvalConfig(without, {}),
      (e: Error) => e.message === `${without} does not say which model it holds: give --model`,
    );
    const config = S.checkpointEvalConfig(without, { model: 'net1', dataDir: '/given/data' });
    assert.equal(config.model, 'net1');
    assert.equal(config.dataset, 'fashion-mnist');
    assert.equal(config.dataDir, '/given/data');
    assert.deepEqual(config.modelOptions, {});
  });
});

describe('formatEvaluation', () => {
  const result = (confusionMatrix: number[][]): S.EvaluationResult => ({
    split: 'test',
    loss: 0.123456,
    classes: ['a', 'bbb'],
    checkpoint: 'x.safetensors',
    accuracy: 0.5,
    count: 1234,
    perClassAccuracy: [0.25, 0.875],
    confusionMatrix,
    predictions: { split: 'test', labels: [], predicted: [] },
  });

  it('writes the accuracy, per-class accuracy and the confusion matrix, columns as wide as the widest count', () => {
    assert.equal(
      S.formatEvaluation(
        result([
          [1, 12345],
          [3, 4],
        ]),
      ),
      [
        'test accuracy 50.00% on 1,234 images (loss 0.1235)',
        '',
        'per-class accuracy:',
        '  a    25.00%',
        '  bbb  87.50%',
        '',
        'confusion matrix (rows: true class, columns: predicted):',
        '          0     1',
        '  a       1 12345',
        '  bbb     3     4',
      ].join('\n'),
    );
  });

  it('keeps columns at least 5 wide', () => {
    assert.equal(
      S.formatEvaluation(
        result([
          [1, 2],
          [3, 4],
        ]),
      )
        .split('\n')
        .slice(-3)
        .join('\n'),
      ['         0    1', '  a      1    2', '  bbb    3    4'].join('\n'),
    );
  });
});
