/**
 * Checking a training configuration: every option of `skipstudio train` with its
 * default, read from flags or a JSON file, and checked completely before any
 * training starts, so a bad value fails at once with a message that says
 * what to fix.
 */
import { getDatasetInfo } from '../data/registry.js';
import { getModelSpec } from '../models/index.js';
import { DEFAULT_TRAIN_CONFIG, MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig } from '../runs/index.js';
import type { MemoryFormat } from '../tensor/index.js';

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
  check(OPTIMIZERS.includes(config.optimizer), `optimizer must be ${OPTIMIZERS.join(', ')}, got '${config.optimizer}'`);
  check(config.momentum >= 0 && config.momentum < 1, `momentum must be in [0, 1), got ${config.momentum}`);
  check(Array.isArray(config.betas) && config.betas.length === 2 && config.betas.every((b) => typeof b === 'number' && b >= 0 && b < 1),
    `betas must be two numbers in [0, 1), got ${JSON.stringify(config.betas)}`);
  check(config.weightDecay >= 0, `weight decay must be >= 0, got ${config.weightDecay}`);
  check(SCHEDULES.includes(config.schedule), `schedule must be ${SCHEDULES.join(', ')}, got '${config.schedule}'`);
  check(PRECISIONS.includes(config.precision), `precision must be ${PRECISIONS.join(' or ')}, got '${config.precision}'`);
  check(MEMORY_FORMATS.includes(config.memoryFormat), `memory format must be ${MEMORY_FORMATS.join(' or ')}, got '${config.memoryFormat}'`);
  check(positiveInteger(config.threads), `threads must be a positive integer, got ${config.threads}`);
  check(Number.isInteger(config.seed) && config.seed >= 0, `seed must be a non-negative integer, got ${config.seed}`);
  check(Number.isInteger(config.trainSubset) && config.trainSubset >= 0, `train subset must be a non-negative integer, got ${config.trainSubset}`);
  check(positiveInteger(config.logEvery), `logEvery must be a positive integer, got ${config.logEvery}`);
  check(positiveInteger(config.gradEvery), `gradEvery must be a positive integer, got ${config.gradEvery}`);
  check(positiveInteger(config.checkpointEvery), `checkpointEvery must be a positive integer, got ${config.checkpointEvery}`);
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
