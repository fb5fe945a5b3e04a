/**
 * Running an experiment: every run not finished is trained (resumed where it
 * stopped), one after another or several at once, into one folder; then
 * results.json, the forecast's actual times and the landscapes.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';

import { type DatasetSplits, hw5SubsetCommand } from '../../data/index.js';
import { barrier, getRank, isInitialized } from '../../distributed/index.js';
import { prepareTensorBoardFolder, writeRunScalars } from '../../export/tensorboard.js';
import { writeFileAtomic } from '../../io/index.js';
import {
  DEFAULT_TRAIN_CONFIG,
  EXPERIMENT_FILE,
  RunDirectory,
  type RunSummary,
  type TrainConfig,
  checkOutputFolder,
  differingResultSettings,
  summarizeRun,
} from '../../runs/index.js';
import { measureParallelRuns } from '../parallel-choice.js';
import { type ParallelOutcome, trainInParallel } from '../parallel-runs.js';
import { datasetKey, loadRunDataset } from '../prepare.js';
import { SpeedMeter } from '../speed.js';
import { train } from '../trainer.js';
import { experimentForecast, landscapes, writeForecast } from './after-training.js';
import type { ExperimentConfig, ExperimentContext, ExperimentOptions, ExperimentResult } from './config.js';
import { planExperiment } from './plan.js';

/** The summary of a run that an earlier invocation already finished (or saw diverge), else undefined. */
function summaryOfExisting(plan: TrainConfig): RunSummary | undefined {
  const dir = new RunDirectory(plan.out);
  if (!existsSync(dir.file('status.json'))) return undefined;
  const { status } = dir.status();
  return status === 'finished' || status === 'diverged' ? summarizeRun(dir, plan) : undefined;
}

/**
 * Refuses to go on when a run the experiment would keep or resume was made with other settings (epochs, optimizer, ...): its records would
 * then stand in the experiment under settings it never trained with. Names each run and setting, and how to go on.
 */
function checkExistingRuns(config: ExperimentConfig, plans: TrainConfig[]): void {
  const show = (v: unknown) => JSON.stringify(v);
  const problems = plans.flatMap((plan) => {
    const dir = new RunDirectory(plan.out);
    if (!dir.exists()) return [];
    const saved: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...dir.readJson<Partial<TrainConfig>>('config.json') };
    const differing = differingResultSettings(saved, plan);
    return differing.length
      ? [`${basename(plan.out)} has ${differing.map((k) => `${k} ${show(saved[k])} (this command: ${show(plan[k])})`).join(', ')}`]
      : [];
  });
  if (problems.length === 0) return;
  throw new Error(
    `${config.out} holds runs made with other settings than this command asks for:\n  - ${problems.join('\n  - ')}\n` +
      `To keep and continue them, repeat the command that made them (recorded in ${join(config.out, EXPERIMENT_FILE)}); to train with the new settings, give another --out.`,
  );
}

/**
 * Loads every dataset the plans name before the first run trains, so a
 * missing or broken dataset fails at once, not after hours of training.
 */
async function loadDatasets(plans: TrainConfig[]): Promise<Map<string, DatasetSplits>> {
  const datasets = new Map<string, DatasetSplits>();
  for (const plan of plans) {
    const key = datasetKey(plan);
    if (datasets.has(key)) continue;
    if (plan.dataset === 'coco' && !existsSync(join(plan.dataDir ?? '', 'manifest.json'))) {
      throw new Error(
        `no COCO subset in ${plan.dataDir ?? '(no --data-dir given)'}: build the assignment's subset first, from the COCO 2017 ` +
          `download (COCO below is its folder), with\n  ${hw5SubsetCommand(plan.dataDir)}\nor point --data-dir at a subset built before.`,
      );
    }
    await loadRunDataset(plan, datasets);
  }
  return datasets;
}

/**
 * Trains every run of the experiment that is not finished (resuming stopped ones), writes results.json and the
 * landscapes, and returns the summaries; the report is written by the caller.
 */
export async function runExperiment(config: ExperimentConfig, options: ExperimentOptions): Promise<ExperimentResult> {
  const plans = planExperiment(config);
  const datasets = await loadDatasets(plans);
  // One experiment process per folder; in data-parallel training, rank 0 alone writes it.
  const writer = getRank() === 0;
  if (writer) checkOutputFolder(config.out, 'experiment');
  if (writer && options.tensorboard !== undefined) prepareTensorBoardFolder(options.tensorboard);
  const lock = writer ? new RunDirectory(config.out).lock() : undefined;
  try {
    checkExistingRuns(config, plans);
    return await runPlans({ config, plans, datasets, options, writer });
  } finally {
    lock?.release();
  }
}

