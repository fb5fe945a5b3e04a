/**
 * The experiment's forecast: before the first run trains, how long each run
 * and the whole experiment will take, from each kind of run's measured speed
 * (speed.ts: real training steps and a real evaluation, at the threads each
 * run will have). A run's time is its set-up plus, per epoch, its training
 * images at the training speed and its test images at the evaluation speed;
 * runs trained at once are packed longest first onto the free slots; the loss
 * landscapes evaluate their points' images at the evaluation speed. After the
 * experiment, the actual times are written beside the forecast, and the
 * report shows both.
 */
import { existsSync } from 'node:fs';

import type { DatasetSplits } from '../data/index.js';
import { formatDuration } from '../text/format.js';
import { type ExperimentForecast, RunDirectory, type RunForecast, type TrainConfig } from '../runs/index.js';
import type { LandscapeOptions } from './landscape.js';
import { datasetKey, trainImages } from './prepare.js';
import type { RunSpeed, SpeedMeter } from './speed.js';

/** A run's predicted wall seconds from its kind's speed (pure). */
export function runSeconds(
  plan: Pick<TrainConfig, 'epochs' | 'flipTest'>,
  images: { train: number; test: number },
  speed: RunSpeed,
  remaining = 1,
): number {
  // Flip test-time augmentation evaluates each test image twice.
  const test = images.test * (plan.flipTest ? 2 : 1);
  return (
    speed.setUpSeconds +
    remaining * plan.epochs * (images.train / speed.trainImagesPerSecond + speed.evalWarmUpSeconds + test / speed.evalImagesPerSecond)
  );
}

/** The share of a run still to train: all of a new run, what is left of one an earlier invocation stopped. */
export function remainingShare(run: Pick<TrainConfig, 'out'>): number {
  const dir = new RunDirectory(run.out);
  if (!existsSync(dir.file('status.json'))) return 1;
  const { step, totalSteps } = dir.status();
  return totalSteps > 0 ? Math.min(1, Math.max(0, 1 - step / totalSteps)) : 1;
}

/** The wall time of jobs on `slots` workers, each job given to the first free worker, longest first (pure). */
export function packedSeconds(seconds: number[], slots: number): number {
  const free = Array<number>(Math.max(1, slots)).fill(0);
  for (const s of [...seconds].sort((a, b) => b - a)) {
    const first = free.indexOf(Math.min(...free));
    free[first]! += s;
  }
  return Math.max(...free);
}

/** Images one landscape evaluates: its 1-D slice and its 2-D grid, each point on `sample` images. */
export function landscapeImages(settings: Pick<LandscapeOptions, 'points' | 'grid' | 'sample'>): number {
  return (settings.points + settings.grid * settings.grid) * settings.sample;
}

/** What a forecast covers: the runs still to train, the landscapes after them, and how the machine is shared. */
export interface ForecastPlan {
  /** The runs still to train. */
  pending: TrainConfig[];
  /** The runs whose landscape follows, and its settings (none: no landscape). */
  landscapes: TrainConfig[];
  landscape?: LandscapeOptions;
  slots: number;
  threads: number;
}

/** Measures what it needs, then forecasts the experiment. */
export async function forecastExperiment(
  plan: ForecastPlan,
  datasets: Map<string, DatasetSplits>,
  meter: SpeedMeter,
): Promise<ExperimentForecast> {
  const threadsPerRun = Math.max(1, Math.floor(plan.threads / plan.slots));
  const runs: RunForecast[] = [];
  for (const run of plan.pending) {
    const test = datasets.get(datasetKey(run))!.test.labels.length;
    const seconds = runSeconds(
      run,
      { train: trainImages(run, datasets), test },
      await meter.speed(run, threadsPerRun),
      remainingShare(run),
    );
    runs.push({ name: runLabel(run), epochs: run.epochs, seconds });
  }
  const trainingSeconds = packedSeconds(
    runs.map((r) => r.seconds),
    plan.slots,
  );
  let landscapeSeconds = 0;
  if (plan.landscape !== undefined) {
    for (const run of plan.landscapes) {
      landscapeSeconds += landscapeImages(plan.landscape) / (await meter.speed(run, plan.threads)).evalImagesPerSecond;
    }
  }
  return { parallelRuns: plan.slots, threadsPerRun, runs, trainingSeconds, landscapeSeconds, seconds: trainingSeconds + landscapeSeconds };
}

/** A run's name in the forecast: its folder's. */
function runLabel(plan: TrainConfig): string {
  return plan.out.split(/[\\/]/).pop()!;
}

/** The lines the experiment prints before it trains. */
export function forecastLines(forecast: ExperimentForecast): string[] {
  const at =
    forecast.parallelRuns > 1
      ? `${forecast.parallelRuns} at once, ${forecast.threadsPerRun} thread${forecast.threadsPerRun > 1 ? 's' : ''} each`
      : 'one at a time';
  const parts =
    forecast.landscapeSeconds > 0
      ? ` (training ${formatDuration(forecast.trainingSeconds)}, loss landscapes ${formatDuration(forecast.landscapeSeconds)})`
      : '';
  const width = Math.max(...forecast.runs.map((r) => r.name.length));
  return [
    `forecast: ${forecast.runs.length} run${forecast.runs.length === 1 ? '' : 's'} to train, ${at}: about ${formatDuration(forecast.seconds)}${parts}, ` +
      'from a few training steps and a test batch of each kind of run measured here',
    ...forecast.runs.map((r) => `  ${r.name.padEnd(width)}  ${r.epochs} epoch${r.epochs === 1 ? '' : 's'}  ~${formatDuration(r.seconds)}`),
  ];
}
