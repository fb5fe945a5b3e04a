/**
 * The records of a run directory, as training writes them and the report,
 * the CLI and the dashboard read them: status, metrics lines, the model's
 * description, the evaluation and the per-image predictions.
 */
import type { Normalization } from '../data/loader.js';

/** failed: an error ended the run (its message says which); --resume continues it from its last checkpoint once the cause is fixed. */
export type RunStatus = 'running' | 'finished' | 'stopped' | 'diverged' | 'failed';

/** status.json: the run's state, its progress counters (epochs done, step of totalSteps) and wall time, rewritten as training goes. */
export interface StatusFile {
  status: RunStatus;
  epochsDone: number;
  step: number;
  totalSteps: number;
  wallSeconds: number;
  divergedAt?: { epoch: number; step: number; loss: number };
  message?: string;
  updatedAt: string;
  /** The training process and its host while it runs, so readers can tell a run in progress from one whose process is gone. */
  pid?: number;
  host?: string;
}

/** A metrics.jsonl record for a window of training iterations: loss, learning rate, throughput and the share of time spent waiting for data. */
export interface IterationRecord {
  type: 'iteration';
  epoch: number;
  step: number;
  /** Training loss averaged over the window of iterations ending at this step. */
  loss: number;
  lr: number;
  imagesPerSecond: number;
  dataWaitShare: number;
}

/** A metrics.jsonl record written at each epoch's end (epoch counts from 0): train and test loss and accuracy, learning rate, seconds and throughput. */
export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  lr: number;
  seconds: number;
  /** The run's wall time at this epoch's end, its evaluation included (absent in records written before it was kept). */
  wallSeconds?: number;
  imagesPerSecond: number;
  dataWaitShare: number;
  /** The training process's resident memory (MiB) and its live tensors at the epoch's end: both stay flat over a long run (absent in older records). */
  rssMiB?: number;
  liveTensors?: number;
}

/** A metrics.jsonl record of the gradient norm of each weight at one step. */
export interface GradientRecord {
  type: 'gradients';
  epoch: number;
  step: number;
  /** Norm of each weight's gradient, in the order of model.json's gradientLayers (null: the weight got no gradient). */
  norms: (number | null)[];
}

/** A metrics.jsonl record written when the training loss diverged: where, and the loss it reached. */
export interface DivergedRecord {
  type: 'diverged';
  epoch: number;
  step: number;
  loss: number;
}

/** Any line of metrics.jsonl, told apart by its type. */
export type MetricRecord = IterationRecord | EpochRecord | GradientRecord | DivergedRecord;

/** model.json: what was trained. */
export interface ModelInfo {
  model: string;
  modelOptions: Record<string, number>;
  learnableLayers: number;
  /** Convolutions and linear layers on the main path (He et al.'s depth; absent in runs made before it was recorded). */
  weightLayers?: number;
  parameters: number;
  skipBlocks: number;
  flops: number;
  inputShape: number[];
  classes: string[];
  normalization: Normalization;
  /** Names of the weights whose gradient norms the metrics record, input side first. */
  gradientLayers: string[];
}

/** Accuracy, per-class accuracy and the confusion matrix of a set of predictions. */
export interface ClassificationReport {
  accuracy: number;
  /** Accuracy of each true class (NaN where the class has no examples). */
  perClassAccuracy: number[];
  /** confusionMatrix[true][predicted] = count. */
  confusionMatrix: number[][];
  count: number;
}

/** eval.json: the final evaluation on the test split. */
export interface EvaluationFile extends ClassificationReport {
  split: 'test';
  loss: number;
  classes: string[];
}

/** predictions.json: the final evaluation's prediction for every test image, in the test split's order. */
export interface Predictions {
  split: 'test';
  labels: number[];
  predicted: number[];
}

/** landscape.json: the loss around a run's trained weights along filter-normalised random directions (train/landscape.ts). */
export interface LandscapeFile {
  points: number;
  grid: number;
  /** Training images the loss is averaged over. */
  sample: number;
  /** The sample asked for (more than the training split holds gives the whole split). */
  sampleAsked: number;
  range: number;
  seed: number;
  precision: 'fp32' | 'bf16';
  /** The training step of the checkpoint it was computed from. */
  step: number;
  alphas: number[];
  line: number[];
  surfaceAxis: number[];
  /** surface[j][i]: the loss at surfaceAxis[i] along the first direction and surfaceAxis[j] along the second. */
  surface: number[][];
  seconds: number;
  /** The Hessian's curvature on the same sample, where it was asked for (skipstudio landscape --hessian). */
  hessian?: HessianRecord;
}

/** A curvature measure over the sample's batches: the mean, the standard deviation and 95% interval (null for one batch), each batch's value. */
export interface CurvatureRecord {
  mean: number;
  std: number | null;
  interval: [number, number] | null;
  perBatch: number[];
}

/** The Hessian of the training loss on a landscape's sample, in fp32 with batch norm in eval mode: PyHessian's measures. */
export interface HessianRecord {
  /** The dominant eigenvalue (power iteration). */
  topEigenvalue: CurvatureRecord;
  /** The trace (Hutchinson's estimator). */
  trace: CurvatureRecord;
  /** Hessian-vector products computed in all. */
  hvps: number;
  /** Images and batches the measures were taken on. */
  sample: number;
  batches: number;
  /** Rademacher vectors per batch, and the relative change at which power iteration stopped. */
  traceSamples: number;
  tolerance: number;
  seconds: number;
}

/** When a run first reached its target test accuracy: the epoch (counted from 1) and the wall seconds at its end, both null if it never did. */
export interface TimeToAccuracy {
  target: number;
  epoch: number | null;
  seconds: number | null;
}

/** One run in a row: what the experiment's table and results.json show. */
export interface RunSummary {
  name: string;
  dir: string;
  model: string;
  /** The value of the model's depth option when the experiment sets it (e.g. blocksPerStage 6 for hw5net-d6-lr0.1-s0). */
  depth?: number;
  lr: number;
  seed: number;
  status: RunStatus;
  learnableLayers: number;
  /** Convolutions and linear layers on the main path (absent for runs made before it was recorded). */
  weightLayers?: number;
  parameters: number;
  finalTestAccuracy: number;
  bestTestAccuracy: number;
  wallSeconds: number;
  imagesPerSecond: number;
  /** Time to accuracy: the first epoch whose test accuracy reached the run's targetAccuracy and the wall seconds to its end (null: not reached); absent without a target. */
  timeToAccuracy?: TimeToAccuracy;
  divergedAt?: { epoch: number; step: number; loss: number };
}

/** The experiment's forecast file (in its folder), written before training and completed with the actual times. */
export const FORECAST_FILE = 'forecast.json';

/** One run's forecast: its name, its epochs and the seconds it is expected to take. */
export interface RunForecast {
  name: string;
  epochs: number;
  seconds: number;
}

/** An experiment's time in seconds: training, loss landscapes, and the two together. */
export interface ExperimentTimes {
  trainingSeconds: number;
  landscapeSeconds: number;
  seconds: number;
}

/** forecast.json: the experiment's forecast times, how its runs were laid out, each run's forecast, and the actual times once it ends. */
export interface ExperimentForecast extends ExperimentTimes {
  /** Runs trained at once, and the threads each had when measured. */
  parallelRuns: number;
  threadsPerRun: number;
  runs: RunForecast[];
  /** Written when the experiment ends: what it took, and each run's wall time. */
  actual?: ExperimentTimes & { runs: Record<string, number> };
}
