/**
 * The experiment: the skip-connection study as a grid of models x learning
 * rates, run one after another into one experiment directory
 * (runs/<name>/<model>-lr<lr>/ each), then summarised in results.json and a
 * table. Re-running an experiment continues it: finished and diverged runs
 * are kept, a stopped one is resumed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { DatasetSplits } from '../data/index.js';
import { writeFileAtomic } from '../io/index.js';
import { formatCount } from '../nn/index.js';
import { ConfigError, type TrainConfig, resolveTrainConfig } from './config.js';
import type { TrainingReporter } from './progress.js';
import { RunDirectory, type StatusFile } from './run-dir.js';
import { type RunSummary, type StopFlag, summarizeRun, train } from './trainer.js';

export interface ExperimentConfig {
  /** The experiment directory. */
  out: string;
  models: string[];
  lrs: number[];
  /** Settings shared by every run (model, lr and out are set per run). */
  base: Partial<TrainConfig>;
  /** Options per model name, e.g. { hw5net: { width: 8 } }. */
  modelOptions: Record<string, Record<string, number>>;
}

export type PresetName = 'default' | 'full';

/**
 * default: HW5Net, its plain twin and Net3, each at two learning rates, one
 * epoch of Fashion-MNIST each: about 10 minutes on 2 cores.
 * full: the same grid trained for 20 epochs with augmentation, HW5Net at
 * width 16 in channels-last (11% faster at that width): the longer,
 * best-accuracy run, about 6.5 hours on 2 cores (estimated: each width-16
 * run takes about 95 minutes, README).
 */
export const PRESETS: Record<PresetName, Omit<ExperimentConfig, 'out'>> = {
  default: {
    models: ['hw5net', 'hw5net-plain', 'net3'],
    lrs: [0.1, 0.02],
    base: { dataset: 'fashion-mnist', epochs: 1, batchSize: 64, optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4, schedule: 'onecycle', logEvery: 50, gradEvery: 50 },
    modelOptions: {},
  },
  full: {
    models: ['hw5net', 'hw5net-plain', 'net3'],
    lrs: [0.1, 0.02],
    base: {
      dataset: 'fashion-mnist', epochs: 20, batchSize: 64, optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4, schedule: 'onecycle', augment: true,
      memoryFormat: 'channelsLast', logEvery: 100, gradEvery: 100,
    },
    modelOptions: { 'hw5net': { width: 16, blocksPerStage: 6 }, 'hw5net-plain': { width: 16, blocksPerStage: 6 } },
  },
};

export function experimentFromPreset(preset: PresetName, out: string, overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const base = PRESETS[preset];
  if (base === undefined) throw new RangeError(`unknown preset '${preset}': choose default or full`);
  return {
    out,
    models: overrides.models ?? base.models,
    lrs: overrides.lrs ?? base.lrs,
    base: { ...base.base, ...overrides.base },
    modelOptions: { ...base.modelOptions, ...overrides.modelOptions },
  };
}

export function runName(model: string, lr: number): string {
  return `${model}-lr${lr}`;
}

/** Checks every run's configuration before the first one starts. */
export function planExperiment(config: ExperimentConfig): TrainConfig[] {
  if (config.models.length === 0) throw new ConfigError(['the experiment names no model']);
  if (config.lrs.length === 0) throw new ConfigError(['the experiment names no learning rate']);
  const plans: TrainConfig[] = [];
  const problems: string[] = [];
  for (const model of config.models) {
    for (const lr of config.lrs) {
      try {
        plans.push(resolveTrainConfig({
          ...config.base, model, lr, modelOptions: config.modelOptions[model] ?? {}, out: join(config.out, runName(model, lr)),
        }));
      } catch (error) {
        problems.push(`${runName(model, lr)}: ${(error as Error).message.replace(/^invalid configuration:\n\s*- /, '').replace(/\n\s*- /g, '; ')}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** The summary of a run that an earlier invocation already finished (or saw diverge), else undefined. */
function summaryOfExisting(plan: TrainConfig): RunSummary | undefined {
  const dir = new RunDirectory(plan.out);
  if (!existsSync(dir.file('status.json'))) return undefined;
  const { status } = dir.readJson<StatusFile>('status.json');
  return status === 'finished' || status === 'diverged' ? summarizeRun(dir, plan) : undefined;
}

export interface ExperimentOptions {
  reporter: TrainingReporter;
  stop?: StopFlag;
  /** The command that reproduces this experiment, recorded for the report. */
  command?: string;
}

export interface ExperimentResult {
  out: string;
  runs: RunSummary[];
  stopped: boolean;
}

export async function runExperiment(config: ExperimentConfig, options: ExperimentOptions): Promise<ExperimentResult> {
  const plans = planExperiment(config);
  const { reporter } = options;
  writeFileAtomic(join(config.out, 'experiment.json'), `${JSON.stringify({ ...config, command: options.command, runs: plans.map((p) => p.out) }, null, 2)}\n`);
  const datasets = new Map<string, DatasetSplits>();
  const runs: RunSummary[] = [];
  for (const [index, plan] of plans.entries()) {
    reporter.experimentProgress?.(index, plans.length);
    const existing = summaryOfExisting(plan);
    if (existing !== undefined) {
      reporter.message(`[${existing.name}] already ${existing.status}; kept`);
      runs.push(existing);
      continue;
    }
    const resume = new RunDirectory(plan.out).exists() && existsSync(new RunDirectory(plan.out).checkpointPath);
    if (new RunDirectory(plan.out).exists() && !resume) {
      throw new Error(`${plan.out} holds a run without a checkpoint: delete it to run it again`);
    }
    const result = await train(plan, { reporter, stop: options.stop, resume, datasets });
    runs.push(result);
    if (result.status === 'stopped') {
      writeResults(config.out, runs);
      return { out: config.out, runs, stopped: true };
    }
  }
  reporter.experimentProgress?.(plans.length, plans.length);
  writeResults(config.out, runs);
  return { out: config.out, runs, stopped: false };
}

function writeResults(out: string, runs: RunSummary[]): void {
  writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
}

function percent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '-';
}

/** The closing table: one row per run. */
export function formatResultsTable(runs: RunSummary[]): string {
  const header = ['model', 'lr', 'learnable layers', 'parameters', 'final test acc', 'best test acc', 'wall time', 'images/s', 'diverged'];
  const rows = runs.map((r) => [
    r.model, String(r.lr), String(r.learnableLayers), formatCount(r.parameters), percent(r.finalTestAccuracy),
    percent(r.bestTestAccuracy), `${r.wallSeconds.toFixed(0)} s`, Number.isFinite(r.imagesPerSecond) ? r.imagesPerSecond.toFixed(0) : '-',
    r.status === 'diverged' ? `yes (step ${r.divergedAt?.step})` : r.status === 'stopped' ? 'stopped' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
