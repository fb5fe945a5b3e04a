/** skipstudio: deep residual networks in TypeScript over libtorch. */
export * from './tensor/index.js';
export * from './text/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './io/index.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './runs/index.js';
export * from './train/index.js';
export * from './report/index.js';
export * from './distributed/index.js';
export * from './export/index.js';
