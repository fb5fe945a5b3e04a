/** skipstudio: deep residual networks in TypeScript over libtorch. */
export * from './tensor/index.js';
