/**
 * The experiment's closing table on the terminal: one row per model and
 * learning rate, its final test accuracy over the seeds (mean ± standard
 * deviation and the 95% t-interval) and, when the runs have a target
 * accuracy, the time to reach it, from the runs' summaries.
 */
import { formatCount, formatPercent as percent, formatTextTable } from '../text/format.js';
import type { RunSummary } from '../runs/index.js';
import { accuracySummary, describeTimeToAccuracy, points, timeToAccuracyHeader } from './study.js';

function state(runs: RunSummary[]): string {
  const diverged = runs.filter((r) => r.status === 'diverged');
  const stopped = runs.filter((r) => r.status === 'stopped').length;
  const failed = runs.filter((r) => r.status === 'failed').length;
  const parts = [
    ...(diverged.length ? [`${diverged.length} diverged (step ${diverged.map((r) => r.divergedAt?.step).join(', ')})`] : []),
    ...(stopped ? [`${stopped} stopped`] : []),
    ...(failed ? [`${failed} failed`] : []),
  ];
  return parts.length ? parts.join(', ') : 'no';
}

/** The closing table: one row per model and learning rate, in the order the runs came. */
export function formatResultsTable(runs: RunSummary[]): string {
  const groups = new Map<string, RunSummary[]>();
  const key = (run: RunSummary) => `${run.model}\u0000${run.depth}\u0000${run.lr}`;
  // A model's depth is named only where the runs hold it at several, as the report's labels do.
  const depthsOf = (model: string) => new Set(runs.filter((r) => r.model === model).map((r) => r.depth)).size;
  for (const run of runs) groups.set(key(run), [...(groups.get(key(run)) ?? []), run]);
  const timeHeader = timeToAccuracyHeader(runs.map((r) => r.timeToAccuracy));
  const header = [
    'model',
    'lr',
    'seeds',
    'learnable layers',
    'parameters',
    'final test acc',
    '95% interval',
    'wall time',
    ...(timeHeader ? [timeHeader] : []),
    'images/s',
    'diverged',
  ];
  const rows = [...groups.values()].map((members) => {
    const first = members[0]!;
    const accuracy = accuracySummary(members.map((r) => r.finalTestAccuracy).filter(Number.isFinite));
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rates = members.map((r) => r.imagesPerSecond).filter(Number.isFinite);
    return [
      first.depth === undefined || depthsOf(first.model) < 2 ? first.model : `${first.model}-d${first.depth}`,
      String(first.lr),
      String(members.length),
      String(first.learnableLayers),
      formatCount(first.parameters),
      accuracy.n > 1 ? `${percent(accuracy.mean)} ± ${points(accuracy.std)}` : percent(accuracy.n ? accuracy.mean : Number.NaN),
      accuracy.interval95 ? `${points(accuracy.interval95[0])}-${points(accuracy.interval95[1])}%` : '-',
      `${meanOf(members.map((r) => r.wallSeconds)).toFixed(0)} s`,
      ...(timeHeader ? [describeTimeToAccuracy(members.map((r) => r.timeToAccuracy))] : []),
      rates.length ? meanOf(rates).toFixed(0) : '-',
      state(members),
    ];
  });
  return formatTextTable(header, rows);
}
