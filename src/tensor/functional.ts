/**
 * Neural-network functions with torch.nn.functional's semantics and defaults:
 * convolution, batch normalisation, pooling, linear, dropout, softmax and the
 * losses. Layers in src/nn are thin owners of parameters around these.
 */
import { native } from './native.js';
import { Tensor, handleOf } from './tensor.js';

/** A size for both spatial dimensions: one integer for both, or a [height, width] pair. */
export type Pair = number | [number, number];
/** How a loss reduces its per-element values: their 'mean', their 'sum', or 'none' (keep them all). */
export type Reduction = 'mean' | 'sum' | 'none';

function pair(value: Pair, name: string): [number, number] {
  const out: [number, number] = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(out) || out.length !== 2 || !out.every((v) => Number.isInteger(v))) {
    throw new TypeError(`${name} must be an integer or a pair of integers`);
  }
  return out;
}

function optionalHandle(value: Tensor | undefined, op: string) {
  return value === undefined ? undefined : handleOf(value, op);
}

function reductionCode(reduction: Reduction, op: string): number {
  switch (reduction) {
    case 'none':
      return 0;
    case 'mean':
      return 1;
    case 'sum':
      return 2;
    default:
      throw new TypeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }
}

/** Options of conv2d, as F.conv2d: stride (default 1), padding (default 0), dilation (default 1) and groups (default 1). */
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-d convolution of x [N, C, H, W] with weight [O, C/groups, kH, kW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError('conv2d: groups must be a positive integer');
  return new Tensor(
    native.conv2d(
      handleOf(x, 'conv2d'),
      handleOf(weight, 'conv2d'),
      optionalHandle(bias, 'conv2d'),
      pair(options.stride ?? 1, 'conv2d: stride'),
      pair(options.padding ?? 0, 'conv2d: padding'),
      pair(options.dilation ?? 1, 'conv2d: dilation'),
      groups,
    ),
  );
}

/**
 * Options of batchNorm, as F.batch_norm: affine weight and bias, running statistics, training (default false),
 * momentum (default 0.1) and eps (default 1e-5).
 */
export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  /** Running statistics: updated in place while training, used instead of batch statistics in eval. */
  runningMean?: Tensor;
  runningVar?: Tensor;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Normalises each channel of x [N, C, ...], with batch statistics while training, running ones in eval mode (the default,
 * which needs runningMean and runningVar). As F.batch_norm.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): Tensor {
  const training = options.training ?? false;
  if (!training && (options.runningMean === undefined || options.runningVar === undefined)) {
    throw new TypeError('batchNorm: eval mode needs runningMean and runningVar');
  }
  return new Tensor(
    native.batchNorm(
      handleOf(x, 'batchNorm'),
      optionalHandle(options.weight, 'batchNorm'),
      optionalHandle(options.bias, 'batchNorm'),
      optionalHandle(options.runningMean, 'batchNorm'),
      optionalHandle(options.runningVar, 'batchNorm'),
      training,
      options.momentum ?? 0.1,
      options.eps ?? 1e-5,
    ),
  );
}

/** Options of maxPool2d and avgPool2d: stride, padding (default 0) and ceilMode (default false). */
export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

/** 2-d max pooling of x [N, C, H, W] with a kernelSize window (options.dilation defaults to 1), as F.max_pool2d. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions & { dilation?: Pair } = {}): Tensor {
  const kernel = pair(kernelSize, 'maxPool2d: kernelSize');
  return new Tensor(
    native.maxPool2d(
      handleOf(x, 'maxPool2d'),
      kernel,
      pair(options.stride ?? kernel, 'maxPool2d: stride'),
      pair(options.padding ?? 0, 'maxPool2d: padding'),
      pair(options.dilation ?? 1, 'maxPool2d: dilation'),
      options.ceilMode ?? false,
    ),
  );
}

/**
 * 2-d average pooling of x [N, C, H, W]; padding counts in each average unless options.countIncludePad is false.
 * As F.avg_pool2d.
 */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  const kernel = pair(kernelSize, 'avgPool2d: kernelSize');
  return new Tensor(
    native.avgPool2d(
      handleOf(x, 'avgPool2d'),
      kernel,
      pair(options.stride ?? kernel, 'avgPool2d: stride'),
      pair(options.padding ?? 0, 'avgPool2d: padding'),
      options.ceilMode ?? false,
      options.countIncludePad ?? true,
    ),
  );
}

/** Average pooling of x [N, C, H, W] to a fixed outputSize, whatever the input size, as F.adaptive_avg_pool2d. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(handleOf(x, 'adaptiveAvgPool2d'), pair(outputSize, 'adaptiveAvgPool2d: outputSize')));
}

/** x @ weight^T + bias, with weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native.linear(handleOf(x, 'linear'), handleOf(weight, 'linear'), optionalHandle(bias, 'linear')));
}

/** Zeroes each element with probability p while training, scaling the rest by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  return new Tensor(native.dropout(handleOf(x, 'dropout'), p, training));
}

/** Softmax along dim, as F.softmax. */
export function softmax(x: Tensor, dim: number): Tensor {
  return new Tensor(native.softmax(handleOf(x, 'softmax'), dim));
}

/** The logarithm of softmax along dim, as F.log_softmax. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return new Tensor(native.logSoftmax(handleOf(x, 'logSoftmax'), dim));
}

/** Options of the losses: reduction (default 'mean'). */
export interface LossOptions {
  reduction?: Reduction;
}

/** Options of crossEntropy and nllLoss: LossOptions plus class weights and ignoreIndex. */
export interface ClassLossOptions extends LossOptions {
  /** Per-class weights [C]. */
  weight?: Tensor;
  /** Targets equal to it are left out of the loss and of its mean (default -100). */
  ignoreIndex?: number;
}

/** Cross-entropy of logits [N, C] against class indices [N] (int64), with optional label smoothing. */
export function crossEntropy(logits: Tensor, target: Tensor, options: ClassLossOptions & { labelSmoothing?: number } = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  return new Tensor(
    native.crossEntropy(
      handleOf(logits, 'crossEntropy'),
      handleOf(target, 'crossEntropy'),
      optionalHandle(options.weight, 'crossEntropy'),
      reductionCode(options.reduction ?? 'mean', 'crossEntropy'),
      options.ignoreIndex ?? -100,
      smoothing,
    ),
  );
}

/** Negative log-likelihood of log-probabilities [N, C] against class indices [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, options: ClassLossOptions = {}): Tensor {
  return new Tensor(
    native.nllLoss(
      handleOf(logProbs, 'nllLoss'),
      handleOf(target, 'nllLoss'),
      optionalHandle(options.weight, 'nllLoss'),
      reductionCode(options.reduction ?? 'mean', 'nllLoss'),
      options.ignoreIndex ?? -100,
    ),
  );
}

/** Squared error between input and target, reduced by options.reduction (default 'mean'), as F.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  return new Tensor(
    native.mseLoss(handleOf(input, 'mseLoss'), handleOf(target, 'mseLoss'), reductionCode(options.reduction ?? 'mean', 'mseLoss')),
  );
}

/** One-hot rows (int64) for class indices; numClasses -1 infers it from the largest index. */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return new Tensor(native.oneHot(handleOf(indices, 'oneHot'), numClasses));
}
