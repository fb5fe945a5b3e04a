/**
 * The settings a training recipe fixes, and their names: what a model's
 * design says of how it trains (catalog.ts), declared here below the
 * settings table that checks them (runs/settings.ts builds its optimizer and
 * schedule choices from these lists), so models/ never imports runs/.
 */

/** The optimizers a run can train with. */
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
/** The learning-rate schedules, stepped every iteration. */
export const SCHEDULES = ['constant', 'cosine', 'onecycle', 'step'] as const;

/** The settings a training recipe fixes; the rest are shared by an experiment's runs. */
export interface RecipeSettings {
  optimizer: (typeof OPTIMIZERS)[number];
  momentum: number;
  betas: [number, number];
  weightDecay: number;
  schedule: (typeof SCHEDULES)[number];
}

/** The names of RecipeSettings' fields, in the order recipes are described. */
export const RECIPE_SETTINGS = [
  'optimizer',
  'momentum',
  'betas',
  'weightDecay',
  'schedule',
] as const satisfies readonly (keyof RecipeSettings)[];
