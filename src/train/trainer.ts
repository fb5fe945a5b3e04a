/**
 * The Trainer: one training run from a TrainConfig into a run directory.
 * It logs the loss averaged over every `logEvery` iterations (as the course's
 * loop does), evaluates on the test split after each epoch, records every
 * layer's gradient norm every `gradEvery` iterations (the vanishing-gradient
 * picture), checkpoints atomically after each epoch and when asked to stop,
 * and resumes from its last checkpoint exactly: the same data order, the same
 * random stream, so a killed and resumed run ends with the same weights as
 * one never stopped. A NaN or infinite loss stops the run as diverged and
 * keeps its last good checkpoint.
 */
import { basename } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import {
  DataLoader, type DatasetSplits, type ImageDataset, type Normalization, computeNormalization, epochOrder, getDatasetInfo,
  loadDataset,
} from '../data/index.js';
import { loadCheckpoint, restoreCheckpoint, saveCheckpoint } from '../io/index.js';
import { SkipBlock, buildModel } from '../models/index.js';
import { type Module, summary } from '../nn/index.js';
import {
  Adam, AdamW, CosineAnnealingLR, type LRScheduler, MultiStepLR, OneCycleLR, type Optimizer, SGD,
} from '../optim/index.js';
import {
  type Tensor, autocast, crossEntropy, foreachNorm, gradsOf, manualSeed, noGrad, scope, setNumThreads, stack,
} from '../tensor/index.js';
import { type TrainConfig, resolveTrainConfig, trainingMemoryFormat } from './config.js';
import { type ClassificationReport, classificationReport } from './metrics.js';
import type { TrainingReporter } from './progress.js';
import { type EpochRecord, type Predictions, RunDirectory, type RunStatus, type StatusFile } from './run-dir.js';

export interface ModelInfo {
  model: string;
  modelOptions: Record<string, number>;
  learnableLayers: number;
  parameters: number;
  skipBlocks: number;
  flops: number;
  inputShape: number[];
  classes: string[];
  normalization: Normalization;
  /** Names of the weights whose gradient norms the metrics record, input side first. */
  gradientLayers: string[];
}

export interface RunSummary {
  name: string;
  dir: string;
  model: string;
  lr: number;
  seed: number;
  status: RunStatus;
  learnableLayers: number;
  parameters: number;
  finalTestAccuracy: number;
  bestTestAccuracy: number;
  wallSeconds: number;
  imagesPerSecond: number;
  divergedAt?: { epoch: number; step: number; loss: number };
}

/** Set `requested` (e.g. from a SIGINT handler) to stop after the current step, with a checkpoint. */
export interface StopFlag {
  requested: boolean;
}

export interface TrainOptions {
  reporter: TrainingReporter;
  stop?: StopFlag;
  /** Continue the run in config.out from its last checkpoint (the saved config wins). */
  resume?: boolean;
  /** Loaded datasets by name, so an experiment reads its data once. */
  datasets?: Map<string, DatasetSplits>;
}

/** The first n images of a seeded shuffle of a split (all of it when n is 0 or larger). */
function subset(dataset: ImageDataset, n: number, seed: number): ImageDataset {
  const total = dataset.labels.length;
  if (n === 0 || n >= total) return dataset;
  const order = epochOrder(total, seed, -1).subarray(0, n);
  const plane = dataset.images.length / total;
  const images = new Uint8Array(n * plane);
  const labels = new Uint8Array(n);
  order.forEach((source, i) => {
    images.set(dataset.images.subarray(source * plane, (source + 1) * plane), i * plane);
    labels[i] = dataset.labels[source]!;
  });
  return { ...dataset, images, labels };
}

function makeOptimizer(config: TrainConfig, params: Tensor[]): Optimizer<{ lr: number }> {
  switch (config.optimizer) {
    case 'sgd': return new SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.momentum > 0 });
    case 'adam': return new Adam(params, { lr: config.lr, betas: config.betas, weightDecay: config.weightDecay });
    case 'adamw': return new AdamW(params, { lr: config.lr, betas: config.betas, weightDecay: config.weightDecay });
  }
}

function makeScheduler(config: TrainConfig, optimizer: Optimizer<{ lr: number }>, totalSteps: number): LRScheduler | undefined {
  switch (config.schedule) {
    case 'constant': return undefined;
    case 'cosine': return new CosineAnnealingLR(optimizer, totalSteps);
    case 'onecycle': return new OneCycleLR(optimizer, config.lr, totalSteps + 1, { cycleMomentum: config.optimizer === 'sgd' });
    case 'step': return new MultiStepLR(optimizer, [Math.floor(totalSteps / 2), Math.floor((3 * totalSteps) / 4)], 0.1);
  }
}

