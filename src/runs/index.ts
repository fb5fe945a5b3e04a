export * from './config.js';
export { type Setting, type SettingName, type SettingValue, SETTING_NAMES, TRAIN_SETTINGS, flagName, settingProblems } from './settings.js';
export * from './records.js';
export * from './run-directory.js';
export * from './lock.js';
export * from './summary.js';
export * from './environment.js';
export * from './precision.js';
export * from './schemas.js';
