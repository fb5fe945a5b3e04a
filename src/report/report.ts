/**
 * `skipstudio report`: from one or more experiment (or run) directories,
 * writes report.html, report.pdf and every figure as SVG and PNG under
 * figures/. Every number comes from the run directories; observations are
 * written from those numbers; what is missing (a diverged run's evaluation,
 * an unfinished run) is said, not hidden.
 */
import { join } from 'node:path';

import { hw5SubsetCommand } from '../data/hw5.js';
import { writeFileAtomic } from '../io/atomic.js';
import { makeFolder } from '../io/folders.js';
import { formatCount, formatDuration, formatFlops, formatPercent, shellCommand } from '../text/format.js';
import { checkOutputFile, describePrecision, describeRecipe, formatMachine, timeToAccuracy, trainingMemoryFormat } from '../runs/index.js';
import {
  type Chart,
  type RenderedChart,
  accuracyPerEpoch,
  confusionHeatmap,
  finalAccuracyChart,
  gradientFlow,
  lossByLearningRate,
  lossComparison,
  renderChart,
} from './charts.js';
import { DocumentBuilder, type ReportDocument } from './document.js';
import { type ExperimentData, type RunData, loadExperiment } from './load.js';
import { depthChart, depthSeries } from './depth.js';
import { isCurrentLandscape, landscapeContourChart, landscapeGroups, landscapeLineChart, landscapeRow } from './landscape.js';
import { addSourceAppendix } from './listings.js';
import { renderHtml, renderPdf } from './render.js';
import { groupState, interval, meanAndSpread, observations, runState } from './observations.js';
import { meanOf } from './statistics.js';
import { type RunGroup, bestAccuracy, bestGroups, describeTimeToAccuracy, groupRuns, timeToAccuracyHeader } from './study.js';

/** Groups the per-class table shows side by side before it narrows to each model's deepest, best group. */
const PER_CLASS_COLUMNS = 6;

/** What writeReport wrote: the paths of report.html and report.pdf, the rendered figures, the PDF's page count and the number of tables. */
export interface ReportResult {
  html: string;
  pdf: string;
  figures: RenderedChart[];
  pages: number;
  tables: number;
}

/** The models of the runs, each once, in the order they first appear. */
export function models(runs: RunData[]): string[] {
  return [...new Set(runs.map((r) => r.config.model))];
}

/** Threads per run, and how many runs shared the machine (experiment --parallel-runs). */
function describeThreads(asked: number, environment: RunData['environment']): string {
  const used = environment?.threads ?? asked;
  return (environment?.concurrentRuns ?? 1) > 1 ? `${used} per run, ${environment!.concurrentRuns} runs at once` : String(used);
}

/** A setting as the runs hold it: its one value, or each value once when the runs differ in it (the groups' labels say which run has which). */
function across(runs: RunData[], describe: (run: RunData) => string): string {
  const values = [...new Set(runs.map(describe))];
  return values.length === 1 ? values[0]! : `differs between runs: ${values.join('; ')}`;
}

