/**
 * The plain CNN baselines of the course's HW4, against which HW5Net is
 * compared: Net1 (two unpadded convolutions with pooling), Net2 (the same,
 * padded) and Net3 (Net2 plus a chain of 3x3 convolutions, deep enough to
 * show what depth does without skip connections).
 */
import { Conv2d, Linear, MaxPool2d, Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { checkClassifierShape, type ClassifierShape } from './shapes.js';

/** The options of Net1 and Net2: image size (default 64x64), input channels (default 3) and classes (default 10). */
export type HW4Options = ClassifierShape;

/** Net3's options: those of Net1 and Net2, and the length of its chain of extra convolutions. */
export interface Net3Options extends HW4Options {
  /** Number of extra Conv2d(32, 32, 3x3, padding 1) layers (default 10). */
  chainLength?: number;
}

/** Spatial size after conv(3x3, padding p) then 2x2 max pooling, twice. */
function featureSize(model: string, size: number, padding: number): number {
  let s = size;
  for (let i = 0; i < 2; i++) {
    s = Math.floor((s + 2 * padding - 2) / 2);
    if (s < 1) {
      throw new RangeError(`${model}: images of size ${size} are too small for two 3x3 convolutions with 2x2 pooling`);
    }
  }
  return s;
}

abstract class TwoConvNet extends Module {
  conv1: Conv2d;
  pool: MaxPool2d;
  conv2: Conv2d;

  constructor(model: string, options: HW4Options, padding: number) {
    super();
    const [h, w] = options.imageSize ?? [64, 64];
    const numClasses = options.numClasses ?? 10;
    const inChannels = options.inChannels ?? 3;
    checkClassifierShape(model, [h, w], numClasses, inChannels);
    this.conv1 = new Conv2d(inChannels, 16, 3, { padding });
    this.pool = new MaxPool2d(2, { stride: 2 });
    this.conv2 = new Conv2d(16, 32, 3, { padding });
    this.flatFeatures = 32 * featureSize(model, h, padding) * featureSize(model, w, padding);
  }

  /** Inputs of fc1: 6272 for Net1 and 8192 for Net2/Net3 on 64x64 images. */
  readonly flatFeatures: number;

  /** The two convolutions, each followed by ReLU and 2x2 max pooling. */
  protected features(x: Tensor): Tensor {
    const out = this.pool.forward(this.conv1.forward(x).relu());
    return this.pool.forward(this.conv2.forward(out).relu());
  }
}

/** Net1 and Net2: the two convolutions straight into the classifier. */
abstract class ShallowNet extends TwoConvNet {
  fc1: Linear;
  fc2: Linear;

  constructor(model: string, options: HW4Options, padding: number) {
    super(model, options, padding);
    this.fc1 = new Linear(this.flatFeatures, 64);
    this.fc2 = new Linear(64, options.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(this.features(x).flatten(1)).relu());
  }
}

/** HW4's Net1: two unpadded 3x3 convolutions (16 and 32 channels) with ReLU and 2x2 max pooling, then fc1 (64) and fc2. */
export class Net1 extends ShallowNet {
  constructor(options: HW4Options = {}) {
    super('Net1', options, 0);
  }
}

/** HW4's Net2: Net1 with padding 1 on both convolutions. */
export class Net2 extends ShallowNet {
  constructor(options: HW4Options = {}) {
    super('Net2', options, 1);
  }
}

/** HW4's Net3: Net2 with a chain of extra Conv2d(32, 32, 3x3, padding 1) + ReLU layers (10 by default) before the classifier. */
export class Net3 extends TwoConvNet {
  conv_chain: Conv2d[];
  fc1: Linear;
  fc2: Linear;

  constructor(options: Net3Options = {}) {
    super('Net3', options, 1);
    const chainLength = options.chainLength ?? 10;
    if (!Number.isInteger(chainLength) || chainLength < 0) {
      throw new RangeError(`Net3: chainLength must be a non-negative integer, got ${chainLength}`);
    }
    this.conv_chain = Array.from({ length: chainLength }, () => new Conv2d(32, 32, 3, { padding: 1 }));
    this.fc1 = new Linear(this.flatFeatures, 64);
    this.fc2 = new Linear(64, options.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    let out = this.features(x);
    for (const conv of this.conv_chain) out = conv.forward(out).relu();
    return this.fc2.forward(this.fc1.forward(out.flatten(1)).relu());
  }
}
