/**
 * What the project knows about each registered model besides how to build
 * it: its name in prose, the source files that define it (for the report's
 * appendix), the recipe it was designed to be trained with, and which models
 * it is compared against. Pure data, with no imports that load libtorch, so
 * the report reads it without loading the engine; registry.ts adds the
 * builders. test/report/listings.test.ts checks that every model in the
 * registry has an entry here and that its files exist.
 *
 * A comparison of architectures is only fair when each trains the way it
 * was meant to: the SkipBlock networks with SGD, Nesterov momentum and a
 * 1cycle schedule (DLStudio's and ResNet's practice), the plain HW4 CNNs
 * with HW4's own Adam recipe. Under one shared SGD grid at 0.1/0.02, Net3
 * never leaves chance level, which says nothing about Net3.
 */
import type { RecipeSettings } from './recipe.js';

/** A model's recipe: optimizer settings and the learning rates to try. */
export interface Recipe extends Partial<RecipeSettings> {
  lrs?: number[];
}

/** What the project knows of a model besides how to build it: its name in prose, source files, recipe, comparisons and depth option. */
export interface CatalogEntry {
  name: string;
  /** How the report names the model in prose. */
  displayName: string;
  description: string;
  /** Source files (relative to src/models/) in reading order: input checks and blocks first, then the network. */
  sources: readonly string[];
  recipe: Readonly<Recipe>;
  /** The same layers without skip connections, compared to show what the skips do. */
  plainTwin?: string;
  /** The plain CNN the assignment compares it with. */
  baseline?: string;
  /** Whether its blocks add skip connections: the depth study expects these not to degrade with depth. */
  skipConnections: boolean;
  /** The option that sets its depth, swept by an experiment's depths (a model without one has one depth). */
  depthOption?: DepthOption;
}

/** The model option that sets a model's depth, and what one step of it adds. */
export interface DepthOption {
  name: string;
  /** What one step of the option adds, for prose: "SkipBlocks a stage". */
  unit: string;
}

const BLOCKS_PER_STAGE: DepthOption = { name: 'blocksPerStage', unit: 'SkipBlocks a stage' };
const BMENET_DEPTH: DepthOption = { name: 'depth', unit: 'SkipBlocks a stage' };
/** HW4's knob: the extra 3x3 convolutions that made Net3 deeper than Net2 without making it better. */
const NET3_CHAIN: DepthOption = { name: 'chainLength', unit: 'extra convolution layers' };

/** SGD with Nesterov momentum 0.9, weight decay 5e-4 and 1cycle, at two learning rates. */
const SKIPBLOCK_RECIPE: Recipe = { optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4, schedule: 'onecycle', lrs: [0.1, 0.02] };

/** HW4's recipe: Adam with betas (0.9, 0.99), no weight decay, a constant learning rate; 1e-3 and a tenth of it. */
const HW4_RECIPE: Recipe = { optimizer: 'adam', betas: [0.9, 0.99], weightDecay: 0, schedule: 'constant', lrs: [1e-3, 1e-4] };

const HW5NET_SOURCES = ['shapes.ts', 'skip-block.ts', 'hw5net.ts'];
const BMENET_SOURCES = ['shapes.ts', 'skip-block.ts', 'bmenet.ts'];
const HW4_SOURCES = ['shapes.ts', 'hw4.ts'];

