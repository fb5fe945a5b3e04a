export * from './report.js';
export * from './load.js';
export { PNG_SCALE } from './charts.js';
