/**
 * The study's numbers: runs grouped by model and learning rate (one run per
 * seed), each group's accuracy summarised over its seeds, and comparisons
 * between two groups that say how certain they are: Welch's t-test across
 * seeds when both groups have several, McNemar's exact test on the paired
 * test predictions when they do not.
 */
import { formatPercent } from '../text/format.js';
import { configuredDepth } from '../models/catalog.js';
import { type TimeToAccuracy, differingResultSettings, resultSettings } from '../runs/index.js';
import type { RunData } from './load.js';
import { type SampleSummary, describeSample, mcnemarExact, meanOf, welchTest } from './statistics.js';

/** The runs of one model at one depth (its options) and one learning rate: one per seed. */
export interface RunGroup {
  model: string;
  /** The model, with its depth when the runs hold it at several ("hw5net-d6"). */
  label: string;
  /** The value of the model's depth option, where its options set one. */
  depth?: number;
  lr: number;
  runs: RunData[];
  /** Final test accuracy over the seeds that have one. */
  accuracy: SampleSummary;
}

/** A run's final test accuracy: its evaluation's, else its last epoch's. */
export function finalAccuracy(run: RunData): number | undefined {
  return run.evaluation?.accuracy ?? run.epochs.at(-1)?.testAccuracy;
}

export function bestAccuracy(run: RunData): number | undefined {
  return run.epochs.length ? Math.max(...run.epochs.map((e) => e.testAccuracy)) : undefined;
}

/** An interval cut to the range its quantity can take (an accuracy lies in [0, 1], a difference of two in [-1, 1]). */
export function clip(interval: [number, number], lo: number, hi: number): [number, number] {
  return [Math.max(lo, interval[0]), Math.min(hi, interval[1])];
}

/** Accuracy over seeds, its t-interval cut to [0, 1]: with two seeds the interval is wide, never beyond what is possible. */
export function accuracySummary(accuracies: number[]): SampleSummary {
  const summary = describeSample(accuracies);
  return summary.interval95 ? { ...summary, interval95: clip(summary.interval95, 0, 1) } : summary;
}

/**
 * Each recorded weight's gradient norm, the mean over the run's gradient
 * records, input side first; undefined for a weight that never got one (an
 * unused in2out convolution).
 */
export function layerGradientMeans(run: RunData): (number | undefined)[] {
  return run.model.gradientLayers.map((_, i) =>
    meanOf(run.gradients.map((g) => g.norms[i]).map((n) => (typeof n === 'number' && n > 0 ? n : undefined))),
  );
}

const optionsKey = (run: RunData) => JSON.stringify(Object.entries(run.config.modelOptions).sort(([a], [b]) => a.localeCompare(b)));

/** A group's label: the model alone, or with its depth (or options) when the runs hold the model in several shapes. */
function shapeLabel(run: RunData, shapes: number): string {
  if (shapes <= 1) return run.config.model;
  const depth = configuredDepth(run.config);
  if (depth !== undefined) return `${run.config.model}-d${depth}`;
  return `${run.config.model} (${
    Object.entries(run.config.modelOptions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'default options'
  })`;
}

/** Settings (besides the model, its options and the learning rate) whose values differ between the given runs. */
function differingSettings(runs: RunData[]): string[] {
  const shown = new Set(['model', 'modelOptions', 'lr']);
  // A setting that differs from the first run's differs between the runs; each run compared once, the names in the table's order.
  const differing = new Set(runs.flatMap((r) => differingResultSettings(r.config, runs[0]!.config)));
  return resultSettings(runs[0]!.config)
    .map(([k]) => k)
    .filter((k) => differing.has(k) && !shown.has(k));
}

/**
 * Labels the groups: the model (with its depth where it comes in several shapes), then each setting that differs between groups of the same
 * shape ("net1 (epochs 3)"), then the run's name where two groups would still read alike (the same seed trained twice).
 */
