/**
 * ONNX export of a trained model, as it computes in eval mode. The module
 * tree is walked by the type of each module: the standard layers map onto
 * ONNX operators one for one (Conv, BatchNormalization in its inference form
 * with the running statistics, Gemm, Relu, MaxPool, GlobalAveragePool,
 * Flatten...), and each network of src/models is written as its forward
 * computes, SkipBlock's four shortcut cases included. A module of a type
 * the exporter does not know (a subclass too: it may compute differently)
 * is refused by name rather than guessed at. The class names, the input
 * normalisation and the model's name go into the model's metadata, so the
 * file alone says how to feed it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { Normalization } from '../data/loader.js';
import { checkFiniteWeights, loadCheckpoint } from '../io/index.js';
import { BMEnet, HW5Net, Net1, Net2, Net3, SkipBlock, buildModel } from '../models/index.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Identity,
  LeakyReLU,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
} from '../nn/index.js';
import { DEFAULT_TRAIN_CONFIG, type ModelInfo, RunDirectory, type TrainConfig } from '../runs/index.js';
import { type Tensor, dispose, scope } from '../tensor/index.js';
import { OnnxGraph, type Value } from './onnx-graph.js';
import { OPSET } from './onnx-version.js';

/** What the exported file says about its input and output. */
export interface OnnxModelDescription {
  /** The registry's name of the model, e.g. 'hw5net'. */
  model: string;
  /** [channels, height, width] of one input image. */
  inputShape: number[];
  classes: string[];
  normalization: Normalization;
  modelOptions?: Record<string, number>;
  /** Extra metadata entries (e.g. the run the weights come from). */
  metadata?: Record<string, string>;
}

/** An exported ONNX model: its bytes and what the graph holds. */
export interface OnnxExport {
  bytes: Uint8Array;
  /** How many nodes of each operator type the graph holds. */
  operators: Record<string, number>;
  nodes: number;
  opset: number;
}

type Pair = number | [number, number];
const pair = (value: Pair): [number, number] => (typeof value === 'number' ? [value, value] : value);

/** Walks the module tree, adding each module's operators to the graph. */
class Exporter {
  readonly graph = new OnnxGraph();
  readonly #names: Map<Module, string>;

  constructor(root: Module) {
    this.#names = new Map(root.namedModules().map(([name, module]) => [module, name]));
  }

  /** The module's state-dict prefix, e.g. 'stage1.3.convo1' (the root's is its class name). */
  nameOf(module: Module): string {
    return this.#names.get(module) || module.constructor.name;
  }

  weight(module: Module, field: string, tensor: Tensor, shape = tensor.shape): Value {
    const data = scope(() => Float32Array.from(tensor.detach().to('float32').contiguous().data() as Float32Array));
    return this.graph.initializer(`${this.nameOf(module)}.${field}`, data, shape);
  }

  constant(module: Module, field: string, value: number, length: number): Value {
    return this.graph.initializer(`${this.nameOf(module)}.${field}`, new Float32Array(length).fill(value), [length]);
  }

  /** Exports a module applied to x. */
  call(module: Module, x: Value): Value {
    const exporter = EXPORTERS.get(module.constructor as abstract new (...args: never[]) => Module);
    if (exporter === undefined) {
      throw new Error(
        `ONNX export: ${this.nameOf(module)} is a ${module.constructor.name}, which the exporter does not know ` +
          `(it knows ${[...EXPORTERS.keys()].map((k) => k.name).join(', ')})`,
      );
    }
    return exporter(module, x, this);
  }

  relu(x: Value, stem: string): Value {
    return this.graph.node('Relu', [x], x.shape, {}, stem);
  }

  add(a: Value, b: Value, stem: string): Value {
    if (a.shape.join() !== b.shape.join()) throw new Error(`ONNX export: ${stem} adds [${a.shape}] and [${b.shape}]`);
    return this.graph.node('Add', [a, b], a.shape, {}, stem);
  }

