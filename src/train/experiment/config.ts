/** What an experiment is: its models, depths, learning rates, seeds and shared settings, and the limits on them. */
import type { DatasetSplits } from '../../data/index.js';
import type { Recipe } from '../../models/catalog.js';
import type { RunSummary, TrainConfig } from '../../runs/index.js';
import type { LandscapeOptions } from '../landscape.js';
import type { TrainingReporter } from '../progress.js';
import type { StopFlag } from '../trainer.js';

/** An experiment: models x depths x learning rates x seeds, each model by its recipe, on one dataset, into one folder. */
export interface ExperimentConfig {
  /** The experiment directory. */
  out: string;
  models: string[];
  /**
   * One learning-rate grid for every model (the older form of an
   * experiment); a model's own recipe's lrs win over it, and the model's
   * designed learning rates apply when neither is given.
   */
  lrs?: number[];
  /** Per model: optimizer settings and learning rates over the recipe it was designed with (recipes.ts). */
  recipes: Record<string, Recipe>;
  /** Runs per model and learning rate, with seeds base.seed, base.seed + 1, ... */
  seeds: number;
  /** Settings shared by every run, over each model's designed recipe (model, lr, seed and out are set per run). */
  base: Partial<TrainConfig>;
  /** Options per model name, e.g. { hw5net: { width: 8 } }. */
  modelOptions: Record<string, Record<string, number>>;
  /** Per model, the depths to train it at: values of its depth option (catalog.ts: blocksPerStage, chainLength, depth). */
  depths: Record<string, number[]>;
  /**
   * How depths and learning rates combine: 'grid' trains every depth at
   * every learning rate; 'one-at-a-time' trains every depth at the model's
   * first learning rate and its other learning rates at its deepest depth
   * (each dimension varied from one reference point, for fewer runs).
   */
  sweep: Sweep;
  /** Why the experiment is set up as it is (e.g. how its learning rates were chosen), for the report's set-up section. */
  notes?: string[];
  /** After training, the loss landscape of each model with a plain twin and of that twin, at their deepest depth (undefined: none). */
  landscape?: Partial<LandscapeOptions>;
}

/** How depths and learning rates combine: every pair, or every depth at the first learning rate and the others at the deepest. */
export const SWEEPS = ['grid', 'one-at-a-time'] as const;
/** Runs per model and learning rate at most: beyond this an experiment is a typo, not a study. */
export const MAX_SEEDS = 1000;
/** One of {@link SWEEPS}. */
export type Sweep = (typeof SWEEPS)[number];

/** How an experiment is run: its progress display, stop flag, parallelism and forecast. */
export interface ExperimentOptions {
  reporter: TrainingReporter;
  stop?: StopFlag;
  /** The command that reproduces this experiment, recorded for the report. */
  command?: string;
  /** Data-parallel training: batch norm statistics over the global batch. */
  syncBatchNorm?: boolean;
  /** Runs trained at once in worker processes, the threads divided between them; auto: chosen by a short measurement (default 1). */
  parallelRuns?: number | 'auto';
  /** Measure each kind of run first and print the experiment's duration (forecast.json; the CLI's default). */
  forecast?: boolean;
  /** A TensorBoard log folder every run appends its scalars to as it logs (TrainOptions.tensorboard); runs finished before are converted. */
  tensorboard?: string;
}

/** An experiment's outcome: its folder, each run's summary, and whether it was stopped before the end. */
export interface ExperimentResult {
  out: string;
  runs: RunSummary[];
  stopped: boolean;
}

/** One invocation of an experiment as its steps share it: what it is, its planned runs, their data, how it runs, and whether this process writes. */
export interface ExperimentContext {
  config: ExperimentConfig;
  plans: TrainConfig[];
  datasets: Map<string, DatasetSplits>;
  options: ExperimentOptions;
  /** Rank 0 of data-parallel training, or the one process: the writer of the experiment's files. */
  writer: boolean;
}
