export * from './config.js';
export * from './records.js';
export * from './run-directory.js';
export * from './lock.js';
export * from './summary.js';
export * from './environment.js';
