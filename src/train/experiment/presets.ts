/**
 * The presets `experiment --preset` starts from, and how a file's and the
 * command line's choices merge over one.
 */
import { HW5_SUBSET_DIR } from '../../data/index.js';
import type { Recipe } from '../../models/catalog.js';
import { RECIPE_SETTINGS, type TrainConfig } from '../../runs/index.js';
import type { ExperimentConfig, Sweep } from './config.js';
import type { ExperimentFile } from './file.js';

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
        "against 82.60%, not significant either, so both train at 0.1 and differ only in their skips), HW4's recipe at 1e-3 (Net3 80.37% against " +
        "67.51% at 1e-4). HW5Net also trains at 0.02 at its deepest depth: the exercise's comparison of two learning rates.",
    ],
    recipes: { hw5net: { lrs: [0.1, 0.02] }, 'hw5net-plain': { lrs: [0.1] }, net3: { lrs: [0.001] } },
    seeds: 1,
    base: { dataset: 'fashion-mnist', epochs: 1, batchSize: 64, logEvery: 25, gradEvery: 50 },
    modelOptions: {},
    depths: { hw5net: [1, 2, 4, 6], 'hw5net-plain': [1, 2, 4, 6], net3: [0, 5, 10, 20] },
    sweep: 'one-at-a-time',
    landscape: { grid: 11, points: 21, sample: 1000 },
  },
  full: {
    models: ['hw5net', 'hw5net-plain', 'net3'],
    recipes: {},
    seeds: 3,
    base: {
      dataset: 'fashion-mnist',
      epochs: 20,
      batchSize: 64,
      augment: true,
      memoryFormat: 'channelsLast',
      logEvery: 100,
      gradEvery: 100,
      // Flip test-time augmentation: +0.29 points for HW5Net (93.37% -> 93.66%, docs/benchmarks.md); and the time to 94.5% in the report.
      flipTest: true,
      targetAccuracy: 0.945,
    },
    modelOptions: { hw5net: { width: 16, blocksPerStage: 6 }, 'hw5net-plain': { width: 16, blocksPerStage: 6 } },
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
export function experimentFromPreset(
  preset: PresetName,
  out: string,
  overrides: Partial<Omit<ExperimentConfig, 'out'>> = {},
): ExperimentConfig {
  const base = PRESETS[preset];
  if (base === undefined) throw new RangeError(`unknown preset '${preset}': choose ${PRESET_NAMES.join(', ')}`);
  const models = overrides.models ?? base.models;
  // A preset's per-model choices follow the models trained; those given over it are checked as given.
  const forModels = <T>(byModel: Record<string, T>) =>
    Object.fromEntries(Object.entries(byModel).filter(([model]) => models.includes(model)));
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

/**
 * Settings that must hold for every model (the command line's): they go
 * into the shared settings and out of every model's recipe, and a learning-
 * rate list replaces every model's.
 */
export function applyToEveryModel(config: ExperimentConfig, settings: Partial<TrainConfig>, lrs?: number[]): ExperimentConfig {
  const given = new Set<string>(Object.keys(settings));
  if (lrs !== undefined) given.add('lrs');
  const recipes = Object.fromEntries(
    Object.entries(config.recipes).map(([model, recipe]) => [
      model,
      Object.fromEntries(Object.entries(recipe).filter(([key]) => !given.has(key))),
    ]),
  );
  // Notes on how the preset's recipes were chosen are untrue once the command line replaces them.
  const replacesRecipes = lrs !== undefined || RECIPE_SETTINGS.some((k) => given.has(k));
  return {
    ...config,
    lrs: lrs ?? config.lrs,
    recipes,
    base: mergedBase(config.base, settings),
    notes: replacesRecipes ? undefined : config.notes,
  };
}

/** What an experiment's command line gives over its preset and file (the CLI's flags; a library user's choices). */
export interface ExperimentChoices {
  preset: PresetName;
  /** An experiment file's fields (readExperimentFile). */
  file?: ExperimentFile;
  out?: string;
  models?: string[];
  /** One learning-rate grid for every model. */
  lrs?: number[];
  seeds?: number;
  recipes?: Record<string, Recipe>;
  depths?: Record<string, number[]>;
  sweep?: Sweep;
  /** false: no loss landscape, whatever the preset or file asks for. */
  landscape?: boolean;
  /** Training settings for every model (the settings table's flags). */
  settings?: Partial<TrainConfig>;
}

/**
 * The experiment that a preset, a file and the command line describe, each later one winning over the earlier: the one
 * merge the CLI and the library share. Its folder is the one given, the file's, or runs/<dataset>-<preset>.
 */
export function experimentFromChoices(choices: ExperimentChoices): ExperimentConfig {
  const file = choices.file ?? {};
  const depths = file.depths !== undefined || choices.depths !== undefined ? { ...file.depths, ...choices.depths } : undefined;
  const fromPreset = experimentFromPreset(choices.preset, '', {
    models: choices.models ?? file.models,
    lrs: file.lrs,
    seeds: choices.seeds ?? file.seeds,
    recipes: { ...file.recipes, ...choices.recipes },
    base: file.base,
    modelOptions: file.modelOptions,
    depths,
    sweep: choices.sweep ?? file.sweep,
    notes: file.notes,
    ...(choices.landscape === false ? { landscape: undefined } : 'landscape' in file ? { landscape: file.landscape } : {}),
  });
  const config = applyToEveryModel(fromPreset, choices.settings ?? {}, choices.lrs);
  return { ...config, out: choices.out ?? file.out ?? `runs/${config.base.dataset ?? 'fashion-mnist'}-${choices.preset}` };
}
