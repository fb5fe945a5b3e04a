/** The datasets the CLI knows, with the image shape and class count models are built for. */
import type { ImageShape } from '../models/index.js';
import { loadCifar10 } from './cifar10.js';
import { loadCocoSubset } from './coco.js';
import type { DatasetSplits } from './dataset.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadImageFolder } from './image-folder.js';

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
  { name: 'imagefolder', shape: { channels: 3, height: 64, width: 64 }, numClasses: 10, description: 'root/{train,test}/<class>/<image>, resized to 64x64' },
];

export function datasetNames(): string[] {
  return DATASETS.map((d) => d.name);
}

export function getDatasetInfo(name: string): DatasetInfo {
  const info = DATASETS.find((d) => d.name === name.toLowerCase());
  if (info === undefined) throw new RangeError(`unknown dataset '${name}': choose one of ${datasetNames().join(', ')}`);
  return info;
}

/** Loads a dataset's train and test splits by name. */
export async function loadDataset(name: string, dataDir?: string): Promise<DatasetSplits> {
  switch (getDatasetInfo(name).name) {
    case 'fashion-mnist':
      return loadFashionMnist(dataDir);
    case 'cifar10':
      if (dataDir === undefined) throw new RangeError('cifar10 needs --data-dir: the folder of the binary version (data_batch_1.bin ... test_batch.bin)');
      return loadCifar10(dataDir);
    case 'coco':
      if (dataDir === undefined) throw new RangeError('coco needs --data-dir: the folder that `skipstudio data coco --out DIR` built');
      return loadCocoSubset(dataDir);
    default:
      if (dataDir === undefined) throw new RangeError('imagefolder needs --data-dir: a folder with train/<class>/ and test/<class>/ images');
      return loadImageFolder(dataDir);
  }
}
