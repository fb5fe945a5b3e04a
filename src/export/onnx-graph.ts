/**
 * Builds an ONNX graph node by node and encodes it with onnx-proto (the ONNX
 * schema compiled for protobufjs), so no protobuf byte is written by hand.
 * Every value carries its static shape (the batch dimension symbolic), which
 * the exporter uses to check each layer against what it receives and to
 * choose operators (an adaptive pooling becomes a fixed one).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

import { IR_VERSION, OPSET } from './onnx-version.js';

const { onnx } = onnxProto;

/** A value in the graph: its name and shape, the batch dimension written as -1. */
export interface Value {
  name: string;
  shape: number[];
}

/** An integer, a list of integers, a string, or a float (written `{ float: x }`, so 1.0 is not taken for an integer). */
export type Attribute = number | number[] | string | { float: number };

export class OnnxGraph {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  /** A fresh value name from a readable stem. */
  name(stem: string): string {
    let name = stem;
    while (this.#names.has(name)) name = `${stem}_${++this.#counter}`;
    this.#names.add(name);
    return name;
  }

  /** A float32 constant (a weight), named after its state-dict key. */
  initializer(stem: string, data: Float32Array, shape: number[]): Value {
    const expected = shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected)
      throw new Error(`ONNX export: ${stem} holds ${data.length} values, its shape [${shape.join(', ')}] needs ${expected}`);
    const name = this.name(stem);
    // Copied into a little-endian byte array, as TensorProto.raw_data stores floats.
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    this.initializers.push({ name, dims: shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return { name, shape };
  }

  /** Adds a node with one output of the given shape. */
  node(
    opType: string,
    inputs: Value[],
    outputShape: number[],
    attributes: Record<string, Attribute> = {},
    stem = opType.toLowerCase(),
  ): Value {
    const output = this.name(stem);
    this.nodes.push({
      opType,
      name: output,
      input: inputs.map((v) => v.name),
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return { name: output, shape: outputShape };
  }

  /** Gives a value another name (the graph's output is called 'logits'). */
  rename(value: Value, name: string): Value {
    if (this.#names.has(name)) throw new Error(`ONNX export: the name ${name} is taken`);
    this.#names.add(name);
    for (const node of this.nodes) {
      node.output = node.output?.map((n) => (n === value.name ? name : n));
      node.input = node.input?.map((n) => (n === value.name ? name : n));
    }
    return { name, shape: value.shape };
  }

  /** The model: the graph between `input` and `output`, with string metadata. */
  encode(
    input: Value,
    output: Value,
    options: { graphName: string; producerVersion: string; docString: string; metadata: Record<string, string> },
  ): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'skipstudio',
      producerVersion: options.producerVersion,
      docString: options.docString,
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(input)],
        output: [valueInfo(output)],
      },
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
    });
    const problem = onnx.ModelProto.verify(model);
    if (problem !== null) throw new Error(`ONNX export: the model does not fit the ONNX schema: ${problem}`);
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, value: Attribute): Onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  if (!Number.isInteger(value)) throw new Error(`ONNX export: attribute ${name} must be an integer, got ${value}`);
  return { name, type: AttributeType.INT, i: value };
}

function valueInfo(value: Value): Onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: value.shape.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  };
}
