export * from './dataset.js';
export * from './idx.js';
export * from './fashion-mnist.js';
export * from './loader.js';
export * from './cifar10.js';
export * from './coco.js';
export * from './registry.js';
export * from './inspect.js';
