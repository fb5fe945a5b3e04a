/**
 * The model registry: every network by the name the CLI and configs use,
 * built for a dataset's image shape and class count.
 */
import type { Module } from '../nn/index.js';
import { BMEnet } from './bmenet.js';
import { Net1, Net2, Net3 } from './hw4.js';
import { HW5Net } from './hw5net.js';
import type { ImageShape } from './shapes.js';

export interface ModelSpec {
  name: string;
  description: string;
  /** Options the model takes beyond shape and classes, e.g. width for hw5net. */
  options: string[];
  build(shape: ImageShape, numClasses: number, options?: Record<string, number>): Module;
}

const size = (shape: ImageShape): [number, number] => [shape.height, shape.width];

const SPECS: ModelSpec[] = [
  {
    name: 'hw5net',
    description: 'HW5Net: 20 SkipBlocks in three stages (8/16/32 channels by default) with skip connections',
    options: ['width', 'blocksPerStage'],
    build: (s, numClasses, o) => new HW5Net({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'hw5net-plain',
    description: 'HW5Net\'s plain twin: the same layers with the skip connections removed',
    options: ['width', 'blocksPerStage'],
    build: (s, numClasses, o) => new HW5Net({ ...o, imageSize: size(s), inChannels: s.channels, numClasses, skipConnections: false }),
  },
  {
    name: 'bmenet',
    description: 'DLStudio\'s BMEnet: 3 x 8 SkipBlocks at 64/128/256 channels, two fully connected layers',
    options: ['depth'],
    build: (s, numClasses, o) => new BMEnet({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'bmenet-plain',
    description: 'BMEnet without skip connections',
    options: ['depth'],
    build: (s, numClasses, o) => new BMEnet({ ...o, imageSize: size(s), inChannels: s.channels, numClasses, skipConnections: false }),
  },
  {
    name: 'net1',
    description: 'HW4 Net1: two unpadded 3x3 convolutions with max pooling, two fully connected layers',
    options: [],
    build: (s, numClasses) => new Net1({ imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'net2',
    description: 'HW4 Net2: Net1 with padded convolutions',
    options: [],
    build: (s, numClasses) => new Net2({ imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'net3',
    description: 'HW4 Net3: Net2 plus a chain of 10 3x3 convolutions (a plain deep CNN)',
    options: ['chainLength'],
    build: (s, numClasses, o) => new Net3({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
];

export function modelNames(): string[] {
  return SPECS.map((s) => s.name);
}

export function modelSpecs(): readonly ModelSpec[] {
  return SPECS;
}

export function getModelSpec(name: string): ModelSpec {
  const spec = SPECS.find((s) => s.name === name.toLowerCase());
  if (spec === undefined) throw new RangeError(`unknown model '${name}': choose one of ${modelNames().join(', ')}`);
  return spec;
}

/** Builds a registered model for images of the given shape; unknown options are an error. */
export function buildModel(name: string, shape: ImageShape, numClasses: number, options: Record<string, number> = {}): Module {
  const spec = getModelSpec(name);
  const unknown = Object.keys(options).filter((k) => !spec.options.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(`${spec.name} takes no option ${unknown.map((k) => `'${k}'`).join(', ')}` +
      (spec.options.length ? ` (it takes ${spec.options.join(', ')})` : ''));
  }
  return spec.build(shape, numClasses, options);
}
