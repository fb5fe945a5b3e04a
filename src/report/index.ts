export * from './report.js';
export * from './load.js';
export { PNG_SCALE } from './charts.js';
export { formatResultsTable } from './results-table.js';
export * from './statistics.js';
export { type Comparison, type RunGroup, compareGroups, groupRuns } from './study.js';
export * from './depth.js';
export * from './landscape.js';
