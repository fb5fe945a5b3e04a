/**
 * The training configuration as a run directory records it (its settings are
 * declared in settings.ts), and the part of it that makes a recipe.
 */
import { MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, SETTING_NAMES, type SettingName, type TrainConfig } from './settings.js';
import type { RECIPE_SETTINGS, RecipeSettings } from '../models/recipe.js';

export { DEFAULT_TRAIN_CONFIG, MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig } from './settings.js';

/** An optimizer the training configuration can name: 'sgd', 'adam' or 'adamw'. */
export type OptimizerName = (typeof OPTIMIZERS)[number];
/** A learning-rate schedule the training configuration can name: 'constant', 'cosine', 'onecycle' or 'step'. */
export type ScheduleName = (typeof SCHEDULES)[number];
/** A precision setting: 'auto' (chosen by the CPU's flags, see resolvePrecision), 'fp32' or 'bf16'. */
export type Precision = (typeof PRECISIONS)[number];
/** A memory format the training configuration can name: 'contiguous' or 'channelsLast'. */
export type MemoryFormatName = (typeof MEMORY_FORMATS)[number];

export { RECIPE_SETTINGS, type RecipeSettings } from '../models/recipe.js';

/** The recipe's settings are training settings: held equal to the table's types by the compiler, in both directions. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const recipeSettingsMatchTheTable: Same<RecipeSettings, Pick<TrainConfig, (typeof RECIPE_SETTINGS)[number]>> = true;
void recipeSettingsMatchTheTable;

/** Describes a run's recipe in a few words, e.g. "adam (betas 0.9, 0.99), weight decay 0, constant". */
export function describeRecipe(config: RecipeSettings): string {
  const optimizer =
    config.optimizer === 'sgd'
      ? `sgd (${config.momentum > 0 ? `Nesterov momentum ${config.momentum}` : 'no momentum'})`
      : `${config.optimizer} (betas ${config.betas.join(', ')})`;
  return `${optimizer}, weight decay ${config.weightDecay}, ${config.schedule}`;
}

/**
 * Settings that do not change what a run measures: where it writes, how often it logs and saves, its threads and layout, the accuracy whose
 * time it notes, and the seed. Runs that differ only in these are repeats of one setting (seeds, when their seeds differ).
 */
export const RESULT_NEUTRAL_SETTINGS: readonly SettingName[] = [
  'seed',
  'out',
  'threads',
  'logEvery',
  'gradEvery',
  'checkpointEvery',
  'targetAccuracy',
  'memoryFormat',
];

/** A setting's value in a form that compares equal when the settings are equal (model options whatever their order). */
function comparable(config: TrainConfig, name: SettingName): string {
  const value = name === 'modelOptions' ? Object.entries(config.modelOptions).sort(([a], [b]) => a.localeCompare(b)) : config[name];
  return JSON.stringify(value);
}

/** The settings that change what a run measures, in the table's order, each with its value in comparable form. */
export function resultSettings(config: TrainConfig): [SettingName, string][] {
  return SETTING_NAMES.filter((name) => !RESULT_NEUTRAL_SETTINGS.includes(name)).map((name) => [name, comparable(config, name)]);
}

/** The settings that change what a run measures and differ between two configurations, in the table's order. */
export function differingResultSettings(a: TrainConfig, b: TrainConfig): SettingName[] {
  return SETTING_NAMES.filter((name) => !RESULT_NEUTRAL_SETTINGS.includes(name) && comparable(a, name) !== comparable(b, name));
}
