/**
 * The experiment: the skip-connection study as a grid of models x depths x
 * learning rates x seeds, each model trained by its own recipe (recipes.ts),
 * run one after another or several at once (parallel-runs.ts) into one
 * experiment directory (runs/<name>/<model>[-d<depth>]-lr<lr>-s<seed>/ each),
 * then summarised in results.json, with the loss landscapes it asks for. Re-running an experiment with its settings continues it: finished and diverged
 * runs are kept, a stopped one is resumed; other settings are refused.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';

import { type DatasetSplits, HW5_SUBSET_DIR, hw5SubsetCommand } from '../data/index.js';
import { barrier, getRank, isInitialized } from '../distributed/index.js';
import { previewJson, readJsonObject, writeFileAtomic } from '../io/index.js';
import { type Recipe, catalogEntry, depthOption, designedRecipe } from '../models/catalog.js';
import {
  DEFAULT_TRAIN_CONFIG, EXPERIMENT_FILE, MAX_NOTE_LENGTH, MAX_NOTES, type ExperimentForecast, FORECAST_FILE, RECIPE_SETTINGS, RunDirectory, type RunSummary, type TrainConfig, checkOutputFolder,
  configuredDepth, differingResultSettings, summarizeRun,
} from '../runs/index.js';
import { ConfigError, resolveTrainConfig } from './config.js';
import type { TrainingReporter } from './progress.js';
import { forecastExperiment, forecastLines } from './forecast.js';
import { measureParallelRuns, threadsUsed } from './parallel-choice.js';
import { type ParallelOutcome, trainInParallel } from './parallel-runs.js';
import { LANDSCAPE_DEFAULTS, type LandscapeOptions, hasLandscape, landscapeOfRun, landscapeProblems, progressEvery } from './landscape.js';
import { datasetKey, loadRunDataset } from './prepare.js';
import { SpeedMeter } from './speed.js';
import { prepareTensorBoardFolder, writeRunScalars } from '../export/tensorboard.js';
import { type StopFlag, train } from './trainer.js';

/** An experiment: models x depths x learning rates x seeds, each model by its recipe, on one dataset, into one folder. */
export interface ExperimentConfig {
  /** The experiment directory. */
  out: string;
  models: string[];
  /**
   * One learning-rate grid for every model (the older form of an
   * experiment); a model's own recipe's lrs win over it, and the model's
   * designed learning rates apply when neither is given.
   */
  lrs?: number[];
  /** Per model: optimizer settings and learning rates over the recipe it was designed with (recipes.ts). */
  recipes: Record<string, Recipe>;
  /** Runs per model and learning rate, with seeds base.seed, base.seed + 1, ... */
  seeds: number;
  /** Settings shared by every run, over each model's designed recipe (model, lr, seed and out are set per run). */
  base: Partial<TrainConfig>;
  /** Options per model name, e.g. { hw5net: { width: 8 } }. */
  modelOptions: Record<string, Record<string, number>>;
  /** Per model, the depths to train it at: values of its depth option (catalog.ts: blocksPerStage, chainLength, depth). */
  depths: Record<string, number[]>;
  /**
   * How depths and learning rates combine: 'grid' trains every depth at
   * every learning rate; 'one-at-a-time' trains every depth at the model's
   * first learning rate and its other learning rates at its deepest depth
   * (each dimension varied from one reference point, for fewer runs).
   */
  sweep: Sweep;
  /** Why the experiment is set up as it is (e.g. how its learning rates were chosen), for the report's set-up section. */
  notes?: string[];
  /** After training, the loss landscape of each model with a plain twin and of that twin, at their deepest depth (undefined: none). */
  landscape?: Partial<LandscapeOptions>;
}

/** How depths and learning rates combine: every pair, or every depth at the first learning rate and the others at the deepest. */
export const SWEEPS = ['grid', 'one-at-a-time'] as const;
/** Runs per model and learning rate at most: beyond this an experiment is a typo, not a study. */
export const MAX_SEEDS = 1000;
/** One of {@link SWEEPS}. */
export type Sweep = (typeof SWEEPS)[number];

/** A preset: default (the depth study), full (the long study, 3 seeds) or hw5 (the assignment on its COCO subset). */
export type PresetName = 'default' | 'full' | 'hw5';

