/**
 * The report: from run directories only, the study's numbers and statistics,
 * its sentences and figures, written as HTML and PDF. A new figure or
 * section goes here.
 */
export * from './report.js';
export * from './observations.js';
export * from './load.js';
export { type Chart, PNG_SCALE, type RenderedChart } from './charts.js';
export { type Block, DocumentBuilder, type Section } from './document.js';
export { formatResultsTable } from './results-table.js';
export * from './statistics.js';
export { type Comparison, type RunGroup, compareGroups, groupRuns } from './study.js';
export * from './depth.js';
export * from './landscape.js';
