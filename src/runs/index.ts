/**
 * Run records on disk: the training settings table and config type, the
 * record types and their schemas, the run directory, its lock and the output
 * rule, summaries and the environment record. Reading runs loads no
 * libtorch. A new training setting is a row of settings.ts.
 */
export * from './config.js';
export { type SettingName, type SettingValue, SETTING_NAMES, TRAIN_SETTINGS, flagName, settingProblems } from './settings.js';
export type { Setting } from './setting-kinds.js';
export * from './records.js';
export * from './run-directory.js';
export * from './lock.js';
export * from './summary.js';
export * from './environment.js';
export * from './precision.js';
export * from './schemas.js';
