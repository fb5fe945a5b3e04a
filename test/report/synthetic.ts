/**
 * Synthetic inputs for the report's tests, their numbers written out so each
 * expected sentence and figure can be worked out by hand: run records as the
 * report loads them, and loss-landscape files.
 */
import { DEFAULT_TRAIN_CONFIG, type LandscapeFile } from '../../src/runs/index.js';
import type { RunData } from '../../src/report/load.js';

export interface Synthetic {
  model: string;
  lr: number;
  seed?: number;
  /** Which of the test images (labels all 0) the run gets right. */
  right?: boolean[];
  /** The final test accuracy; none (no eval.json, no epochs) when left out with `right`. */
  accuracy?: number;
  /** Gradient norm of each weight, input side first (one gradient record). */
  gradients?: number[];
  status?: Partial<RunData['status']>;
  landscape?: RunData['landscape'];
}

/** A run of 3 epochs as the report loads it: finished unless told otherwise, evaluated when it has an accuracy or predictions. */
export function run({ model, lr, seed = 0, right, accuracy, gradients, status, landscape }: Synthetic): RunData {
  const acc = accuracy ?? (right ? right.filter(Boolean).length / right.length : undefined);
  const layers = (gradients ?? []).map((_, i) => `layer${i}.weight`);
  return {
    name: `${model}-lr${lr}-s${seed}`,
    dir: `/nowhere/${model}-lr${lr}-s${seed}`,
    config: { ...DEFAULT_TRAIN_CONFIG, model, lr, seed, epochs: 3 },
    model: {
      model,
      modelOptions: {},
      learnableLayers: 10,
      parameters: 100,
      skipBlocks: 0,
      flops: 1,
      inputShape: [1, 28, 28],
      classes: ['a', 'b'],
      normalization: { mean: [0], std: [1] },
      gradientLayers: layers,
    },
    status: { status: 'finished', epochsDone: 3, step: 30, totalSteps: 30, wallSeconds: 1, updatedAt: '', ...status },
    iterations: [],
    epochs: [],
    gradients: gradients ? [{ type: 'gradients', epoch: 0, step: 5, norms: gradients }] : [],
    evaluation:
      acc === undefined
        ? undefined
        : {
            split: 'test',
            accuracy: acc,
            perClassAccuracy: [acc, Number.NaN],
            confusionMatrix: [
              [0, 0],
              [0, 0],
            ],
            count: right?.length ?? 100,
            loss: 0.5,
            classes: ['a', 'b'],
          },
    predictions: right ? { split: 'test', labels: right.map(() => 0), predicted: right.map((r) => (r ? 0 : 1)) } : undefined,
    landscape,
  };
}

/** n test images: the first `first` right, the rest wrong. */
export function rightFirst(n: number, first: number): boolean[] {
  return Array.from({ length: n }, (_, i) => i < first);
}

/** A landscape file with the given slice on [-range, range] (and surface on the same square); the rest as given. */
export function landscapeFile(line: number[], surface: number[][] = [], rest: Partial<LandscapeFile> = {}): LandscapeFile {
  const range = rest.range ?? 1;
  const axis = (n: number) => Array.from({ length: n }, (_, i) => -range + (2 * range * i) / (n - 1));
  return {
    points: line.length,
    grid: surface.length,
    sample: 1000,
    sampleAsked: 1000,
    range,
    seed: 0,
    precision: 'fp32',
    step: 100,
    alphas: axis(line.length),
    line,
    surfaceAxis: surface.length ? axis(surface.length) : [],
    surface,
    seconds: 1,
    ...rest,
  };
}

/** 1 + a^2 + 2 b^2 on an n x n grid over [-1, 1]^2: convex everywhere. */
export const bowl = (n: number) =>
  Array.from({ length: n }, (_, j) =>
    Array.from({ length: n }, (_, i) => {
      const [a, b] = [-1 + (2 * i) / (n - 1), -1 + (2 * j) / (n - 1)];
      return 1 + a * a + 2 * b * b;
    }),
  );
