/**
 * `skipstudio report`: from one or more experiment (or run) directories,
 * writes report.html, report.pdf and every figure as SVG and PNG under
 * figures/. Every number comes from the run directories; observations are
 * written from those numbers; what is missing (a diverged run's evaluation,
 * an unfinished run) is said, not hidden.
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { formatCount, formatFlops } from '../nn/index.js';
import { buildInfo } from '../tensor/index.js';
import {
  type Chart, type RenderedChart, accuracyPerEpoch, confusionHeatmap, gradientFlow, lossByLearningRate, lossComparison, renderChart,
} from './charts.js';
import { DocumentBuilder, type ReportDocument } from './document.js';
import { type ExperimentData, type RunData, loadExperiment } from './load.js';
import { renderHtml, renderPdf } from './render.js';

export interface ReportResult {
  html: string;
  pdf: string;
  figures: RenderedChart[];
  pages: number;
  tables: number;
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(2)}%`);

function finalAccuracy(run: RunData): number | undefined {
  return run.evaluation?.accuracy ?? run.epochs.at(-1)?.testAccuracy;
}

function bestAccuracy(run: RunData): number | undefined {
  return run.epochs.length ? Math.max(...run.epochs.map((e) => e.testAccuracy)) : undefined;
}

function runState(run: RunData): string {
  const s = run.status;
  if (s.status === 'diverged') return `diverged at step ${s.divergedAt?.step ?? '?'}`;
  if (s.status === 'finished') return 'finished';
  return `${s.status} after ${s.epochsDone} of ${run.config.epochs} epochs`;
}

/** For each model, its run with the highest final test accuracy. */
function bestRuns(runs: RunData[]): RunData[] {
  const byModel = new Map<string, RunData>();
  for (const run of runs) {
    const current = byModel.get(run.config.model);
    if (current === undefined || (finalAccuracy(run) ?? -1) > (finalAccuracy(current) ?? -1)) byModel.set(run.config.model, run);
  }
  return [...byModel.values()];
}

function models(runs: RunData[]): string[] {
  return [...new Set(runs.map((r) => r.config.model))];
}

/** Mean gradient norm of the first and last quarter of a run's layers: how much the gradient fades. */
function gradientFade(run: RunData): { inputSide: number; outputSide: number } | undefined {
  const means = run.model.gradientLayers
    .map((_, i) => run.gradients.map((g) => g.norms[i]).filter((n): n is number => typeof n === 'number' && n > 0))
    .filter((n) => n.length > 0)
    .map((n) => n.reduce((a, b) => a + b, 0) / n.length);
  if (means.length < 4) return undefined;
  const quarter = Math.max(1, Math.floor(means.length / 4));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { inputSide: avg(means.slice(0, quarter)), outputSide: avg(means.slice(-quarter)) };
}