/** Trains what is left of the experiment, then writes results.json, the landscapes and the forecast's actual times. */
async function runPlans(context: ExperimentContext): Promise<ExperimentResult> {
  const { config, plans, datasets, options, writer } = context;
  const { reporter } = options;
  if (writer)
    writeFileAtomic(
      join(config.out, EXPERIMENT_FILE),
      `${JSON.stringify({ ...config, command: options.command, runs: plans.map((p) => p.out) }, null, 2)}\n`,
    );
  const kept = plans.map(summaryOfExisting);
  for (const k of kept) if (k !== undefined) reporter.message(`[${k.name}] already ${k.status}; kept`);
  // Runs trained before write no events now: their records are converted instead.
  if (writer && options.tensorboard !== undefined) for (const k of kept) if (k !== undefined) writeRunScalars(k.dir, options.tensorboard);
  const pending = plans.filter((_, i) => kept[i] === undefined);
  const meter = new SpeedMeter(datasets);
  const slots = await parallelRuns(pending, datasets, options, meter);
  const forecast = writer && options.forecast ? await experimentForecast(context, pending, slots, meter) : undefined;
  const progress = { total: plans.length, done: plans.length - pending.length };
  reporter.experimentProgress?.(progress.done, progress.total);
  const trainingStarted = performance.now();
  const outcome =
    slots > 1
      ? await trainInParallel(
          pending.map((plan) => ({ plan, resume: new RunDirectory(plan.out).exists(), tensorboard: options.tensorboard })),
          slots,
          { reporter, stop: options.stop, ...progress },
        )
      : await trainInTurn(pending, datasets, options, progress);
  const trainingSeconds = (performance.now() - trainingStarted) / 1000;
  let next = 0;
  const runs = kept.map((k) => k ?? outcome.summaries[next++]).filter((r): r is RunSummary => r !== undefined);
  if (writer) writeFileAtomic(join(config.out, 'results.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
  const landscapeStarted = performance.now();
  if (writer && !outcome.stopped && config.landscape !== undefined) await landscapes(context, runs);
  if (forecast !== undefined && !outcome.stopped) {
    const landscapeSeconds = (performance.now() - landscapeStarted) / 1000;
    const trained = new Set(pending.map((p) => p.out));
    forecast.actual = {
      trainingSeconds,
      landscapeSeconds,
      seconds: trainingSeconds + landscapeSeconds,
      runs: Object.fromEntries(runs.filter((r) => trained.has(r.dir)).map((r) => [r.name, r.wallSeconds])),
    };
    writeForecast(config.out, forecast);
  }
  return { out: config.out, runs, stopped: outcome.stopped || (options.stop?.requested ?? false) };
}

/**
 * How many runs train at once: as asked (at most one per core), or measured
 * (auto); one in data-parallel training, where the processes already share
 * the cores. The library's default is one at a time; the CLI's is auto.
 */
async function parallelRuns(
  pending: TrainConfig[],
  datasets: Map<string, DatasetSplits>,
  options: ExperimentOptions,
  meter: SpeedMeter,
): Promise<number> {
  const asked = options.parallelRuns ?? 1;
  if (isInitialized() || pending.length < 2 || options.stop?.requested) return 1;
  if (asked !== 'auto') {
    const cores = availableParallelism();
    if (asked > cores) options.reporter.message(`parallel runs: ${asked} asked for, ${cores} cores here: ${cores} at once`);
    return Math.min(asked, cores);
  }
  const choice = await measureParallelRuns(pending, datasets, meter);
  options.reporter.message(`parallel runs: ${choice.reason}`);
  return choice.runs;
}

/** The runs one after another in this process (and in data-parallel training, every rank the same run). */
async function trainInTurn(
  plans: TrainConfig[],
  datasets: Map<string, DatasetSplits>,
  options: ExperimentOptions,
  progress: { total: number; done: number },
): Promise<ParallelOutcome> {
  const summaries: RunSummary[] = [];
  for (const plan of plans) {
    // A run that an earlier invocation started continues from its checkpoint (or starts over when it saved none).
    const resume = new RunDirectory(plan.out).exists();
    // Every rank decides from the same state before rank 0 starts writing the run.
    if (isInitialized()) await barrier();
    const result = await train(plan, {
      reporter: options.reporter,
      stop: options.stop,
      resume,
      datasets,
      syncBatchNorm: options.syncBatchNorm,
      tensorboard: options.tensorboard,
    });
    summaries.push(result);
    if (result.status === 'stopped') return { summaries, stopped: true };
    options.reporter.experimentProgress?.(++progress.done, progress.total);
  }
  return { summaries, stopped: false };
}
