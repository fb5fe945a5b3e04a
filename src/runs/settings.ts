/**
 * Every training setting, declared once: its default, how a command-line
 * value is read, how any value (from flags, a JSON file or a preset) is
 * checked, its choices and its help text. The TrainConfig type, the
 * defaults, the validation and the CLI's flags all derive from this table.
 * Checks that need the model and dataset registries (does the model exist?)
 * are added by train/config.ts.
 */
import { availableParallelism } from 'node:os';

import { DATASET_NAMES } from '../data/names.js';
import { OPTIMIZERS, SCHEDULES } from '../models/recipe.js';
import type { MemoryFormat } from '../tensor/tensor.js';
import { NATIVE_BF16_FLAGS, PRECISIONS } from './precision.js';

export { PRECISIONS } from './precision.js';
import { type Setting, choice, got, integer, number, onOff, real, text } from './setting-kinds.js';

export type { Setting } from './setting-kinds.js';

export { OPTIMIZERS, SCHEDULES } from '../models/recipe.js';
/** Layouts of images and convolution weights. */
export const MEMORY_FORMATS = ['contiguous', 'channelsLast'] as const satisfies readonly MemoryFormat[];

const betas: Setting<[number, number]> = {
  default: [0.9, 0.999],
  flag: '<b1,b2>',
  help: 'Adam/AdamW betas, the decay of the running averages of the gradient and its square, e.g. 0.9,0.99',
  parse: (t) => {
    const pair = t.split(',').map(number);
    if (pair.length !== 2) throw new Error('must be two comma-separated numbers, e.g. 0.9,0.99');
    return pair as [number, number];
  },
  check: (v) =>
    Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === 'number' && b >= 0 && b < 1)
      ? undefined
      : `must be two numbers in [0, 1), got ${got(v)}`,
};

/** The largest value of a model option (a width, a depth): beyond it a network would not fit in memory anyway. */
export const MAX_MODEL_OPTION = 4096;

const modelOptions: Setting<Record<string, number>> = {
  default: {},
  flag: false,
  help: 'options passed to the model, e.g. { "width": 16, "blocksPerStage": 6 } for hw5net (JSON only)',
  check: (v) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= MAX_MODEL_OPTION)
      ? undefined
      : `must be an object of integers from 0 to ${MAX_MODEL_OPTION}, got ${got(v)}`,
};

