/**
 * Datasets: readers of Fashion-MNIST, CIFAR-10, a built COCO subset and
 * ImageFolder, the COCO subset builder, the DataLoader (order, shards,
 * normalisation, augmentation) and data info/show. A new dataset goes here:
 * its loader, its name in names.ts, its entry in registry.ts.
 */
export * from './dataset.js';
export * from './idx.js';
export * from './fashion-mnist.js';
export * from './loader.js';
export * from './cifar10.js';
export * from './coco.js';
export type { CocoScanProgress } from './coco-json.js';
export * from './registry.js';
export * from './inspect.js';
export * from './images.js';
export * from './image-folder.js';
export * from './subset.js';
export * from './hw5.js';
