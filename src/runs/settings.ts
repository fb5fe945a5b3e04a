/**
 * Every training setting, declared once: its default, how a command-line
 * value is read, how any value (from flags, a JSON file or a preset) is
 * checked, its choices and its help text. The TrainConfig type, the
 * defaults, the validation and the CLI's flags all derive from this table.
 * Checks that need the model and dataset registries (does the model exist?)
 * are added by train/config.ts.
 */
import { availableParallelism } from 'node:os';

import { previewJson } from '../io/json.js';
import type { MemoryFormat } from '../tensor/tensor.js';
import { NATIVE_BF16_FLAGS } from './precision.js';

/** One row of the settings table: a setting's default, help text, flag, parser, check and range. */
export interface Setting<T> {
  default: T;
  /** The flag's help text, also the reference's. */
  help: string;
  /** The command-line flag's value name, e.g. '<n>'; absent for a switch (boolean) or a setting with no flag. */
  flag?: string | false;
  /** Reads a command-line value; throws a message on bad input. */
  parse?: (text: string) => T;
  /** The problem with a value, or undefined when it is fine ("must be a positive integer, got 0"). */
  check: (value: unknown) => string | undefined;
  /** The values a choice setting takes. */
  choices?: readonly string[];
  /** A numeric setting's least and greatest value. */
  range?: [number, number];
  /** The default in words where its value depends on the machine (the reference shows this, not this machine's value). */
  defaultText?: string;
}

/** A value in a message: short, whatever the file held (a 50 MB string, a list nested 200,000 deep). */
const got = (v: unknown) => (typeof v === 'string' && v.length <= 80 ? `'${v}'` : previewJson(v));

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error('must be a number');
  return n;
}

/** An integer setting in [min, max]: every count has a ceiling, so 1e308 is refused before it reaches a loop or a native call. */
function integer(min: number, max: number, help: string, fallback: number, flag: string | false = '<n>'): Setting<number> {
  const what = `an integer from ${min} to ${max.toLocaleString('en-US')}`;
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= min && (n as number) <= max;
  return {
    default: fallback, help, flag, range: [min, max],
    parse: (text) => {
      const n = Number(text);
      if (text.trim() === '' || !ok(n)) throw new Error(`must be ${what}, got ${text}`);
      return n;
    },
    check: (v) => (ok(v) ? undefined : `must be ${what}, got ${got(v)}`),
  };
}

/** A real setting in [min, max] (exclusive ends where open says so): the range is part of the setting, and of its message. */
function real(min: number, max: number, help: string, fallback: number, flag = '<x>', open: { min?: boolean; max?: boolean } = {}): Setting<number> {
  const show = (n: number) => (Math.abs(n) >= 1e6 ? n.toExponential().replace('e+', 'e') : String(n));
  const what = `in ${open.min ? '(' : '['}${show(min)}, ${show(max)}${open.max ? ')' : ']'}`;
  const ok = (n: number) => (open.min ? n > min : n >= min) && (open.max ? n < max : n <= max);
  return {
    default: fallback, help, flag, range: [min, max], parse: number,
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? undefined : `must be a number ${what}, got ${got(v)}`),
  };
}

function choice<const C extends readonly string[]>(choices: C, fallback: C[number], help: string, flag = '<name>'): Setting<C[number]> & { choices: C } {
  return {
    default: fallback, help, flag, choices, parse: (text) => text as C[number],
    check: (v) => (choices.includes(v as string) ? undefined : `must be one of ${choices.join(', ')}, got ${got(v)}`),
  };
}

function onOff(help: string): Setting<boolean> {
  return { default: false, help, check: (v) => (typeof v === 'boolean' ? undefined : `must be true or false, got ${got(v)}`) };
}

function text(fallback: string, help: string, flag: string | false = '<name>'): Setting<string> {
  return { default: fallback, help, flag, parse: (t) => t, check: (v) => (typeof v === 'string' && v.length > 0 ? undefined : `must be a non-empty string, got ${got(v)}`) };
}

/** The optimizers a run can train with. */
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
/** The learning-rate schedules, stepped every iteration. */
export const SCHEDULES = ['constant', 'cosine', 'onecycle', 'step'] as const;
/** Training precisions: auto (bf16 where the CPU computes it natively, else fp32), fp32, bf16. */
export const PRECISIONS = ['auto', 'fp32', 'bf16'] as const;
/** Layouts of images and convolution weights. */
export const MEMORY_FORMATS = ['contiguous', 'channelsLast'] as const satisfies readonly MemoryFormat[];

