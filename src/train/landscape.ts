/**
 * The loss landscape around a trained network (Li et al. 2018, "Visualizing
 * the Loss Landscape of Neural Nets"): the training loss on a fixed sample as
 * the weights move along random directions, each scaled filter by filter to
 * the norms of the weights' own filters so that networks of different widths
 * and scales are seen at comparable distances. A 1-D slice and a 2-D grid
 * show what Li et al.'s Fig. 5 shows: skip connections keep the surface
 * smooth and nearly convex where the plain network's turns chaotic. Batch
 * norm runs in eval mode (its running statistics fixed), so each point is a
 * deterministic function of the weights; biases and batch-norm parameters
 * stay put (Li et al.'s "biasbn" choice). The weights are restored bit for
 * bit afterwards.
 */
import { existsSync } from 'node:fs';

import { type Batch, DataLoader, type DatasetSplits, subset } from '../data/index.js';
import { checkFiniteWeights, loadCheckpoint, previewJson, readCheckpointStep } from '../io/index.js';
import type { Module } from '../nn/index.js';
import {
  type HessianRecord,
  type LandscapeFile,
  RunDirectory,
  type Setting,
  type TrainConfig,
  trainingMemoryFormat,
} from '../runs/index.js';
import {
  type Tensor,
  autocast,
  crossEntropy,
  dispose,
  getRngState,
  keep,
  manualSeed,
  noGrad,
  randn,
  scope,
  setRngState,
  zerosLike,
} from '../tensor/index.js';
import { resolveTrainConfig } from './config.js';
import { CURVATURE_DEFAULTS, type CurvatureOptions, type HessianCurvature, hessianCurvature } from './curvature.js';
import { prepareRun } from './prepare.js';

/** How a loss landscape is computed (Li et al. 2018): its resolution, sample, extent, seed and precision. */
export interface LandscapeOptions {
  /** Points of the 1-D slice, evenly spaced on [-range, range]; odd, so the trained weights are one of them. */
  points: number;
  /** Points a side of the 2-D grid on [-range, range]^2 (odd; 0: no grid). */
  grid: number;
  /** Training images the loss is averaged over (the first of a seeded shuffle of the training split). */
  sample: number;
  /** How far each direction goes either side; 1 moves every filter by its own norm. */
  range: number;
  /** Seed of the random directions and of the sample. */
  seed: number;
  /** The run's own precision ('run'), or fp32 or bf16 autocast: bf16 halves the time where the CPU has it natively (docs/benchmarks.md), and in one run moved the rise at distance 0.5 by 2% (4.45 against 4.53 in fp32). */
  precision: 'run' | 'fp32' | 'bf16';
}

const integerText = (text: string) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n)) throw new Error('must be an integer');
  return n;
};
const numberText = (text: string) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error('must be a number');
  return n;
};
/** A check that names its limit: "must be <what>" below or off the rule, "must be at most <max>" above it. */
function bounded(ok: (v: number) => boolean, what: string, max: number): (v: unknown) => string | undefined {
  return (v) => {
    if (typeof v !== 'number' || !ok(v)) return `must be ${what}, got ${v}`;
    return v > max ? `must be at most ${max.toLocaleString('en-US')}, got ${v}` : undefined;
  };
}
const oddAtLeast3 = (v: number) => Number.isInteger(v) && v >= 3 && v % 2 === 1;
const PRECISIONS = ['run', 'fp32', 'bf16'] as const;

/**
 * Every landscape setting, declared once: default, range, parser and help,
 * for the library, the experiment's `landscape` field and the command's flags.
 * The defaults are Li et al.'s resolution (docs/benchmarks.md gives their time).
 */