/** Sentences read off the numbers. */
export function observations(runs: RunData[]): string[] {
  const notes: string[] = [];
  for (const model of models(runs)) {
    const mine = runs.filter((r) => r.config.model === model && finalAccuracy(r) !== undefined);
    if (mine.length >= 2) {
      const sorted = [...mine].sort((a, b) => finalAccuracy(b)! - finalAccuracy(a)!);
      const [best, second] = sorted;
      notes.push(`${model}: learning rate ${best!.config.lr} did best (${pct(finalAccuracy(best!))} test accuracy), ` +
        `${(100 * (finalAccuracy(best!)! - finalAccuracy(second!)!)).toFixed(2)} points above learning rate ${second!.config.lr}.`);
    }
  }
  const best = new Map(bestRuns(runs).map((r) => [r.config.model, r]));
  const compare = (a: string, b: string, why: string) => {
    const ra = best.get(a);
    const rb = best.get(b);
    if (ra === undefined || rb === undefined) return;
    const fa = finalAccuracy(ra);
    const fb = finalAccuracy(rb);
    if (fa === undefined || fb === undefined) return;
    const diff = 100 * (fa - fb);
    notes.push(`${a} against ${b} (${why}), each at its best learning rate: ${pct(fa)} against ${pct(fb)}, ` +
      `${Math.abs(diff).toFixed(2)} points ${diff >= 0 ? 'in favour of' : 'against'} ${a}.`);
  };
  compare('hw5net', 'hw5net-plain', 'the same layers without skip connections');
  compare('hw5net', 'net3', 'the plain deep CNN of HW4');
  compare('bmenet', 'bmenet-plain', 'the same layers without skip connections');
  for (const run of bestRuns(runs)) {
    const fade = gradientFade(run);
    if (fade === undefined) continue;
    const ratio = fade.outputSide / fade.inputSide;
    notes.push(`${run.config.model} (lr ${run.config.lr}): the mean gradient norm of the quarter of weights nearest the input is ` +
      `${fade.inputSide.toExponential(2)}, of the quarter nearest the output ${fade.outputSide.toExponential(2)}` +
      (ratio > 10 ? ` - ${ratio.toFixed(0)} times smaller at the input: the gradient fades on its way down.` : ratio < 0.1 ? ' - larger at the input.' : ' - the gradient reaches the input without fading.'));
  }
  for (const run of runs) {
    if (run.status.status === 'diverged') {
      notes.push(`${run.config.model} at learning rate ${run.config.lr} diverged: its loss became ${run.status.divergedAt?.loss} at step ${run.status.divergedAt?.step}; its figures stop there.`);
    } else if (run.status.status !== 'finished') {
      notes.push(`${run.config.model} at learning rate ${run.config.lr} is ${runState(run)}: its numbers cover only what it trained.`);
    }
    if (run.evaluation === undefined) notes.push(`${run.name} has no final evaluation (eval.json), so it has no confusion matrix.`);
  }
  return notes;
}

function setupTable(experiment: ExperimentData, builder: DocumentBuilder): void {
  const first = experiment.runs[0]!;
  const c = first.config;
  const info = buildInfo();
  const evaluation = experiment.runs.find((r) => r.evaluation)?.evaluation;
  const trainImages = first.epochs[0] ? first.epochs[0].step * c.batchSize : undefined;
  const rows: string[][] = [
    ['dataset', c.dataset + (c.dataDir ? ` (${c.dataDir})` : '')],
    ['image size', `${first.model.inputShape.join(' x ')} (channels x height x width)`],
    ['classes', `${first.model.classes.length}: ${first.model.classes.join(', ')}`],
    ['training images per epoch', trainImages !== undefined ? formatCount(trainImages) + (c.trainSubset ? ` (subset of ${c.trainSubset})` : '') : '-'],
    ['test images', evaluation ? formatCount(evaluation.count) : '-'],
    ['epochs, batch size', `${c.epochs}, ${c.batchSize}`],
    ['optimizer, schedule', `${c.optimizer} (momentum ${c.momentum}, weight decay ${c.weightDecay}), ${c.schedule}`],
    ['augmentation', c.augment ? 'random crop (padding 2), horizontal flip' : 'none'],
    ['precision, memory format, threads, seed', `${c.precision}, ${c.memoryFormat}, ${c.threads}, ${c.seed}`],
    ['machine', `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`],
    ['libraries', `libtorch ${info.torchVersion}, Node.js ${process.versions.node}`],
    ['command', experiment.command ?? `skipstudio train (see ${first.dir}/config.json)`],
  ];
  builder.table(`Set-up of ${experiment.name}.`, ['setting', 'value'], rows);
}

async function addFigure(builder: DocumentBuilder, chart: Chart | undefined, figures: RenderedChart[]): Promise<void> {
  if (chart === undefined) return;
  const rendered = await renderChart(chart);
  figures.push(rendered);
  builder.figure(rendered);
}

