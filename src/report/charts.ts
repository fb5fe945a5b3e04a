/**
 * The report's charts as vega-lite specifications, rendered to SVG by vega
 * in Node (no browser) and rasterised to PNG by sharp (librsvg), with DejaVu
 * Sans so text is legible in every output.
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { RunData } from './load.js';
import { describeSample } from './statistics.js';
import { type RunGroup, layerGradientMeans } from './study.js';

const FONT = 'DejaVu Sans';
/** PNGs are rendered at twice the SVG's size, for print. */
export const PNG_SCALE = 2;

const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 14 },
  background: 'white',
};

/** A report figure before rendering: its file stem, caption and vega-lite specification. */
export interface Chart {
  /** File stem under figures/, e.g. 'loss-hw5net'. */
  id: string;
  caption: string;
  spec: TopLevelSpec;
  /** Largest share of the PDF's text width the figure may take (default 1). */
  pdfWidthShare?: number;
}

/** A chart rendered by renderChart: its SVG, its PNG (at PNG_SCALE times the SVG's size) and the SVG's width and height. */
export interface RenderedChart extends Chart {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

/** A chart's spec with the report's fonts and sizes: what the report renders and the live dashboard draws. */
export function styledSpec(chart: Chart): TopLevelSpec {
  return { ...chart.spec, config: { ...CONFIG, ...(chart.spec as { config?: object }).config } } as TopLevelSpec;
}

export async function renderChart(chart: Chart): Promise<RenderedChart> {
  const spec = styledSpec(chart);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const match = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  const width = Math.round(Number(match?.[1] ?? 0));
  const height = Math.round(Number(match?.[2] ?? 0));
  const png = await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE })
    .png()
    .toBuffer();
  return { ...chart, svg, png, width, height };
}

function lrLabel(run: RunData): string {
  return `lr ${run.config.lr}`;
}

function groupLabel(group: RunGroup): string {
  return `${group.label} (lr ${group.lr}${group.runs.length > 1 ? `, ${group.runs.length} seeds` : ''})`;
}

export interface LineChartOptions {
  /** vega-lite encodings of the x and y fields; the series field is always `run`. */
  x: object;
  y: object;
  legend: string;
  /** Mark every point (default: only when there are few). */
  points?: boolean;
  height?: number;
  tooltip?: object[];
  /** Shade each series between its rows' `lo` and `hi` fields (the spread over seeds). */
  band?: boolean;
}

export type Row = { run: string } & Record<string, number | string>;

/** A line chart of { run, ...fields } rows: one line per run, with an optional band around each. */
export function lineChart(id: string, caption: string, values: Row[], options: LineChartOptions): Chart {
  // sort: null keeps the series in the order of the rows (by depth, as groupRuns orders them), not by name: d5 before d10 before d20.
  const color = { field: 'run', type: 'nominal', title: options.legend, sort: null };
  const line = {
    mark: { type: 'line', point: options.points ?? values.length < 40 },
    encoding: { x: options.x, y: options.y, color, ...(options.tooltip ? { tooltip: options.tooltip } : {}) },
  };
  const x = options.x as { field: string };
  const band = {
    mark: { type: 'area', opacity: 0.2 },
    encoding: { x: options.x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
  };
  const spec =
    options.band && values.some((v) => v.lo !== v.hi)
      ? { layer: [{ ...band, encoding: { ...band.encoding, x: { ...x, type: 'quantitative' } } }, line] }
      : line;
  return { id, caption, spec: { width: 480, height: options.height ?? 260, data: { values }, ...spec } as TopLevelSpec };
}

/**
 * The mean over a group's seeds of a per-step series, with the band of one
 * standard deviation either side (no band with one seed). Only x values
 * every seed recorded count, so the mean never mixes in fewer runs.
 */
export function meanSeries(series: Map<number, number>[]): { x: number; mean: number; lo: number; hi: number }[] {
  if (series.length === 0) return [];
  const xs = [...series[0]!.keys()].filter((x) => series.every((s) => s.has(x)));
  return xs.map((x) => {
    const summary = describeSample(series.map((s) => s.get(x)!));
    const spread = Number.isFinite(summary.std) ? summary.std : 0;
    return { x, mean: summary.mean, lo: summary.mean - spread, hi: summary.mean + spread };
  });
}

const lossSeries = (group: RunGroup) => meanSeries(group.runs.map((run) => new Map(run.iterations.map((r) => [r.step, r.loss]))));

const bandNote = (groups: RunGroup[]) =>
  groups.some((g) => g.runs.length > 1) ? ' Lines are the mean over the seeds; the band is one standard deviation either side.' : '';

/** A training-loss chart: one line per series; none when no run logged a loss (runs shorter than --log-every). */
function lossChart(id: string, caption: string, legend: string, values: Row[]): Chart | undefined {
  if (values.length === 0) return undefined;
  return lineChart(id, caption, values, {
    x: { field: 'step', type: 'quantitative', title: 'iteration' },
    y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } },
    legend,
    band: true,
  });
}