const betas: Setting<[number, number]> = {
  default: [0.9, 0.999], flag: '<b1,b2>', help: 'Adam/AdamW betas, the decay of the running averages of the gradient and its square, e.g. 0.9,0.99',
  parse: (t) => {
    const pair = t.split(',').map(number);
    if (pair.length !== 2) throw new Error('must be two comma-separated numbers, e.g. 0.9,0.99');
    return pair as [number, number];
  },
  check: (v) => (Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === 'number' && b >= 0 && b < 1) ? undefined : `must be two numbers in [0, 1), got ${got(v)}`),
};

/** The largest value of a model option (a width, a depth): beyond it a network would not fit in memory anyway. */
export const MAX_MODEL_OPTION = 4096;

const modelOptions: Setting<Record<string, number>> = {
  default: {}, flag: false, help: 'options passed to the model, e.g. { "width": 16, "blocksPerStage": 6 } for hw5net (JSON only)',
  check: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) &&
    Object.values(v).every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= MAX_MODEL_OPTION)
    ? undefined : `must be an object of integers from 0 to ${MAX_MODEL_OPTION}, got ${got(v)}`),
};

/** The table. Flags are the names in kebab case (batchSize: --batch-size). */
export const TRAIN_SETTINGS = {
  model: text('hw5net', 'a model from `skipstudio models`'),
  modelOptions,
  dataset: text('fashion-mnist', 'the dataset: fashion-mnist, cifar10, coco or imagefolder'),
  trainSubset: integer(0, 1e9, 'train on this many images of a seeded shuffle of the training split (0: all)', 0),
  lr: real(0, 1e9, 'learning rate', 0.05, '<rate>', { min: true }),
  epochs: integer(1, 100_000, 'epochs', 2),
  batchSize: integer(1, 65_536, 'images per step', 64),
  optimizer: choice(OPTIMIZERS, 'sgd', 'optimizer'),
  momentum: real(0, 1, 'SGD momentum (Nesterov when > 0)', 0.9, '<m>', { max: true }),
  betas,
  weightDecay: real(0, 10, 'weight decay', 5e-4, '<wd>'),
  schedule: choice(SCHEDULES, 'onecycle', 'learning-rate schedule, stepped every iteration: cosine decay, 1cycle, or x0.1 at 50% and 75%'),
  augment: onOff('random crops (padding 2) and horizontal flips'),
  labelSmoothing: real(0, 1, 'label smoothing of the training loss: this share of each target spread over all classes', 0, '<x>', { max: true }),
  flipTest: onOff('evaluate on each test image and its mirror image, averaging the two predictions (test-time augmentation; for data whose mirror image has the same class)'),
  targetAccuracy: real(0, 1, 'test accuracy whose time to reach is recorded (wall seconds to the first epoch at or above it; 0: none)', 0, '<acc>'),
  precision: choice(PRECISIONS, 'auto', `auto (bf16 where the CPU computes it natively: ${NATIVE_BF16_FLAGS.join(' or ')}; else fp32), fp32, or bf16 autocast with channels-last`),
  memoryFormat: choice(MEMORY_FORMATS, 'contiguous', 'layout of images and conv weights (channelsLast: faster for wide convs; bf16 always trains channels-last)', '<f>'),
  // The ceiling is setNumThreads's (MAX_THREADS in tensor/runtime.ts, held equal by a test): not imported, as the settings load without the engine.
  threads: { ...integer(1, 1024, 'CPU threads (default: every core; more than the cores are capped)', availableParallelism()), defaultText: 'every core' },
  seed: integer(0, 2 ** 32 - 1, 'random seed (weights, data order, augmentation)', 0),
  logEvery: integer(1, 1e9, 'average the loss over this many iterations per log record', 50),
  gradEvery: integer(1, 1e9, 'record every weight\'s gradient norm every this many iterations', 100),
  checkpointEvery: integer(1, 1e9, 'save a checkpoint every this many steps besides each epoch\'s end (a kill loses at most these)', 200, '<steps>'),
  out: text('runs/train', 'the run directory', '<dir>'),
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
  const problems = Object.keys(config).filter((k) => !known.includes(k)).map((k) => `unknown setting '${k}' (known: ${known.join(', ')})`);
  for (const name of SETTING_NAMES) {
    const problem = TRAIN_SETTINGS[name].check(config[name]);
    if (problem !== undefined) problems.push(`${name} ${problem}`);
  }
  if (config.dataDir !== undefined && typeof config.dataDir !== 'string') problems.push(`dataDir must be a folder name, got ${got(config.dataDir)}`);
  if (config.precisionReason !== undefined && typeof config.precisionReason !== 'string') problems.push(`precisionReason must be text, got ${got(config.precisionReason)}`);
  return problems;
}
