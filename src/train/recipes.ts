/**
 * Recipes given on the command line (`--recipe model:key=value,...`). What
 * each model's own recipe is lives in models/catalog.ts.
 */
import type { Recipe } from '../models/catalog.js';
import { RECIPE_SETTINGS } from '../runs/index.js';

const NUMBER_LIST = /^[^/]+(\/[^/]+)*$/;

/**
 * Parses a recipe given on the command line, e.g.
 * "net3:optimizer=adam,lrs=0.001/0.0001,betas=0.9/0.99,schedule=constant,weightDecay=0".
 * Values are only parsed here; every run's settings are checked before training.
 */
export function parseRecipe(text: string): [string, Recipe] {
  const colon = text.indexOf(':');
  if (colon <= 0)
    throw new RangeError(`recipe '${text}' must look like model:key=value,key=value (e.g. net3:optimizer=adam,lrs=0.001/0.0001)`);
  const model = text.slice(0, colon).trim();
  const recipe: Record<string, unknown> = {};
  for (const pair of text
    .slice(colon + 1)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
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
