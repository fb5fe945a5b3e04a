/**
 * Weight initialisers with torch.nn.init's formulas. Each fills a tensor in
 * place from libtorch's generator, so a seeded run draws the same numbers as
 * PyTorch making the same layers in the same order.
 */
import { type Tensor, noGrad } from '../tensor/index.js';

/** The nonlinearities calculateGain knows, by torch.nn.init's names. */
export type Nonlinearity = 'relu' | 'leaky_relu' | 'linear' | 'sigmoid' | 'tanh';

/** fan_in and fan_out of a weight [out, in, ...kernel]. */
export function fans(weight: Tensor): { fanIn: number; fanOut: number } {
  const shape = weight.shape;
  if (shape.length < 2) throw new RangeError('init: fan in and fan out need a tensor of at least 2 dimensions');
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear and sigmoid, 5/3 for tanh,
 * sqrt(2) for relu, sqrt(2 / (1 + param^2)) for leaky_relu, where param is the negative slope (default 0.01).
 */
export function calculateGain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
  }
}

/** Options of kaimingUniform_ and kaimingNormal_; the defaults are PyTorch's: a = 0, mode 'fanIn', nonlinearity 'leaky_relu'. */
export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(weight: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fans(weight);
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return gain / Math.sqrt((options.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut);
}

/** Fills t in place from U(low, high), outside autograd, and returns it. As torch.nn.init.uniform_. */
export function uniform_(t: Tensor, low: number, high: number): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

/** Fills t in place from N(mean, std^2), outside autograd, and returns it. As torch.nn.init.normal_. */
export function normal_(t: Tensor, mean: number, std: number): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

/** Fills weight in place from U(-bound, bound) with bound = gain * sqrt(3 / fan), fan being fan_in or fan_out by mode. As torch.nn.init.kaiming_uniform_. */
export function kaimingUniform_(weight: Tensor, options: KaimingOptions = {}): Tensor {
  // A weight with no elements has a fan of 0 and no values to draw: a no-op, as PyTorch.
  if (weight.numel === 0) return weight;
  const bound = Math.sqrt(3) * kaimingStd(weight, options);
  return uniform_(weight, -bound, bound);
}

/** Fills weight in place from N(0, std^2) with std = gain / sqrt(fan), fan being fan_in or fan_out by mode. As torch.nn.init.kaiming_normal_. */
export function kaimingNormal_(weight: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(weight, 0, kaimingStd(weight, options));
}

/** Fills weight in place from U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out)). As torch.nn.init.xavier_uniform_. */
export function xavierUniform_(weight: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(weight);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(weight, -bound, bound);
}

/** Fills weight in place from N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)). As torch.nn.init.xavier_normal_. */
export function xavierNormal_(weight: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(weight);
  return normal_(weight, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** PyTorch's default for Conv and Linear: kaiming-uniform with a = sqrt(5), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | undefined): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== undefined) {
    const { fanIn } = fans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
