/**
 * The report's charts as vega-lite specifications, rendered to SVG by vega
 * in Node (no browser) and rasterised to PNG by sharp (librsvg), with DejaVu
 * Sans so text is legible in every output.
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { RunData } from './load.js';

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

export interface Chart {
  /** File stem under figures/, e.g. 'loss-hw5net'. */
  id: string;
  caption: string;
  spec: TopLevelSpec;
  /** Largest share of the PDF's text width the figure may take (default 1). */
  pdfWidthShare?: number;
}

export interface RenderedChart extends Chart {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

export async function renderChart(chart: Chart): Promise<RenderedChart> {
  const spec = { ...chart.spec, config: { ...CONFIG, ...(chart.spec as { config?: object }).config } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const match = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  const width = Math.round(Number(match?.[1] ?? 0));
  const height = Math.round(Number(match?.[2] ?? 0));
  const png = await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE }).png().toBuffer();
  return { ...chart, svg, png, width, height };
}

function lrLabel(run: RunData): string {
  return `lr ${run.config.lr}`;
}

interface LineChartOptions {
  /** vega-lite encodings of the x and y fields; the series field is always `run`. */
  x: object;
  y: object;
  legend: string;
  /** Mark every point (default: only when there are few). */
  points?: boolean;
  height?: number;
  tooltip?: object[];
}

/** A line chart of { run, ...fields } rows: one line per run. */
function lineChart(id: string, caption: string, values: ({ run: string } & Record<string, number | string>)[], options: LineChartOptions): Chart {
  return {
    id,
    caption,
    spec: {
      width: 480, height: options.height ?? 260, data: { values },
      mark: { type: 'line', point: options.points ?? values.length < 40 },
      encoding: {
        x: options.x,
        y: options.y,
        color: { field: 'run', type: 'nominal', title: options.legend },
        ...(options.tooltip ? { tooltip: options.tooltip } : {}),
      },
    } as TopLevelSpec,
  };
}

/** A training-loss chart: one line per series. */
function lossChart(id: string, caption: string, legend: string, values: { step: number; loss: number; run: string }[]): Chart {
  return lineChart(id, caption, values, {
    x: { field: 'step', type: 'quantitative', title: 'iteration' },
    y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } },
    legend,
  });
}

/** Training loss against iterations for one model, one line per learning rate. */
export function lossByLearningRate(model: string, runs: RunData[]): Chart {
  return lossChart(
    `loss-${model}`,
    `Training loss of ${model} against iterations, one curve per learning rate (each point averages the loss over ${runs[0]?.config.logEvery ?? 'N'} iterations).`,
    'learning rate',
    runs.flatMap((run) => run.iterations.map((r) => ({ step: r.step, loss: r.loss, run: lrLabel(run) }))),
  );
}

/** Every model at its best learning rate, on one chart. */
export function lossComparison(best: RunData[]): Chart {
  return lossChart(
    'loss-comparison',
    'Training loss of each model at its best learning rate (the one with the highest final test accuracy).',
    'model',
    best.flatMap((run) => run.iterations.map((r) => ({ step: r.step, loss: r.loss, run: `${run.config.model} (${lrLabel(run)})` }))),
  );
}

export function accuracyPerEpoch(runs: RunData[]): Chart {
  const values = runs.flatMap((run) => run.epochs.map((e) => ({ epoch: e.epoch + 1, accuracy: 100 * e.testAccuracy, run: `${run.config.model} (${lrLabel(run)})` })));
  return lineChart('accuracy-per-epoch', 'Test accuracy after each epoch, for every model and learning rate.', values, {
    x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
    y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
    legend: 'run',
    points: true,
  });
}

export function confusionHeatmap(run: RunData): Chart | undefined {
  const evaluation = run.evaluation;
  if (evaluation === undefined) return undefined;
  const values = evaluation.confusionMatrix.flatMap((row, t) =>
    row.map((count, p) => ({ actual: evaluation.classes[t], predicted: evaluation.classes[p], count })));
  const classes = evaluation.classes;
  return {
    id: `confusion-${run.name}`,
    pdfWidthShare: 0.6,
    caption: `Confusion matrix of ${run.config.model} at ${lrLabel(run)} on the ${evaluation.count.toLocaleString('en-US')} test images (rows: true class, columns: predicted; accuracy ${(100 * evaluation.accuracy).toFixed(2)}%).`,
    spec: {
      width: 26 * classes.length + 60, height: 26 * classes.length + 60, data: { values },
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
            color: { condition: { test: `datum.count > ${Math.max(...evaluation.confusionMatrix.flat()) / 2}`, value: 'white' }, value: 'black' },
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
    if (run.gradients.length === 0) return [];
    const layers = run.model.gradientLayers;
    const points: { depth: number; norm: number; layer: string; run: string }[] = [];
    let depth = 0;
    layers.forEach((layer, i) => {
      const norms = run.gradients.map((g) => g.norms[i]).filter((n): n is number => n !== null && n !== undefined && n > 0);
      if (norms.length === 0) return;
      depth += 1;
      points.push({ depth, norm: norms.reduce((a, b) => a + b, 0) / norms.length, layer, run: `${run.config.model} (${lrLabel(run)})` });
    });
    return points;
  });
  if (values.length === 0) return undefined;
  return lineChart(
    'gradient-flow',
    'Gradient flow: the norm of each weight\'s gradient (mean over the recorded iterations, log scale) against its depth, input side first. Without skip connections the gradients fade towards the input.',
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
