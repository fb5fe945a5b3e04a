/**
 * The model registry: every network by the name the CLI and configs use,
 * built for a dataset's image shape and class count.
 */
import type { Module } from '../nn/index.js';
import { BMEnet } from './bmenet.js';
import { catalogEntry } from './catalog.js';
import { Net1, Net2, Net3 } from './hw4.js';
import { HW5Net } from './hw5net.js';
import type { ImageShape } from '../data/dataset.js';

/** A registered model: its name, a description, the options it takes and its builder. */
export interface ModelSpec {
  name: string;
  description: string;
  /** Options the model takes beyond shape and classes, e.g. width for hw5net. */
  options: string[];
  /** Builds the model for images of this shape and this many classes. */
  build(shape: ImageShape, numClasses: number, options?: Record<string, number>): Module;
}

const size = (shape: ImageShape): [number, number] => [shape.height, shape.width];

const SPECS: Omit<ModelSpec, 'description'>[] = [
  {
    name: 'hw5net',
    options: ['width', 'blocksPerStage'],
    build: (s, numClasses, o) => new HW5Net({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'hw5net-plain',
    options: ['width', 'blocksPerStage'],
    build: (s, numClasses, o) => new HW5Net({ ...o, imageSize: size(s), inChannels: s.channels, numClasses, skipConnections: false }),
  },
  {
    name: 'bmenet',
    options: ['depth'],
    build: (s, numClasses, o) => new BMEnet({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'bmenet-plain',
    options: ['depth'],
    build: (s, numClasses, o) => new BMEnet({ ...o, imageSize: size(s), inChannels: s.channels, numClasses, skipConnections: false }),
  },
  {
    name: 'net1',
    options: [],
    build: (s, numClasses) => new Net1({ imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'net2',
    options: [],
    build: (s, numClasses) => new Net2({ imageSize: size(s), inChannels: s.channels, numClasses }),
  },
  {
    name: 'net3',
    options: ['chainLength'],
    build: (s, numClasses, o) => new Net3({ ...o, imageSize: size(s), inChannels: s.channels, numClasses }),
  },
];

/** The names of the registered models. */
export function modelNames(): string[] {
  return SPECS.map((s) => s.name);
}

/** Every registered model, with its description from the catalog. */
export function modelSpecs(): readonly ModelSpec[] {
  return SPECS.map((spec) => ({ ...spec, description: catalogEntry(spec.name).description }));
}

/** The registered model of this name (case-insensitive); throws a RangeError listing the known names if there is none. */
export function getModelSpec(name: string): ModelSpec {
  const spec = modelSpecs().find((s) => s.name === name.toLowerCase());
  if (spec === undefined) throw new RangeError(`unknown model '${name}': choose one of ${modelNames().join(', ')}`);
  return spec;
}

/** Builds a registered model for images of the given shape; unknown options are an error. */
export function buildModel(name: string, shape: ImageShape, numClasses: number, options: Record<string, number> = {}): Module {
  const spec = getModelSpec(name);
  const unknown = Object.keys(options).filter((k) => !spec.options.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(
      `${spec.name} takes no option ${unknown.map((k) => `'${k}'`).join(', ')}` +
        (spec.options.length ? ` (it takes ${spec.options.join(', ')})` : ''),
    );
  }
  return spec.build(shape, numClasses, options);
}
