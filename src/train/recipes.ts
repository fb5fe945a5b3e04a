/**
 * Training recipes: how each model was designed to be trained. A comparison
 * of architectures is only fair when each one trains the way it was meant
 * to: the SkipBlock networks with SGD, Nesterov momentum and a 1cycle
 * schedule (DLStudio's and ResNet's practice), the plain HW4 CNNs with HW4's
 * own Adam recipe. Under one shared SGD grid at 0.1/0.02, Net3 never leaves
 * chance level, which says nothing about Net3 and much about the grid.
 */
import type { TrainConfig } from './config.js';

/** The settings a recipe may fix; the rest of a run's settings are shared by the whole experiment. */
export const RECIPE_SETTINGS = ['optimizer', 'momentum', 'betas', 'weightDecay', 'schedule'] as const;

export type RecipeSettings = Pick<TrainConfig, (typeof RECIPE_SETTINGS)[number]>;

/** A model's recipe: optimizer settings and the learning rates to try. */
export interface Recipe extends Partial<RecipeSettings> {
  lrs?: number[];
}

/** SGD with Nesterov momentum 0.9, weight decay 5e-4 and 1cycle, at two learning rates. */
const SKIPBLOCK_RECIPE: Recipe = { optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4, schedule: 'onecycle', lrs: [0.1, 0.02] };

/** HW4's recipe: Adam with betas (0.9, 0.99), no weight decay, a constant learning rate; 1e-3 and a tenth of it. */
const HW4_RECIPE: Recipe = { optimizer: 'adam', betas: [0.9, 0.99], weightDecay: 0, schedule: 'constant', lrs: [1e-3, 1e-4] };

const DESIGNED: Record<string, Recipe> = {
  'hw5net': SKIPBLOCK_RECIPE,
  'hw5net-plain': SKIPBLOCK_RECIPE,
  'bmenet': SKIPBLOCK_RECIPE,
  'bmenet-plain': SKIPBLOCK_RECIPE,
  'net1': HW4_RECIPE,
  'net2': HW4_RECIPE,
  'net3': HW4_RECIPE,
};

/** The recipe a registered model was designed with (the plain twins share their skip-connected model's, so only the skips differ). */
export function designedRecipe(model: string): Recipe {
  const recipe = DESIGNED[model.toLowerCase()];
  if (recipe === undefined) throw new RangeError(`no training recipe for model '${model}' (known: ${Object.keys(DESIGNED).join(', ')})`);
  return { ...recipe, lrs: [...(recipe.lrs ?? [])] };
}

/** Describes a run's recipe in a few words, e.g. "adam (betas 0.9, 0.99), weight decay 0, constant". */
export function describeRecipe(config: RecipeSettings): string {
  const optimizer = config.optimizer === 'sgd'
    ? `sgd (${config.momentum > 0 ? `Nesterov momentum ${config.momentum}` : 'no momentum'})`
    : `${config.optimizer} (betas ${config.betas.join(', ')})`;
  return `${optimizer}, weight decay ${config.weightDecay}, ${config.schedule}`;
}

const NUMBER_LIST = /^[^/]+(\/[^/]+)*$/;

/**
 * Parses a recipe given on the command line, e.g.
 * "net3:optimizer=adam,lrs=0.001/0.0001,betas=0.9/0.99,schedule=constant,weightDecay=0".
 * Values are only parsed here; every run's settings are checked before training.
 */
export function parseRecipe(text: string): [string, Recipe] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new RangeError(`recipe '${text}' must look like model:key=value,key=value (e.g. net3:optimizer=adam,lrs=0.001/0.0001)`);
  const model = text.slice(0, colon).trim();
  const recipe: Record<string, unknown> = {};
  for (const pair of text.slice(colon + 1).split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value, ...rest] = pair.split('=').map((p) => p.trim());
    if (key === undefined || value === undefined || rest.length > 0) throw new RangeError(`recipe '${text}': '${pair}' is not key=value`);
    if (key === 'lrs' || key === 'betas') {
      if (!NUMBER_LIST.test(value)) throw new RangeError(`recipe '${text}': ${key} takes numbers separated by '/', e.g. 0.001/0.0001`);
      recipe[key] = value.split('/').map(Number);
    } else if (key === 'optimizer' || key === 'schedule') {
      recipe[key] = value;
    } else if (key === 'momentum' || key === 'weightDecay') {
      recipe[key] = Number(value);
    } else {
      throw new RangeError(`recipe '${text}': unknown key '${key}' (known: lrs, ${RECIPE_SETTINGS.join(', ')})`);
    }
  }
  return [model, recipe as Recipe];
}
