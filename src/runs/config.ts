/**
 * The training configuration as a run directory records it: every setting
 * of `skipstudio train` and its default. Checking a configuration needs the
 * model and dataset registries and lives in train/config.ts; reading one
 * needs nothing but this file.
 */
import { availableParallelism } from 'node:os';

import type { MemoryFormat } from '../tensor/tensor.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export const SCHEDULES = ['constant', 'cosine', 'onecycle', 'step'] as const;
export const PRECISIONS = ['fp32', 'bf16'] as const;
export const MEMORY_FORMATS = ['contiguous', 'channelsLast'] as const satisfies readonly MemoryFormat[];

export type OptimizerName = (typeof OPTIMIZERS)[number];
export type ScheduleName = (typeof SCHEDULES)[number];
export type Precision = (typeof PRECISIONS)[number];

export interface TrainConfig {
  /** A registered model name (skipstudio models lists them). */
  model: string;
  /** Options passed to the model, e.g. { width: 8, blocksPerStage: 6 } for hw5net. */
  modelOptions: Record<string, number>;
  dataset: string;
  dataDir?: string;
  /** Train on the first N images of a seeded shuffle of the training split (0: all of it). */
  trainSubset: number;
  lr: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  /** SGD momentum (Nesterov when > 0). */
  momentum: number;
  /** Adam's and AdamW's coefficients of the running averages of the gradient and its square. */
  betas: [number, number];
  weightDecay: number;
  /** Stepped every iteration: cosine decay, 1cycle, or x0.1 at 50% and 75% of training. */
  schedule: ScheduleName;
  /** Random crop with padding 2 and horizontal flips. */
  augment: boolean;
  precision: Precision;
  /**
   * The layout of images and conv weights. Channels-last lets oneDNN skip its
   * reorders: 11% faster for HW5Net at width 16, 13% slower at width 8 on
   * this CPU (`npm run bench:width`). bf16 always trains channels-last.
   */
  memoryFormat: MemoryFormat;
  threads: number;
  seed: number;
  /** Average the training loss over this many iterations per log record (as the course's loop does). */
  logEvery: number;
  /** Record every layer's weight-gradient norm every this many iterations. */
  gradEvery: number;
  /**
   * Save a checkpoint every this many steps, besides the end of each epoch:
   * a kill loses at most this many steps (about 25 s of HW5Net at width 8).
   */
  checkpointEvery: number;
  /** The run directory. */
  out: string;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: 'hw5net',
  modelOptions: {},
  dataset: 'fashion-mnist',
  trainSubset: 0,
  lr: 0.05,
  epochs: 2,
  batchSize: 64,
  optimizer: 'sgd',
  momentum: 0.9,
  betas: [0.9, 0.999],
  weightDecay: 5e-4,
  schedule: 'onecycle',
  augment: false,
  precision: 'fp32',
  memoryFormat: 'contiguous',
  threads: availableParallelism(),
  seed: 0,
  logEvery: 50,
  gradEvery: 100,
  checkpointEvery: 200,
  out: 'runs/train',
};

/** The settings a training recipe fixes (see models/catalog.ts); the rest are shared by an experiment's runs. */
export const RECIPE_SETTINGS = ['optimizer', 'momentum', 'betas', 'weightDecay', 'schedule'] as const;

export type RecipeSettings = Pick<TrainConfig, (typeof RECIPE_SETTINGS)[number]>;

/** Describes a run's recipe in a few words, e.g. "adam (betas 0.9, 0.99), weight decay 0, constant". */
export function describeRecipe(config: RecipeSettings): string {
  const optimizer = config.optimizer === 'sgd'
    ? `sgd (${config.momentum > 0 ? `Nesterov momentum ${config.momentum}` : 'no momentum'})`
    : `${config.optimizer} (betas ${config.betas.join(', ')})`;
  return `${optimizer}, weight decay ${config.weightDecay}, ${config.schedule}`;
}
