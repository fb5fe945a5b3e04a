export * from './skip-block.js';
export * from './depth.js';
export * from './bmenet.js';
export * from './hw4.js';
export * from './hw5net.js';
export * from './registry.js';
export type { ClassifierShape } from './shapes.js';
export * from './catalog.js';