function setupTable(experiment: ExperimentData, builder: DocumentBuilder): void {
  const first = experiment.runs[0]!;
  const c = first.config;
  const evaluation = experiment.runs.find((r) => r.evaluation)?.evaluation;
  const trainImages = first.epochs[0] ? first.epochs[0].step * c.batchSize : undefined;
  const seeds = [...new Set(experiment.runs.map((r) => r.config.seed))].sort((x, y) => x - y);
  const rows: string[][] = [
    ['dataset', c.dataset + (c.dataDir ? ` (${c.dataDir})` : '')],
    ['image size', `${first.model.inputShape.join(' x ')} (channels x height x width)`],
    ['classes', `${first.model.classes.length}: ${first.model.classes.join(', ')}`],
    [
      'training images per epoch',
      trainImages !== undefined ? formatCount(trainImages) + (c.trainSubset ? ` (subset of ${c.trainSubset})` : '') : '-',
    ],
    ['test images', evaluation ? formatCount(evaluation.count) : '-'],
    ['epochs, batch size', across(experiment.runs, (r) => `${r.config.epochs}, ${r.config.batchSize}`)],
    ['seeds', `${seeds.length} (${seeds.join(', ')})`],
    ['augmentation', across(experiment.runs, (r) => (r.config.augment ? 'random crop (padding 2), horizontal flip' : 'none'))],
    [
      'label smoothing, test-time flip',
      across(
        experiment.runs,
        (r) =>
          `${r.config.labelSmoothing || 'none'}, ${r.config.flipTest ? "the mean of each test image's and its mirror image's logits" : 'none'}`,
      ),
    ],
    [
      'precision, memory format, threads',
      across(
        experiment.runs,
        (r) => `${describePrecision(r.config)}, ${trainingMemoryFormat(r.config)}, ${describeThreads(r.config.threads, r.environment)}`,
      ),
    ],
    [
      'machine (where the first run trained)',
      first.environment ? formatMachine(first.environment) : 'not recorded (a run made before skipstudio recorded it)',
    ],
    ['libraries', first.environment ? `libtorch ${first.environment.libtorch}, Node.js ${first.environment.node}` : 'not recorded'],
    ['command', experiment.command ?? `skipstudio train (see ${first.dir}/config.json)`],
  ];
  builder.table(`Set-up of ${experiment.name}.`, ['setting', 'value'], rows);
  const recipes = models(experiment.runs).map((model) => {
    const mine = experiment.runs.filter((r) => r.config.model === model);
    const lrs = [...new Set(mine.map((r) => r.config.lr))];
    return [model, describeRecipe(mine[0]!.config), lrs.join(', ')];
  });
  builder.table(
    'Training recipe of each model: each model is trained the way it was designed to be trained (its optimizer, schedule and learning rates).',
    ['model', 'optimizer, weight decay, schedule', 'learning rates'],
    recipes,
  );
  for (const note of experiment.notes ?? []) builder.paragraph(note);
  if (c.dataset !== 'coco') {
    builder.paragraph(
      'The assignment itself trains on a COCO subset (boat, cake, couch, dog, motorcycle; 64x64; 1,600 training and 400 test images per class). ' +
        `Build it from the COCO 2017 download (COCO is its folder) with \`${hw5SubsetCommand()}\`, then run \`skipstudio experiment --preset hw5\`.`,
    );
  }
}

async function addFigure(builder: DocumentBuilder, chart: Chart | undefined, figures: RenderedChart[]): Promise<void> {
  if (chart === undefined) return;
  const rendered = await renderChart(chart);
  figures.push(rendered);
  builder.figure(rendered);
}

