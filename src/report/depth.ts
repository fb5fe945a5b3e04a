/**
 * The depth study: a model trained at several depths (one learning rate)
 * is a series; each point is the group of its runs at one depth. From the
 * run directories: final test accuracy, final training loss and the
 * gradient norm at the input against depth, and the sentences that say,
 * per series, whether the deepest run is worse than the shallowest (He et
 * al. 2016's degradation), better, or not measurably different, and whether
 * the runs show the exercise's premise: plain networks degrade with depth,
 * SkipBlock networks do not.
 */
import { hasSkipConnections } from '../models/catalog.js';
import { formatPercent } from '../text/format.js';
import { type Chart, lineChart } from './charts.js';
import type { RunData } from './load.js';
import { meanOf } from './statistics.js';
import { type Comparison, type RunGroup, compareGroups, formatPValue, isSignificant, layerGradientMeans, points } from './study.js';

/** One depth of a depth series: the group of its runs (one per seed), the model's size at that depth and its mean final training loss and input gradient. */
export interface DepthPoint {
  group: RunGroup;
  learnableLayers: number;
  /** He et al.'s depth; undefined for runs made before model.json recorded it. */
  weightLayers: number | undefined;
  skipBlocks: number;
  /** Mean over the seeds of each run's training loss over its last tenth of iterations. */
  finalTrainLoss: number | undefined;
  /** Mean over the seeds and recorded iterations of the gradient norm of the weight nearest the input. */
  inputGradient: number | undefined;
}

/** One model at one learning rate trained at two or more depths: its points, shallowest first. */
export interface DepthSeries {
  model: string;
  lr: number;
  /** "hw5net (lr 0.1)". */
  label: string;
  skipConnections: boolean;
  /** Shallowest first. */
  points: DepthPoint[];
}

/** A run's training loss at its end: the mean of the loss records over its last tenth of iterations (at least the last one). */
export function finalTrainingLoss(run: RunData): number | undefined {
  const last = run.iterations.at(-1);
  if (last === undefined) return run.epochs.at(-1)?.trainLoss;
  const from = 0.9 * last.step;
  return meanOf(run.iterations.filter((r) => r.step >= from).map((r) => r.loss));
}

/** The mean gradient norm of the weight nearest the input over a run's gradient records. */
export function inputGradientNorm(run: RunData): number | undefined {
  return layerGradientMeans(run)[0];
}

function depthPoint(group: RunGroup): DepthPoint {
  const model = group.runs[0]!.model;
  return {
    group,
    learnableLayers: model.learnableLayers,
    weightLayers: model.weightLayers,
    skipBlocks: model.skipBlocks,
    finalTrainLoss: meanOf(group.runs.map(finalTrainingLoss)),
    inputGradient: meanOf(group.runs.map(inputGradientNorm)),
  };
}

/** The series of groups that share a model and learning rate at two or more depths, in the order the models first appear. */
export function depthSeries(groups: RunGroup[]): DepthSeries[] {
  const byKey = new Map<string, RunGroup[]>();
  for (const g of groups) byKey.set(`${g.model}\u0000${g.lr}`, [...(byKey.get(`${g.model}\u0000${g.lr}`) ?? []), g]);
  return [...byKey.values()]
    .map((members) => members.map(depthPoint).sort((a, b) => a.learnableLayers - b.learnableLayers))
    .filter((pts) => new Set(pts.map((p) => p.learnableLayers)).size >= 2)
    .map((pts) => {
      const { model, lr } = pts[0]!.group;
      return { model, lr, label: `${model} (lr ${lr})`, skipConnections: hasSkipConnections(model), points: pts };
    });
}

/** What a series shows from its shallowest to its deepest point. */
export interface DepthChange {
  series: DepthSeries;
  shallow: DepthPoint;
  deep: DepthPoint;
  /** deep - shallow, tested; undefined when the runs cannot be compared. */
  comparison: Comparison | undefined;
  verdict: 'degrades' | 'improves' | 'no change' | 'not tested';
}

/**
 * Tests a series' deepest point against its shallowest (see compareGroups) and says whether test accuracy degrades, improves
 * or does not change significantly at 5%, or could not be tested.
 */
export function depthChange(series: DepthSeries): DepthChange {
  const shallow = series.points[0]!;
  const deep = series.points.at(-1)!;
  const comparison = compareGroups(deep.group, shallow.group);
  return { series, shallow, deep, comparison, verdict: verdictOf(comparison) };
}

function verdictOf(comparison: Comparison | undefined): DepthChange['verdict'] {
  if (comparison === undefined) return 'not tested';
  if (!isSignificant(comparison.pValue)) return 'no change';
  // Both tests give p = 1 to a difference of 0, so a significant change is never 0 and its sign alone decides.
  // Stryker disable next-line EqualityOperator: as above, < 0 and <= 0 agree on every significant difference.
  return comparison.difference < 0 ? 'degrades' : 'improves';
}

/** "5 to 20 SkipBlocks (43 to 213 learnable layers)", or in weight layers for a network without SkipBlocks. */
function depthRange(shallow: DepthPoint, deep: DepthPoint): string {
  const layers = `${shallow.learnableLayers} to ${deep.learnableLayers} learnable layers`;
  if (deep.skipBlocks > 0) return `${shallow.skipBlocks} to ${deep.skipBlocks} SkipBlocks (${layers})`;
  if (shallow.weightLayers !== undefined && deep.weightLayers !== undefined)
    return `${shallow.weightLayers} to ${deep.weightLayers} weight layers (${layers})`;
  return layers;
}

