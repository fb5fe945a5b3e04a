/**
 * The live dashboard: an HTTP server with server-sent events over run
 * directories, and the page it serves.
 */
export { type Dashboard, type DashboardOptions, DashboardServer, startDashboard } from './server.js';
export { type ExperimentState, type RunState, RunStore } from './run-store.js';
export { MetricsTail, type TailRead } from './metrics-tail.js';
export { PathRefused, resolveServedFile } from './safe-path.js';
export { type ChartUpdate, ChartStream, type RunRow, experimentCharts, runCharts, runRow } from './views.js';
