/**
 * Evaluation on the test split: the mean loss, accuracy, per-class accuracy,
 * confusion matrix and every image's prediction, for the trainer after each
 * epoch and for `skipstudio eval` (a run directory, or a checkpoint plus model
 * and dataset names).
 */
import { existsSync } from 'node:fs';

import { DataLoader } from '../data/index.js';
import { checkFiniteWeights, loadCheckpoint, readCheckpointConfig } from '../io/index.js';
import type { Module } from '../nn/index.js';
import { type ClassificationReport, type Predictions, RunDirectory, type TrainConfig, trainingMemoryFormat } from '../runs/index.js';
import { allGather } from '../distributed/index.js';
import { type Tensor, autocast, crossEntropy, dispose, noGrad, scope, tensor } from '../tensor/index.js';
import { resolveTrainConfig } from './config.js';
import { classificationReport } from './metrics.js';
import { prepareRun } from './prepare.js';

/** A test split's evaluation: the mean loss, the classification report and each image's prediction. */
export interface Evaluation {
  loss: number;
  report: ClassificationReport;
  /** Every test image's predicted class, in the loader's order: paired comparisons (McNemar's test) need them. */
  predictions: Predictions;
}

/** Test images evaluated at once, in training and by `skipstudio eval`. */
export const EVAL_BATCH_SIZE = 500;

/** What evaluation takes from a run's settings: its precision, memory format and flip test-time augmentation. */
export type EvalSettings = Pick<TrainConfig, 'precision' | 'memoryFormat'> & Partial<Pick<TrainConfig, 'flipTest'>>;

/** Evaluates a model on a loader: mean loss, the classification report and every prediction. */
export function evaluate(model: Module, loader: DataLoader, config: EvalSettings): Evaluation {
  const { predicted, actual, lossSum } = predict(model, loader, config);
  return {
    loss: lossSum / loader.size,
    report: classificationReport(predicted, actual, loader.dataset.classes.length),
    predictions: { split: 'test', labels: Array.from(actual), predicted: Array.from(predicted) },
  };
}

/**
 * evaluate() in data-parallel training: each rank predicts its shard of the
 * test split (the loader's shard), then the predictions and loss sums are
 * gathered and put back in the split's order, the shards' padding dropped,
 * so every rank holds the evaluation one process would compute.
 */
export async function evaluateSharded(model: Module, loader: DataLoader, config: EvalSettings): Promise<Evaluation> {
  const { worldSize } = loader.options.shard;
  const local = predict(model, loader, config);
  // Stryker disable next-line ObjectLiteral: tensor() makes a Float64Array float64 unasked; the option only says so
  const packed = tensor(Float64Array.from([...local.losses, ...local.predicted, ...local.actual]), { dtype: 'float64' });
  const gathered = await allGather(packed);
  packed.dispose();
  const n = loader.dataset.labels.length;
  const perRank = loader.size;
  const predicted = new Int32Array(n);
  const actual = new Int32Array(n);
  let lossSum = 0;
  gathered.forEach((t: Tensor, r: number) => {
    const values = t.data() as Float64Array;
    t.dispose();
    // Stryker disable next-line EqualityOperator: i <= perRank adds only i = perRank, whose index r + perRank * worldSize >= n is skipped below before anything is read
    for (let i = 0; i < perRank; i++) {
      const index = r + i * worldSize;
      if (index >= n) continue; // padding: an example of another shard, repeated to even the shards out
      lossSum += values[i]!;
      predicted[index] = values[perRank + i]!;
      actual[index] = values[2 * perRank + i]!;
    }
  });
  return {
    loss: lossSum / n,
    report: classificationReport(predicted, actual, loader.dataset.classes.length),
    predictions: { split: 'test', labels: Array.from(actual), predicted: Array.from(predicted) },
  };
}

/** The logits of a batch; with flipTest, the mean of the image's and its mirror image's (flipped along the width). */
function testLogits(model: Module, x: Tensor, flipTest: boolean): Tensor {
  const logits = model.forward(x);
  return flipTest ? logits.add(model.forward(x.flip([3]))).mul(0.5) : logits;
}

function predict(model: Module, loader: DataLoader, config: EvalSettings) {
  const wasTraining = model.training;
  model.eval();
  const predicted = new Int32Array(loader.size);
  const actual = new Int32Array(loader.size);
  const losses = new Float64Array(loader.size);
  let offset = 0;
  for (const batch of loader.epoch(0)) {
    scope(() =>
      noGrad(() => {
        const x = batch.x.contiguous(trainingMemoryFormat(config));
        const logits = autocast(() => testLogits(model, x, config.flipTest ?? false), { enabled: config.precision === 'bf16' }).float();
        losses.set(crossEntropy(logits, batch.y, { reduction: 'none' }).to('float64').data() as Float64Array, offset);
        const p = logits.argmax(1).to('int32').data() as Int32Array;
        predicted.set(p, offset);
        actual.set(batch.y.to('int32').data() as Int32Array, offset);
        offset += p.length;
      }),
    );
    batch.x.dispose();
    batch.y.dispose();
  }
  model.train(wasTraining);
  return { predicted, actual, losses, lossSum: losses.reduce((a, b) => a + b, 0) };
}

export interface EvaluationResult extends ClassificationReport {
  split: 'test';
  loss: number;
  classes: string[];
  checkpoint: string;
  predictions: Predictions;
}

