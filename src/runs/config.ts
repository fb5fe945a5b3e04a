/**
 * The training configuration as a run directory records it (its settings are
 * declared in settings.ts), and the part of it that makes a recipe.
 */
import {
  MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig,
} from './settings.js';

export { DEFAULT_TRAIN_CONFIG, MEMORY_FORMATS, OPTIMIZERS, PRECISIONS, SCHEDULES, type TrainConfig } from './settings.js';

export type OptimizerName = (typeof OPTIMIZERS)[number];
export type ScheduleName = (typeof SCHEDULES)[number];
export type Precision = (typeof PRECISIONS)[number];
export type MemoryFormatName = (typeof MEMORY_FORMATS)[number];

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