export const LANDSCAPE_SETTINGS: { readonly [K in keyof LandscapeOptions]: Setting<LandscapeOptions[K]> } = {
  points: {
    default: 41,
    flag: '<n>',
    help: 'points of the 1-D slice on [-range, range] (odd)',
    parse: integerText,
    check: bounded(oddAtLeast3, 'an odd integer >= 3', 1001),
  },
  grid: {
    default: 21,
    flag: '<n>',
    help: 'points a side of the 2-D grid (odd; 0: no grid)',
    parse: integerText,
    check: bounded((v) => v === 0 || oddAtLeast3(v), '0 (none) or an odd integer >= 3', 201),
  },
  sample: {
    default: 1000,
    flag: '<n>',
    help: 'training images the loss is averaged over',
    parse: integerText,
    check: bounded((v) => Number.isInteger(v) && v >= 1, 'a positive integer', 1e6),
  },
  range: {
    default: 1,
    flag: '<x>',
    help: 'how far each direction goes either side, in filter norms',
    parse: numberText,
    check: bounded((v) => Number.isFinite(v) && v > 0, 'a positive number', 100),
  },
  seed: {
    default: 0,
    flag: '<n>',
    help: 'seed of the directions and of the sample',
    parse: integerText,
    check: bounded((v) => Number.isInteger(v) && v >= 0, 'a non-negative integer', 2 ** 32 - 1),
  },
  precision: {
    default: 'run',
    flag: '<p>',
    help: 'run (the precision the run trained in), fp32, or bf16 autocast (twice as fast where the CPU has native bf16)',
    choices: PRECISIONS,
    check: (v: unknown) =>
      (PRECISIONS as readonly unknown[]).includes(v) ? undefined : `must be run, fp32 or bf16, got ${previewJson(v)}`,
  },
};

/** Li et al.'s resolution: every landscape setting at its default. */
export const LANDSCAPE_DEFAULTS = Object.fromEntries(
  Object.entries(LANDSCAPE_SETTINGS).map(([k, v]) => [k, v.default]),
) as unknown as LandscapeOptions;

/** The problems of landscape settings, each naming the setting. */
export function landscapeProblems(options: Partial<LandscapeOptions>): string[] {
  const known = Object.keys(LANDSCAPE_SETTINGS);
  const problems = Object.keys(options)
    .filter((k) => !known.includes(k))
    .map((k) => `landscape: unknown setting '${k}' (known: ${known.join(', ')})`);
  for (const [name, setting] of Object.entries(LANDSCAPE_SETTINGS) as [keyof LandscapeOptions, Setting<unknown>][]) {
    const problem = options[name] === undefined ? undefined : setting.check(options[name]);
    if (problem !== undefined) problems.push(`landscape ${name} ${problem}`);
  }
  return problems;
}

/** n evenly spaced values on [-range, range]. */
export function landscapeAxis(n: number, range: number): number[] {
  // Rounded to 12 digits so the axis reads -0.3, not -0.30000000000000004.
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Number((-range + (2 * range * i) / (n - 1)).toFixed(12))));
}

/**
 * One filter-normalised random direction per parameter, in parameters()
 * order: Gaussian, then each filter (a slice along the first dimension: a
 * convolution's output channel, a linear layer's output row) rescaled to the
 * norm of the same filter of the weights. Biases and batch-norm parameters
 * (one dimension or none) get zeros. Drawn from libtorch's generator as it
 * stands: seed it first for a repeatable direction.
 */
export function filterNormalizedDirection(model: Module): Tensor[] {
  return model.parameters().map((weight) =>
    scope(() => {
      if (weight.ndim <= 1) return zerosLike(weight);
      const direction = randn(weight.shape, { dtype: weight.dtype });
      const dims = Array.from({ length: weight.ndim - 1 }, (_, i) => i + 1);
      const scale = weight
        .detach()
        .norm(2, dims, { keepdim: true })
        .div(direction.norm(2, dims, { keepdim: true }).add(1e-10));
      return direction.mul(scale);
    }),
  );
}

/** The directions for a seed, leaving libtorch's generator as it was. */
export function landscapeDirections(model: Module, seed: number, count: 1 | 2): Tensor[][] {
  const state = getRngState();
  try {
    manualSeed(seed);
    return Array.from({ length: count }, () => filterNormalizedDirection(model));
  } finally {
    setRngState(state);
    state.dispose();
  }
}

/** A computed landscape: the training loss along one filter-normalised direction and over a grid of two. */
export interface LossLandscape {
  /** The 1-D slice: loss at origin + alpha * d1 for each alpha. */
  alphas: number[];
  line: number[];
  /** The 2-D grid: surface[j][i] is the loss at origin + surfaceAxis[i] * d1 + surfaceAxis[j] * d2 (empty without a grid). */
  surfaceAxis: number[];
  surface: number[][];
}