function labelGroups(groups: RunData[][]): string[] {
  const shapes = new Map<string, Set<string>>();
  for (const [first] of groups) shapes.set(first!.config.model, (shapes.get(first!.config.model) ?? new Set()).add(optionsKey(first!)));
  const base = groups.map(([first]) => shapeLabel(first!, shapes.get(first!.config.model)!.size));
  const labels = groups.map(([first], i) => {
    const differing = differingSettings(groups.filter((_, j) => base[j] === base[i]).map(([f]) => f!));
    const config = first!.config as Record<string, unknown>;
    return differing.length ? `${base[i]} (${differing.map((k) => `${k} ${JSON.stringify(config[k])}`).join(', ')})` : base[i]!;
  });
  const key = (i: number) => `${labels[i]}\u0000${groups[i]![0]!.config.lr}`;
  return labels.map((label, i) => (groups.some((_, j) => j !== i && key(j) === key(i)) ? `${label}, ${groups[i]![0]!.name}` : label));
}

/**
 * Groups runs by every setting that changes the result (model, depth, learning rate, epochs, optimizer, ...: RESULT_NEUTRAL_SETTINGS may
 * differ): the models in the order they first appear, each model's groups by depth. A group holds one run per seed: a second run of a seed already in its group is not a second seed,
 * so it starts a group of its own (labelled with its run's name).
 */
export function groupRuns(runs: RunData[]): RunGroup[] {
  const groups = new Map<string, RunData[]>();
  for (const run of runs) {
    const condition = JSON.stringify(resultSettings(run.config));
    let repeat = 0;
    while (groups.get(`${condition}#${repeat}`)?.some((r) => r.config.seed === run.config.seed)) repeat += 1;
    const key = `${condition}#${repeat}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const models = [...new Set(runs.map((r) => r.config.model))];
  // Each model's groups by depth, shallow first (a stable sort keeps learning rates as given): tables and figures read d5, d10, d20, not by name.
  const members = [...groups.values()].sort(
    (a, b) =>
      models.indexOf(a[0]!.config.model) - models.indexOf(b[0]!.config.model) ||
      (configuredDepth(a[0]!.config) ?? 0) - (configuredDepth(b[0]!.config) ?? 0),
  );
  const labels = labelGroups(members);
  return members.map((runs, i) => ({
    model: runs[0]!.config.model,
    label: labels[i]!,
    depth: configuredDepth(runs[0]!.config),
    lr: runs[0]!.config.lr,
    runs,
    accuracy: accuracySummary(runs.map(finalAccuracy).filter((a): a is number => a !== undefined)),
  }));
}

/**
 * For each model, its group with the highest mean final test accuracy among
 * those at its deepest (most learnable layers): the exercise's network when
 * an experiment sweeps depth.
 */
export function bestGroups(groups: RunGroup[]): RunGroup[] {
  const layers = (g: RunGroup) => g.runs[0]!.model.learnableLayers;
  const deepest = new Map<string, number>();
  for (const g of groups) if (g.accuracy.n > 0) deepest.set(g.model, Math.max(deepest.get(g.model) ?? 0, layers(g)));
  const byModel = new Map<string, RunGroup>();
  for (const group of groups) {
    if (group.accuracy.n === 0 || layers(group) !== deepest.get(group.model)) continue;
    const current = byModel.get(group.model);
    if (current === undefined || group.accuracy.mean > current.accuracy.mean) byModel.set(group.model, group);
  }
  return [...byModel.values()];
}

/** What a comparison of two groups shows, as fractions (accuracy 0..1). */
export interface Comparison {
  a: RunGroup;
  b: RunGroup;
  meanA: number;
  meanB: number;
  /** meanA - meanB. */
  difference: number;
  /** 95% interval of the difference. */
  interval95: [number, number];
  pValue: number;
  /** How it was tested, in words fit for a sentence. */
  test: string;
}

/** The paired predictions of a group's first run that has them. */
function predictionsOf(group: RunGroup) {
  return group.runs.find((r) => r.predictions !== undefined)?.predictions;
}

/**
 * Compares two groups' final test accuracy. Several seeds on both sides:
 * Welch's t-test over the seeds. Otherwise McNemar's exact test on the
 * paired predictions of one run each, which needs both runs to have scored
 * the same test images. Undefined when neither test can be made.
 */
export function compareGroups(a: RunGroup, b: RunGroup): Comparison | undefined {
  if (a.accuracy.n >= 2 && b.accuracy.n >= 2) {
    const accuracies = (g: RunGroup) => g.runs.map(finalAccuracy).filter((x): x is number => x !== undefined);
    const welch = welchTest(accuracies(a), accuracies(b));
    return {
      a,
      b,
      meanA: a.accuracy.mean,
      meanB: b.accuracy.mean,
      difference: welch.difference,
      interval95: clip(welch.interval95, -1, 1),
      pValue: welch.pValue,
      test: `Welch's t-test over ${a.accuracy.n} and ${b.accuracy.n} seeds`,
    };
  }
  const pa = predictionsOf(a);
  const pb = predictionsOf(b);
  if (
    pa === undefined ||
    pb === undefined ||
    pa.labels.length !== pb.labels.length ||
    pa.labels.some((label, i) => label !== pb.labels[i])
  ) {
    return undefined;
  }
  const test = mcnemarExact(pa.predicted, pb.predicted, pa.labels);
  return {
    a,
    b,
    meanA: test.accuracyA,
    meanB: test.accuracyB,
    difference: test.difference,
    interval95: test.interval95,
    pValue: test.pValue,
    test: `McNemar's exact test on the ${test.n.toLocaleString('en-US')} paired test predictions`,
  };
}

