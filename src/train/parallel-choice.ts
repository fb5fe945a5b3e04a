/**
 * How many runs to train at once (`--parallel-runs auto`): each kind of run
 * (model, options, batch, precision, layout) trains a few steps in this
 * process with every thread and with each share of them, and the count whose
 * predicted experiment time is shortest wins, if it beats one run at a time
 * by a clear margin. Measuring beats guessing: how well a network uses two
 * threads depends on its width, the batch and the CPU.
 */
import { availableParallelism } from 'node:os';

import type { DatasetSplits } from '../data/index.js';
import type { TrainConfig } from '../runs/index.js';
import { trainImages } from './prepare.js';
import { type SpeedMeter, kindOf } from './speed.js';

/** A kind of run and the work the experiment has of it. */
export interface RunKind {
  label: string;
  /** Images still to train, over every run of this kind. */
  images: number;
  /** Measured training speed (images/s) by thread count. */
  rates: Map<number, number>;
}

/** How many runs to train at once, the speed-up predicted from the measurements, and why, in words. */
export interface ParallelChoice {
  runs: number;
  /** Predicted end-to-end speed-up over one run at a time. */
  speedup: number;
  reason: string;
}

/** Going parallel must pay at least this much by the measurement, or it is not worth its memory and noisier timings. */
const MARGIN = 1.1;
/** Allowance over the n-fold bound for measurement noise (bf16 runs on one thread can beat half of two threads a little). */
const PLAUSIBLE = 1.25;

/** The candidates: 1, 2, 4, ... runs at once, at most one per core and one per run. */
export function candidateCounts(threads: number, runs: number): number[] {
  const counts: number[] = [];
  for (let n = 1; n <= Math.min(threads, runs); n *= 2) counts.push(n);
  return counts;
}

/** Predicted wall seconds of the work with n runs at once, each with threads / n threads (the runs assumed to pack evenly). */
export function predictedSeconds(kinds: RunKind[], threads: number, n: number): number {
  const share = Math.max(1, Math.floor(threads / n));
  return kinds.reduce((t, k) => t + k.images / k.rates.get(share)!, 0) / n;
}

/** The choice from the measured rates (pure). */
export function chooseParallelRuns(kinds: RunKind[], threads: number, runs: number): ParallelChoice {
  const counts = candidateCounts(threads, runs);
  const alone = predictedSeconds(kinds, threads, 1);
  let best: ParallelChoice = { runs: 1, speedup: 1, reason: '' };
  for (const n of counts.slice(1)) {
    const speedup = alone / predictedSeconds(kinds, threads, n);
    if (speedup >= MARGIN * best.speedup) best = { runs: n, speedup, reason: '' };
  }
  // n runs sharing the cores cannot finish more than n times sooner: a prediction past that was measured while
  // something else held the cores, and is not trusted.
  if (best.speedup > PLAUSIBLE * best.runs) {
    return {
      runs: 1,
      speedup: 1,
      reason:
        `1 at once: the measurement predicted ${best.speedup.toFixed(2)}x for ${best.runs} at once, more than ${best.runs} runs sharing ` +
        'the cores can give, so other processes were probably using them; training one at a time (give --parallel-runs N to choose)',
    };
  }
  const measured = kinds
    .map((k) => `${k.label}: ${counts.map((n) => `${k.rates.get(Math.max(1, Math.floor(threads / n)))!.toFixed(0)}`).join(' / ')} images/s`)
    .join('; ');
  const threadsPer = counts.map((n) => Math.max(1, Math.floor(threads / n))).join(' / ');
  best.reason = `${best.runs} at once (predicted ${best.speedup.toFixed(2)}x against one at a time; measured with ${threadsPer} threads per run: ${measured})`;
  return best;
}

/** The threads the plans' runs share: the most any asks for, capped at the cores as the trainer caps them. */
export function threadsUsed(plans: TrainConfig[]): number {
  return Math.min(Math.max(...plans.map((p) => p.threads)), availableParallelism());
}

/** Measures each kind of the plans' runs at every thread share the candidates need, then chooses. */
export async function measureParallelRuns(
  plans: TrainConfig[],
  datasets: Map<string, DatasetSplits>,
  meter: SpeedMeter,
): Promise<ParallelChoice> {
  const threads = threadsUsed(plans);
  if (candidateCounts(threads, plans.length).length < 2)
    return { runs: 1, speedup: 1, reason: `1 at once (${threads} thread${threads > 1 ? 's' : ''}: nothing to divide)` };
  const shares = [...new Set(candidateCounts(threads, plans.length).map((n) => Math.max(1, Math.floor(threads / n))))];
  const kinds = new Map<string, RunKind>();
  for (const plan of plans) {
    const label = kindOf(plan);
    let kind = kinds.get(label);
    if (kind === undefined) {
      kind = { label, images: 0, rates: new Map() };
      for (const share of shares) kind.rates.set(share, (await meter.speed(plan, share)).trainImagesPerSecond);
      kinds.set(label, kind);
    }
    kind.images += trainImages(plan, datasets) * plan.epochs;
  }
  return chooseParallelRuns([...kinds.values()], threads, plans.length);
}
