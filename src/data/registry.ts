/**
 * The datasets the CLI knows: each entry has the image shape and class count
 * models are built for, and knows how to load itself from a folder.
 */
import { loadCifar10 } from './cifar10.js';
import { loadCocoSubset } from './coco.js';
import type { DatasetSplits, ImageShape } from './dataset.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { DATASET_NAMES, type DatasetName } from './names.js';
import { loadImageFolder } from './image-folder.js';

/** A dataset the CLI knows: its name, image shape, class count, a description, and how to load it. */
export interface DatasetInfo {
  name: string;
  shape: ImageShape;
  numClasses: number;
  description: string;
  /** Loads the train and test splits, from dataDir or the dataset's default place. */
  load(dataDir?: string): Promise<DatasetSplits> | DatasetSplits;
}

/** A loader for datasets that have no default place: it asks for --data-dir, saying what the folder must hold. */
function needsFolder(name: string, holds: string, load: (dir: string) => Promise<DatasetSplits> | DatasetSplits) {
  return (dataDir?: string) => {
    if (dataDir === undefined) throw new RangeError(`${name} needs --data-dir: ${holds}`);
    return load(dataDir);
  };
}

/** One entry per name of DATASET_NAMES, in its order. */
const ENTRIES: Record<DatasetName, Omit<DatasetInfo, 'name'>> = {
  'fashion-mnist': {
    shape: { channels: 1, height: 28, width: 28 },
    numClasses: 10,
    description: 'Fashion-MNIST, 28x28 grayscale, 10 classes (the default)',
    load: (dataDir) => loadFashionMnist(dataDir),
  },
  cifar10: {
    shape: { channels: 3, height: 32, width: 32 },
    numClasses: 10,
    description: 'CIFAR-10, 32x32 colour, 10 classes',
    load: needsFolder('cifar10', 'the folder of the binary version (data_batch_1.bin ... test_batch.bin)', loadCifar10),
  },
  coco: {
    shape: { channels: 3, height: 64, width: 64 },
    numClasses: 5,
    description: "the exercise's COCO subset, 64x64 colour, 5 classes",
    load: needsFolder('coco', 'the folder that `skipstudio data coco --out DIR` built', loadCocoSubset),
  },
  imagefolder: {
    shape: { channels: 3, height: 64, width: 64 },
    numClasses: 10,
    description: 'root/{train,test}/<class>/<image>, resized to 64x64',
    load: needsFolder('imagefolder', 'a folder with train/<class>/ and test/<class>/ images', loadImageFolder),
  },
};

const DATASETS: DatasetInfo[] = DATASET_NAMES.map((name) => ({ name, ...ENTRIES[name] }));

/** The names of the datasets the CLI knows. */
export function datasetNames(): string[] {
  return [...DATASET_NAMES];
}

/** The dataset of this name (case-insensitive); throws a RangeError listing the known names if there is none. */
export function getDatasetInfo(name: string): DatasetInfo {
  const info = DATASETS.find((d) => d.name === name.toLowerCase());
  if (info === undefined) throw new RangeError(`unknown dataset '${name}': choose one of ${datasetNames().join(', ')}`);
  return info;
}

/** Loads a dataset's train and test splits by name. */
export async function loadDataset(name: string, dataDir?: string): Promise<DatasetSplits> {
  return getDatasetInfo(name).load(dataDir);
}