async function experimentSections(experiment: ExperimentData, builder: DocumentBuilder, figures: RenderedChart[], prefix: string): Promise<void> {
  const { runs } = experiment;
  const label = prefix ? ` (${experiment.name})` : '';
  builder.section(`Set-up${label}`);
  setupTable(experiment, builder);

  builder.section(`Models${label}`);
  const seen = new Map<string, RunData>();
  for (const run of runs) if (!seen.has(run.config.model)) seen.set(run.config.model, run);
  builder.table('The models: learnable layers are parameter tensors (parameters().length), as the course counts them; FLOPs are per image, forward.',
    ['model', 'learnable layers', 'SkipBlocks', 'parameters', 'forward FLOPs'],
    [...seen.values()].map((r) => [r.config.model, String(r.model.learnableLayers), String(r.model.skipBlocks), formatCount(r.model.parameters), formatFlops(r.model.flops)]));

  builder.section(`Training${label}`);
  const chart = (c: Chart | undefined) => (c === undefined ? undefined : { ...c, id: `${prefix}${c.id}` });
  for (const model of models(runs)) {
    await addFigure(builder, chart(lossByLearningRate(model, runs.filter((r) => r.config.model === model))), figures);
  }
  await addFigure(builder, chart(lossComparison(bestRuns(runs))), figures);
  await addFigure(builder, chart(accuracyPerEpoch(runs)), figures);

  builder.section(`Results${label}`);
  builder.table('Test accuracy of every model and learning rate.', ['model', 'learning rate', 'final test accuracy', 'best test accuracy', 'wall time', 'state'],
    runs.map((r) => [r.config.model, String(r.config.lr), pct(finalAccuracy(r)), pct(bestAccuracy(r)), `${r.status.wallSeconds.toFixed(0)} s`, runState(r)]));
  const evaluated = runs.filter((r) => r.evaluation !== undefined);
  if (evaluated.length > 0) {
    const classes = evaluated[0]!.evaluation!.classes;
    builder.table('Per-class test accuracy.', ['class', ...evaluated.map((r) => `${r.config.model} lr ${r.config.lr}`)],
      classes.map((name, i) => [name, ...evaluated.map((r) => pct(r.evaluation!.perClassAccuracy[i]))]));
  }
  for (const run of runs) await addFigure(builder, chart(confusionHeatmap(run)), figures);
  const missing = runs.filter((r) => r.evaluation === undefined);
  if (missing.length > 0) builder.paragraph(`No confusion matrix for ${missing.map((r) => `${r.name} (${runState(r)})`).join(', ')}: the run has no final evaluation.`);

  builder.section(`Gradient flow${label}`);
  const flow = gradientFlow(bestRuns(runs));
  if (flow === undefined) builder.paragraph('No gradient norms were recorded (the runs were shorter than --grad-every iterations).');
  await addFigure(builder, chart(flow), figures);

  builder.section(`Observations${label}`);
  builder.list(observations(runs));
}

/** Side-by-side comparison of the same models across experiments (e.g. datasets). */
function comparisonSection(experiments: ExperimentData[], builder: DocumentBuilder): void {
  const allModels = [...new Set(experiments.flatMap((e) => models(e.runs)))];
  builder.section('Across experiments');
  builder.table('Best test accuracy of each model (at its best learning rate) in each experiment.',
    ['model', ...experiments.map((e) => `${e.name} (${e.runs[0]!.config.dataset})`)],
    allModels.map((m) => [m, ...experiments.map((e) => {
      const best = bestRuns(e.runs).find((r) => r.config.model === m);
      return best ? `${pct(finalAccuracy(best))} (lr ${best.config.lr})` : '-';
    })]));
}

export async function writeReport(dirs: string[], outDir: string = dirs[0]!): Promise<ReportResult> {
  if (dirs.length === 0) throw new Error('report: give at least one experiment or run directory');
  const experiments = dirs.map(loadExperiment);
  const builder = new DocumentBuilder();
  const figures: RenderedChart[] = [];
  for (const experiment of experiments) {
    await experimentSections(experiment, builder, figures, experiments.length > 1 ? `${experiment.name}-` : '');
  }
  if (experiments.length > 1) comparisonSection(experiments, builder);
  const document: ReportDocument = {
    title: 'Skip connections against vanishing gradients',
    subtitle: `skipstudio report of ${experiments.map((e) => e.name).join(', ')}, ${new Date().toISOString().slice(0, 10)}`,
    sections: builder.sections,
  };
  const figureDir = join(outDir, 'figures');
  mkdirSync(figureDir, { recursive: true });
  for (const figure of figures) {
    writeFileSync(join(figureDir, `${figure.id}.svg`), figure.svg);
    writeFileSync(join(figureDir, `${figure.id}.png`), figure.png);
  }
  const html = join(outDir, 'report.html');
  writeFileSync(html, renderHtml(document));
  const pdf = join(outDir, 'report.pdf');
  const pages = await renderPdf(document, pdf);
  return { html, pdf, figures, pages, tables: builder.tableCount };
}