async function experimentSections(
  experiment: ExperimentData,
  builder: DocumentBuilder,
  figures: RenderedChart[],
  prefix: string,
): Promise<void> {
  const { runs } = experiment;
  const groups = groupRuns(runs);
  const label = prefix ? ` (${experiment.name})` : '';
  builder.section(`Set-up${label}`);
  setupTable(experiment, builder);

  builder.section(`Models${label}`);
  const seen = new Map<string, RunData>();
  for (const g of groups) if (!seen.has(g.label)) seen.set(g.label, g.runs[0]!);
  builder.table(
    'The models: learnable layers are parameter tensors (parameters().length), as the course counts them; weight layers are the convolutions ' +
      "and linear layers on the main path (He et al.'s depth); FLOPs are per image, forward.",
    ['model', 'learnable layers', 'weight layers', 'SkipBlocks', 'parameters', 'forward FLOPs'],
    [...seen.entries()].map(([label, r]) => [
      label,
      String(r.model.learnableLayers),
      r.model.weightLayers === undefined ? '-' : String(r.model.weightLayers),
      String(r.model.skipBlocks),
      formatCount(r.model.parameters),
      formatFlops(r.model.flops),
    ]),
  );

  builder.section(`Training${label}`);
  const chart = (c: Chart | undefined) => (c === undefined ? undefined : { ...c, id: `${prefix}${c.id}` });
  if (runs.every((r) => r.iterations.length === 0)) {
    builder.paragraph('No training loss was logged (the runs were shorter than --log-every iterations), so there are no loss curves.');
  }
  for (const model of models(runs)) {
    await addFigure(
      builder,
      chart(
        lossByLearningRate(
          model,
          groups.filter((g) => g.model === model),
        ),
      ),
      figures,
    );
  }
  await addFigure(builder, chart(lossComparison(bestGroups(groups))), figures);
  await addFigure(builder, chart(accuracyPerEpoch(groups)), figures);

  builder.section(`Results${label}`);
  const times = (g: RunGroup) =>
    g.runs.map((r) => (r.config.targetAccuracy > 0 ? timeToAccuracy(r.epochs, r.config.targetAccuracy) : undefined));
  const timeHeader = timeToAccuracyHeader(groups.flatMap(times));
  const caption =
    'Final test accuracy of every model and learning rate: the mean ± standard deviation over the seeds, and the 95% interval of the mean ' +
    `(Student t, cut to 0-100%; one seed gives none)${timeHeader ? '; the time to the target accuracy is the wall time to the end of the first epoch that reached it, its evaluation included' : ''}.`;
  builder.table(
    caption,
    [
      'model',
      'learning rate',
      'seeds',
      'final test accuracy',
      '95% interval',
      'best epoch (mean)',
      'wall time (mean)',
      ...(timeHeader ? [timeHeader] : []),
      'state',
    ],
    groups.map((g) => [
      g.label,
      String(g.lr),
      String(g.runs.length),
      meanAndSpread(g.accuracy),
      interval(g.accuracy),
      formatPercent(meanOf(g.runs.map(bestAccuracy))),
      `${meanOf(g.runs.map((r) => r.status.wallSeconds))?.toFixed(0) ?? '-'} s`,
      ...(timeHeader ? [describeTimeToAccuracy(times(g))] : []),
      groupState(g),
    ]),
  );
  await addFigure(builder, chart(finalAccuracyChart(groups)), figures);
  forecastTable(experiment, builder);
  // A depth sweep has more groups than a page is wide: each model at its deepest depth and best learning rate then.
  const wide = groups.length > PER_CLASS_COLUMNS;
  const evaluated = (wide ? bestGroups(groups) : groups).filter((g) => g.runs.some((r) => r.evaluation !== undefined));
  if (evaluated.length > 0) {
    const classes = evaluated[0]!.runs.find((r) => r.evaluation)!.evaluation!.classes;
    builder.table(
      `Per-class test accuracy (the mean over the seeds)${wide ? ', of each model at its deepest depth and best learning rate' : ''}.`,
      ['class', ...evaluated.map((g) => `${g.label} lr ${g.lr}`)],
      classes.map((name, i) => [
        name,
        ...evaluated.map((g) => formatPercent(meanOf(g.runs.map((r) => r.evaluation?.perClassAccuracy[i])))),
      ]),
    );
  }
  for (const run of runs) await addFigure(builder, chart(confusionHeatmap(run)), figures);
  const missing = runs.filter((r) => r.evaluation === undefined);
  if (missing.length > 0)
    builder.paragraph(
      `No confusion matrix for ${missing.map((r) => `${r.name} (${runState(r)})`).join(', ')}: the run has no final evaluation.`,
    );

  builder.section(`Gradient flow${label}`);
  const flow = gradientFlow(bestGroups(groups).map((g) => g.runs[0]!));
  if (flow === undefined) builder.paragraph('No gradient norms were recorded (the runs were shorter than --grad-every iterations).');
  await addFigure(builder, chart(flow), figures);

  await depthSection(groups, builder, figures, chart, label);
  await landscapeSection(runs, builder, figures, chart, label);

  builder.section(`Observations${label}`);
  builder.list(observations(runs));
}

/** The ratio of an actual time to its forecast, as the table prints it. */
function ratio(actual: number | undefined, forecast: number): string {
  return actual === undefined || !(forecast > 0) ? '-' : `${(actual / forecast).toFixed(2)}x`;
}

