/** A run's summary row, read back from its directory: what the experiment's table and results.json show. */
import { basename } from 'node:path';

import { configuredDepth } from '../models/catalog.js';

export { configuredDepth } from '../models/catalog.js';
import type { TrainConfig } from './config.js';
import type { EpochRecord, ModelInfo, RunSummary, TimeToAccuracy } from './records.js';
import type { RunDirectory } from './run-directory.js';

/** Reads a run's summary row from its directory: status, model size, final and best test accuracy, throughput and time to accuracy. */
export function summarizeRun(dir: RunDirectory, config: TrainConfig): RunSummary {
  const status = dir.status();
  const model = dir.readJson<ModelInfo>('model.json');
  const epochs = dir.records().filter((r): r is EpochRecord => r.type === 'epoch');
  const accuracies = epochs.map((e) => e.testAccuracy);
  const seconds = epochs.reduce((t, e) => t + e.seconds, 0) || status.wallSeconds;
  return {
    name: basename(config.out),
    dir: config.out,
    model: config.model,
    depth: configuredDepth(config),
    lr: config.lr,
    seed: config.seed,
    status: status.status,
    learnableLayers: model.learnableLayers,
    weightLayers: model.weightLayers,
    parameters: model.parameters,
    finalTestAccuracy: accuracies.at(-1) ?? Number.NaN,
    bestTestAccuracy: accuracies.length ? Math.max(...accuracies) : Number.NaN,
    wallSeconds: status.wallSeconds,
    imagesPerSecond: seconds > 0 ? (Math.max(1, status.step) * config.batchSize) / seconds : Number.NaN,
    timeToAccuracy: config.targetAccuracy > 0 ? timeToAccuracy(epochs, config.targetAccuracy) : undefined,
    divergedAt: status.divergedAt,
  };
}

/** The first epoch at or above the target and the run's wall seconds at its end (older records without wallSeconds: the epochs' own times added up). */
export function timeToAccuracy(epochs: EpochRecord[], target: number): TimeToAccuracy {
  let summed = 0;
  for (const e of epochs) {
    summed += e.seconds;
    if (e.testAccuracy >= target) return { target, epoch: e.epoch + 1, seconds: e.wallSeconds ?? summed };
  }
  return { target, epoch: null, seconds: null };
}
