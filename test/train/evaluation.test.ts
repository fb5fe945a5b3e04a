/**
 * The parts that produce the study's answers: the classification report
 * (checked on asymmetric cases written out by hand, so a transposed matrix or
 * precision in place of per-class accuracy fails), the trainer's evaluate
 * (argmax of logits the test controls), and an end-to-end run on a learnable
 * dataset that must classify it, with eval.json, predictions.json and
 * `eval --checkpoint` agreeing with each other.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

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
    assert.deepEqual(r.confusionMatrix, [[1, 0], [3, 0]]);
    assertNumbers(r.perClassAccuracy, [1, 0], 'perClassAccuracy');
    assert.equal(r.accuracy, 0.25);
    const perfect = S.classificationReport([2, 0, 1], [2, 0, 1], 3);
    assert.deepEqual(perfect.confusionMatrix, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    assertNumbers(perfect.perClassAccuracy, [1, 1, 1], 'perfect');
    assert.equal(perfect.accuracy, 1);
  });

  it('refuses mismatched lengths and reports an empty split as NaN', () => {
    assert.throws(() => S.classificationReport([0, 1], [0], 2), /2 predictions for 1 labels/);
    const empty = S.classificationReport([], [], 2);
    assert.ok(Number.isNaN(empty.accuracy));
    assert.equal(empty.count, 0);
    assert.deepEqual(empty.confusionMatrix, [[0, 0], [0, 0]]);
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
    name: 'controlled', images: Uint8Array.from(pixels.flat()), labels: Uint8Array.from(labels),
    shape: { channels: 1, height: 1, width: 3 }, classes: ['a', 'b', 'c'],
  };

  it('predicts the argmax of the logits, in the loader order, across batches', () => {
    const model = new PixelsAreLogits();
    // Batches of 3, 3 and 1: the offsets into the prediction array must follow.
    const loader = new S.DataLoader(dataset, { batchSize: 3, shuffle: false });
    const before = S.memory().tensors;
    const { loss, report, predictions } = S.evaluate(model, loader, { precision: 'fp32', memoryFormat: 'contiguous' });
    assert.equal(S.memory().tensors, before, 'evaluate frees its batches');
    assert.deepEqual(predictions, { split: 'test', labels, predicted: [0, 1, 0, 1, 2, 2, 1] });
    assert.deepEqual(report.confusionMatrix, [[2, 1, 0], [0, 1, 1], [0, 1, 1]]);
    assertNumbers(report.perClassAccuracy, [2 / 3, 1 / 2, 1 / 2], 'perClassAccuracy');
    assert.equal(report.accuracy, 4 / 7);
    // The mean cross-entropy of the same logits, by hand.
    const expectedLoss = sum(pixels.map((p, i) => {
      const z = p.map((v) => v / 255);
      return Math.log(sum(z.map(Math.exp))) - z[labels[i]!]!;
    })) / pixels.length;
    assert.ok(Math.abs(loss - expectedLoss) < 1e-5, `loss ${loss}, expected ${expectedLoss}`);
    assert.equal(model.training, true, 'evaluate restores the training mode');
  });

  it('with flipTest, predicts from the mean of the image\'s and its mirror image\'s logits', () => {
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
    assert.notDeepEqual(means.map(argmax), pixels.map((p) => argmax(p.map((v, i) => weights[i]! * v))), 'the flips change some predictions');
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
    const run = skipstudio('train', '--data-dir', data, '--model', 'net1', '--optimizer', 'adam', '--lr', '0.001', '--schedule', 'constant',
      '--weight-decay', '0', '--epochs', '2', '--batch-size', '16', '--threads', '1', '--out', out);
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
    assert.deepEqual(predictions.labels, Array.from({ length: 64 }, (_, i) => i % 10), 'labels in the test split order');
    assert.equal(predictions.predicted.length, 64);
    const recomputed = S.classificationReport(predictions.predicted, predictions.labels, 10);
    assert.deepEqual(recomputed.confusionMatrix, m);
    assert.equal(recomputed.accuracy, evaluation.accuracy);
    const epochs = new S.RunDirectory(out).records().filter((r): r is S.EpochRecord => r.type === 'epoch');
    assert.equal(epochs.at(-1)!.testAccuracy, evaluation.accuracy);
  });

  it('eval --checkpoint with --model, --dataset and --data-dir gives the same evaluation', () => {
    const run = skipstudio('eval', '--checkpoint', join(out, 'checkpoints/last.safetensors'), '--model', 'net1', '--dataset', 'fashion-mnist',
      '--data-dir', data, '--json');
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
    assert.match(wrongModel.stderr, /last\.safetensors holds a net1 \(its saved config says so\), not a net2: leave out --model or give the right one/);
    // Without --model, the checkpoint's own config names the model (and its options).
    const fromConfig = skipstudio('eval', '--checkpoint', join(out, 'checkpoints/last.safetensors'), '--data-dir', data, '--json');
    assert.equal(fromConfig.status, 0, fromConfig.stderr);
    assert.equal(JSON.parse(fromConfig.stdout).accuracy, JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).accuracy);
  });
});