/** The forecast printed before training against the times measured, run by run and in all. */
export function forecastTable(experiment: Pick<ExperimentData, 'forecast'>, builder: DocumentBuilder): void {
  const { forecast } = experiment;
  if (forecast?.actual === undefined) return;
  const { actual } = forecast;
  const row = (what: string, predicted: number, measured: number | undefined) => [
    what,
    formatDuration(predicted),
    measured === undefined ? '-' : formatDuration(measured),
    ratio(measured, predicted),
  ];
  const rows = [
    ...forecast.runs.map((r) => row(r.name, r.seconds, actual.runs[r.name])),
    row(
      `training (${forecast.parallelRuns > 1 ? `${forecast.parallelRuns} runs at once` : 'one run at a time'})`,
      forecast.trainingSeconds,
      actual.trainingSeconds,
    ),
    ...(forecast.landscapeSeconds > 0 ? [row('loss landscapes', forecast.landscapeSeconds, actual.landscapeSeconds)] : []),
    row('in all', forecast.seconds, actual.seconds),
  ];
  builder.table(
    'Time: the forecast printed before training (from a few training steps and a test batch of each kind of run, measured on this machine) ' +
      "against the wall time measured; a run's time is its own, from its start to its end, so runs trained at once overlap.",
    ['run', 'forecast', 'actual', 'actual / forecast'],
    rows,
  );
}

type ChartPrefix = (c: Chart | undefined) => Chart | undefined;

/** The depth study's figures and table, when some model trained at several depths. */
async function depthSection(
  groups: RunGroup[],
  builder: DocumentBuilder,
  figures: RenderedChart[],
  chart: ChartPrefix,
  label: string,
): Promise<void> {
  const series = depthSeries(groups);
  if (series.length === 0) return;
  builder.section(`Depth${label}`);
  builder.paragraph(
    'Each model trained at several depths at one learning rate; a plain network that is worse at its deepest than at its shallowest shows ' +
      'the degradation problem of He et al. (2016), which skip connections are meant to remove. A change is called degradation only when it is significant at 5%.',
  );
  builder.table(
    'Each depth: final test accuracy, final training loss (the mean over the last tenth of iterations) and the gradient norm at the input.',
    [
      'model',
      'learning rate',
      'learnable layers',
      'weight layers',
      'final test accuracy',
      'final training loss',
      'gradient norm at the input',
    ],
    series.flatMap((s) =>
      s.points.map((p) => [
        p.group.label,
        String(s.lr),
        String(p.learnableLayers),
        p.weightLayers === undefined ? '-' : String(p.weightLayers),
        meanAndSpread(p.group.accuracy),
        p.finalTrainLoss === undefined ? '-' : p.finalTrainLoss.toFixed(3),
        p.inputGradient === undefined ? '-' : p.inputGradient.toExponential(2),
      ]),
    ),
  );
  for (const measure of ['accuracy', 'trainLoss', 'inputGradient'] as const)
    await addFigure(builder, chart(depthChart(series, measure)), figures);
}