/** Training loss against iterations for one model, one line per learning rate. */
export function lossByLearningRate(model: string, groups: RunGroup[]): Chart | undefined {
  return lossChart(
    `loss-${model}`,
    `Training loss of ${model} against iterations, one curve per ${groups.some((g) => g.label !== g.model) ? 'depth and ' : ''}learning rate (each point averages the loss over ` +
      `${groups[0]?.runs[0]?.config.logEvery ?? 'N'} iterations).${bandNote(groups)}`,
    groups.some((g) => g.label !== g.model) ? 'depth, learning rate' : 'learning rate',
    groups.flatMap((g) =>
      lossSeries(g).map((p) => ({
        step: p.x,
        loss: p.mean,
        lo: p.lo,
        hi: p.hi,
        run: g.label === g.model ? `lr ${g.lr}` : `${g.label}, lr ${g.lr}`,
      })),
    ),
  );
}

/** Every model at its best learning rate, on one chart. */
export function lossComparison(best: RunGroup[]): Chart | undefined {
  return lossChart(
    'loss-comparison',
    `Training loss of each model at its best learning rate (the one with the highest mean final test accuracy).${bandNote(best)}`,
    'model',
    best.flatMap((g) => lossSeries(g).map((p) => ({ step: p.x, loss: p.mean, lo: p.lo, hi: p.hi, run: groupLabel(g) }))),
  );
}

export function accuracyPerEpoch(groups: RunGroup[]): Chart {
  const values = groups.flatMap((g) =>
    meanSeries(g.runs.map((run) => new Map(run.epochs.map((e) => [e.epoch + 1, 100 * e.testAccuracy])))).map((p) => ({
      epoch: p.x,
      accuracy: p.mean,
      lo: p.lo,
      hi: p.hi,
      run: groupLabel(g),
    })),
  );
  return lineChart('accuracy-per-epoch', `Test accuracy after each epoch, for every model and learning rate.${bandNote(groups)}`, values, {
    x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
    y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
    legend: 'run',
    points: true,
    band: true,
  });
}

/**
 * Final test accuracy of every model and learning rate: the mean over the
 * seeds (a point), one standard deviation either side (a thick bar) and the
 * 95% t-interval of the mean (a thin line); one seed shows only the point.
 */