/**
 * Every preset trains each model by its designed recipe (recipes.ts).
 * default: the depth study. HW5Net and its plain twin at 5 to 20 SkipBlocks,
 * Net3 with 0 to 20 extra convolutions, one epoch of Fashion-MNIST each at
 * its recipe's better learning rate, HW5Net's second learning rate at its
 * deepest, one seed, then the loss landscape of the deepest skip and plain
 * pair: about 8 minutes on 2 cores with bf16 (docs/benchmarks.md).
 * full: the same grid for 20 epochs with augmentation, flip test-time
 * augmentation and 3 seeds, HW5Net at width 16 in channels-last (11% faster
 * at that width): the long, best-accuracy study (about 20 hours on 2 AVX2
 * cores, estimated: docs/benchmarks.md), with each run's time to 94.5%.
 * hw5: the assignment itself on its COCO subset (5 classes, 64x64):
 * HW5Net at two learning rates against Net3 at HW4's recipe.
 */
export const PRESETS: Record<PresetName, Omit<ExperimentConfig, 'out'>> = {
  default: {
    models: ['hw5net', 'hw5net-plain', 'net3'],
    notes: [
      'The depth sweep trains each recipe at one learning rate, the better of its two in the two-learning-rate study this preset ran before ' +
      '(one epoch, one seed; docs/benchmarks.md): the SkipBlock recipe at 0.1 (HW5Net 89.69% against 89.54% at 0.02, not significant; its plain twin 82.18% ' +
      'against 82.60%, not significant either, so both train at 0.1 and differ only in their skips), HW4\'s recipe at 1e-3 (Net3 80.37% against ' +
      '67.51% at 1e-4). HW5Net also trains at 0.02 at its deepest depth: the exercise\'s comparison of two learning rates.',
    ],
    recipes: { 'hw5net': { lrs: [0.1, 0.02] }, 'hw5net-plain': { lrs: [0.1] }, 'net3': { lrs: [0.001] } },
    seeds: 1,
    base: { dataset: 'fashion-mnist', epochs: 1, batchSize: 64, logEvery: 25, gradEvery: 50 },
    modelOptions: {},
    depths: { 'hw5net': [1, 2, 4, 6], 'hw5net-plain': [1, 2, 4, 6], 'net3': [0, 5, 10, 20] },
    sweep: 'one-at-a-time',
    landscape: { grid: 11, points: 21, sample: 1000 },
  },
  full: {
    models: ['hw5net', 'hw5net-plain', 'net3'],
    recipes: {},
    seeds: 3,
    base: {
      dataset: 'fashion-mnist', epochs: 20, batchSize: 64, augment: true, memoryFormat: 'channelsLast', logEvery: 100, gradEvery: 100,
      // Flip test-time augmentation: +0.29 points for HW5Net (93.37% -> 93.66%, docs/benchmarks.md); and the time to 94.5% in the report.
      flipTest: true, targetAccuracy: 0.945,
    },
    modelOptions: { 'hw5net': { width: 16, blocksPerStage: 6 }, 'hw5net-plain': { width: 16, blocksPerStage: 6 } },
    depths: {},
    sweep: 'grid',
  },
  hw5: {
    models: ['hw5net', 'net3'],
    recipes: {},
    seeds: 1,
    base: { dataset: 'coco', dataDir: HW5_SUBSET_DIR, epochs: 10, batchSize: 64, logEvery: 25, gradEvery: 25 },
    modelOptions: {},
    depths: {},
    sweep: 'grid',
  },
};

/** The presets `experiment --preset` knows. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A preset with a file's or the command line's choices over it (base settings merge; the rest replace). */
export function experimentFromPreset(preset: PresetName, out: string, overrides: Partial<Omit<ExperimentConfig, 'out'>> = {}): ExperimentConfig {
  const base = PRESETS[preset];
  if (base === undefined) throw new RangeError(`unknown preset '${preset}': choose ${PRESET_NAMES.join(', ')}`);
  const models = overrides.models ?? base.models;
  // A preset's per-model choices follow the models trained; those given over it are checked as given.
  const forModels = <T>(byModel: Record<string, T>) => Object.fromEntries(Object.entries(byModel).filter(([model]) => models.includes(model)));
  return {
    out,
    models,
    lrs: overrides.lrs ?? base.lrs,
    recipes: mergedRecipes(forModels(base.recipes), overrides),
    seeds: overrides.seeds ?? base.seeds,
    base: mergedBase(base.base, overrides.base ?? {}),
    modelOptions: { ...base.modelOptions, ...overrides.modelOptions },
    depths: overrides.depths ?? forModels(base.depths),
    sweep: overrides.sweep ?? base.sweep,
    landscape: 'landscape' in overrides ? overrides.landscape : base.landscape,
    // The preset's notes describe its own set-up: any change to what is trained makes them untrue.
    notes: overrides.notes ?? (changesSetup(overrides) ? undefined : base.notes),
  };
}

