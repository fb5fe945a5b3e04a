/** The tensor engine's public surface. */
export * from './dtype.js';
export { scope, keep, dispose, memory, emptyCache, type MemoryInfo, type ScopedResource } from './memory.js';
export * from './tensor.js';
export * from './creation.js';
export * from './ops.js';
export * from './functional.js';
export * from './foreach.js';
export * from './autograd.js';
export * from './runtime.js';
export type { NativeHandle } from './native.js';
export * from './background.js';
