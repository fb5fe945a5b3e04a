/**
 * Checking a training configuration completely before any training starts
 * (the settings table's checks, then the registries'), so a bad value fails
 * at once with a message that says what to fix.
 */
import { resolve } from 'node:path';

import { getDatasetInfo } from '../data/registry.js';
import { getModelSpec } from '../models/index.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, settingProblems, withResolvedPrecision } from '../runs/index.js';

/** Invalid settings: every problem found, each naming its setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Merges partial settings over the defaults and checks every value by the
 * settings table, then that the model and dataset exist; throws ConfigError
 * listing all problems. Precision `auto` becomes this machine's choice
 * (runs/precision.ts), its reason kept in precisionReason. A data folder is made absolute.
 */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial))
    throw new ConfigError([`settings must be an object, got ${JSON.stringify(partial)}`]);
  const config = {
    ...DEFAULT_TRAIN_CONFIG,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  } as TrainConfig;
  const problems = settingProblems(config as unknown as Record<string, unknown>);
  for (const [name, lookup] of [
    ['model', getModelSpec],
    ['dataset', getDatasetInfo],
  ] as const) {
    if (problems.some((p) => p.startsWith(`${name} `))) continue;
    try {
      lookup(config[name]);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Saved absolute: eval, landscape or --resume from another folder finds the data the run trained on.
  if (config.dataDir !== undefined) config.dataDir = resolve(config.dataDir);
  return withResolvedPrecision(config);
}
