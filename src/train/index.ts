/**
 * Training: the trainer, the training step, evaluation, the experiment
 * (models x depths x learning rates x seeds; experiment/), parallel runs,
 * the loss landscape, the forecast and progress display.
 */
export * from './config.js';
export * from './metrics.js';
export * from './prepare.js';
export * from './progress.js';
export * from './trainer.js';
export * from './experiment/index.js';
export * from './evaluation.js';
export * from './recipes.js';
export * from './parallel-choice.js';
export * from './parallel-runs.js';
export * from './landscape.js';
export * from './forecast.js';
export * from './speed.js';
export * from './curvature.js';
