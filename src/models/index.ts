/**
 * The networks: SkipBlock, BMEnet, HW5Net, their plain twins and HW4's
 * Net1-3, the registry that builds them by name, and the catalog of what the
 * project knows of each (recipe, sources, twin, depth option). A new model
 * goes here, with a registry and a catalog entry.
 */
export * from './skip-block.js';
export * from './depth.js';
export * from './bmenet.js';
export * from './hw4.js';
export * from './hw5net.js';
export * from './registry.js';
export type { ClassifierShape } from './shapes.js';
export * from './catalog.js';
