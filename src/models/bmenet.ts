/**
 * BMEnet: DLStudio's reference network of SkipBlocks. A 3x3 stem, then three
 * stages of `depth` SkipBlocks at 64, 128 and 256 channels joined by two
 * downsampling blocks, then two fully connected layers. At depth 8 on
 * 32x32x3 images with 10 classes it has exactly 274 parameter tensors, the
 * course's count of learnable layers.
 */
import { Conv2d, Linear, Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { checkClassifierShape, type ClassifierShape } from './shapes.js';
import { SkipBlock } from './skip-block.js';

export interface BMEnetOptions extends ClassifierShape {
  skipConnections?: boolean;
  depth?: number;
}

/**
 * DLStudio's BMEnet: a 3x3 stem, three stages of `depth` SkipBlocks (default 8) at 64, 128 and 256 channels joined by two downsampling blocks,
 * then two fully connected layers. Images default to 32x32x3, classes to 10.
 */
export class BMEnet extends Module {
  conv: Conv2d;
  skip64_arr: SkipBlock[];
  skip64to128ds: SkipBlock;
  skip128_arr: SkipBlock[];
  skip128to256ds: SkipBlock;
  skip256_arr: SkipBlock[];
  fc1: Linear;
  fc2: Linear;

  constructor(options: BMEnetOptions = {}) {
    super();
    const skipConnections = options.skipConnections ?? true;
    const depth = options.depth ?? 8;
    const [h, w] = options.imageSize ?? [32, 32];
    const numClasses = options.numClasses ?? 10;
    const inChannels = options.inChannels ?? 3;
    checkClassifierShape('BMEnet', [h, w], numClasses, inChannels);
    if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`BMEnet: depth must be a non-negative integer, got ${depth}`);
    if (h % 4 !== 0 || w % 4 !== 0) {
      throw new RangeError(`BMEnet: the image size ${h}x${w} must be divisible by 4 (two downsampling blocks halve it twice)`);
    }
    const blocks = (ch: number) => Array.from({ length: depth }, () => new SkipBlock(ch, ch, { skipConnections }));
    this.conv = new Conv2d(inChannels, 64, 3, { padding: 1 });
    this.skip64_arr = blocks(64);
    this.skip64to128ds = new SkipBlock(64, 128, { downsample: true, skipConnections });
    this.skip128_arr = blocks(128);
    this.skip128to256ds = new SkipBlock(128, 256, { downsample: true, skipConnections });
    this.skip256_arr = blocks(256);
    this.fc1 = new Linear((h / 4) * (w / 4) * 256, 1000);
    this.fc2 = new Linear(1000, numClasses);
  }

  forward(x: Tensor): Tensor {
    let out = this.conv.forward(x).relu();
    for (const block of this.skip64_arr) out = block.forward(out);
    out = this.skip64to128ds.forward(out);
    for (const block of this.skip128_arr) out = block.forward(out);
    out = this.skip128to256ds.forward(out);
    for (const block of this.skip256_arr) out = block.forward(out);
    out = out.flatten(1);
    return this.fc2.forward(this.fc1.forward(out).relu());
  }
}
