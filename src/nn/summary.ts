/**
 * summary(model, inputShape): every layer with its output shape, parameter
 * count and forward FLOPs, then the totals a report needs (parameters,
 * parameter tensors = "learnable layers", FLOPs). Shapes come from a real
 * forward pass of one zero-filled sample, so they are exact.
 */
import { formatCount, formatFlops, textTableLines } from '../text/format.js';
import { type Tensor, noGrad, scope, zeros } from '../tensor/index.js';
import { Conv2d, Linear } from './layers.js';
import { Module } from './module.js';

/** One row of a summary: a module's dotted name, class name, nesting depth and output shape (empty if forward never called it). */
export interface LayerSummary {
  name: string;
  type: string;
  depth: number;
  outputShape: number[];
  /** Parameters of this module and its descendants. */
  parameters: number;
  /** Forward FLOPs (2 per multiply-add) of this module and its descendants, for one sample. */
  flops: number;
}

/** What summary returns: every layer, the totals, and the printed table. */
export interface ModelSummary {
  model: string;
  inputShape: number[];
  layers: LayerSummary[];
  totalParameters: number;
  /** parameters().length: what the course calls the number of learnable layers. */
  parameterTensors: number;
  totalFlops: number;
  /** The table, ready to print or paste into a report. */
  text: string;
}

/** FLOPs of the layer itself (convolutions and linear layers; elementwise work is negligible beside them). */
function ownFlops(module: Module, output: Tensor): number {
  const perSample = output.numel / Math.max(1, output.shape[0] ?? 1);
  if (module instanceof Conv2d) {
    const macsPerOutput = (module.inChannels / module.groups) * module.kernelSize[0] * module.kernelSize[1];
    return 2 * macsPerOutput * perSample;
  }
  if (module instanceof Linear) return 2 * module.inFeatures * perSample;
  return 0;
}

/** Summarises model for inputs of shape inputShape (without the batch dimension, e.g. [3, 32, 32]). */
export function summary(model: Module, inputShape: number[]): ModelSummary {
  const named = model.namedModules();
  const records = new Map<Module, { outputShape: number[]; flops: number }>();
  const originals = named.map(([, m]) => [m, Object.getOwnPropertyDescriptor(m, 'forward')] as const);
  for (const [, m] of named) {
    const forward = m.forward.bind(m);
    Object.defineProperty(m, 'forward', {
      configurable: true,
      writable: true,
      value: (...inputs: Tensor[]) => {
        const out = forward(...inputs);
        records.set(m, { outputShape: out.shape, flops: ownFlops(m, out) });
        return out;
      },
    });
  }
  const wasTraining = model.training;
  model.eval();
  try {
    scope(() => noGrad(() => model.forward(zeros([1, ...inputShape]))));
  } finally {
    for (const [m, descriptor] of originals) {
      if (descriptor === undefined) delete (m as { forward?: unknown }).forward;
      else Object.defineProperty(m, 'forward', descriptor);
    }
    model.train(wasTraining);
  }

  const subtreeFlops = (m: Module): number => (records.get(m)?.flops ?? 0) + m.children().reduce((sum, c) => sum + subtreeFlops(c), 0);
  const layers: LayerSummary[] = [];
  const visit = (m: Module, prefix: string, depth: number) => {
    for (const [name, child] of m.namedChildren()) {
      const full = prefix ? `${prefix}.${name}` : name;
      layers.push({
        name: full,
        type: child.constructor.name,
        depth,
        outputShape: records.get(child)?.outputShape ?? [],
        parameters: child.numParameters(),
        flops: subtreeFlops(child),
      });
      visit(child, full, depth + 1);
    }
  };
  visit(model, '', 0);
  const totalParameters = model.numParameters();
  const parameterTensors = model.parameters().length;
  const totalFlops = subtreeFlops(model);

  const rows = layers.map((l) => [
    `${'  '.repeat(l.depth)}${l.name} (${l.type})`,
    l.outputShape.length ? `[${l.outputShape.join(', ')}]` : '(not called)',
    formatCount(l.parameters),
    formatFlops(l.flops),
  ]);
  const table = textTableLines(['Layer (type)', 'Output shape', 'Params', 'FLOPs'], rows);
  const rule = '-'.repeat(table.width);
  const text = [
    `${model.constructor.name} for input [${inputShape.join(', ')}]`,
    rule,
    table.header,
    rule,
    ...table.rows,
    rule,
    `Total parameters:                     ${formatCount(totalParameters)}`,
    `Parameter tensors (learnable layers): ${parameterTensors}`,
    `Forward FLOPs per sample:             ${formatFlops(totalFlops)}`,
  ].join('\n');
  return { model: model.constructor.name, inputShape, layers, totalParameters, parameterTensors, totalFlops, text };
}
