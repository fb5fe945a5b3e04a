export * from './module.js';
export * from './layers.js';
export * as init from './init.js';
export * from './summary.js';
export * from './format.js';
