export * from './safetensors.js';
export * from './checkpoint.js';
export { removeLeftoverTemporaries, writeFileAtomic } from './atomic.js';
export { readJsonObject } from './json.js';
export { fileError, makeFolder, unwritableProblem } from './folders.js';