export function finalAccuracyChart(groups: RunGroup[]): Chart | undefined {
  const values = groups
    .filter((g) => g.accuracy.n > 0)
    .map((g) => {
      const { mean, std, interval95 } = g.accuracy;
      const sd = Number.isFinite(std) ? std : 0;
      return {
        run: groupLabel(g),
        mean: 100 * mean,
        sdLo: 100 * (mean - sd),
        sdHi: 100 * (mean + sd),
        ciLo: 100 * (interval95?.[0] ?? mean),
        ciHi: 100 * (interval95?.[1] ?? mean),
        seeds: g.accuracy.n,
      };
    });
  if (values.length === 0) return undefined;
  const y = { field: 'run', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } };
  const x = (field: string) => ({ field, type: 'quantitative', title: 'final test accuracy (%)', scale: { zero: false } });
  return {
    id: 'final-accuracy',
    caption:
      'Final test accuracy of every model and learning rate: the mean over the seeds (point), one standard deviation either side ' +
      '(thick bar) and the 95% interval of the mean, cut to 0-100% (thin line); a single seed shows only its point.',
    spec: {
      width: 420,
      height: 24 * values.length + 20,
      data: { values },
      layer: [
        { mark: { type: 'rule', strokeWidth: 1 }, encoding: { y, x: x('ciLo'), x2: { field: 'ciHi' } } },
        { mark: { type: 'rule', strokeWidth: 5, opacity: 0.5 }, encoding: { y, x: x('sdLo'), x2: { field: 'sdHi' } } },
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: { y, x: x('mean'), tooltip: [{ field: 'mean', format: '.2f' }, { field: 'seeds' }] },
        },
      ],
    } as TopLevelSpec,
  };
}

export function confusionHeatmap(run: RunData): Chart | undefined {
  const evaluation = run.evaluation;
  if (evaluation === undefined) return undefined;
  const values = evaluation.confusionMatrix.flatMap((row, t) =>
    row.map((count, p) => ({ actual: evaluation.classes[t], predicted: evaluation.classes[p], count })),
  );
  const classes = evaluation.classes;
  return {
    id: `confusion-${run.name}`,
    pdfWidthShare: 0.6,
    caption: `Confusion matrix of ${run.config.model} at ${lrLabel(run)}, seed ${run.config.seed}, on the ${evaluation.count.toLocaleString('en-US')} test images (rows: true class, columns: predicted; accuracy ${(100 * evaluation.accuracy).toFixed(2)}%).`,
    spec: {
      width: 26 * classes.length + 60,
      height: 26 * classes.length + 60,
      data: { values },
      encoding: {
        x: { field: 'predicted', type: 'ordinal', sort: classes, title: 'predicted class', axis: { labelAngle: -45 } },
        y: { field: 'actual', type: 'ordinal', sort: classes, title: 'true class' },
      },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
        {
          mark: { type: 'text', fontSize: 9 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: {
              condition: { test: `datum.count > ${Math.max(...evaluation.confusionMatrix.flat()) / 2}`, value: 'white' },
              value: 'black',
            },
          },
        },
      ],
    },
  };
}

/**
 * Gradient flow: each weight's gradient norm (mean over the recorded
 * iterations, log scale) against its depth, input side first. Weights that
 * never received a gradient (unused in2out convolutions) are left out.
 */
export function gradientFlow(runs: RunData[]): Chart | undefined {
  const values = runs.flatMap((run) => {
    // Stryker disable next-line ConditionalExpression: without gradient records every weight's mean is undefined and is filtered out below, so going on gives the same []
    if (run.gradients.length === 0) return [];
    const means = layerGradientMeans(run);
    return run.model.gradientLayers
      .map((layer, i) => ({ layer, norm: means[i] }))
      .filter((p): p is { layer: string; norm: number } => p.norm !== undefined)
      .map((p, k) => ({ depth: k + 1, ...p, run: `${run.config.model} (${lrLabel(run)})` }));
  });
  if (values.length === 0) return undefined;
  return lineChart(
    'gradient-flow',
    "Gradient flow: the norm of each weight's gradient (mean over the recorded iterations, log scale) against its depth, input side first. Without skip connections the gradients fade towards the input.",
    values,
    {
      x: { field: 'depth', type: 'quantitative', title: 'weight layer (1 = nearest the input)' },
      y: { field: 'norm', type: 'quantitative', title: 'gradient norm', scale: { type: 'log' } },
      legend: 'model',
      points: true,
      height: 280,
      tooltip: [{ field: 'layer' }],
    },
  );
}