// The plain twins are the same classes built with skipConnections: false (registry.ts), trained by the same recipe so only the skips differ.
const CATALOG: readonly CatalogEntry[] = [
  {
    name: 'hw5net',
    displayName: 'HW5Net',
    sources: HW5NET_SOURCES,
    recipe: SKIPBLOCK_RECIPE,
    plainTwin: 'hw5net-plain',
    baseline: 'net3',
    skipConnections: true,
    depthOption: BLOCKS_PER_STAGE,
    description: 'HW5Net: 20 SkipBlocks in three stages (8/16/32 channels by default) with skip connections',
  },
  {
    name: 'hw5net-plain',
    displayName: 'Plain HW5Net',
    sources: HW5NET_SOURCES,
    recipe: SKIPBLOCK_RECIPE,
    skipConnections: false,
    depthOption: BLOCKS_PER_STAGE,
    description: "HW5Net's plain twin: the same layers with the skip connections removed",
  },
  {
    name: 'bmenet',
    displayName: 'BMEnet',
    sources: BMENET_SOURCES,
    recipe: SKIPBLOCK_RECIPE,
    plainTwin: 'bmenet-plain',
    skipConnections: true,
    depthOption: BMENET_DEPTH,
    description: "DLStudio's BMEnet: 3 x 8 SkipBlocks at 64/128/256 channels, two fully connected layers",
  },
  {
    name: 'bmenet-plain',
    displayName: 'Plain BMEnet',
    sources: BMENET_SOURCES,
    recipe: SKIPBLOCK_RECIPE,
    skipConnections: false,
    depthOption: BMENET_DEPTH,
    description: 'BMEnet without skip connections',
  },
  {
    name: 'net1',
    displayName: 'Net1',
    sources: HW4_SOURCES,
    recipe: HW4_RECIPE,
    skipConnections: false,
    description: 'HW4 Net1: two unpadded 3x3 convolutions with max pooling, two fully connected layers',
  },
  {
    name: 'net2',
    displayName: 'Net2',
    sources: HW4_SOURCES,
    recipe: HW4_RECIPE,
    skipConnections: false,
    description: 'HW4 Net2: Net1 with padded convolutions',
  },
  {
    name: 'net3',
    displayName: 'Net3',
    sources: HW4_SOURCES,
    recipe: HW4_RECIPE,
    skipConnections: false,
    depthOption: NET3_CHAIN,
    description: 'HW4 Net3: Net2 plus a chain of 10 3x3 convolutions (a plain deep CNN)',
  },
];

function entry(model: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.name === model.toLowerCase());
}

/** The catalog entry of a model; a RangeError naming the known ones when there is none. */
export function catalogEntry(model: string): CatalogEntry {
  const found = entry(model);
  if (found === undefined) throw new RangeError(`unknown model '${model}': choose one of ${CATALOG.map((e) => e.name).join(', ')}`);
  return found;
}

/** The model names that have source files listed here. */
export function modelsWithSources(): string[] {
  return CATALOG.map((e) => e.name);
}

/** Whether the catalog has an entry (and so source files) for this model. */
export function hasModelSources(model: string): boolean {
  return entry(model) !== undefined;
}

/** The source files (relative to src/models/) that define one model, in reading order. */
export function modelSources(model: string): string[] {
  const found = entry(model);
  if (found === undefined) throw new RangeError(`no source files listed for model '${model}': known are ${modelsWithSources().join(', ')}`);
  return [...found.sources];
}

/** The deduplicated union of the models' source files, in order of first appearance. */
export function modelSourceFiles(models: string[]): string[] {
  const files = new Set<string>();
  for (const model of models) for (const file of modelSources(model)) files.add(file);
  return [...files];
}

/** The model's name for prose ("HW5Net"), or the registry name where none is set. */
export function modelDisplayName(model: string): string {
  return entry(model)?.displayName ?? model;
}

/** The recipe a registered model was designed with (a copy). */
export function designedRecipe(model: string): Recipe {
  const found = entry(model);
  if (found === undefined) throw new RangeError(`no training recipe for model '${model}' (known: ${modelsWithSources().join(', ')})`);
  return { ...found.recipe, lrs: [...(found.recipe.lrs ?? [])] };
}

/** The option that sets a model's depth; a RangeError when the model has one depth only. */
export function depthOption(model: string): DepthOption {
  const found = catalogEntry(model);
  if (found.depthOption === undefined) {
    const swept = CATALOG.filter((e) => e.depthOption).map((e) => `${e.name} (${e.depthOption!.name})`);
    throw new RangeError(`${found.name} has one depth only: depths can be swept for ${swept.join(', ')}`);
  }
  return found.depthOption;
}

/** Whether a model's blocks add skip connections (unknown models: false). */
export function hasSkipConnections(model: string): boolean {
  return entry(model)?.skipConnections ?? false;
}

/** The pairs the study compares: each model with its plain twin and with its baseline, and why each pair matters. */
export function studyComparisons(): [string, string, string][] {
  return CATALOG.flatMap((e) => [
    ...(e.plainTwin ? [[e.name, e.plainTwin, 'the same layers without skip connections'] as [string, string, string]] : []),
    ...(e.baseline ? [[e.name, e.baseline, 'the plain deep CNN of HW4, at its own recipe'] as [string, string, string]] : []),
  ]);
}

/** The value of the model's depth option in a run's model options, if set there. */
export function configuredDepth(config: { model: string; modelOptions: Record<string, number> }): number | undefined {
  const option = hasModelSources(config.model) ? catalogEntry(config.model).depthOption?.name : undefined;
  return option === undefined ? undefined : config.modelOptions[option];
}