const VERDICTS: Record<DepthChange['verdict'], string> = {
  degrades: 'significant at 5%: degradation, the deeper network is worse',
  improves: 'significant at 5%: the deeper network is better',
  'no change': 'not significant at 5%: these runs show no significant change of accuracy with depth',
  'not tested': 'not tested (the runs have no paired predictions)',
};

const loss = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
const norm = (x: number | undefined) => (x === undefined ? '-' : x.toExponential(2));

/** The sentence of one series: the change of accuracy with its test, then training loss and input gradient at both ends. */
export function depthObservation(change: DepthChange): string {
  const { series, shallow, deep, comparison } = change;
  const accuracy = `test accuracy ${formatPercent(shallow.group.accuracy.mean)} -> ${formatPercent(deep.group.accuracy.mean)}`;
  const tested =
    comparison === undefined
      ? ''
      : `, a change of ${comparison.difference > 0 ? '+' : ''}${points(comparison.difference)} points ` +
        `(95% interval ${points(comparison.interval95[0])} to ${points(comparison.interval95[1])} points; ${comparison.test}, ${formatPValue(comparison.pValue)})`;
  return (
    `Depth, ${series.label}, from ${depthRange(shallow, deep)}: ${accuracy}${tested}: ${VERDICTS[change.verdict]}. ` +
    `Final training loss ${loss(shallow.finalTrainLoss)} -> ${loss(deep.finalTrainLoss)}; gradient norm at the input ${norm(shallow.inputGradient)} -> ${norm(deep.inputGradient)}.`
  );
}

function names(changes: DepthChange[]): string {
  const labels = changes.map((c) => c.series.label);
  return labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/**
 * Whether the runs show the exercise's premise: at least one plain series
 * significantly worse at its deepest, and no SkipBlock series so. Undefined
 * without both kinds of series.
 */
export function premiseObservation(changes: DepthChange[]): string | undefined {
  // Only tested changes speak to the premise.
  const tested = changes.filter((c) => c.verdict !== 'not tested');
  const skip = tested.filter((c) => c.series.skipConnections);
  const plain = tested.filter((c) => !c.series.skipConnections);
  if (skip.length === 0 || plain.length === 0) return undefined;
  const premise = "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not";
  const plainWorse = plain.filter((c) => c.verdict === 'degrades');
  const skipWorse = skip.filter((c) => c.verdict === 'degrades');
  if (skipWorse.length > 0) {
    return `${premise}, is not shown at this budget: ${names(skipWorse)} with skip connections ${plainWorse.length ? 'also ' : ''}lost accuracy from its shallowest to its deepest run.`;
  }
  if (plainWorse.length === 0) {
    return `${premise}, is not shown at this budget: no plain network lost accuracy significantly from its shallowest to its deepest run.`;
  }
  const plainOther = plain.filter((c) => c.verdict !== 'degrades');
  return (
    `${premise}, is shown at this budget: ${names(plainWorse)} lost accuracy from the shallowest to the deepest run` +
    (plainOther.length ? ` (${names(plainOther)} did not)` : '') +
    `; ${names(skip)} did not.`
  );
}

/** The observations of the depth study, one per series and the premise's. */
export function depthObservations(groups: RunGroup[]): string[] {
  const changes = depthSeries(groups).map(depthChange);
  const premise = premiseObservation(changes);
  return [...changes.map(depthObservation), ...(premise ? [premise] : [])];
}

/** What a depth figure plots against depth: final test accuracy, final training loss or the gradient norm at the input. */
export type Measure = 'accuracy' | 'trainLoss' | 'inputGradient';

const MEASURES: Record<
  Measure,
  { id: string; title: string; caption: string; log: boolean; value: (p: DepthPoint) => number | undefined }
> = {
  accuracy: {
    id: 'depth-accuracy',
    title: 'final test accuracy (%)',
    log: false,
    value: (p) => (p.group.accuracy.n ? 100 * p.group.accuracy.mean : undefined),
    caption:
      'Final test accuracy against depth (learnable layers), one line per model and learning rate; with several seeds, the mean and its 95% interval (band).',
  },
  trainLoss: {
    id: 'depth-train-loss',
    title: 'final training loss',
    log: false,
    value: (p) => p.finalTrainLoss,
    caption:
      "Final training loss (the mean over each run's last tenth of iterations) against depth: He et al. (2016) found that the deeper plain network trains worse, not only tests worse.",
  },
  inputGradient: {
    id: 'depth-input-gradient',
    title: 'gradient norm at the input',
    log: true,
    value: (p) => p.inputGradient,
    caption:
      'Gradient norm of the weight nearest the input (the mean over the recorded iterations, log scale) against depth: a vanishing gradient falls as the network deepens.',
  },
};

/** One of the depth figures: a measure against learnable layers, one line per series. */
export function depthChart(series: DepthSeries[], measure: Measure): Chart | undefined {
  const m = MEASURES[measure];
  const values = series.flatMap((s) =>
    s.points.flatMap((p) => {
      const y = m.value(p);
      if (y === undefined) return [];
      const ci = measure === 'accuracy' ? p.group.accuracy.interval95 : undefined;
      return [
        { layers: p.learnableLayers, value: y, lo: ci ? 100 * ci[0] : y, hi: ci ? 100 * ci[1] : y, run: s.label, depth: p.group.label },
      ];
    }),
  );
  if (values.length === 0) return undefined;
  return lineChart(m.id, m.caption, values, {
    x: { field: 'layers', type: 'quantitative', title: 'learnable layers (parameters().length)' },
    y: { field: 'value', type: 'quantitative', title: m.title, scale: m.log ? { type: 'log' } : { zero: false } },
    legend: 'model',
    points: true,
    band: true,
    tooltip: [{ field: 'depth' }, { field: 'value' }],
  });
}