/** The table. Flags are the names in kebab case (batchSize: --batch-size). */
export const TRAIN_SETTINGS = {
  model: text({ default: 'hw5net', help: 'a model from `skipstudio models`' }),
  modelOptions,
  dataset: text({ default: 'fashion-mnist', help: `the dataset: ${DATASET_NAMES.join(', ')}` }),
  trainSubset: integer({
    min: 0,
    max: 1e9,
    default: 0,
    help: 'train on this many images of a seeded shuffle of the training split (0: all)',
  }),
  lr: real({ min: 0, max: 1e9, open: { min: true }, default: 0.05, help: 'learning rate', flag: '<rate>' }),
  epochs: integer({ min: 1, max: 100_000, default: 2, help: 'epochs' }),
  batchSize: integer({ min: 1, max: 65_536, default: 64, help: 'images per step' }),
  optimizer: choice(OPTIMIZERS, { default: 'sgd', help: 'optimizer' }),
  momentum: real({ min: 0, max: 1, open: { max: true }, default: 0.9, help: 'SGD momentum (Nesterov when > 0)', flag: '<m>' }),
  betas,
  weightDecay: real({ min: 0, max: 10, default: 5e-4, help: 'weight decay', flag: '<wd>' }),
  schedule: choice(SCHEDULES, {
    default: 'onecycle',
    help: 'learning-rate schedule, stepped every iteration: cosine decay, 1cycle, or x0.1 at 50% and 75%',
  }),
  augment: onOff({ help: 'random crops (padding 2) and horizontal flips' }),
  labelSmoothing: real({
    min: 0,
    max: 1,
    open: { max: true },
    default: 0,
    help: 'label smoothing of the training loss: this share of each target spread over all classes',
  }),
  flipTest: onOff({
    help: 'evaluate on each test image and its mirror image, averaging the two predictions (test-time augmentation; for data whose mirror image has the same class)',
  }),
  targetAccuracy: real({
    min: 0,
    max: 1,
    default: 0,
    help: 'test accuracy whose time to reach is recorded (wall seconds to the first epoch at or above it; 0: none)',
    flag: '<acc>',
  }),
  precision: choice(PRECISIONS, {
    default: 'auto',
    help: `auto (bf16 where the CPU computes it natively: ${NATIVE_BF16_FLAGS.join(' or ')}; else fp32), fp32, or bf16 autocast with channels-last`,
  }),
  memoryFormat: choice(MEMORY_FORMATS, {
    default: 'contiguous',
    help: 'layout of images and conv weights (channelsLast: faster for wide convs; bf16 always trains channels-last)',
    flag: '<f>',
  }),
  // The ceiling is setNumThreads's (MAX_THREADS in tensor/runtime.ts, held equal by a test): not imported, as the settings load without the engine.
  threads: {
    ...integer({
      min: 1,
      max: 1024,
      default: availableParallelism(),
      help: 'CPU threads (default: every core; more than the cores are capped)',
    }),
    defaultText: 'every core',
  },
  seed: integer({ min: 0, max: 2 ** 32 - 1, default: 0, help: 'random seed (weights, data order, augmentation)' }),
  logEvery: integer({ min: 1, max: 1e9, default: 50, help: 'average the loss over this many iterations per log record' }),
  gradEvery: integer({ min: 1, max: 1e9, default: 100, help: "record every weight's gradient norm every this many iterations" }),
  checkpointEvery: integer({
    min: 1,
    max: 1e9,
    default: 200,
    help: "save a checkpoint every this many steps besides each epoch's end (a kill loses at most these)",
    flag: '<steps>',
  }),
  out: text({ default: 'runs/train', help: 'the run directory', flag: '<dir>' }),
} as const;

/** The type of a setting's value. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** A run's resolved settings: one field per row of {@link TRAIN_SETTINGS}, and the folders that are not in the table. */
export type TrainConfig = { -readonly [K in keyof typeof TRAIN_SETTINGS]: SettingValue<(typeof TRAIN_SETTINGS)[K]> } & {
  /** Folder of the dataset's files (default for fashion-mnist: Debian's dataset-fashion-mnist). */
  dataDir?: string;
  /** Why the run trains in its precision ("auto: the CPU computes bf16 natively ..."), set when `auto` is resolved. */
  precisionReason?: string;
};

/** The name of a row of {@link TRAIN_SETTINGS}. */
export type SettingName = keyof typeof TRAIN_SETTINGS;

/** Every training setting's name, in the table's order. */
export const SETTING_NAMES = Object.keys(TRAIN_SETTINGS) as SettingName[];

/** Every training setting at its default. */
export const DEFAULT_TRAIN_CONFIG = Object.fromEntries(SETTING_NAMES.map((k) => [k, TRAIN_SETTINGS[k].default])) as TrainConfig;

/** A setting's command-line flag: batchSize -> --batch-size. */
export function flagName(setting: string): string {
  return `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The problems of a configuration's values, by the table's checks, each naming its setting. */
export function settingProblems(config: Record<string, unknown>): string[] {
  const known = [...SETTING_NAMES, 'dataDir', 'precisionReason'];
  const problems = Object.keys(config)
    .filter((k) => !known.includes(k))
    .map((k) => `unknown setting '${k}' (known: ${known.join(', ')})`);
  for (const name of SETTING_NAMES) {
    const problem = TRAIN_SETTINGS[name].check(config[name]);
    if (problem !== undefined) problems.push(`${name} ${problem}`);
  }
  if (config.dataDir !== undefined && typeof config.dataDir !== 'string')
    problems.push(`dataDir must be a folder name, got ${got(config.dataDir)}`);
  if (config.precisionReason !== undefined && typeof config.precisionReason !== 'string')
    problems.push(`precisionReason must be text, got ${got(config.precisionReason)}`);
  return problems;
}
