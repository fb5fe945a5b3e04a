/**
 * SkipBlock, the building block of the whole study: two 3x3 convolutions
 * with batch norm and ReLU, plus an identity shortcut. It is DLStudio's
 * "cleaner" SkipBlock field for field, so state dicts match the Python
 * original key for key, quirks included: `in2out` is created in every block
 * (and so counts among the parameters) even where forward never uses it, and
 * a same-channel block that downsamples adds no shortcut at all.
 * With `skipConnections: false` the same block is a plain two-layer CNN
 * stage: the twin that shows gradients vanishing as depth grows.
 */
import { Conv2d, BatchNorm2d, Module } from '../nn/index.js';
import { type Tensor, cat } from '../tensor/index.js';

/** SkipBlock's options: downsample (stride-2 1x1 convolutions, default false) and skipConnections (default true). */
export interface SkipBlockOptions {
  downsample?: boolean;
  skipConnections?: boolean;
}

/**
 * DLStudio's SkipBlock: two 3x3 convolutions with batch norm and ReLU, plus a shortcut: the identity, a 1x1 convolution (in2out) where the channels
 * change, or the input concatenated with itself where a downsampling block doubles them (none where it keeps them). Without skipConnections, the plain stage.
 */
export class SkipBlock extends Module {
  readonly inCh: number;
  readonly outCh: number;
  readonly downsample: boolean;
  readonly skipConnections: boolean;
  convo1: Conv2d;
  convo2: Conv2d;
  bn1: BatchNorm2d;
  bn2: BatchNorm2d;
  in2out: Conv2d;
  downsampler1: Conv2d | undefined;
  downsampler2: Conv2d | undefined;

  constructor(inCh: number, outCh: number, options: SkipBlockOptions = {}) {
    super();
    this.inCh = inCh;
    this.outCh = outCh;
    this.downsample = options.downsample ?? false;
    this.skipConnections = options.skipConnections ?? true;
    if (this.downsample && inCh !== outCh && outCh !== 2 * inCh) {
      throw new RangeError(
        `SkipBlock(${inCh}, ${outCh}, downsample): a downsampling block that changes channels concatenates the ` +
          `shortcut with itself, so outCh must be 2 * inCh = ${2 * inCh}`,
      );
    }
    this.convo1 = new Conv2d(inCh, inCh, 3, { stride: 1, padding: 1 });
    this.convo2 = new Conv2d(inCh, outCh, 3, { stride: 1, padding: 1 });
    this.bn1 = new BatchNorm2d(inCh);
    this.bn2 = new BatchNorm2d(outCh);
    this.in2out = new Conv2d(inCh, outCh, 1);
    this.downsampler1 = this.downsample ? new Conv2d(inCh, inCh, 1, { stride: 2 }) : undefined;
    this.downsampler2 = this.downsample ? new Conv2d(outCh, outCh, 1, { stride: 2 }) : undefined;
  }

  forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.convo1.forward(x)).relu();
    out = this.bn2.forward(this.convo2.forward(out)).relu();
    let identity = x;
    if (this.downsampler1 !== undefined && this.downsampler2 !== undefined) {
      identity = this.downsampler1.forward(x);
      out = this.downsampler2.forward(out);
    }
    if (!this.skipConnections) return out;
    if (this.inCh === this.outCh && !this.downsample) return out.add(identity);
    if (this.inCh !== this.outCh && !this.downsample) return out.add(this.in2out.forward(identity));
    if (this.inCh !== this.outCh && this.downsample) return out.add(cat([identity, identity], 1));
    return out; // same channels with downsampling: the original adds nothing
  }
}