/** The mean cross-entropy of the model over the sample's batches (eval mode, no autograd). */
function sampleLoss(model: Module, batches: Batch[], options: { precision: string; memoryFormat: TrainConfig['memoryFormat'] }): number {
  let sum = 0;
  let count = 0;
  for (const { x, y } of batches) {
    sum += scope(() =>
      noGrad(() => {
        const logits = autocast(() => model.forward(x.contiguous(options.memoryFormat)), { enabled: options.precision === 'bf16' }).float();
        return crossEntropy(logits, y, { reduction: 'sum' }).item();
      }),
    );
    count += y.shape[0]!;
  }
  return sum / count;
}

/** Called as the landscape's points are computed: how many of how many. */
export interface LandscapeProgress {
  /** `done` of `total` points computed. */
  (done: number, total: number): void;
}

/** A progress callback that passes on every `share` of the points (and the last), not every point. */
export function progressEvery(share: number, report: LandscapeProgress): LandscapeProgress {
  let shown = 0;
  return (done, total) => {
    if (done < total && done - shown < Math.ceil(total * share)) return;
    shown = done;
    report(done, total);
  };
}

/**
 * The loss landscape of a model around its current weights, over a sample
 * (one batch or several). The model's weights and training mode are
 * restored exactly, also when a forward pass throws.
 */
export function lossLandscape(
  model: Module,
  sample: Batch | Batch[],
  given: Partial<LandscapeOptions> & { memoryFormat?: TrainConfig['memoryFormat'] } = {},
  onPoint?: LandscapeProgress,
): LossLandscape {
  const problems = landscapeProblems(Object.fromEntries(Object.entries(given).filter(([k]) => k !== 'memoryFormat')));
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  const options = { ...LANDSCAPE_DEFAULTS, memoryFormat: 'contiguous' as const, ...given };
  const batches = Array.isArray(sample) ? sample : [sample];
  if (batches.length === 0) throw new RangeError('lossLandscape: the sample holds no batch: give at least one');
  const weights = model.parameters();
  const alphas = landscapeAxis(options.points, options.range);
  // A grid of 0 points is no grid: an empty axis.
  const surfaceAxis = landscapeAxis(options.grid, options.range);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a second direction drawn without a grid is never used, and the generator is restored either way
  const [d1, d2 = []] = landscapeDirections(model, options.seed, surfaceAxis.length > 0 ? 2 : 1) as [Tensor[], Tensor[]?];
  const origin = scope(() => weights.map((w) => keep(w.detach().clone())));
  const wasTraining = model.training;
  const total = alphas.length + surfaceAxis.length ** 2;
  let done = 0;
  const lossAt = (alpha: number, beta: number) => {
    noGrad(() =>
      scope(() =>
        weights.forEach((w, i) => {
          const moved = origin[i]!.add(d1[i]!, alpha);
          w.copy_(beta === 0 ? moved : moved.add(d2[i]!, beta));
        }),
      ),
    );
    const loss = sampleLoss(model, batches, options);
    onPoint?.(++done, total);
    return loss;
  };
  model.eval();
  try {
    const line = alphas.map((a) => lossAt(a, 0));
    const surface = surfaceAxis.map((b) => surfaceAxis.map((a) => lossAt(a, b)));
    return { alphas, line, surfaceAxis, surface };
  } finally {
    noGrad(() => weights.forEach((w, i) => w.copy_(origin[i]!)));
    model.train(wasTraining);
    dispose([origin, d1, d2]);
  }
}

