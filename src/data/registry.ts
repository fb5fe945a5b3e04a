/** The datasets the CLI knows, with the image shape and class count models are built for. */
import type { ImageShape } from '../models/index.js';

export interface DatasetInfo {
  name: string;
  shape: ImageShape;
  numClasses: number;
  description: string;
}

const DATASETS: DatasetInfo[] = [
  { name: 'fashion-mnist', shape: { channels: 1, height: 28, width: 28 }, numClasses: 10, description: 'Fashion-MNIST, 28x28 grayscale, 10 classes (the default)' },
  { name: 'cifar10', shape: { channels: 3, height: 32, width: 32 }, numClasses: 10, description: 'CIFAR-10, 32x32 colour, 10 classes' },
  { name: 'coco', shape: { channels: 3, height: 64, width: 64 }, numClasses: 5, description: 'the exercise\'s COCO subset, 64x64 colour, 5 classes' },
];

export function datasetNames(): string[] {
  return DATASETS.map((d) => d.name);
}

export function getDatasetInfo(name: string): DatasetInfo {
  const info = DATASETS.find((d) => d.name === name.toLowerCase());
  if (info === undefined) throw new RangeError(`unknown dataset '${name}': choose one of ${datasetNames().join(', ')}`);
  return info;
}
