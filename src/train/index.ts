export * from './quick-train.js';
