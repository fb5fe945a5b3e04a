/**
 * How fast a kind of run trains and evaluates here, measured on a few real
 * steps: for choosing how many runs train at once (parallel-choice.ts) and
 * for the experiment's forecast (forecast.ts). Runs of one kind (model,
 * options, batch, precision, layout) train at one speed, so each kind is
 * measured once per thread count and the answer kept.
 */
import { DataLoader, type DatasetSplits, subset } from '../data/index.js';
import { type TrainConfig, trainingMemoryFormat } from '../runs/index.js';
import { dispose, getNumThreads, manualSeed, setNumThreads } from '../tensor/index.js';
import { EVAL_BATCH_SIZE, evaluate } from './evaluation.js';
import { gradientWeights, makeOptimizer, prepareRun } from './prepare.js';
import { trainingStep } from './step.js';

/** Images per second, and the seconds a run spends before its first step (building its model). */
export interface RunSpeed {
  trainImagesPerSecond: number;
  evalImagesPerSecond: number;
  setUpSeconds: number;
  /**
   * The extra seconds of an evaluation that follows training steps, over one that follows an evaluation: the
   * trainer pays it every epoch (measured: 3 s for HW5Net's 213 layers in bf16 here, whatever the test split's size).
   */
  evalWarmUpSeconds: number;
}

/** The kind of a run: runs of one kind train at one speed. */
export function kindOf(plan: TrainConfig): string {
  const options = Object.entries(plan.modelOptions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${plan.model}${options ? ` (${options})` : ''}, batch ${plan.batchSize}, ${plan.precision}, ${trainingMemoryFormat(plan)}`;
}

/** Steps of a timed loop: at least `least`, more while under `seconds` (at most `most`). */
function timedSteps(step: () => void, least: number, most: number, seconds: number): number {
  const start = performance.now();
  let steps = 0;
  while (steps < least || (steps < most && performance.now() - start < seconds * 1000)) {
    step();
    steps += 1;
  }
  return steps / ((performance.now() - start) / 1000);
}

/** One measurement: a few training steps on the first batch after two to warm up, then evaluation of a test batch. */
async function measure(plan: TrainConfig, datasets: Map<string, DatasetSplits>, threads: number): Promise<RunSpeed> {
  const before = getNumThreads();
  setNumThreads(threads);
  manualSeed(plan.seed);
  const started = performance.now();
  const { splits, trainSplit, normalization, model } = await prepareRun(plan, datasets);
  const memoryFormat = trainingMemoryFormat(plan);
  model.to({ memoryFormat });
  const setUpSeconds = (performance.now() - started) / 1000;
  const optimizer = makeOptimizer(plan, model.parameters());
  const batches = new DataLoader(trainSplit, { batchSize: plan.batchSize, shuffle: false, dropLast: true, normalization }).epoch(0);
  const batch = batches.next().value;
  batches.return(undefined);
  if (batch === undefined) throw new Error(`${plan.out}: the training split holds no full batch of ${plan.batchSize}`);
  const parts = {
    model,
    optimizer,
    scheduler: undefined,
    config: plan,
    memoryFormat,
    gradientWeights: gradientWeights(model).map(([, t]) => t),
  };
  try {
    for (let i = 0; i < 2; i++) trainingStep(parts, batch, false);
    const trainSteps = timedSteps(() => trainingStep(parts, batch, false), 3, 20, 1);
    const testImages = Math.min(splits.test.labels.length, EVAL_BATCH_SIZE);
    const test = new DataLoader(subset(splits.test, testImages, 0), { batchSize: EVAL_BATCH_SIZE, shuffle: false, normalization });
    const coldStart = performance.now();
    evaluate(model, test, plan);
    const coldSeconds = (performance.now() - coldStart) / 1000;
    const evalRounds = timedSteps(() => evaluate(model, test, plan), 1, 5, 0.5);
    return {
      trainImagesPerSecond: trainSteps * plan.batchSize,
      evalImagesPerSecond: evalRounds * testImages,
      setUpSeconds,
      evalWarmUpSeconds: Math.max(0, coldSeconds - 1 / evalRounds),
    };
  } finally {
    dispose([batch.x, batch.y, ...model.parameters()]);
    setNumThreads(before);
  }
}

/** Measured speeds, each kind and thread count measured once. */
export class SpeedMeter {
  #speeds = new Map<string, RunSpeed>();
  constructor(private readonly datasets: Map<string, DatasetSplits>) {}

  /** The speed of the plan's kind of run at `threads` threads: measured the first time, then remembered. */
  async speed(plan: TrainConfig, threads: number): Promise<RunSpeed> {
    const key = `${kindOf(plan)}; ${threads} threads`;
    let speed = this.#speeds.get(key);
    if (speed === undefined) {
      speed = await measure(plan, this.datasets, threads);
      this.#speeds.set(key, speed);
    }
    return speed;
  }
}