/** Evaluates the checkpoint with the given config (model, dataset, normalisation from the training split). */
export async function evaluateCheckpoint(checkpointPath: string, config: TrainConfig): Promise<EvaluationResult> {
  const { splits, normalization, model } = await prepareRun(config);
  const checkpoint = loadCheckpoint(checkpointPath);
  try {
    checkFiniteWeights(checkpoint.modelState, checkpointPath);
    model.loadStateDict(checkpoint.modelState);
  } finally {
    checkpoint.dispose();
  }
  // Stryker disable next-line ObjectLiteral: the layout changes how fast the convolutions run, not what they compute
  model.to({ memoryFormat: trainingMemoryFormat(config) });
  const loader = new DataLoader(splits.test, { batchSize: EVAL_BATCH_SIZE, shuffle: false, normalization });
  const { loss, report, predictions } = evaluate(model, loader, config);
  dispose(model.parameters());
  return { split: 'test', loss, classes: splits.test.classes, checkpoint: checkpointPath, ...report, predictions };
}

/**
 * The config to evaluate a bare checkpoint with: the one it was saved with
 * (model, its options, dataset), with the dataset and its folder replaceable;
 * a --model that contradicts the checkpoint is an error, not 8 KB of missing keys.
 */
export function checkpointEvalConfig(path: string, given: { model?: string; dataset?: string; dataDir?: string }): TrainConfig {
  const saved = (readCheckpointConfig(path) ?? {}) as Partial<TrainConfig>;
  if (given.model !== undefined && saved.model !== undefined && given.model.toLowerCase() !== saved.model) {
    throw new Error(
      `${path} holds a ${saved.model} (its saved config says so), not a ${given.model}: leave out --model or give the right one`,
    );
  }
  const model = given.model ?? saved.model;
  if (model === undefined) throw new Error(`${path} does not say which model it holds: give --model`);
  return resolveTrainConfig({
    model,
    modelOptions: saved.modelOptions,
    dataset: given.dataset ?? saved.dataset,
    dataDir: given.dataDir ?? saved.dataDir,
    precision: saved.precision,
    memoryFormat: saved.memoryFormat,
    flipTest: saved.flipTest,
    out: 'unused',
  });
}

/** Evaluates a run's last checkpoint and writes eval.json and predictions.json into the run directory. */
export async function evaluateRun(path: string): Promise<EvaluationResult> {
  const dir = new RunDirectory(path);
  const config = resolveTrainConfig({ ...dir.readJson<TrainConfig>('config.json'), out: path });
  // A run in training writes its own evaluation when it ends: its lock keeps this one from landing after that,
  // or from reading a checkpoint mid-training and saving it as the run's result.
  const lock = dir.lock();
  try {
    const result = await evaluateCheckpoint(dir.checkpointPath, config);
    const { predictions, ...evaluation } = result;
    dir.writeJson('eval.json', evaluation);
    dir.writeJson('predictions.json', predictions);
    return result;
  } finally {
    lock.release();
  }
}

/** How a run's evaluation differs from one float32 forward pass per image (what an exported graph computes), or undefined when it does not. */
export function evaluationMode(config: EvalSettings): string | undefined {
  const ways = [
    config.precision === 'bf16' ? 'under bf16 autocast' : '',
    config.flipTest ? "averaging each image's logits with its mirror image's" : '',
  ].filter(Boolean);
  return ways.length ? ways.join(', ') : undefined;
}

/** How many of a run's recorded test predictions one float32 forward pass per image (no flips) predicts otherwise. */
export interface PredictionAgreement {
  /** How the run's own evaluation computed (evaluationMode). */
  evaluatedAs: string;
  differ: number;
  count: number;
}

/**
 * Measures how often a float32, single-pass evaluation of the run's last checkpoint (what its ONNX graph computes) predicts a
 * test image otherwise than the run's predictions.json, which bf16 autocast or flip averaging made. Undefined for a run
 * evaluated as the graph computes, or one with no predictions.json.
 */
export async function agreementWithSinglePass(path: string): Promise<PredictionAgreement | undefined> {
  const dir = new RunDirectory(path);
  const config = resolveTrainConfig({ ...dir.readJson<TrainConfig>('config.json'), out: path });
  const evaluatedAs = evaluationMode(config);
  if (evaluatedAs === undefined || !existsSync(dir.file('predictions.json'))) return undefined;
  const recorded = dir.readJson<Predictions>('predictions.json');
  const single = await evaluateCheckpoint(dir.checkpointPath, { ...config, precision: 'fp32', flipTest: false });
  if (single.predictions.predicted.length !== recorded.predicted.length) {
    throw new Error(
      `${dir.file('predictions.json')} holds ${recorded.predicted.length} predictions, the test split ${single.predictions.predicted.length}`,
    );
  }
  return {
    evaluatedAs,
    differ: recorded.predicted.filter((p, i) => p !== single.predictions.predicted[i]).length,
    count: recorded.predicted.length,
  };
}

/** Accuracy, per-class accuracy and the confusion matrix as text. */
export function formatEvaluation(result: EvaluationResult): string {
  const lines = [
    `test accuracy ${(100 * result.accuracy).toFixed(2)}% on ${result.count.toLocaleString('en-US')} images (loss ${result.loss.toFixed(4)})`,
    '',
    'per-class accuracy:',
  ];
  const width = Math.max(...result.classes.map((c) => c.length));
  result.classes.forEach((c, i) => lines.push(`  ${c.padEnd(width)}  ${(100 * result.perClassAccuracy[i]!).toFixed(2)}%`));
  lines.push('', 'confusion matrix (rows: true class, columns: predicted):');
  const cell = Math.max(5, ...result.confusionMatrix.flat().map((v) => String(v).length + 1));
  lines.push(`  ${''.padEnd(width)}${result.classes.map((_, j) => String(j).padStart(cell)).join('')}`);
  result.confusionMatrix.forEach((row, i) =>
    lines.push(`  ${result.classes[i]!.padEnd(width)}${row.map((v) => String(v).padStart(cell)).join('')}`),
  );
  return lines.join('\n');
}
