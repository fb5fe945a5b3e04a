/**
 * Fashion-MNIST: 70,000 28x28 grayscale images of 10 kinds of clothing, the
 * default dataset of every command. Read from IDX files, by default where
 * Debian's `dataset-fashion-mnist` package puts them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';
import { readIdxImages, readIdxLabels } from './idx.js';

/** Where Debian's dataset-fashion-mnist package installs the IDX files: the default folder of loadFashionMnist. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's ten class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** The file for a split, gzipped or not, e.g. train-images-idx3-ubyte(.gz). */
function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new DataFileError(
    join(dir, `${base}.gz`),
    "Fashion-MNIST file not found (install Debian's dataset-fashion-mnist, or pass --data-dir with the IDX files)",
  );
}

function loadSplit(dir: string, split: 'train' | 't10k'): ImageDataset {
  const imagesPath = findFile(dir, `${split}-images-idx3-ubyte`);
  const labelsPath = findFile(dir, `${split}-labels-idx1-ubyte`);
  const images = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath, FASHION_MNIST_CLASSES.length);
  if (images.count !== labels.length) {
    throw new DataFileError(labelsPath, `${labels.length} labels for ${images.count} images in ${imagesPath}`);
  }
  return {
    name: 'fashion-mnist',
    images: images.pixels,
    labels,
    shape: { channels: 1, height: images.rows, width: images.cols },
    classes: FASHION_MNIST_CLASSES,
  };
}

/** Reads Fashion-MNIST's training (60,000) and test (10,000) splits from the IDX files in a folder, gzipped or not. As torchvision.datasets.FashionMNIST. */
export function loadFashionMnist(dir = FASHION_MNIST_DIR): DatasetSplits {
  return { train: loadSplit(dir, 'train'), test: loadSplit(dir, 't10k') };
}
