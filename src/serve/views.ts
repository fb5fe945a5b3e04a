/**
 * What each dashboard page shows, computed from the run store: the rows of
 * the runs table, and the charts, which are the report's own vega-lite
 * specifications (src/report/charts.ts) with the report's styling, chosen as
 * the report chooses them. A ChartStream remembers what one page was sent
 * and turns the next set of charts into the smallest update: the new data
 * rows of a chart whose shape did not change, or the whole chart when it did
 * (a line chart drops its point marks past 40 points, say).
 */
import { existsSync } from 'node:fs';

import { compile, type TopLevelSpec } from 'vega-lite';

import {
  type Chart,
  accuracyPerEpoch,
  confusionHeatmap,
  finalAccuracyChart,
  gradientFlow,
  lossByLearningRate,
  lossComparison,
  styledSpec,
} from '../report/charts.js';
import type { RunData } from '../report/load.js';
import { bestGroups, groupRuns } from '../report/study.js';
import { describeRecipe } from '../runs/index.js';
import type { ExperimentState, RunState, RunStore } from './run-store.js';

/** One row of a runs table. */
export interface RunRow {
  id: string;
  experimentId: string;
  name: string;
  model?: string;
  recipe?: string;
  lr?: number;
  seed?: number;
  state: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  totalSteps?: number;
  /** Last test accuracy (the final evaluation's once there is one), as a fraction. */
  accuracy?: number;
  imagesPerSecond?: number;
  /** Seconds until the run ends, at its latest speed (running runs only). */
  secondsLeft?: number;
  /** Whether the browser can classify images with it (a finished run with a checkpoint). */
  tryable: boolean;
  errors: string[];
}

export function runRow(run: RunState): RunRow {
  const { config, status } = run;
  const lastIteration = run.iterations.at(-1);
  const lastEpoch = run.epochs.at(-1);
  const state =
    status === undefined ? 'starting' : status.status === 'diverged' ? `diverged at step ${status.divergedAt?.step ?? '?'}` : status.status;
  const step = Math.max(status?.step ?? 0, lastIteration?.step ?? 0, lastEpoch?.step ?? 0);
  const running = status?.status === 'running';
  const stepsPerSecond = lastIteration !== undefined && config !== undefined ? lastIteration.imagesPerSecond / config.batchSize : 0;
  const totalSteps = status?.totalSteps || undefined;
  return {
    id: run.id,
    experimentId: run.experimentId,
    name: run.name,
    model: config?.model,
    recipe: config === undefined ? undefined : describeRecipe(config),
    lr: config?.lr,
    seed: config?.seed,
    state,
    epoch: running ? Math.min(config?.epochs ?? Infinity, (lastIteration?.epoch ?? status?.epochsDone ?? 0) + 1) : status?.epochsDone,
    epochs: config?.epochs,
    step,
    totalSteps,
    accuracy: run.evaluation?.accuracy ?? lastEpoch?.testAccuracy,
    imagesPerSecond: lastIteration?.imagesPerSecond ?? lastEpoch?.imagesPerSecond,
    secondsLeft: running && totalSteps !== undefined && stepsPerSecond > 0 ? Math.max(0, totalSteps - step) / stepsPerSecond : undefined,
    tryable: status?.status === 'finished' && run.model !== undefined && existsSync(run.dir.checkpointPath),
    errors: run.errors,
  };
}

function runDatas(store: RunStore, runs: RunState[]): RunData[] {
  return runs.map((r) => store.runData(r)).filter((r): r is RunData => r !== undefined);
}

