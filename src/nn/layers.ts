/**
 * The standard layers, each a thin owner of its parameters around a function
 * of src/tensor: Conv2d, BatchNorm2d, Linear, activations, pooling, Flatten,
 * Dropout, Identity, and the containers Sequential and ModuleList.
 * Field names and defaults are PyTorch's, so state dicts interchange.
 */
import {
  type Pair,
  Tensor,
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm,
  conv2d,
  dropout,
  empty,
  linear,
  maxPool2d,
  noGrad,
  ones,
  zeros,
} from '../tensor/index.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

function pair(value: Pair): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** Options of Conv2d; the defaults are PyTorch's: stride 1, padding 0, dilation 1, groups 1, bias true. */
export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * A 2-D convolution layer, as torch.nn.Conv2d: weight [outChannels, inChannels / groups, kH, kW] and an optional bias
 * [outChannels], initialised as PyTorch does (kaiming-uniform with a = sqrt(5)).
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | undefined;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    this.inChannels = positiveInteger(inChannels, 'Conv2d: inChannels');
    this.outChannels = positiveInteger(outChannels, 'Conv2d: outChannels');
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = positiveInteger(options.groups ?? 1, 'Conv2d: groups');
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new RangeError(`Conv2d: groups (${this.groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
    this.weight = this.param(empty([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = (options.bias ?? true) ? this.param(empty([outChannels])) : undefined;
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/** Options of BatchNorm2d; the defaults are PyTorch's: eps 1e-5, momentum 0.1, affine true, trackRunningStats true. */
export interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation per channel, as torch.nn.BatchNorm2d. In training it normalises with the batch statistics and updates
 * the running ones; in eval it uses `running_mean` and `running_var`. The fields keep PyTorch's snake_case names so state-dict keys match.
 */
export class BatchNorm2d extends Module {
  weight: Tensor | undefined;
  bias: Tensor | undefined;
  running_mean: Tensor | undefined;
  running_var: Tensor | undefined;
  num_batches_tracked: Tensor | undefined;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    this.numFeatures = positiveInteger(numFeatures, 'BatchNorm2d: numFeatures');
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.weight = affine ? this.param(ones([numFeatures])) : undefined;
    this.bias = affine ? this.param(zeros([numFeatures])) : undefined;
    const track = options.trackRunningStats ?? true;
    this.running_mean = track ? this.buffer(zeros([numFeatures])) : undefined;
    this.running_var = track ? this.buffer(ones([numFeatures])) : undefined;
    this.num_batches_tracked = track ? this.buffer(zeros([], { dtype: 'int64' })) : undefined;
  }

  forward(x: Tensor): Tensor {
    const useBatchStats = this.training || this.running_mean === undefined;
    // One value per channel has no variance: its running_var would become NaN (PyTorch refuses it the same way).
    const perChannel = x.shape.reduce((n, d, i) => (i === 1 ? n : n * d), 1);
    if (useBatchStats && perChannel === 1) {
      throw new RangeError(
        `BatchNorm2d: expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]: ` +
          'train with a batch of 2 or more, or call eval() first',
      );
    }
    if (this.training && this.num_batches_tracked !== undefined) {
      const counter = this.num_batches_tracked;
      noGrad(() => counter.add_(1));
    }
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.running_mean,
      runningVar: this.running_var,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** A fully connected layer, as torch.nn.Linear: weight [outFeatures, inFeatures], optional bias [outFeatures], PyTorch's default initialisation. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.inFeatures = positiveInteger(inFeatures, 'Linear: inFeatures');
    this.outFeatures = positiveInteger(outFeatures, 'Linear: outFeatures');
    this.weight = this.param(empty([outFeatures, inFeatures]));
    this.bias = (options.bias ?? true) ? this.param(empty([outFeatures])) : undefined;
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** max(0, x), as torch.nn.ReLU. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** x for x >= 0, negativeSlope * x otherwise (default slope 0.01), as torch.nn.LeakyReLU. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

/** 2-D max pooling, as torch.nn.MaxPool2d; the stride defaults to the kernel size. */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/** 2-D average pooling, as torch.nn.AvgPool2d; the stride defaults to the kernel size. */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

/** Average pooling to a fixed output size whatever the input's, as torch.nn.AdaptiveAvgPool2d. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Flattens dimensions startDim to endDim into one (default 1 to -1, keeping the batch dimension), as torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Zeroes each element with probability p (default 0.5) in training mode, scaling the rest by 1/(1-p); identity in eval. As torch.nn.Dropout. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/** Passes its input through unchanged. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Runs its modules in order; state-dict keys are `0.weight`, `1.bias`, ... */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  // Sequential's children are named by index alone, as in PyTorch.
  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const layer of this.layers) out = layer.forward(out);
    return out;
  }
}

/** A list of modules registered as children (keys `0.…`, `1.…`); it has no forward of its own. */
export class ModuleList extends Module {
  readonly items: Module[];

  constructor(modules: Module[] = []) {
    super();
    this.items = modules;
  }

  override namedChildren(): [string, Module][] {
    return this.items.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at index (negative counts from the end, as Array.prototype.at); undefined when out of range. */
  at(index: number): Module | undefined {
    return this.items.at(index);
  }

  forward(): Tensor {
    throw new Error('ModuleList has no forward: iterate over its modules');
  }
}
