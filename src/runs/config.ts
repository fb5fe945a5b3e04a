/**
 * The training configuration as a run directory records it (its settings are
 * declared in settings.ts), and the part of it that makes a recipe.
 */
import {
  MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig,
} from './settings.js';

export { DEFAULT_TRAIN_CONFIG, MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig } from './settings.js';

/** An optimizer the training configuration can name: 'sgd', 'adam' or 'adamw'. */
export type OptimizerName = (typeof OPTIMIZERS)[number];
/** A learning-rate schedule the training configuration can name: 'constant', 'cosine', 'onecycle' or 'step'. */
export type ScheduleName = (typeof SCHEDULES)[number];
/** A precision setting: 'auto' (chosen by the CPU's flags, see resolvePrecision), 'fp32' or 'bf16'. */
export type Precision = (typeof PRECISIONS)[number];
/** A memory format the training configuration can name: 'contiguous' or 'channelsLast'. */
export type MemoryFormatName = (typeof MEMORY_FORMATS)[number];

/** The settings a training recipe fixes (see models/catalog.ts); the rest are shared by an experiment's runs. */
export const RECIPE_SETTINGS = ['optimizer', 'momentum', 'betas', 'weightDecay', 'schedule'] as const;

/** The part of a TrainConfig that RECIPE_SETTINGS names: optimizer, momentum, betas, weight decay and schedule. */
export type RecipeSettings = Pick<TrainConfig, (typeof RECIPE_SETTINGS)[number]>;

/** Describes a run's recipe in a few words, e.g. "adam (betas 0.9, 0.99), weight decay 0, constant". */
export function describeRecipe(config: RecipeSettings): string {
  const optimizer = config.optimizer === 'sgd'
    ? `sgd (${config.momentum > 0 ? `Nesterov momentum ${config.momentum}` : 'no momentum'})`
    : `${config.optimizer} (betas ${config.betas.join(', ')})`;
  return `${optimizer}, weight decay ${config.weightDecay}, ${config.schedule}`;
}
