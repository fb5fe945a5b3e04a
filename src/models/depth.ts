/**
 * A network's depth as He et al. (2016) count it: the weight layers
 * (convolutions and fully connected layers) a signal passes through on the
 * main path from input to output. The course counts learnable layers instead
 * (`parameters().length`, every weight, bias and batch-norm tensor); the
 * depth study records both, since a 20-SkipBlock HW5Net has 213 learnable
 * layers but 44 weight layers.
 */
import { Conv2d, Linear, type Module } from '../nn/index.js';
import { SkipBlock } from './skip-block.js';

/** A SkipBlock's main path: convo1 and convo2, and downsampler2 when it downsamples; shortcuts (in2out, downsampler1) do not count. */
function blockWeightLayers(block: SkipBlock): number {
  return 2 + (block.downsample ? 1 : 0);
}

/** The weight layers on a network's main path: each SkipBlock's, and every convolution or linear layer outside a block. */
export function weightLayers(model: Module): number {
  const blocks = model.modules().filter((m): m is SkipBlock => m instanceof SkipBlock);
  const insideBlocks = new Set(blocks.flatMap((b) => b.modules()));
  const others = model.modules().filter((m) => (m instanceof Conv2d || m instanceof Linear) && !insideBlocks.has(m));
  return others.length + blocks.reduce((total, b) => total + blockWeightLayers(b), 0);
}
