/**
 * Everything a run needs before its first step, shared by train and eval:
 * the dataset (loaded once per experiment and checked for consistent
 * shapes), the model built for its images, the optimizer and the schedule a
 * config names, and the description of the model that model.json records.
 */
import { type DatasetSplits, computeNormalization, getDatasetInfo, loadDataset, subset } from '../data/index.js';
import { SkipBlock, buildModel, weightLayers } from '../models/index.js';
import { type Module, summary } from '../nn/index.js';
import { Adam, AdamW, CosineAnnealingLR, type LRScheduler, MultiStepLR, OneCycleLR, type Optimizer, SGD } from '../optim/index.js';
import type { ModelInfo, TrainConfig } from '../runs/index.js';
import type { Tensor } from '../tensor/index.js';

/** The key of a run's dataset in a map of loaded datasets. */
export function datasetKey(config: Pick<TrainConfig, 'dataset' | 'dataDir'>): string {
  return `${config.dataset}:${config.dataDir ?? ''}`;
}

/** The images a run trains on per epoch: its subset, else the whole training split (of a loaded dataset). */
export function trainImages(plan: TrainConfig, datasets: Map<string, DatasetSplits>): number {
  const total = datasets.get(datasetKey(plan))!.train.labels.length;
  return plan.trainSubset > 0 ? Math.min(plan.trainSubset, total) : total;
}

/** Refuses an empty split, and splits that disagree in image shape or classes: a mismatch found before training, not after an epoch. */
export function checkDatasetShapes(splits: DatasetSplits, config: Pick<TrainConfig, 'dataset' | 'dataDir'>): void {
  const { train, test } = splits;
  const where = `${config.dataset}${config.dataDir ? ` in ${config.dataDir}` : ''}`;
  const shape = (s: DatasetSplits['train']) => `${s.shape.channels}x${s.shape.height}x${s.shape.width}`;
  for (const [name, split] of [
    ['training', train],
    ['test', test],
  ] as const) {
    if (split.labels.length > 0) continue;
    // An empty test split would leave every evaluation NaN, and the run reported as diverged.
    throw new Error(
      `${where}: the ${name} split holds no images; a run needs both splits` +
        (config.dataset === 'coco'
          ? ` (a subset built with --${name === 'test' ? 'val' : 'train'}-per-class 0 has none: build it again with a count above 0)`
          : ''),
    );
  }
  if (shape(train) !== shape(test)) {
    throw new Error(
      `${where}: the training images are ${shape(train)} but the test images ${shape(test)}; both splits must have one shape`,
    );
  }
  if (train.classes.length !== test.classes.length || train.classes.some((c, i) => c !== test.classes[i])) {
    throw new Error(
      `${where}: the training split's classes (${train.classes.join(', ')}) differ from the test split's (${test.classes.join(', ')})`,
    );
  }
}

/** Loads (or takes from `datasets`) a config's dataset, checked. */
export async function loadRunDataset(config: TrainConfig, datasets?: Map<string, DatasetSplits>): Promise<DatasetSplits> {
  const key = datasetKey(config);
  let splits = datasets?.get(key);
  if (splits === undefined) {
    splits = await loadDataset(config.dataset, config.dataDir);
    checkDatasetShapes(splits, config);
    datasets?.set(key, splits);
  }
  return splits;
}

/** Builds the model and data a config describes. */
export async function prepareRun(config: TrainConfig, datasets?: Map<string, DatasetSplits>) {
  const info = getDatasetInfo(config.dataset);
  const splits = await loadRunDataset(config, datasets);
  const trainSplit = subset(splits.train, config.trainSubset, config.seed);
  const normalization = computeNormalization(splits.train);
  // The loaded data decides the shape (a COCO subset may be built at another size than the registry's 64x64).
  const model = buildModel(config.model, splits.train.shape, splits.train.classes.length, config.modelOptions);
  return { info, splits, trainSplit, normalization, model };
}

/** The optimizer the run's settings name (SGD with Nesterov momentum, Adam or AdamW) over the given parameters. */
export function makeOptimizer(config: TrainConfig, params: Tensor[]): Optimizer<{ lr: number }> {
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.momentum > 0 });
    case 'adam':
      return new Adam(params, { lr: config.lr, betas: config.betas, weightDecay: config.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: config.lr, betas: config.betas, weightDecay: config.weightDecay });
  }
}

/** The schedule, stepped every iteration: cosine decay, 1cycle, or x0.1 at 50% and 75% of training. */
export function makeScheduler(config: TrainConfig, optimizer: Optimizer<{ lr: number }>, totalSteps: number): LRScheduler | undefined {
  switch (config.schedule) {
    case 'constant':
      return undefined;
    case 'cosine':
      return new CosineAnnealingLR(optimizer, totalSteps);
    case 'onecycle':
      return new OneCycleLR(optimizer, config.lr, totalSteps + 1, { cycleMomentum: config.optimizer === 'sgd' });
    case 'step':
      return new MultiStepLR(optimizer, [Math.floor(totalSteps / 2), Math.floor((3 * totalSteps) / 4)], 0.1);
  }
}

/** The weights whose gradient norms a run records: every weight of two or more dimensions, input side first. */
export function gradientWeights(model: Module): [string, Tensor][] {
  return model.namedParameters().filter(([, t]) => t.ndim >= 2);
}

/** model.json: what is trained, for the report. */
export function describeModel(
  model: Module,
  config: TrainConfig,
  splits: DatasetSplits,
  normalization: ModelInfo['normalization'],
): ModelInfo {
  const { channels, height, width } = splits.train.shape;
  const s = summary(model, [channels, height, width]);
  return {
    model: config.model,
    modelOptions: config.modelOptions,
    learnableLayers: s.parameterTensors,
    weightLayers: weightLayers(model),
    parameters: s.totalParameters,
    skipBlocks: model.modules().filter((m) => m instanceof SkipBlock).length,
    flops: s.totalFlops,
    inputShape: [channels, height, width],
    classes: splits.train.classes,
    normalization,
    gradientLayers: gradientWeights(model).map(([k]) => k),
  };
}
