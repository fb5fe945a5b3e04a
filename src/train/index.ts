export * from './config.js';
export * from './metrics.js';
export * from './prepare.js';
export * from './progress.js';
export * from './trainer.js';
export * from './experiment.js';
export * from './evaluation.js';
export * from './recipes.js';
