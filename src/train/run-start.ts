/**
 * Where a run starts: its settings (a new run's, checked, or the ones a
 * resumed run saved), the folder its records go to, and its position (a
 * fresh log for a new run, the checkpoint's for a resumed one).
 */
import { loadCheckpoint, restoreCheckpoint } from '../io/index.js';
import type { Module } from '../nn/index.js';
import type { LRScheduler, Optimizer } from '../optim/index.js';
import { TensorBoardRunDirectory } from '../export/tensorboard.js';
import { type ModelInfo, RunDirectory, type TrainConfig, describeEnvironment } from '../runs/index.js';
import { buildInfo } from '../tensor/index.js';
import { resolveTrainConfig } from './config.js';
import { ReadOnlyRunDirectory } from './data-parallel-run.js';
import { StepStats } from './stats.js';

/** Where a run stands: what a checkpoint carries besides weights, optimizer, schedule and RNG. */
export interface Position {
  epoch: number;
  step: number;
  batchInEpoch: number;
  wallSeconds: number;
  window: StepStats;
  epochStats: StepStats;
}

export const START: () => Position = () => ({
  epoch: 0,
  step: 0,
  batchInEpoch: 0,
  wallSeconds: 0,
  window: new StepStats(),
  epochStats: new StepStats(),
});

/** The config of a new run, or the one a resumed run saved. */
export function runConfig(partial: Partial<TrainConfig>, resume: boolean): TrainConfig {
  if (!resume) return resolveTrainConfig(partial);
  const dir = new RunDirectory(partial.out ?? '');
  if (!dir.exists()) throw new Error(`${partial.out}: no run to resume here (no config.json); start one without --resume`);
  const saved = dir.readJson<TrainConfig>('config.json');
  const config = resolveTrainConfig({ ...saved, out: partial.out });
  // The run keeps the precision it started with, and why it was chosen then.
  return saved.precisionReason === undefined ? config : { ...config, precisionReason: saved.precisionReason };
}

/** Where a run's records go: its folder (and with `tensorboard`, a TensorBoard event file too); read only on ranks other than 0. */
export function runDirectory(config: TrainConfig, writer: boolean, tensorboard: string | undefined): RunDirectory {
  if (!writer) return new ReadOnlyRunDirectory(config.out);
  return tensorboard === undefined ? new RunDirectory(config.out) : new TensorBoardRunDirectory(config.out, tensorboard);
}

/** A new run, or one started over because no checkpoint was saved before it stopped: its description and an empty log. */
export function begin(
  dir: RunDirectory,
  config: TrainConfig,
  model: ModelInfo,
  sharing: { threads: number; concurrentRuns: number },
): Position {
  dir.create();
  dir.writeJson('config.json', config);
  dir.writeJson('model.json', model);
  dir.writeJson('environment.json', { ...describeEnvironment(buildInfo().torchVersion, config.precision), ...sharing });
  dir.truncateRecords(0);
  return START();
}

/** The position a checkpoint saved, with its weights, optimizer, schedule and RNG restored; later records dropped. */
export function restore(
  dir: RunDirectory,
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  scheduler: LRScheduler | undefined,
): Position {
  const checkpoint = loadCheckpoint(dir.checkpointPath);
  try {
    restoreCheckpoint(checkpoint, { model, optimizer, scheduler });
    const extra = checkpoint.extra ?? {};
    dir.truncateRecords(checkpoint.step);
    return {
      epoch: checkpoint.epoch,
      step: checkpoint.step,
      batchInEpoch: Number(extra.batchInEpoch ?? 0),
      wallSeconds: Number(extra.wallSeconds ?? 0),
      window: StepStats.from(extra.window as Partial<StepStats>),
      epochStats: StepStats.from(extra.epochStats as Partial<StepStats>),
    };
  } finally {
    checkpoint.dispose();
  }
}
