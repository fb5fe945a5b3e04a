/**
 * Which source files define each registered model, for the report's source
 * appendix. Pure data with no imports, so the report can list the sources
 * without loading libtorch. Paths are relative to src/models/, in reading
 * order: the input checks and building blocks first, then the network.
 * test/report/listings.test.ts checks that every model in the registry has
 * an entry here and that its files exist.
 */

const MODEL_SOURCES: Readonly<Record<string, readonly string[]>> = {
  // The plain twins are the same classes built with skipConnections: false (see registry.ts).
  'hw5net': ['shapes.ts', 'skip-block.ts', 'hw5net.ts'],
  'hw5net-plain': ['shapes.ts', 'skip-block.ts', 'hw5net.ts'],
  'bmenet': ['shapes.ts', 'skip-block.ts', 'bmenet.ts'],
  'bmenet-plain': ['shapes.ts', 'skip-block.ts', 'bmenet.ts'],
  'net1': ['shapes.ts', 'hw4.ts'],
  'net2': ['shapes.ts', 'hw4.ts'],
  'net3': ['shapes.ts', 'hw4.ts'],
};

/** How the report names each model in prose. */
const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  'hw5net': 'HW5Net',
  'hw5net-plain': 'Plain HW5Net',
  'bmenet': 'BMEnet',
  'bmenet-plain': 'Plain BMEnet',
  'net1': 'Net1',
  'net2': 'Net2',
  'net3': 'Net3',
};

/** The model names that have source files listed here. */
export function modelsWithSources(): string[] {
  return Object.keys(MODEL_SOURCES);
}

export function hasModelSources(model: string): boolean {
  return Object.hasOwn(MODEL_SOURCES, model.toLowerCase());
}

/** The source files (relative to src/models/) that define one model, in reading order. */
export function modelSources(model: string): string[] {
  const files = MODEL_SOURCES[model.toLowerCase()];
  if (files === undefined || !hasModelSources(model)) {
    throw new RangeError(`no source files listed for model '${model}': known are ${modelsWithSources().join(', ')}`);
  }
  return [...files];
}

/** The deduplicated union of the models' source files, in order of first appearance. */
export function modelSourceFiles(models: string[]): string[] {
  const files = new Set<string>();
  for (const model of models) for (const file of modelSources(model)) files.add(file);
  return [...files];
}

/** The model's name for prose ("HW5Net"), or the registry name where none is set. */
export function modelDisplayName(model: string): string {
  return (hasModelSources(model) ? DISPLAY_NAMES[model.toLowerCase()] : undefined) ?? model;
}