/** The level below which a p-value is called significant: 5%, as every sentence of the report says. */
export const SIGNIFICANCE_LEVEL = 0.05;

/** Whether a test's p-value is significant at SIGNIFICANCE_LEVEL (strictly below it). */
export function isSignificant(pValue: number): boolean {
  return pValue < SIGNIFICANCE_LEVEL;
}

/** A p-value as a sentence shows it: three decimals, or a power of ten when it is tiny. */
export function formatPValue(p: number): string {
  if (!Number.isFinite(p)) return 'p not defined';
  if (p === 0) return 'p < 1e-300';
  return p < 0.001 ? `p = ${p.toExponential(1)}` : `p = ${p.toFixed(3)}`;
}

/** Points of accuracy (a difference of fractions, times 100) with two decimals. */
export function points(x: number): string {
  return (100 * x).toFixed(2);
}

/**
 * The difference, its interval and the test's verdict at 5%, e.g. "7.32 points
 * in favour of hw5net (95% interval 6.81 to 7.83 points; McNemar's exact
 * test ..., p = 1.2e-40): significant at 5%".
 */
export function describeDifference(comparison: Comparison, nameA: string, nameB: string): string {
  const { difference, interval95, pValue, test } = comparison;
  // Stryker disable next-line EqualityOperator: a difference of 0 is "no difference" before the sign is read, so > and >= name the same side.
  const winner = difference > 0 ? nameA : nameB;
  const favoured = difference === 0 ? 'no difference' : `${points(Math.abs(difference))} points in favour of ${winner}`;
  const verdict = isSignificant(pValue) ? 'significant at 5%' : 'not significant at 5%: these runs do not show either one better';
  return `${favoured} (95% interval ${points(interval95[0])} to ${points(interval95[1])} points; ${test}, ${formatPValue(pValue)}): ${verdict}`;
}

/** The column header of a time-to-accuracy column, or undefined when no run had a target. */
export function timeToAccuracyHeader(times: (TimeToAccuracy | undefined)[]): string | undefined {
  const target = times.find((t) => t !== undefined)?.target;
  return target === undefined ? undefined : `time to ${formatPercent(target)}`;
}

/**
 * A group's time to accuracy: the mean wall seconds (and epoch) over the runs
 * that reached the target, and how many did when not all: "1,234 s (epoch 7)",
 * "2 of 3: 1,234 s (epoch 7.5)", "not reached".
 */
export function describeTimeToAccuracy(times: (TimeToAccuracy | undefined)[]): string {
  const known = times.filter((t): t is TimeToAccuracy => t !== undefined);
  const reached = known.filter((t) => t.seconds !== null && t.epoch !== null);
  if (reached.length === 0) return known.length ? 'not reached' : '-';
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const text = `${Math.round(mean(reached.map((t) => t.seconds!))).toLocaleString('en-US')} s (epoch ${Number(mean(reached.map((t) => t.epoch!)).toFixed(1))})`;
  return reached.length === known.length ? text : `${reached.length} of ${known.length}: ${text}`;
}