/**
 * Shared settings with others given over them. A data folder belongs to its dataset: another dataset given without a
 * folder does not look in the old one (--preset hw5 --dataset fashion-mnist reads Fashion-MNIST from its own place, not data/coco-hw5).
 */
function mergedBase(base: Partial<TrainConfig>, given: Partial<TrainConfig>): Partial<TrainConfig> {
  const merged = { ...base, ...given };
  if (given.dataset !== undefined && given.dataset !== base.dataset && given.dataDir === undefined) delete merged.dataDir;
  return merged;
}

/** Whether overrides change what a preset's notes speak of (its models, learning rates, recipes, depths, sweep or seeds). */
function changesSetup(overrides: Partial<Omit<ExperimentConfig, 'out'>>): boolean {
  const { models, lrs, recipes, depths, sweep, seeds } = overrides;
  return [models, lrs, depths, sweep, seeds].some((v) => v !== undefined) || Object.keys(recipes ?? {}).length > 0;
}

/**
 * A preset's recipes with those given over them, setting by setting (a given momentum keeps the preset's learning
 * rates); a one-grid lrs given for every model takes the preset's learning rates away, as the command line's does.
 */
function mergedRecipes(preset: Record<string, Recipe>, overrides: Partial<Omit<ExperimentConfig, 'out'>>): Record<string, Recipe> {
  const merged: Record<string, Recipe> = {};
  for (const [model, recipe] of Object.entries(preset)) {
    const { lrs: _lrs, ...rest } = recipe;
    merged[model] = overrides.lrs === undefined ? recipe : rest;
  }
  for (const [model, recipe] of Object.entries(overrides.recipes ?? {})) merged[model] = { ...merged[model], ...recipe };
  return merged;
}

/** Parses `--depths model:d1,d2,...` (e.g. hw5net:1,2,4,6); the values are checked with the plan. */
export function parseDepths(text: string): [string, number[]] {
  const colon = text.indexOf(':');
  const values = text.slice(colon + 1).split(',').map((v) => v.trim());
  if (colon <= 0 || values.some((v) => !/^\d+$/.test(v))) {
    throw new RangeError(`depths '${text}' must look like model:d1,d2,... with non-negative integers, e.g. hw5net:1,2,4,6 or net3:0,5,10,20`);
  }
  return [text.slice(0, colon).trim(), values.map(Number)];
}

/**
 * Settings that must hold for every model (the command line's): they go
 * into the shared settings and out of every model's recipe, and a learning-
 * rate list replaces every model's.
 */
export function applyToEveryModel(config: ExperimentConfig, settings: Partial<TrainConfig>, lrs?: number[]): ExperimentConfig {
  const given = new Set<string>(Object.keys(settings));
  if (lrs !== undefined) given.add('lrs');
  const recipes = Object.fromEntries(Object.entries(config.recipes).map(([model, recipe]) =>
    [model, Object.fromEntries(Object.entries(recipe).filter(([key]) => !given.has(key)))]));
  // Notes on how the preset's recipes were chosen are untrue once the command line replaces them.
  const replacesRecipes = lrs !== undefined || RECIPE_SETTINGS.some((k) => given.has(k));
  return { ...config, lrs: lrs ?? config.lrs, recipes, base: mergedBase(config.base, settings), notes: replacesRecipes ? undefined : config.notes };
}

const FILE_KEYS = ['out', 'models', 'lrs', 'recipes', 'seeds', 'base', 'modelOptions', 'depths', 'sweep', 'landscape', 'notes'] as const;

