/**
 * Training configuration: every option of `skipstudio train` with its
 * default, read from flags or a JSON file, and checked completely before any
 * training starts, so a bad value fails at once with a message that says
 * what to fix.
 */
import { availableParallelism } from 'node:os';

import { getDatasetInfo } from '../data/registry.js';
import { getModelSpec } from '../models/index.js';
import type { MemoryFormat } from '../tensor/index.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export type ScheduleName = 'constant' | 'cosine' | 'onecycle' | 'step';
export type Precision = 'fp32' | 'bf16';

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
  out: 'runs/train',
};

const KEYS = Object.keys(DEFAULT_TRAIN_CONFIG).concat('dataDir');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Merges partial settings over the defaults and checks every field; throws ConfigError listing all problems. */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const unknown = Object.keys(partial).filter((k) => !KEYS.includes(k));
  const config = { ...DEFAULT_TRAIN_CONFIG, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as TrainConfig;
  const problems: string[] = unknown.map((k) => `unknown setting '${k}' (known: ${KEYS.join(', ')})`);
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const positiveInteger = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  try {
    getModelSpec(config.model);
  } catch (error) {
    problems.push((error as Error).message);
  }
  try {
    getDatasetInfo(config.dataset);
  } catch (error) {
    problems.push((error as Error).message);
  }
  check(typeof config.lr === 'number' && config.lr > 0 && Number.isFinite(config.lr), `lr must be a positive number, got ${config.lr}`);
  check(positiveInteger(config.epochs), `epochs must be a positive integer, got ${config.epochs}`);
  check(positiveInteger(config.batchSize), `batch size must be a positive integer, got ${config.batchSize}`);
  check(['sgd', 'adam', 'adamw'].includes(config.optimizer), `optimizer must be sgd, adam or adamw, got '${config.optimizer}'`);
  check(config.momentum >= 0 && config.momentum < 1, `momentum must be in [0, 1), got ${config.momentum}`);
  check(Array.isArray(config.betas) && config.betas.length === 2 && config.betas.every((b) => typeof b === 'number' && b >= 0 && b < 1),
    `betas must be two numbers in [0, 1), got ${JSON.stringify(config.betas)}`);
  check(config.weightDecay >= 0, `weight decay must be >= 0, got ${config.weightDecay}`);
  check(['constant', 'cosine', 'onecycle', 'step'].includes(config.schedule), `schedule must be constant, cosine, onecycle or step, got '${config.schedule}'`);
  check(['fp32', 'bf16'].includes(config.precision), `precision must be fp32 or bf16, got '${config.precision}'`);
  check(['contiguous', 'channelsLast'].includes(config.memoryFormat), `memory format must be contiguous or channelsLast, got '${config.memoryFormat}'`);
  check(positiveInteger(config.threads), `threads must be a positive integer, got ${config.threads}`);
  check(Number.isInteger(config.seed) && config.seed >= 0, `seed must be a non-negative integer, got ${config.seed}`);
  check(Number.isInteger(config.trainSubset) && config.trainSubset >= 0, `train subset must be a non-negative integer, got ${config.trainSubset}`);
  check(positiveInteger(config.logEvery), `logEvery must be a positive integer, got ${config.logEvery}`);
  check(positiveInteger(config.gradEvery), `gradEvery must be a positive integer, got ${config.gradEvery}`);
  check(typeof config.out === 'string' && config.out.length > 0, 'out must name a run directory');
  check(typeof config.augment === 'boolean', 'augment must be true or false');
  check(
    config.modelOptions !== null && typeof config.modelOptions === 'object' &&
      Object.values(config.modelOptions).every((v) => typeof v === 'number'),
    'modelOptions must be an object of numbers',
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The memory format a run trains and evaluates in: bf16 autocast needs channels-last for oneDNN's bf16 kernels. */
export function trainingMemoryFormat(config: Pick<TrainConfig, 'memoryFormat' | 'precision'>): MemoryFormat {
  return config.precision === 'bf16' ? 'channelsLast' : config.memoryFormat;
}
