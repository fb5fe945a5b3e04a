/**
 * Files: safetensors, checkpoints (weights, optimizer, generator), atomic
 * writes, folders, JSON files a user wrote; every error names the file.
 */
export * from './safetensors.js';
export * from './checkpoint.js';
export { removeLeftoverTemporaries, writeFileAtomic } from './atomic.js';
export { previewJson, readJsonObject } from './json.js';
export { fileError, makeFolder, unwritableProblem } from './folders.js';