/** An experiment file's fields: any part of an {@link ExperimentConfig}. */
export type ExperimentFile = Partial<ExperimentConfig>;

/** Reads an experiment file (`--config`), checking the shape of each field so a mistake names the file and the field. */
export function readExperimentFile(path: string): ExperimentFile {
  const value = readJsonObject(path, 'experiment file');
  const problems: string[] = [];
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isList = (v: unknown, type: string) => Array.isArray(v) && v.every((x) => typeof x === type);
  for (const key of Object.keys(value)) if (!(FILE_KEYS as readonly string[]).includes(key)) problems.push(`unknown field '${key}' (known: ${FILE_KEYS.join(', ')})`);
  const expect = (key: (typeof FILE_KEYS)[number], ok: (v: unknown) => boolean, what: string) => {
    if (value[key] !== undefined && !ok(value[key])) problems.push(`'${key}' must be ${what}, got ${previewJson(value[key])}`);
  };
  expect('out', (v) => typeof v === 'string' && v.length > 0, 'a folder name');
  expect('models', (v) => isList(v, 'string'), 'a list of model names, e.g. ["hw5net", "net3"]');
  expect('lrs', (v) => isList(v, 'number'), 'a list of numbers, e.g. [0.1, 0.02]');
  expect('seeds', (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SEEDS, `an integer from 1 to ${MAX_SEEDS}`);
  expect('recipes', (v) => isObject(v) && Object.values(v as object).every(isObject), 'an object of recipes by model, e.g. { "net3": { "optimizer": "adam", "lrs": [0.001] } }');
  expect('base', isObject, 'an object of training settings');
  expect('modelOptions', (v) => isObject(v) && Object.values(v as object).every(isObject), 'an object of option objects by model, e.g. { "hw5net": { "width": 16 } }');
  expect('depths', (v) => isObject(v) && Object.values(v as object).every((d) => isList(d, 'number')), 'an object of depth lists by model, e.g. { "hw5net": [1, 2, 4, 6] }');
  expect('sweep', (v) => (SWEEPS as readonly unknown[]).includes(v), `one of ${SWEEPS.map((w) => `"${w}"`).join(', ')}`);
  expect('notes', (v) => isList(v, 'string') && (v as string[]).length <= MAX_NOTES && (v as string[]).every((note) => note.length <= MAX_NOTE_LENGTH),
    `a list of at most ${MAX_NOTES} sentences, each at most ${MAX_NOTE_LENGTH.toLocaleString('en-US')} characters (the report lays each one out)`);
  expect('landscape', (v) => v === null || isObject(v), 'an object of landscape settings, e.g. { "grid": 11, "points": 21, "sample": 1000 }, or null for none');
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${path}: ${p}`));
  // null in a file turns a preset's landscape off.
  return (value.landscape === null ? { ...value, landscape: undefined } : value) as ExperimentFile;
}

/** A run's folder name: hw5net-lr0.1-s0, or hw5net-d6-lr0.1-s0 when the experiment sweeps the model's depth. */
export function runName(model: string, lr: number, seed: number, depth?: number): string {
  return `${model}${depth === undefined ? '' : `-d${depth}`}-lr${lr}-s${seed}`;
}

/** A model's depths and the learning rates to train at each (one undefined depth: the model's own depth). */
function depthPlan(config: ExperimentConfig, model: string, lrs: number[]): [number | undefined, number[]][] {
  const depths = config.depths[model];
  if (depths === undefined) return [[undefined, lrs]];
  const deepest = Math.max(...depths);
  if (config.sweep === 'grid') return depths.map((d) => [d, lrs]);
  return depths.map((d) => [d, d === deepest ? lrs : lrs.slice(0, 1)]);
}

/** The problems of an experiment's depths: each names the model and says what to give. */
function depthProblems(config: ExperimentConfig): string[] {
  const problems: string[] = [];
  if (!(SWEEPS as readonly string[]).includes(config.sweep)) problems.push(`sweep must be one of ${SWEEPS.join(', ')}, got '${config.sweep}'`);
  for (const [model, depths] of Object.entries(config.depths)) {
    if (!config.models.includes(model)) {
      problems.push(`depths for a model the experiment does not train: ${model}`);
      continue;
    }
    let option: string;
    try {
      option = depthOption(model).name;
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (!(Array.isArray(depths) && depths.length > 0 && depths.every((d) => Number.isInteger(d) && d >= 0))) {
      problems.push(`${model}'s depths must be a non-empty list of non-negative integers (values of ${option}), got ${JSON.stringify(depths)}`);
    } else if (new Set(depths).size !== depths.length) {
      problems.push(`${model}'s depths list a depth twice: ${depths.join(', ')}`);
    }
    if (config.modelOptions[model]?.[option] !== undefined) {
      problems.push(`${model}: ${option} is given both in modelOptions and as depths; give it in depths only`);
    }
  }
  return problems;
}