  /** torch's flatten(1): every dimension after the batch in one. */
  flatten(x: Value, stem: string): Value {
    return this.graph.node('Flatten', [x], [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)], { axis: 1 }, stem);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each exporter takes its own module type; the map is keyed by that type's class
type LayerExporter = (module: any, x: Value, e: Exporter) => Value;

function expectChannels(e: Exporter, module: Module, x: Value, channels: number): void {
  if (x.shape.length !== 4 || x.shape[1] !== channels) {
    throw new Error(`ONNX export: ${e.nameOf(module)} expects [batch, ${channels}, H, W], gets [${x.shape.join(', ')}]`);
  }
}

/** Output size of a convolution or pooling window along one axis (PyTorch's formula). */
function windowOutput(size: number, kernel: number, stride: number, padding: number, dilation: number, ceil: boolean): number {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil mode, the last window must start inside the input or its left padding.
  if (ceil && (out - 1) * stride >= size + padding) out -= 1;
  if (out < 1) throw new Error(`ONNX export: a window of ${kernel} does not fit an input of ${size}`);
  return out;
}

function conv2d(m: Conv2d, x: Value, e: Exporter): Value {
  expectChannels(e, m, x, m.inChannels);
  const [kh, kw] = m.kernelSize;
  const out = [
    x.shape[0]!,
    m.outChannels,
    windowOutput(x.shape[2]!, kh, m.stride[0], m.padding[0], m.dilation[0], false),
    windowOutput(x.shape[3]!, kw, m.stride[1], m.padding[1], m.dilation[1], false),
  ];
  const inputs = [x, e.weight(m, 'weight', m.weight), ...(m.bias ? [e.weight(m, 'bias', m.bias)] : [])];
  return e.graph.node(
    'Conv',
    inputs,
    out,
    {
      kernel_shape: [kh, kw],
      strides: [...m.stride],
      pads: [m.padding[0], m.padding[1], m.padding[0], m.padding[1]],
      dilations: [...m.dilation],
      group: m.groups,
    },
    e.nameOf(m),
  );
}

function batchNorm2d(m: BatchNorm2d, x: Value, e: Exporter): Value {
  expectChannels(e, m, x, m.numFeatures);
  if (m.running_mean === undefined || m.running_var === undefined) {
    throw new Error(
      `ONNX export: ${e.nameOf(m)} keeps no running statistics, so in eval mode it still normalises by the batch; ONNX's inference form cannot`,
    );
  }
  const n = m.numFeatures;
  const scale = m.weight ? e.weight(m, 'weight', m.weight) : e.constant(m, 'weight', 1, n);
  const bias = m.bias ? e.weight(m, 'bias', m.bias) : e.constant(m, 'bias', 0, n);
  return e.graph.node(
    'BatchNormalization',
    [x, scale, bias, e.weight(m, 'running_mean', m.running_mean), e.weight(m, 'running_var', m.running_var)],
    x.shape,
    { epsilon: { float: m.eps }, training_mode: 0 },
    e.nameOf(m),
  );
}

function linear(m: Linear, x: Value, e: Exporter): Value {
  if (x.shape.at(-1) !== m.inFeatures)
    throw new Error(`ONNX export: ${e.nameOf(m)} expects ${m.inFeatures} features, gets [${x.shape.join(', ')}]`);
  const out = [...x.shape.slice(0, -1), m.outFeatures];
  if (x.shape.length === 2) {
    const inputs = [x, e.weight(m, 'weight', m.weight), ...(m.bias ? [e.weight(m, 'bias', m.bias)] : [])];
    return e.graph.node('Gemm', inputs, out, { transB: 1 }, e.nameOf(m));
  }
  // More than two dimensions: Gemm takes only matrices, so MatMul by the transposed weight, then add the bias.
  const transposed = scope(() => e.weight(m, 'weight_t', m.weight.transpose(0, 1).contiguous(), [m.inFeatures, m.outFeatures]));
  const product = e.graph.node('MatMul', [x, transposed], out, {}, `${e.nameOf(m)}.matmul`);
  return m.bias ? e.graph.node('Add', [product, e.weight(m, 'bias', m.bias)], out, {}, e.nameOf(m)) : product;
}

function maxPool2d(m: MaxPool2d, x: Value, e: Exporter): Value {
  const [kh, kw] = pair(m.kernelSize);
  const [sh, sw] = pair(m.options.stride ?? m.kernelSize);
  const [ph, pw] = pair(m.options.padding ?? 0);
  const [dh, dw] = pair(m.options.dilation ?? 1);
  const ceil = m.options.ceilMode ?? false;
  const out = [x.shape[0]!, x.shape[1]!, windowOutput(x.shape[2]!, kh, sh, ph, dh, ceil), windowOutput(x.shape[3]!, kw, sw, pw, dw, ceil)];
  return e.graph.node(
    'MaxPool',
    [x],
    out,
    {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      pads: [ph, pw, ph, pw],
      dilations: [dh, dw],
      ceil_mode: ceil ? 1 : 0,
    },
    e.nameOf(m),
  );
}

function avgPool2d(m: AvgPool2d, x: Value, e: Exporter): Value {
  const [kh, kw] = pair(m.kernelSize);
  const [sh, sw] = pair(m.options.stride ?? m.kernelSize);
  const [ph, pw] = pair(m.options.padding ?? 0);
  const ceil = m.options.ceilMode ?? false;
  const out = [x.shape[0]!, x.shape[1]!, windowOutput(x.shape[2]!, kh, sh, ph, 1, ceil), windowOutput(x.shape[3]!, kw, sw, pw, 1, ceil)];
  return e.graph.node(
    'AveragePool',
    [x],
    out,
    {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      pads: [ph, pw, ph, pw],
      ceil_mode: ceil ? 1 : 0,
      // PyTorch counts the zero padding in the average unless told not to; ONNX's default is the opposite.
      count_include_pad: (m.options.countIncludePad ?? true) ? 1 : 0,
    },
    e.nameOf(m),
  );
}

function adaptiveAvgPool2d(m: AdaptiveAvgPool2d, x: Value, e: Exporter): Value {
  const [oh, ow] = pair(m.outputSize);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (oh === 1 && ow === 1) return e.graph.node('GlobalAveragePool', [x], [x.shape[0]!, x.shape[1]!, 1, 1], {}, e.nameOf(m));
  if (h % oh !== 0 || w % ow !== 0) {
    throw new Error(
      `ONNX export: ${e.nameOf(m)} pools ${h}x${w} to ${oh}x${ow}, whose windows overlap unevenly; ONNX has no adaptive pooling`,
    );
  }
  // Evenly divided, adaptive pooling is a fixed window as large as its stride.
  const [kh, kw] = [h / oh, w / ow];
  return e.graph.node('AveragePool', [x], [x.shape[0]!, x.shape[1]!, oh, ow], { kernel_shape: [kh, kw], strides: [kh, kw] }, e.nameOf(m));
}

function flatten(m: Flatten, x: Value, e: Exporter): Value {
  const end = m.endDim < 0 ? x.shape.length + m.endDim : m.endDim;
  if (m.startDim !== 1 || end !== x.shape.length - 1)
    throw new Error(`ONNX export: ${e.nameOf(m)} flattens dimensions ${m.startDim}..${m.endDim}; only flatten(1) is exported`);
  return e.flatten(x, e.nameOf(m));
}

function sequential(m: Sequential, x: Value, e: Exporter): Value {
  return m.layers.reduce((out, layer) => e.call(layer, out), x);
}

/** SkipBlock.forward, case by case (DESIGN.md, "SkipBlock"). */
function skipBlock(m: SkipBlock, x: Value, e: Exporter): Value {
  const name = e.nameOf(m);
  let out = e.relu(e.call(m.bn1, e.call(m.convo1, x)), `${name}.relu1`);
  out = e.relu(e.call(m.bn2, e.call(m.convo2, out)), `${name}.relu2`);
  let identity = x;
  if (m.downsampler1 !== undefined && m.downsampler2 !== undefined) {
    identity = e.call(m.downsampler1, x);
    out = e.call(m.downsampler2, out);
  }
  if (!m.skipConnections) return out;
  if (m.inCh === m.outCh && !m.downsample) return e.add(out, identity, `${name}.add`);
  if (m.inCh !== m.outCh && !m.downsample) return e.add(out, e.call(m.in2out, identity), `${name}.add`);
  if (m.inCh !== m.outCh && m.downsample) {
    const doubled = e.graph.node(
      'Concat',
      [identity, identity],
      [identity.shape[0]!, 2 * identity.shape[1]!, ...identity.shape.slice(2)],
      { axis: 1 },
      `${name}.concat`,
    );
    return e.add(out, doubled, `${name}.add`);
  }
  return out; // same channels with downsampling: the original adds nothing
}

function hw5net(m: HW5Net, x: Value, e: Exporter): Value {
  let out = e.relu(e.call(m.stem_bn, e.call(m.stem, x)), 'stem.relu');
  for (const block of m.stage1) out = e.call(block, out);
  out = e.call(m.down1, out);
  for (const block of m.stage2) out = e.call(block, out);
  out = e.call(m.down2, out);
  for (const block of m.stage3) out = e.call(block, out);
  return e.call(m.fc, e.flatten(e.call(m.pool, out), 'flatten'));
}

function bmenet(m: BMEnet, x: Value, e: Exporter): Value {
  let out = e.relu(e.call(m.conv, x), 'conv.relu');
  for (const block of m.skip64_arr) out = e.call(block, out);
  out = e.call(m.skip64to128ds, out);
  for (const block of m.skip128_arr) out = e.call(block, out);
  out = e.call(m.skip128to256ds, out);
  for (const block of m.skip256_arr) out = e.call(block, out);
  out = e.flatten(out, 'flatten');
  return e.call(m.fc2, e.relu(e.call(m.fc1, out), 'fc1.relu'));
}

/** The two convolutions with pooling that Net1, Net2 and Net3 begin with. */
function hw4Features(m: Net1 | Net2 | Net3, x: Value, e: Exporter): Value {
  const out = e.call(m.pool, e.relu(e.call(m.conv1, x), 'conv1.relu'));
  return e.call(m.pool, e.relu(e.call(m.conv2, out), 'conv2.relu'));
}

function shallowNet(m: Net1 | Net2, x: Value, e: Exporter): Value {
  return e.call(m.fc2, e.relu(e.call(m.fc1, e.flatten(hw4Features(m, x, e), 'flatten')), 'fc1.relu'));
}

function net3(m: Net3, x: Value, e: Exporter): Value {
  let out = hw4Features(m, x, e);
  m.conv_chain.forEach((conv, i) => {
    out = e.relu(e.call(conv, out), `conv_chain.${i}.relu`);
  });
  return e.call(m.fc2, e.relu(e.call(m.fc1, e.flatten(out, 'flatten')), 'fc1.relu'));
}

/** Exporters by exact class: a subclass may compute differently, so it is not taken for its parent. */
const EXPORTERS = new Map<abstract new (...args: never[]) => Module, LayerExporter>([
  [Conv2d, conv2d],
  [BatchNorm2d, batchNorm2d],
  [Linear, linear],
  [MaxPool2d, maxPool2d],
  [AvgPool2d, avgPool2d],
  [AdaptiveAvgPool2d, adaptiveAvgPool2d],
  [Flatten, flatten],
  [Sequential, sequential],
  [ReLU, (_m: ReLU, x: Value, e: Exporter) => e.relu(x, e.nameOf(_m))],
  [
    LeakyReLU,
    (m: LeakyReLU, x: Value, e: Exporter) => e.graph.node('LeakyRelu', [x], x.shape, { alpha: { float: m.negativeSlope } }, e.nameOf(m)),
  ],
  // Dropout computes nothing in eval mode, Identity never does.
  [Dropout, (_m: Dropout, x: Value) => x],
  [Identity, (_m: Identity, x: Value) => x],
  [SkipBlock, skipBlock],
  [HW5Net, hw5net],
  [BMEnet, bmenet],
  [Net1, shallowNet],
  [Net2, shallowNet],
  [Net3, net3],
] as [abstract new (...args: never[]) => Module, LayerExporter][]);

function packageVersion(): string {
  try {
    const path = fileURLToPath(new URL('../../../package.json', import.meta.url));
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The model as an ONNX graph from `input` [batch, C, H, W] (normalised as the
 * description says) to `logits` [batch, classes], computing as the model does
 * in eval mode.
 */
export function exportOnnx(model: Module, description: OnnxModelDescription): OnnxExport {
  const [channels, height, width] = description.inputShape;
  if (description.inputShape.length !== 3)
    throw new Error(`ONNX export: inputShape must be [channels, height, width], got [${description.inputShape.join(', ')}]`);
  const exporter = new Exporter(model);
  const graph = exporter.graph;
  const input: Value = { name: graph.name('input'), shape: [-1, channels!, height!, width!] };
  let output = exporter.call(model, input);
  if (output.shape.length !== 2 || output.shape[1] !== description.classes.length) {
    throw new Error(
      `ONNX export: the model gives [${output.shape.join(', ')}], not [batch, ${description.classes.length}] logits for its classes`,
    );
  }
  output = graph.rename(output, 'logits');
  const { mean, std } = description.normalization;
  const bytes = graph.encode(input, output, {
    graphName: description.model,
    producerVersion: packageVersion(),
    docString:
      `${description.model} exported by skipstudio: input [batch, ${channels}, ${height}, ${width}] float32, pixels / 255 then ` +
      `(x - mean) / std per channel (mean ${mean.join(', ')}; std ${std.join(', ')}); output: logits over ${description.classes.length} classes.`,
    metadata: {
      'skipstudio.model': description.model,
      'skipstudio.model_options': JSON.stringify(description.modelOptions ?? {}),
      classes: JSON.stringify(description.classes),
      normalization: JSON.stringify({ mean, std }),
      input_shape: JSON.stringify(description.inputShape),
      preprocessing:
        'NCHW float32; each pixel divided by 255, then (x - mean[c]) / std[c] per channel c, with mean and std from "normalization"',
      ...description.metadata,
    },
  });
  const operators: Record<string, number> = {};
  for (const node of graph.nodes) operators[node.opType!] = (operators[node.opType!] ?? 0) + 1;
  return { bytes, operators, nodes: graph.nodes.length, opset: OPSET };
}

/** A run's model, built as it trained and loaded from its last checkpoint, in eval mode. */
export function loadRunModel(runPath: string): { model: Module; config: TrainConfig; info: ModelInfo } {
  const dir = new RunDirectory(runPath);
  const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...dir.readJson<Partial<TrainConfig>>('config.json') };
  const info = dir.readJson<ModelInfo>('model.json');
  const [channels, height, width] = info.inputShape as [number, number, number];
  const model = buildModel(config.model, { channels, height, width }, info.classes.length, config.modelOptions);
  const checkpoint = loadCheckpoint(dir.checkpointPath);
  try {
    checkFiniteWeights(checkpoint.modelState, dir.checkpointPath);
    model.loadStateDict(checkpoint.modelState);
  } finally {
    checkpoint.dispose();
  }
  return { model: model.eval(), config, info };
}

/**
 * Exports a run's trained model (its last checkpoint) with its classes and
 * normalisation. A diverged run's checkpoint is the last before its loss blew
 * up, often with weights already far off: refused unless allowDiverged.
 */
export function exportRunToOnnx(runPath: string, options: { allowDiverged?: boolean } = {}): OnnxExport {
  const dir = new RunDirectory(runPath);
  const status = existsSync(dir.file('status.json')) ? dir.status() : undefined;
  if (status?.status === 'diverged' && !options.allowDiverged) {
    const at = status.divergedAt;
    throw new Error(
      `${runPath} diverged${at ? ` at step ${at.step} (loss ${at.loss})` : ''}: its checkpoint is the last one before, whose weights may ` +
        'already be far off; give --allow-diverged to export it anyway',
    );
  }
  const { model, config, info } = loadRunModel(runPath);
  try {
    return exportOnnx(model, {
      model: config.model,
      inputShape: info.inputShape,
      classes: info.classes,
      normalization: info.normalization,
      modelOptions: config.modelOptions,
      metadata: {
        'skipstudio.dataset': config.dataset,
        'skipstudio.learning_rate': String(config.lr),
        'skipstudio.seed': String(config.seed),
      },
    });
  } finally {
    dispose([...model.parameters(), ...model.buffers()]);
  }
}
