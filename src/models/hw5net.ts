/**
 * HW5Net: the exercise's network, built only of SkipBlocks between a stem
 * convolution and a classifier head. Three stages at width, 2*width and
 * 4*width channels, joined by downsampling SkipBlocks; global average pooling
 * lets one shape serve 28x28, 32x32 and 64x64 images alike. The default
 * (width 8, 6 blocks per stage) has 20 SkipBlocks and 213 learnable layers;
 * `skipConnections: false` gives the plain twin of identical shape.
 * Width 8 is chosen for accuracy per second on a 2-core CPU: one epoch of
 * Fashion-MNIST takes about 2 minutes and reaches 90% test accuracy, where
 * width 16 runs 2.7x slower per epoch (`npm run bench:width`; accuracy from `npm start`).
 */
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { checkClassifierShape, type ClassifierShape } from './shapes.js';
import { SkipBlock } from './skip-block.js';

export interface HW5NetOptions extends ClassifierShape {
  skipConnections?: boolean;
  /** Channels of the first stage; the second and third have 2x and 4x (default 8). */
  width?: number;
  /** Same-channel SkipBlocks in each of the three stages (default 6). */
  blocksPerStage?: number;
}

/**
 * The exercise's network: a stem convolution, three stages of SkipBlocks at width, 2*width and 4*width channels joined by downsampling
 * SkipBlocks, global average pooling and one linear layer. Defaults: width 8, 6 blocks per stage, 32x32x3 images, 10 classes.
 */
export class HW5Net extends Module {
  stem: Conv2d;
  stem_bn: BatchNorm2d;
  stage1: SkipBlock[];
  down1: SkipBlock;
  stage2: SkipBlock[];
  down2: SkipBlock;
  stage3: SkipBlock[];
  pool: AdaptiveAvgPool2d;
  fc: Linear;

  constructor(options: HW5NetOptions = {}) {
    super();
    const skipConnections = options.skipConnections ?? true;
    const width = options.width ?? 8;
    const perStage = options.blocksPerStage ?? 6;
    const [h, w] = options.imageSize ?? [32, 32];
    const numClasses = options.numClasses ?? 10;
    const inChannels = options.inChannels ?? 3;
    checkClassifierShape('HW5Net', [h, w], numClasses, inChannels);
    if (!Number.isInteger(width) || width < 1) throw new RangeError(`HW5Net: width must be a positive integer, got ${width}`);
    if (!Number.isInteger(perStage) || perStage < 0) {
      throw new RangeError(`HW5Net: blocksPerStage must be a non-negative integer, got ${perStage}`);
    }
    if (h < 4 || w < 4) throw new RangeError(`HW5Net: images of ${h}x${w} are too small for two downsampling stages (need at least 4x4)`);
    const stage = (ch: number) => Array.from({ length: perStage }, () => new SkipBlock(ch, ch, { skipConnections }));
    this.stem = new Conv2d(inChannels, width, 3, { padding: 1, bias: false });
    this.stem_bn = new BatchNorm2d(width);
    this.stage1 = stage(width);
    this.down1 = new SkipBlock(width, 2 * width, { downsample: true, skipConnections });
    this.stage2 = stage(2 * width);
    this.down2 = new SkipBlock(2 * width, 4 * width, { downsample: true, skipConnections });
    this.stage3 = stage(4 * width);
    this.pool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(4 * width, numClasses);
  }

  /** How many SkipBlocks the network holds. */
  get numSkipBlocks(): number {
    return this.modules().filter((m) => m instanceof SkipBlock).length;
  }

  forward(x: Tensor): Tensor {
    let out = this.stem_bn.forward(this.stem.forward(x)).relu();
    for (const block of this.stage1) out = block.forward(out);
    out = this.down1.forward(out);
    for (const block of this.stage2) out = block.forward(out);
    out = this.down2.forward(out);
    for (const block of this.stage3) out = block.forward(out);
    return this.fc.forward(this.pool.forward(out).flatten(1));
  }
}
