/**
 * The experiment command's own flags, declared once as a table of settings
 * (runs/setting-kinds.ts): its `--help`, the checks at the flag, the ranges
 * and docs/cli.md all follow from these rows. The training flags it shares
 * with `train` come from the training settings' table.
 */
import type { Recipe } from '../../models/catalog.js';
import type { SettingValue } from '../../runs/index.js';
import { type Setting, choice, got, integer, onOff } from '../../runs/setting-kinds.js';
import { parseRecipe } from '../recipes.js';
import { MAX_SEEDS, SWEEPS, type Sweep } from './config.js';
import { parseDepths } from './file.js';
import { PRESET_NAMES } from './presets.js';

/** The most runs an experiment trains at once: far more than any machine's cores (they are capped to the cores anyway). */
const MAX_PARALLEL_RUNS = 1024;
const parallelCount = integer({ min: 1, max: MAX_PARALLEL_RUNS, default: 1, help: '' });

/** A flag with no value until it is given: the preset or the experiment file decides. */
function unset<T>(setting: Setting<T>): Setting<T | undefined> {
  return { ...setting, default: undefined, check: (v) => (v === undefined ? undefined : setting.check(v)) };
}

/** A row typed as a Setting (its fields documented there), its value type given. */
function row<T>(setting: Setting<T>): Setting<T> {
  return setting;
}

const isList = (v: unknown, type: string) => Array.isArray(v) && v.every((x) => typeof x === type);

/** The experiment command's flags: one row each (default, flag, parser, check, range, help). */
export const EXPERIMENT_SETTINGS = {
  config: unset<string>({
    default: '',
    flag: '<file>',
    parse: (t) => t,
    check: (v) => (typeof v === 'string' ? undefined : `must be a file name, got ${got(v)}`),
    help: 'a JSON experiment file: { models, recipes: { model: { optimizer, lrs, ... } }, lrs, seeds, base: {training settings}, modelOptions }',
  }),
  preset: choice(PRESET_NAMES, {
    default: 'default',
    help: 'default (the depth study, about 8 minutes on 2 cores), full (the long study, 3 seeds) or hw5 (the assignment on its COCO subset)',
  }),
  models: unset<string[]>({
    default: [],
    flag: '<list>',
    help: 'comma-separated model names',
    parse: (v) => v.split(',').map((m) => m.trim()),
    check: (v) => (isList(v, 'string') ? undefined : `must be a list of model names, got ${got(v)}`),
  }),
  lrs: unset<number[]>({
    default: [],
    flag: '<list>',
    help: "comma-separated learning rates for every model (default: each model's own, from its recipe)",
    parse: (value) => {
      const list = value.split(',').map((v) => Number(v.trim()));
      if (list.some((v) => !(v > 0) || !Number.isFinite(v)))
        throw new Error('must be a comma-separated list of positive numbers, e.g. 0.1,0.01');
      return list;
    },
    check: (v) => (isList(v, 'number') ? undefined : `must be a list of learning rates, got ${got(v)}`),
  }),
  recipe: row<Record<string, Recipe>>({
    default: {},
    flag: '<model:settings>',
    help: "a model's recipe, e.g. net3:optimizer=adam,lrs=0.001/0.0001,betas=0.9/0.99 (repeatable)",
    parse: (value, recipes = {}) => {
      const [model, recipe] = parseRecipe(value);
      return { ...recipes, [model]: { ...recipes[model], ...recipe } };
    },
    check: (v) => (v !== null && typeof v === 'object' ? undefined : `must be recipes by model, got ${got(v)}`),
  }),
  seeds: unset(
    integer({ min: 1, max: MAX_SEEDS, default: 1, help: 'runs per model and learning rate, with seeds --seed, --seed + 1, ...' }),
  ),
  depths: unset<Record<string, number[]>>({
    default: {},
    flag: '<model:list>',
    help: 'depths to train a model at, as values of its depth option, e.g. hw5net:1,2,4,6 (blocksPerStage) or net3:0,5,10,20 (chainLength); repeatable',
    // A model given twice gets both lists (a depth in both is refused with the plan).
    parse: (value, depths = {}) => {
      const [model, list] = parseDepths(value);
      return { ...depths, [model]: [...(depths[model] ?? []), ...list] };
    },
    check: (v) => (v !== null && typeof v === 'object' ? undefined : `must be depth lists by model, got ${got(v)}`),
  }),
  sweep: unset<Sweep>(
    choice(SWEEPS, {
      default: 'grid',
      flag: '<how>',
      help: 'depths x learning rates: grid (every pair) or one-at-a-time (every depth at the first learning rate, the others at the deepest)',
    }),
  ),
  landscape: onOff({ default: true, help: 'skip the loss landscapes the preset computes after training' }),
  forecast: onOff({ default: true, help: "start training without first measuring each kind of run to forecast the experiment's duration" }),
  out: unset<string>({
    default: '',
    flag: '<dir>',
    help: 'the experiment directory (default: runs/<dataset>-<preset>)',
    parse: (t) => t,
    check: (v) => (typeof v === 'string' && v.length > 0 ? undefined : `must be a folder name, got ${got(v)}`),
  }),
  parallelRuns: row<number | 'auto'>({
    default: 'auto',
    flag: '<n|auto>',
    range: parallelCount.range,
    help: 'runs trained at once in worker processes, the threads divided between them (auto: chosen by a short measurement)',
    parse: (value) => (value === 'auto' ? 'auto' : parallelCount.parse!(value)),
    check: (v) => (v === 'auto' ? undefined : parallelCount.check(v)),
  }),
};

/** The experiment command's flags as the action receives them: one field per row of {@link EXPERIMENT_SETTINGS}. */
export type ExperimentFlags = { [K in keyof typeof EXPERIMENT_SETTINGS]: SettingValue<(typeof EXPERIMENT_SETTINGS)[K]> };