export interface Evaluation {
  loss: number;
  report: ClassificationReport;
  /** Every test image's predicted class, in the loader's order: paired comparisons (McNemar's test) need them. */
  predictions: Predictions;
}

/** Evaluates a model on a loader: mean loss, the classification report and every prediction. */
export function evaluate(model: Module, loader: DataLoader, config: Pick<TrainConfig, 'precision' | 'memoryFormat'>): Evaluation {
  const wasTraining = model.training;
  model.eval();
  const predicted = new Int32Array(loader.size);
  const actual = new Int32Array(loader.size);
  let offset = 0;
  let lossSum = 0;
  for (const batch of loader.epoch(0)) {
    scope(() =>
      noGrad(() => {
        const x = batch.x.contiguous(trainingMemoryFormat(config));
        const logits = autocast(() => model.forward(x), { enabled: config.precision === 'bf16' }).float();
        lossSum += crossEntropy(logits, batch.y, { reduction: 'sum' }).item();
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
  return {
    loss: lossSum / loader.size,
    report: classificationReport(predicted, actual, loader.dataset.classes.length),
    predictions: { split: 'test', labels: Array.from(actual), predicted: Array.from(predicted) },
  };
}

/** The key of a run's dataset in TrainOptions.datasets. */
export function datasetKey(config: Pick<TrainConfig, 'dataset' | 'dataDir'>): string {
  return `${config.dataset}:${config.dataDir ?? ''}`;
}

/** Builds the model, data and optimizer a config describes (shared by train and eval). */
export async function prepareRun(config: TrainConfig, datasets?: Map<string, DatasetSplits>) {
  const info = getDatasetInfo(config.dataset);
  const key = datasetKey(config);
  let splits = datasets?.get(key);
  if (splits === undefined) {
    splits = await loadDataset(config.dataset, config.dataDir);
    datasets?.set(key, splits);
  }
  const trainSplit = subset(splits.train, config.trainSubset, config.seed);
  const normalization = computeNormalization(splits.train);
  // The loaded data decides the shape (a COCO subset may be built at another size than the registry's 64x64).
  const model = buildModel(config.model, splits.train.shape, splits.train.classes.length, config.modelOptions);
  return { info, splits, trainSplit, normalization, model };
}

/** The summary row of a run, from its directory (status.json, model.json, metrics.jsonl). */
export function summarizeRun(dir: RunDirectory, config: TrainConfig): RunSummary {
  const status = dir.readJson<StatusFile>('status.json');
  const model = dir.readJson<ModelInfo>('model.json');
  const epochs = dir.records().filter((r): r is EpochRecord => r.type === 'epoch');
  const accuracies = epochs.map((e) => e.testAccuracy);
  const seconds = epochs.reduce((t, e) => t + e.seconds, 0) || status.wallSeconds;
  return {
    name: basename(config.out), dir: config.out, model: config.model, lr: config.lr, seed: config.seed, status: status.status,
    learnableLayers: model.learnableLayers, parameters: model.parameters,
    finalTestAccuracy: accuracies.at(-1) ?? Number.NaN, bestTestAccuracy: accuracies.length ? Math.max(...accuracies) : Number.NaN,
    wallSeconds: status.wallSeconds, imagesPerSecond: seconds > 0 ? (Math.max(1, status.step) * config.batchSize) / seconds : Number.NaN,
    divergedAt: status.divergedAt,
  };
}

export async function train(partial: Partial<TrainConfig>, options: TrainOptions): Promise<RunSummary> {
  const { reporter } = options;
  const config = options.resume
    ? resolveTrainConfig({ ...new RunDirectory(partial.out ?? '').readJson<TrainConfig>('config.json'), out: partial.out })
    : resolveTrainConfig(partial);
  const dir = new RunDirectory(config.out);
  if (!options.resume && dir.exists()) {
    throw new Error(`${config.out} already holds a run: continue it with --resume, or choose another --out`);
  }
  setNumThreads(config.threads);
  manualSeed(config.seed);
  const { splits, trainSplit, normalization, model } = await prepareRun(config, options.datasets);
  const memoryFormat = trainingMemoryFormat(config);
  model.to({ memoryFormat });
  const trainLoader = new DataLoader(trainSplit, { batchSize: config.batchSize, shuffle: true, dropLast: true, seed: config.seed, normalization, augment: config.augment });
  const testLoader = new DataLoader(splits.test, { batchSize: 500, shuffle: false, normalization });
  if (trainLoader.length === 0) throw new Error(`the training split (${trainSplit.labels.length} images) holds no full batch of ${config.batchSize}`);
  const itersPerEpoch = trainLoader.length;
  const totalSteps = itersPerEpoch * config.epochs;
  const optimizer = makeOptimizer(config, model.parameters());
  const scheduler = makeScheduler(config, optimizer, totalSteps);
  const named = model.namedParameters();
  const gradientWeights = named.filter(([, t]) => t.ndim >= 2);
  const name = basename(config.out);

  let epoch = 0;
  let batchInEpoch = 0;
  let step = 0;
  let wallBefore = 0;
  if (options.resume) {
    const checkpoint = loadCheckpoint(dir.checkpointPath);
    restoreCheckpoint(checkpoint, { model, optimizer, scheduler });
    epoch = checkpoint.epoch;
    step = checkpoint.step;
    batchInEpoch = Number(checkpoint.extra?.batchInEpoch ?? 0);
    wallBefore = Number(checkpoint.extra?.wallSeconds ?? 0);
    checkpoint.dispose();
    dir.truncateRecords(step);
  } else {
    dir.create();
    dir.writeJson('config.json', config);
    const { channels, height, width } = splits.train.shape;
    const s = summary(model, [channels, height, width]);
    const modelInfo: ModelInfo = {
      model: config.model, modelOptions: config.modelOptions, learnableLayers: s.parameterTensors, parameters: s.totalParameters,
      skipBlocks: model.modules().filter((m) => m instanceof SkipBlock).length, flops: s.totalFlops,
      inputShape: [channels, height, width], classes: splits.train.classes, normalization,
      gradientLayers: gradientWeights.map(([k]) => k),
    };
    dir.writeJson('model.json', modelInfo);
  }

  const modelInfo = dir.readJson<ModelInfo>('model.json');
  const started = performance.now();
  const wallSeconds = () => wallBefore + (performance.now() - started) / 1000;
  const writeStatus = (status: RunStatus, extra: Partial<StatusFile> = {}) =>
    dir.writeJson('status.json', {
      status, epochsDone: epoch, step, totalSteps, wallSeconds: wallSeconds(), updatedAt: new Date().toISOString(), ...extra,
    } satisfies StatusFile);
  const checkpoint = () =>
    saveCheckpoint(dir.checkpointPath, {
      model, optimizer, scheduler, epoch, step, config, extra: { batchInEpoch, wallSeconds: wallSeconds() },
    });
  // Every path writes status.json first, so the summary is read back from the run directory.
  const finish = (): RunSummary => summarizeRun(dir, config);

  reporter.runStarted({ name, model: config.model, lr: config.lr, epochs: config.epochs, totalSteps, startStep: step });
  writeStatus('running');
  model.train();

  // Per-window and per-epoch accumulators.
  let windowLoss = 0;
  let windowSteps = 0;
  let windowData = 0;
  let windowCompute = 0;
  const runStart = performance.now();
  const stepsAtStart = step;

  let lastEvaluation: ReturnType<typeof evaluate> | undefined;
  while (epoch < config.epochs) {
    let epochLoss = 0;
    let epochCorrect = 0;
    let epochSeen = 0;
    let epochData = 0;
    let epochCompute = 0;
    const batches = trainLoader.prefetchingEpoch(epoch, batchInEpoch);
    for (;;) {
      const t0 = performance.now();
      const next = await batches.next();
      if (next.done) break;
      const batch = next.value;
      const t1 = performance.now();
      const [loss, correct] = scope(() => {
        const x = batch.x.contiguous(memoryFormat);
        const logits = autocast(() => model.forward(x), { enabled: config.precision === 'bf16' }).float();
        const value = crossEntropy(logits, batch.y);
        value.backward();
        const lossValue = value.item();
        if (Number.isFinite(lossValue)) {
          if ((step + 1) % config.gradEvery === 0) {
            // Weights that forward never uses (a SkipBlock's in2out where channels match) have no gradient: null.
            const grads = gradsOf(gradientWeights.map(([, t]) => t));
            const present = grads.filter((g): g is Tensor => g !== undefined);
            const values = present.length ? (stack(foreachNorm(present)).to('float32').data() as Float32Array) : new Float32Array(0);
            let k = 0;
            const norms = grads.map((g) => (g === undefined ? null : values[k++]!));
            dir.append({ type: 'gradients', epoch, step: step + 1, norms });
          }
          optimizer.step();
          scheduler?.step();
        }
        optimizer.zeroGrad();
        return [lossValue, noGrad(() => logits.argmax(1).eq(batch.y).sum().item())];
      });
      batch.x.dispose();
      batch.y.dispose();
      const t2 = performance.now();
      if (!Number.isFinite(loss)) {
        const divergedAt = { epoch, step: step + 1, loss };
        dir.append({ type: 'diverged', ...divergedAt });
        writeStatus('diverged', { divergedAt, message: `loss became ${loss} at step ${step + 1}; the last good checkpoint is kept` });
        reporter.runEnded(name, 'diverged', `loss became ${loss} at step ${step + 1} (epoch ${epoch + 1})`);
        return finish();
      }
      step += 1;
      batchInEpoch += 1;
      windowLoss += loss;
      windowSteps += 1;
      windowData += t1 - t0;
      windowCompute += t2 - t1;
      epochLoss += loss * config.batchSize;
      epochCorrect += correct;
      epochSeen += trainLoader.options.batchSize;
      epochData += t1 - t0;
      epochCompute += t2 - t1;
      const elapsed = (performance.now() - runStart) / 1000;
      const rate = ((step - stepsAtStart) * config.batchSize) / elapsed;
      reporter.step({
        step, totalSteps, epoch, loss, accuracy: epochCorrect / epochSeen, imagesPerSecond: rate,
        etaSeconds: ((totalSteps - step) * config.batchSize) / rate,
      });
      if (step % config.logEvery === 0) {
        const record = {
          type: 'iteration' as const, epoch, step, loss: windowLoss / windowSteps, lr: optimizer.paramGroups[0]!.lr,
          imagesPerSecond: (windowSteps * config.batchSize) / ((windowData + windowCompute) / 1000),
          dataWaitShare: windowData / (windowData + windowCompute),
        };
        dir.append(record);
        reporter.logged(record);
        windowLoss = 0;
        windowSteps = 0;
        windowData = 0;
        windowCompute = 0;
      }
      // Let signal handlers run between steps, so Ctrl-C can stop the run cleanly.
      await yieldToEventLoop();
      if (options.stop?.requested) {
        checkpoint();
        writeStatus('stopped', { message: 'stopped by the user; resume with --resume' });
        reporter.runEnded(name, 'stopped', `checkpoint saved at step ${step}; continue with: skipstudio train --resume ${config.out}`);
        return finish();
      }
    }
    const evaluation = evaluate(model, testLoader, config);
    lastEvaluation = evaluation;
    if (!Number.isFinite(evaluation.loss)) {
      // A run can blow up without a non-finite training loss (train loss 1e17, test loss NaN): that is divergence too.
      const divergedAt = { epoch, step, loss: evaluation.loss };
      dir.append({ type: 'diverged', ...divergedAt });
      writeStatus('diverged', { divergedAt, message: `test loss became ${evaluation.loss} after epoch ${epoch + 1}; the last good checkpoint is kept` });
      reporter.runEnded(name, 'diverged', `test loss became ${evaluation.loss} after epoch ${epoch + 1} (step ${step})`);
      return finish();
    }
    const seconds = (epochData + epochCompute) / 1000;
    const record: EpochRecord = {
      type: 'epoch', epoch, step, trainLoss: epochLoss / Math.max(1, epochSeen), trainAccuracy: epochCorrect / Math.max(1, epochSeen),
      testLoss: evaluation.loss, testAccuracy: evaluation.report.accuracy, lr: optimizer.paramGroups[0]!.lr, seconds,
      imagesPerSecond: epochSeen / Math.max(1e-9, seconds), dataWaitShare: epochData / Math.max(1e-9, epochData + epochCompute),
    };
    dir.append(record);
    reporter.epochEnded(record);
    epoch += 1;
    batchInEpoch = 0;
    checkpoint();
    writeStatus('running');
  }

  const final = lastEvaluation ?? evaluate(model, testLoader, config);
  dir.writeJson('eval.json', { split: 'test', loss: final.loss, classes: modelInfo.classes, ...final.report });
  dir.writeJson('predictions.json', final.predictions);
  writeStatus('finished');
  const result = finish();
  reporter.runEnded(name, 'finished', `test accuracy ${(100 * result.finalTestAccuracy).toFixed(2)}% (best ${(100 * result.bestTestAccuracy).toFixed(2)}%) in ${result.wallSeconds.toFixed(0)} s`);
  return result;
}