/** The loss landscapes (Li et al. 2018) of the runs that have one: a table, the 1-D slices and the 2-D contours. */
async function landscapeSection(
  runs: RunData[],
  builder: DocumentBuilder,
  figures: RenderedChart[],
  chart: ChartPrefix,
  label: string,
): Promise<void> {
  const groups = landscapeGroups(runs);
  const stale = runs.filter((r) => r.landscape !== undefined && !isCurrentLandscape(r));
  if (groups.length === 0 && stale.length === 0) return;
  builder.section(`Loss landscape${label}`);
  for (const run of stale) {
    builder.paragraph(
      `${run.name}'s landscape was taken at step ${run.landscape!.step.toLocaleString('en-US')}, and the run trained on to step ` +
        `${run.status.step.toLocaleString('en-US')}: it is not the trained network's, so it is not shown. Take it again with ` +
        `\`${shellCommand(['skipstudio', 'landscape', '--run', run.dir])}\`.`,
    );
  }
  if (groups.length === 0) return;
  builder.table(
    'Loss landscape of each run: the training loss at the trained weights, its rise at distance 0.5 and 1 along a filter-normalised random ' +
      'direction (the mean of both sides; "-" where the slice does not measure it: past its end, or between points more than half the distance apart), ' +
      "and the share of the 2-D grid's interior points where the surface curves downward along a direction (not convex). A loss that was not a finite " +
      'number (the outputs overflowed) is shown as such.',
    ['run', 'loss at 0', 'rise at 0.5', 'rise at 1', 'not convex'],
    groups.flat().map(landscapeRow),
  );
  for (const [i, group] of groups.entries()) {
    const labelled = group.map((r) => ({ label: r.name, file: r.landscape! }));
    const suffix = groups.length > 1 ? `-${i + 1}` : '';
    await addFigure(builder, chart(landscapeLineChart(`landscape-line${suffix}`, labelled)), figures);
    await addFigure(builder, chart(landscapeContourChart(`landscape-contours${suffix}`, labelled)), figures);
  }
}

/** Side-by-side comparison of the same models across experiments (e.g. datasets). */
function comparisonSection(experiments: ExperimentData[], builder: DocumentBuilder): void {
  const allModels = [...new Set(experiments.flatMap((e) => models(e.runs)))];
  builder.section('Across experiments');
  builder.table(
    'Final test accuracy of each model (at its best learning rate, mean over the seeds) in each experiment.',
    ['model', ...experiments.map((e) => `${e.name} (${e.runs[0]!.config.dataset})`)],
    allModels.map((m) => [
      m,
      ...experiments.map((e) => {
        const best = bestGroups(groupRuns(e.runs)).find((g) => g.model === m);
        return best ? `${meanAndSpread(best.accuracy)} (lr ${best.lr})` : '-';
      }),
    ]),
  );
}

/** Writes the report of one or more experiment or run directories to outDir (default: the first): report.html, report.pdf and figures/ (SVG and PNG). */
export async function writeReport(dirs: string[], outDir: string = dirs[0]!): Promise<ReportResult> {
  if (dirs.length === 0) throw new Error('report: give at least one experiment or run directory');
  const experiments = dirs.map(loadExperiment);
  // A report is remade at will, but never into a run's own files (an --out inside a run's checkpoints/, say).
  for (const name of ['report.html', 'report.pdf']) checkOutputFile(join(outDir, name), { force: true });
  const builder = new DocumentBuilder();
  const figures: RenderedChart[] = [];
  for (const experiment of experiments) {
    await experimentSections(experiment, builder, figures, experiments.length > 1 ? `${experiment.name}-` : '');
  }
  if (experiments.length > 1) comparisonSection(experiments, builder);
  const trained = new Map<string, number>();
  for (const run of experiments.flatMap((e) => e.runs))
    trained.set(run.config.model, Math.max(trained.get(run.config.model) ?? 0, run.model.learnableLayers));
  addSourceAppendix(
    builder,
    [...trained.entries()].map(([name, learnableLayers]) => ({ name, learnableLayers })),
  );
  const document: ReportDocument = {
    title: 'Skip connections against vanishing gradients',
    subtitle: `skipstudio report of ${experiments.map((e) => e.name).join(', ')}, ${new Date().toISOString().slice(0, 10)}`,
    sections: builder.sections,
  };
  const figureDir = join(outDir, 'figures');
  makeFolder(figureDir);
  for (const figure of figures) {
    writeFileAtomic(join(figureDir, `${figure.id}.svg`), figure.svg);
    writeFileAtomic(join(figureDir, `${figure.id}.png`), figure.png);
  }
  const html = join(outDir, 'report.html');
  writeFileAtomic(html, renderHtml(document));
  const pdf = join(outDir, 'report.pdf');
  const pages = await renderPdf(document, pdf);
  return { html, pdf, figures, pages, tables: builder.tableCount };
}
