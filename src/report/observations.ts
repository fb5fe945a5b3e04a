/**
 * The report's observations: sentences read off the runs' numbers (the
 * learning rates of each model, the models against each other at their best
 * learning rate, how much the gradient fades, the depth study, the loss
 * landscape, runs that did not finish), each claiming no more than its test
 * shows; and the short forms of a group's accuracy and state the tables use.
 */
import { studyComparisons } from '../models/catalog.js';
import { formatPercent } from '../text/format.js';
import { depthObservations } from './depth.js';
import { landscapeGroups, landscapeObservation } from './landscape.js';
import type { RunData } from './load.js';
import { type SampleSummary, meanOf } from './statistics.js';
import { type RunGroup, bestGroups, compareGroups, describeDifference, groupRuns, layerGradientMeans, points } from './study.js';

/** A group's accuracy as "mean ± sd" over its seeds, or the one value when there is one seed. */
export function meanAndSpread(summary: SampleSummary): string {
  if (summary.n === 0) return '-';
  return summary.n === 1 ? formatPercent(summary.mean) : `${formatPercent(summary.mean)} ± ${points(summary.std)}`;
}

/** A 95% interval in percent, or '-' where one seed gives none. */
export function interval(summary: SampleSummary): string {
  return summary.interval95 ? `${points(summary.interval95[0])} to ${points(summary.interval95[1])}%` : '-';
}

/** A run's state in words: "finished", "diverged at step 40", "failed after 2 of 10 epochs (out of memory)". */
export function runState(run: RunData): string {
  const s = run.status;
  if (s.status === 'diverged') return `diverged at step ${s.divergedAt?.step ?? '?'}`;
  if (s.status === 'finished') return 'finished';
  if (s.status === 'failed') return `failed after ${s.epochsDone} of ${run.config.epochs} epochs (${s.message ?? 'no message'})`;
  return `${s.status} after ${s.epochsDone} of ${run.config.epochs} epochs`;
}

/** The states of a group's runs, e.g. "finished" or "2 finished, 1 diverged at step 40". */
export function groupState(group: RunGroup): string {
  const counts = new Map<string, number>();
  for (const run of group.runs) counts.set(runState(run), (counts.get(runState(run)) ?? 0) + 1);
  // Stryker disable next-line ConditionalExpression: a group's runs number at least its states, so with one run there is one state and `counts.size === 1` always holds
  if (counts.size === 1 && group.runs.length === 1) return [...counts.keys()][0]!;
  return [...counts.entries()].map(([state, n]) => `${n} ${state}`).join(', ');
}

/** Mean gradient norm of the first and last quarter of a run's layers: how much the gradient fades. */
function gradientFade(run: RunData): { inputSide: number; outputSide: number } | undefined {
  const means = layerGradientMeans(run).filter((m): m is number => m !== undefined);
  if (means.length < 4) return undefined;
  const quarter = Math.max(1, Math.floor(means.length / 4));
  return { inputSide: meanOf(means.slice(0, quarter))!, outputSide: meanOf(means.slice(-quarter))! };
}

/** The sentence on a model's learning rates (at one depth): the best one against the runner-up, with the difference's certainty. */
function learningRateObservation(label: string, groups: RunGroup[]): string | undefined {
  const mine = groups.filter((g) => g.label === label && g.accuracy.n > 0).sort((x, y) => y.accuracy.mean - x.accuracy.mean);
  if (mine.length < 2) return undefined;
  const [best, second] = mine as [RunGroup, RunGroup];
  const head =
    `${label}: learning rate ${best.lr} did best (${meanAndSpread(best.accuracy)} test accuracy) against learning rate ${second.lr} ` +
    `(${meanAndSpread(second.accuracy)})`;
  const comparison = compareGroups(best, second);
  return comparison === undefined
    ? `${head}; the runs have no paired predictions, so the difference is not tested.`
    : `${head}: ${describeDifference(comparison, `lr ${best.lr}`, `lr ${second.lr}`)}.`;
}

/** The sentence comparing two models, each at its best learning rate. */
function modelObservation(a: RunGroup, b: RunGroup, why: string): string {
  const head =
    `${a.label} against ${b.label} (${why}), each at its best learning rate (${a.lr} and ${b.lr}): ` +
    `${meanAndSpread(a.accuracy)} against ${meanAndSpread(b.accuracy)}`;
  const comparison = compareGroups(a, b);
  return comparison === undefined
    ? `${head}; the runs have no paired predictions, so the difference is not tested.`
    : `${head}, ${describeDifference(comparison, a.label, b.label)}.`;
}

function gradientObservation(label: string, run: RunData): string | undefined {
  const fade = gradientFade(run);
  if (fade === undefined) return undefined;
  const ratio = fade.outputSide / fade.inputSide;
  return (
    `${label} (lr ${run.config.lr}, seed ${run.config.seed}): the mean gradient norm of the quarter of weights nearest the input is ` +
    `${fade.inputSide.toExponential(2)}, of the quarter nearest the output ${fade.outputSide.toExponential(2)}` +
    (ratio > 10
      ? ` - ${ratio.toFixed(0)} times smaller at the input: the gradient fades on its way down.`
      : ratio < 0.1
        ? ' - larger at the input.'
        : ' - the gradient reaches the input without fading.')
  );
}

/** Sentences read off the numbers; none claims more than its test shows. */
export function observations(runs: RunData[]): string[] {
  const groups = groupRuns(runs);
  const notes: string[] = [];
  for (const label of new Set(groups.map((g) => g.label))) {
    const note = learningRateObservation(label, groups);
    if (note !== undefined) notes.push(note);
  }
  const best = new Map(bestGroups(groups).map((g) => [g.model, g]));
  for (const [a, b, why] of studyComparisons()) {
    const ga = best.get(a);
    const gb = best.get(b);
    if (ga !== undefined && gb !== undefined) notes.push(modelObservation(ga, gb, why));
  }
  for (const group of bestGroups(groups)) {
    const note = gradientObservation(group.label, group.runs[0]!);
    if (note !== undefined) notes.push(note);
  }
  notes.push(...depthObservations(groups));
  for (const [skip, plain] of landscapeGroups(runs)) if (plain !== undefined) notes.push(landscapeObservation(skip!, plain));
  for (const run of runs) {
    if (run.status.status === 'diverged') {
      const at = run.status.divergedAt;
      notes.push(
        at
          ? `${run.name} diverged: its loss became ${at.loss} at step ${at.step}; its figures stop there.`
          : `${run.name} diverged (its status does not say at which step); its figures stop there.`,
      );
    } else if (run.status.status !== 'finished') {
      notes.push(`${run.name} is ${runState(run)}: its numbers cover only what it trained.`);
    }
    if (run.evaluation === undefined) notes.push(`${run.name} has no final evaluation (eval.json), so it has no confusion matrix.`);
  }
  return notes;
}