/** An experiment's charts, as the report has them: loss per model, the best of each model, accuracy per epoch, final accuracy, confusion matrices, gradient flow. */
export function experimentCharts(store: RunStore, experiment: ExperimentState): Chart[] {
  const runs = runDatas(store, store.runsOf(experiment));
  const groups = groupRuns(runs);
  const models = [...new Set(runs.map((r) => r.config.model))];
  const best = bestGroups(groups);
  const charts: (Chart | undefined)[] = [
    ...models.map((model) =>
      lossByLearningRate(
        model,
        groups.filter((g) => g.model === model),
      ),
    ),
    models.length > 1 ? lossComparison(best) : undefined,
    accuracyPerEpoch(groups),
    finalAccuracyChart(groups),
    ...runs.map((run) => confusionHeatmap(run)),
    gradientFlow(best.map((g) => g.runs[0]!)),
  ];
  return charts.filter((c): c is Chart => c !== undefined);
}

/** One run's charts: its loss, accuracy per epoch, confusion matrix and gradient flow. */
export function runCharts(store: RunStore, run: RunState): Chart[] {
  const data = store.runData(run);
  if (data === undefined) return [];
  const groups = groupRuns([data]);
  const charts = [lossByLearningRate(data.config.model, groups), accuracyPerEpoch(groups), confusionHeatmap(data), gradientFlow([data])];
  return charts.filter((c): c is Chart => c !== undefined);
}

/** A chart as the browser draws it: a vega spec whose rows live in the dataset named 'table'. */
export interface ChartMessage {
  id: string;
  caption: string;
  spec: object;
  rows: object[];
}

export type ChartUpdate =
  { kind: 'chart'; chart: ChartMessage } | { kind: 'rows'; id: string; rows: object[] } | { kind: 'remove'; id: string };

const compiled = new Map<string, object>();

/** The vega spec of a chart's shape (its spec without data), compiled once per shape. */
function compileShape(shapeKey: string, shape: object): object {
  let spec = compiled.get(shapeKey);
  if (spec === undefined) {
    spec = compile({ ...shape, data: { name: 'table' } } as TopLevelSpec).spec;
    if (compiled.size >= 500) compiled.delete(compiled.keys().next().value!);
    compiled.set(shapeKey, spec);
  }
  return spec;
}

/** Splits a styled chart into its shape (everything but its rows, with the caption) and its rows. */
function split(chart: Chart): { shape: object; shapeKey: string; rows: object[] } {
  const { data, ...shape } = styledSpec(chart) as TopLevelSpec & { data?: { values?: object[] } };
  const rows = data?.values ?? [];
  return { shape, shapeKey: JSON.stringify([chart.caption, shape]), rows };
}

/** What one page has been sent, and the updates that bring it to a new set of charts. */
export class ChartStream {
  readonly #sent = new Map<string, { shapeKey: string; rows: Map<string, number> }>();

  update(charts: Chart[]): ChartUpdate[] {
    const updates: ChartUpdate[] = [];
    const ids = new Set<string>();
    for (const chart of charts) {
      ids.add(chart.id);
      const { shape, shapeKey, rows } = split(chart);
      const keys = rows.map((r) => JSON.stringify(r));
      const counts = new Map<string, number>();
      for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
      const sent = this.#sent.get(chart.id);
      // Rows only ever grow while a run trains; anything else (a shape change, a row gone) redraws the chart.
      const grows = sent !== undefined && sent.shapeKey === shapeKey && [...sent.rows].every(([k, n]) => (counts.get(k) ?? 0) >= n);
      if (grows) {
        const remaining = new Map(sent.rows);
        const added = rows.filter((_, i) => {
          const n = remaining.get(keys[i]!) ?? 0;
          if (n > 0) {
            remaining.set(keys[i]!, n - 1);
            return false;
          }
          return true;
        });
        if (added.length > 0) updates.push({ kind: 'rows', id: chart.id, rows: added });
      } else {
        updates.push({ kind: 'chart', chart: { id: chart.id, caption: chart.caption, spec: compileShape(shapeKey, shape), rows } });
      }
      this.#sent.set(chart.id, { shapeKey, rows: counts });
    }
    for (const id of [...this.#sent.keys()]) {
      if (!ids.has(id)) {
        this.#sent.delete(id);
        updates.push({ kind: 'remove', id });
      }
    }
    return updates;
  }
}
