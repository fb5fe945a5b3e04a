/**
 * Planning: an experiment's runs in order model, depth, learning rate, seed,
 * each configuration checked before the first one trains, and the runs whose
 * loss landscape it draws.
 */
import { join } from 'node:path';

import { type Recipe, catalogEntry, configuredDepth, depthOption, designedRecipe } from '../../models/catalog.js';
import { RECIPE_SETTINGS, type TrainConfig } from '../../runs/index.js';
import { ConfigError, resolveTrainConfig } from '../config.js';
import { landscapeProblems } from '../landscape.js';
import { type ExperimentConfig, MAX_SEEDS, SWEEPS } from './config.js';

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
  if (!(SWEEPS as readonly string[]).includes(config.sweep))
    problems.push(`sweep must be one of ${SWEEPS.join(', ')}, got '${config.sweep}'`);
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
      problems.push(
        `${model}'s depths must be a non-empty list of non-negative integers (values of ${option}), got ${JSON.stringify(depths)}`,
      );
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
  if (!(Number.isInteger(config.seeds) && config.seeds >= 1 && config.seeds <= MAX_SEEDS))
    problems.push(`seeds must be an integer from 1 to ${MAX_SEEDS}, got ${config.seeds}`);
  // Model names are looked up without regard to case, so NET1 and net1 are one network.
  for (const [what, list] of [
    ['models', config.models.map((m) => m.toLowerCase())],
    ['lrs', config.lrs ?? []],
  ] as const) {
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
    if (unknown.length > 0)
      problems.push(`${model}'s recipe: unknown setting ${unknown.join(', ')} (a recipe sets lrs, ${RECIPE_SETTINGS.join(', ')})`);
    if (recipe.lrs !== undefined && !(Array.isArray(recipe.lrs) && recipe.lrs.length > 0))
      problems.push(`${model}'s recipe: lrs must be a non-empty list of learning rates`);
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