/** A model's recipe as the experiment resolves it: its designed recipe, the shared settings, then its own recipe. */
function resolvedRecipe(config: ExperimentConfig, model: string): { settings: Partial<TrainConfig>; lrs: number[] } {
  const designed = designedRecipe(model);
  const own = config.recipes[model] ?? {};
  const pick = (recipe: Recipe) => Object.fromEntries(RECIPE_SETTINGS.filter((k) => recipe[k] !== undefined).map((k) => [k, recipe[k]]));
  return {
    settings: { ...pick(designed), ...config.base, ...pick(own) },
    lrs: own.lrs ?? config.lrs ?? designed.lrs ?? [],
  };
}

/** The values a list holds more than once, each named once. */
function repeated<T>(list: readonly T[]): T[] {
  return [...new Set(list.filter((x, i) => list.indexOf(x) !== i))];
}

/** Checks every run's configuration before the first one starts; the runs in order model, learning rate, seed. */
export function planExperiment(config: ExperimentConfig): TrainConfig[] {
  const problems: string[] = [];
  if (config.models.length === 0) problems.push('the experiment names no model');
  if (!(Number.isInteger(config.seeds) && config.seeds >= 1 && config.seeds <= MAX_SEEDS)) problems.push(`seeds must be an integer from 1 to ${MAX_SEEDS}, got ${config.seeds}`);
  // Model names are looked up without regard to case, so NET1 and net1 are one network.
  for (const [what, list] of [['models', config.models.map((m) => m.toLowerCase())], ['lrs', config.lrs ?? []]] as const) {
    const twice = repeated<unknown>(list);
    if (twice.length > 0) problems.push(`${what} lists ${twice.join(', ')} twice: each run would be trained again under the same name`);
  }
  for (const [model, recipe] of Object.entries(config.recipes)) {
    const twice = repeated(recipe.lrs ?? []);
    if (twice.length > 0) problems.push(`${model}'s recipe lists learning rate ${twice.join(', ')} twice`);
  }
  const unknownRecipes = Object.keys(config.recipes).filter((m) => !config.models.includes(m));
  if (unknownRecipes.length > 0) problems.push(`recipes for models the experiment does not train: ${unknownRecipes.join(', ')}`);
  for (const [model, recipe] of Object.entries(config.recipes)) {
    const unknown = Object.keys(recipe).filter((k) => k !== 'lrs' && !(RECIPE_SETTINGS as readonly string[]).includes(k));
    if (unknown.length > 0) problems.push(`${model}'s recipe: unknown setting ${unknown.join(', ')} (a recipe sets lrs, ${RECIPE_SETTINGS.join(', ')})`);
    if (recipe.lrs !== undefined && !(Array.isArray(recipe.lrs) && recipe.lrs.length > 0)) problems.push(`${model}'s recipe: lrs must be a non-empty list of learning rates`);
  }
  problems.push(...depthProblems(config), ...(config.landscape ? landscapeProblems(config.landscape) : []));
  if (problems.length > 0) throw new ConfigError(problems);
  const firstSeed = config.base.seed ?? 0;
  const plans: TrainConfig[] = [];
  for (const model of config.models) {
    let recipe: ReturnType<typeof resolvedRecipe>;
    try {
      recipe = resolvedRecipe(config, model);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (recipe.lrs.length === 0) problems.push(`${model}: no learning rate to train at`);
    for (const [depth, lrs] of depthPlan(config, model, recipe.lrs)) {
      const modelOptions = { ...config.modelOptions[model], ...(depth === undefined ? {} : { [depthOption(model).name]: depth }) };
      for (const lr of lrs) {
        for (let seed = firstSeed; seed < firstSeed + config.seeds; seed++) {
          const name = runName(model, lr, seed, depth);
          try {
            plans.push(resolveTrainConfig({ ...recipe.settings, model, lr, seed, modelOptions, out: join(config.out, name) }));
          } catch (error) {
            problems.push(...(error instanceof ConfigError ? error.problems : [(error as Error).message]).map((p) => `${name}: ${p}`));
          }
        }
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** The summary of a run that an earlier invocation already finished (or saw diverge), else undefined. */
function summaryOfExisting(plan: TrainConfig): RunSummary | undefined {
  const dir = new RunDirectory(plan.out);
  if (!existsSync(dir.file('status.json'))) return undefined;
  const { status } = dir.status();
  return status === 'finished' || status === 'diverged' ? summarizeRun(dir, plan) : undefined;
}

/**
 * Refuses to go on when a run the experiment would keep or resume was made with other settings (epochs, optimizer, ...): its records would
 * then stand in the experiment under settings it never trained with. Names each run and setting, and how to go on.
 */
function checkExistingRuns(config: ExperimentConfig, plans: TrainConfig[]): void {
  const show = (v: unknown) => JSON.stringify(v);
  const problems = plans.flatMap((plan) => {
    const dir = new RunDirectory(plan.out);
    if (!dir.exists()) return [];
    const saved: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...dir.readJson<Partial<TrainConfig>>('config.json') };
    const differing = differingResultSettings(saved, plan);
    return differing.length ? [`${basename(plan.out)} has ${differing.map((k) => `${k} ${show(saved[k])} (this command: ${show(plan[k])})`).join(', ')}`] : [];
  });
  if (problems.length === 0) return;
  throw new Error(`${config.out} holds runs made with other settings than this command asks for:\n  - ${problems.join('\n  - ')}\n` +
    `To keep and continue them, repeat the command that made them (recorded in ${join(config.out, EXPERIMENT_FILE)}); to train with the new settings, give another --out.`);
}

/** How an experiment is run: its progress display, stop flag, parallelism and forecast. */
export interface ExperimentOptions {
  reporter: TrainingReporter;
  stop?: StopFlag;
  /** The command that reproduces this experiment, recorded for the report. */
  command?: string;
  /** Data-parallel training: batch norm statistics over the global batch. */
  syncBatchNorm?: boolean;
  /** Runs trained at once in worker processes, the threads divided between them; auto: chosen by a short measurement (default 1). */
  parallelRuns?: number | 'auto';
  /** Measure each kind of run first and print the experiment's duration (forecast.json; the CLI's default). */
  forecast?: boolean;
  /** A TensorBoard log folder every run appends its scalars to as it logs (TrainOptions.tensorboard); runs finished before are converted. */
  tensorboard?: string;
}

/** An experiment's outcome: its folder, each run's summary, and whether it was stopped before the end. */
export interface ExperimentResult {
  out: string;
  runs: RunSummary[];
  stopped: boolean;
}

/**
 * Loads every dataset the plans name before the first run trains, so a
 * missing or broken dataset fails at once, not after hours of training.
 */
async function loadDatasets(plans: TrainConfig[]): Promise<Map<string, DatasetSplits>> {
  const datasets = new Map<string, DatasetSplits>();
  for (const plan of plans) {
    const key = datasetKey(plan);
    if (datasets.has(key)) continue;
    if (plan.dataset === 'coco' && !existsSync(join(plan.dataDir ?? '', 'manifest.json'))) {
      throw new Error(`no COCO subset in ${plan.dataDir ?? '(no --data-dir given)'}: build the assignment's subset first, from the COCO 2017 ` +
        `download (COCO below is its folder), with\n  ${hw5SubsetCommand(plan.dataDir)}\nor point --data-dir at a subset built before.`);
    }
    await loadRunDataset(plan, datasets);
  }
  return datasets;
}

/**
 * Trains every run of the experiment that is not finished (resuming stopped ones), writes results.json and the
 * landscapes, and returns the summaries; the report is written by the caller.
 */
export async function runExperiment(config: ExperimentConfig, options: ExperimentOptions): Promise<ExperimentResult> {
  const plans = planExperiment(config);
  const datasets = await loadDatasets(plans);
  // One experiment process per folder; in data-parallel training, rank 0 alone writes it.
  const writer = getRank() === 0;
  if (writer) checkOutputFolder(config.out, 'experiment');
  if (writer && options.tensorboard !== undefined) prepareTensorBoardFolder(options.tensorboard);
  const lock = writer ? new RunDirectory(config.out).lock() : undefined;
  try {
    checkExistingRuns(config, plans);
    return await runPlans(config, plans, datasets, options, writer);
  } finally {
    lock?.release();
  }
}

async function runPlans(
  config: ExperimentConfig, plans: TrainConfig[], datasets: Map<string, DatasetSplits>, options: ExperimentOptions, writer: boolean,
): Promise<ExperimentResult> {
  const { reporter } = options;
  if (writer) writeFileAtomic(join(config.out, EXPERIMENT_FILE), `${JSON.stringify({ ...config, command: options.command, runs: plans.map((p) => p.out) }, null, 2)}\n`);
  const kept = plans.map(summaryOfExisting);
  for (const k of kept) if (k !== undefined) reporter.message(`[${k.name}] already ${k.status}; kept`);
  // Runs trained before write no events now: their records are converted instead.
  if (writer && options.tensorboard !== undefined) for (const k of kept) if (k !== undefined) writeRunScalars(k.dir, options.tensorboard);
  const pending = plans.filter((_, i) => kept[i] === undefined);
  const meter = new SpeedMeter(datasets);
  const slots = await parallelRuns(pending, datasets, options, meter);
  const forecast = writer && options.forecast ? await experimentForecast(config, plans, pending, slots, datasets, meter, reporter) : undefined;
  const progress = { total: plans.length, done: plans.length - pending.length };
  reporter.experimentProgress?.(progress.done, progress.total);
  const trainingStarted = performance.now();
  const outcome = slots > 1
    ? await trainInParallel(pending.map((plan) => ({ plan, resume: new RunDirectory(plan.out).exists(), tensorboard: options.tensorboard })), slots, { reporter, stop: options.stop, ...progress })
    : await trainInTurn(pending, datasets, options, progress);
  const trainingSeconds = (performance.now() - trainingStarted) / 1000;
  let next = 0;
  const runs = kept.map((k) => k ?? outcome.summaries[next++]).filter((r): r is RunSummary => r !== undefined);
  if (writer) writeFileAtomic(join(config.out, 'results.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
  const landscapeStarted = performance.now();
  if (writer && !outcome.stopped && config.landscape !== undefined) await landscapes(config, plans, runs, options, datasets);
  if (forecast !== undefined && !outcome.stopped) {
    const landscapeSeconds = (performance.now() - landscapeStarted) / 1000;
    const trained = new Set(pending.map((p) => p.out));
    forecast.actual = {
      trainingSeconds, landscapeSeconds, seconds: trainingSeconds + landscapeSeconds,
      runs: Object.fromEntries(runs.filter((r) => trained.has(r.dir)).map((r) => [r.name, r.wallSeconds])),
    };
    writeForecast(config.out, forecast);
  }
  return { out: config.out, runs, stopped: outcome.stopped || (options.stop?.requested ?? false) };
}

/** The forecast of the runs still to train and the landscapes after them, printed and written (none when nothing is left to train). */
async function experimentForecast(
  config: ExperimentConfig, plans: TrainConfig[], pending: TrainConfig[], slots: number,
  datasets: Map<string, DatasetSplits>, meter: SpeedMeter, reporter: TrainingReporter,
): Promise<ExperimentForecast | undefined> {
  // Data-parallel ranks share the cores with one another: a measurement in one of them would say nothing of the run.
  if (pending.length === 0 || isInitialized()) return undefined;
  const landscape = config.landscape === undefined ? undefined : { ...LANDSCAPE_DEFAULTS, ...config.landscape };
  const forecast = await forecastExperiment({
    pending, slots, threads: threadsUsed(pending),
    landscapes: landscape === undefined ? [] : landscapeRuns(plans).filter((plan) => !hasLandscape(plan.out, landscape)), landscape,
  }, datasets, meter);
  for (const line of forecastLines(forecast)) reporter.message(line);
  writeForecast(config.out, forecast);
  return forecast;
}

/** forecast.json in the experiment's folder: written before training, and again with the actual times at the end. */
function writeForecast(out: string, forecast: ExperimentForecast): void {
  writeFileAtomic(join(out, FORECAST_FILE), `${JSON.stringify(forecast, null, 2)}\n`);
}

/**
 * The runs whose loss landscape the experiment draws: each model that has a
 * plain twin, and the twin, at its deepest depth, first learning rate and
 * first seed (the first such run in plan order).
 */
export function landscapeRuns(plans: TrainConfig[]): TrainConfig[] {
  const depth = (plan: TrainConfig) => configuredDepth(plan) ?? 0;
  const deepestOf = (model: string) => {
    const mine = plans.filter((p) => p.model === model);
    const deepest = Math.max(...mine.map(depth));
    return mine.find((p) => depth(p) === deepest);
  };
  const models = new Set(plans.map((p) => p.model));
  return [...models].flatMap((model) => {
    const twin = catalogEntry(model).plainTwin;
    return twin !== undefined && models.has(twin) ? [deepestOf(model)!, deepestOf(twin)!] : [];
  });
}

/** Computes the landscapes a finished experiment asks for; one already there with the same settings is kept. */
async function landscapes(
  config: ExperimentConfig, plans: TrainConfig[], runs: RunSummary[], options: ExperimentOptions, datasets: Map<string, DatasetSplits>,
): Promise<void> {
  const settings = { ...LANDSCAPE_DEFAULTS, ...config.landscape };
  for (const plan of landscapeRuns(plans)) {
    if (options.stop?.requested) return;
    const name = basename(plan.out);
    if (runs.find((r) => r.dir === plan.out)?.status !== 'finished') {
      options.reporter.message(`[${name}] no loss landscape: the run did not finish`);
      continue;
    }
    if (hasLandscape(plan.out, settings)) {
      options.reporter.message(`[${name}] loss landscape already computed; kept`);
      continue;
    }
    try {
      const progress = progressEvery(0.25, (done, total) => options.reporter.message(`[${name}] loss landscape: ${done} of ${total} points`));
      const file = await landscapeOfRun(plan.out, settings, progress, datasets);
      options.reporter.message(`[${name}] loss landscape on ${file.sample} training images in ${file.seconds.toFixed(0)} s`);
    } catch (error) {
      // The runs are trained: a landscape that fails must not cost the experiment its report.
      options.reporter.message(`[${name}] no loss landscape: ${(error as Error).message}`);
    }
  }
}

/**
 * How many runs train at once: as asked (at most one per core), or measured
 * (auto); one in data-parallel training, where the processes already share
 * the cores. The library's default is one at a time; the CLI's is auto.
 */
async function parallelRuns(pending: TrainConfig[], datasets: Map<string, DatasetSplits>, options: ExperimentOptions, meter: SpeedMeter): Promise<number> {
  const asked = options.parallelRuns ?? 1;
  if (isInitialized() || pending.length < 2 || options.stop?.requested) return 1;
  if (asked !== 'auto') {
    const cores = availableParallelism();
    if (asked > cores) options.reporter.message(`parallel runs: ${asked} asked for, ${cores} cores here: ${cores} at once`);
    return Math.min(asked, cores);
  }
  const choice = await measureParallelRuns(pending, datasets, meter);
  options.reporter.message(`parallel runs: ${choice.reason}`);
  return choice.runs;
}

/** The runs one after another in this process (and in data-parallel training, every rank the same run). */
async function trainInTurn(
  plans: TrainConfig[], datasets: Map<string, DatasetSplits>, options: ExperimentOptions, progress: { total: number; done: number },
): Promise<ParallelOutcome> {
  const summaries: RunSummary[] = [];
  for (const plan of plans) {
    // A run that an earlier invocation started continues from its checkpoint (or starts over when it saved none).
    const resume = new RunDirectory(plan.out).exists();
    // Every rank decides from the same state before rank 0 starts writing the run.
    if (isInitialized()) await barrier();
    const result = await train(plan, { reporter: options.reporter, stop: options.stop, resume, datasets, syncBatchNorm: options.syncBatchNorm, tensorboard: options.tensorboard });
    summaries.push(result);
    if (result.status === 'stopped') return { summaries, stopped: true };
    options.reporter.experimentProgress?.(++progress.done, progress.total);
  }
  return { summaries, stopped: false };
}