/** The Hessian's curvature on the sample as landscape.json records it (a one-batch sample has no spread: null). */
function hessianRecord(model: Module, sample: Batch[], options: CurvatureOptions): HessianRecord {
  const started = performance.now();
  const measured = hessianCurvature(model, sample, options);
  const record = (m: HessianCurvature['trace']) => ({
    mean: m.mean,
    std: Number.isFinite(m.std) ? m.std : null,
    interval: m.interval95 ?? null,
    perBatch: m.perBatch,
  });
  return {
    topEigenvalue: record(measured.topEigenvalue),
    trace: record(measured.trace),
    hvps: measured.hvps,
    sample: measured.sample,
    batches: sample.length,
    traceSamples: options.traceSamples ?? CURVATURE_DEFAULTS.traceSamples,
    tolerance: options.tolerance ?? CURVATURE_DEFAULTS.tolerance,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The sample a run's landscape is computed on: normalised like its training images, without augmentation. */
function landscapeSample(splits: Awaited<ReturnType<typeof prepareRun>>, options: LandscapeOptions): Batch[] {
  const images = subset(splits.trainSplit, options.sample, options.seed);
  const loader = new DataLoader(images, { batchSize: 250, shuffle: false, normalization: splits.normalization });
  try {
    return [...loader.epoch(0)].map((b) => ({ x: keep(b.x), y: keep(b.y) }));
  } finally {
    loader.dispose();
  }
}

/** The precision a landscape of a run is computed in. */
function landscapePrecision(options: LandscapeOptions, config: TrainConfig): 'fp32' | 'bf16' {
  return options.precision === 'run' ? (config.precision as 'fp32' | 'bf16') : options.precision;
}

/** Whether a run holds a landscape computed with these settings from its last checkpoint. */
export function hasLandscape(path: string, options: LandscapeOptions): boolean {
  const dir = new RunDirectory(path);
  if (!existsSync(dir.file('landscape.json'))) return false;
  const file = dir.readJson<LandscapeFile>('landscape.json');
  const wanted = { ...options, precision: landscapePrecision(options, dir.readJson<TrainConfig>('config.json')) };
  const same = (Object.keys(LANDSCAPE_DEFAULTS) as (keyof LandscapeOptions)[]).every(
    (k) => (k === 'sample' ? file.sampleAsked : file[k]) === wanted[k],
  );
  return same && file.step === readCheckpointStep(dir.checkpointPath);
}

/** What else landscapeOfRun takes: progress, datasets already loaded, and whether to measure the Hessian's curvature too. */
export interface LandscapeRunExtras {
  onPoint?: LandscapeProgress;
  datasets?: Map<string, DatasetSplits>;
  /** Measure the Hessian on the same sample, in fp32, with these options (see hessianCurvature), into landscape.json's `hessian`. */
  hessian?: CurvatureOptions;
}

/** The landscape of a run's last checkpoint (and with `hessian`, its curvature), written to the run's landscape.json. */
export async function landscapeOfRun(
  path: string,
  given: Partial<LandscapeOptions> = {},
  { onPoint, datasets, hessian }: LandscapeRunExtras = {},
): Promise<LandscapeFile> {
  const problems = landscapeProblems(given);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  const options = { ...LANDSCAPE_DEFAULTS, ...given };
  const dir = new RunDirectory(path);
  if (!dir.exists())
    throw new Error(`${path} is not a run directory (no config.json): give a folder written by skipstudio train or experiment`);
  const config = resolveTrainConfig({ ...dir.readJson<TrainConfig>('config.json'), out: path });
  // A run in training changes its checkpoint under the landscape: its lock says whether one is.
  const lock = dir.lock();
  const prepared = await prepareRun(config, datasets);
  let step: number;
  let sample: Batch[] = [];
  try {
    const checkpoint = loadCheckpoint(dir.checkpointPath);
    try {
      checkFiniteWeights(checkpoint.modelState, dir.checkpointPath);
      prepared.model.loadStateDict(checkpoint.modelState);
      step = checkpoint.step;
    } finally {
      checkpoint.dispose();
    }
    const precision = landscapePrecision(options, config);
    const memoryFormat = trainingMemoryFormat({ ...config, precision });
    // Stryker disable next-line ObjectLiteral: the weights' memory format is for speed, as in training; the losses are the same bit for bit (the bf16 test)
    prepared.model.to({ memoryFormat });
    sample = landscapeSample(prepared, options);
    const started = performance.now();
    const landscape = lossLandscape(prepared.model, sample, { ...options, precision, memoryFormat }, onPoint);
    const file: LandscapeFile = {
      ...options,
      precision,
      sample: sample.reduce((n, b) => n + b.y.shape[0]!, 0),
      sampleAsked: options.sample,
      step,
      ...landscape,
      seconds: (performance.now() - started) / 1000,
      ...(hessian === undefined ? {} : { hessian: hessianRecord(prepared.model, sample, hessian) }),
    };
    dir.writeJson('landscape.json', file);
    return file;
  } finally {
    dispose([sample.map((b) => [b.x, b.y]), prepared.model.parameters(), prepared.model.buffers()]);
    lock.release();
  }
}
