/**
 * Optimizers (SGD, Adam, AdamW), learning-rate schedules and gradient
 * clipping, as PyTorch computes them.
 */
export * from './optimizer.js';
export * from './sgd.js';
export * from './adam.js';
export * from './schedulers.js';
export * from './clip.js';
