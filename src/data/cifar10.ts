/**
 * CIFAR-10 from its binary distribution: data_batch_1..5.bin and
 * test_batch.bin, each a sequence of 3073-byte records (one label byte, then
 * 1024 red, 1024 green and 1024 blue pixel bytes), class names from
 * batches.meta.txt.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';

const RECORD = 1 + 3 * 32 * 32;
const DEFAULT_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function readBatches(dir: string, files: string[], classes: string[]): ImageDataset {
  const buffers = files.map((name) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new DataFileError(path, "CIFAR-10 file not found (pass --data-dir with the binary version's .bin files)");
    const data = readFileSync(path);
    if (data.length === 0 || data.length % RECORD !== 0) {
      throw new DataFileError(path, `size ${data.length} is not a positive multiple of the ${RECORD}-byte CIFAR-10 record`);
    }
    for (let offset = 0; offset < data.length; offset += RECORD) {
      if (data[offset]! >= classes.length) {
        throw new DataFileError(
          path,
          `label ${data[offset]} of record ${offset / RECORD} is out of range (there are ${classes.length} classes)`,
        );
      }
    }
    return data;
  });
  const count = buffers.reduce((n, b) => n + b.length / RECORD, 0);
  const images = new Uint8Array(count * (RECORD - 1));
  const labels = new Uint8Array(count);
  let i = 0;
  for (const data of buffers) {
    for (let offset = 0; offset < data.length; offset += RECORD, i++) {
      labels[i] = data[offset]!;
      images.set(data.subarray(offset + 1, offset + RECORD), i * (RECORD - 1));
    }
  }
  return { name: 'cifar10', images, labels, shape: { channels: 3, height: 32, width: 32 }, classes };
}

/**
 * Reads CIFAR-10's binary version from a folder: the five data batches as the training split, test_batch.bin as the test split.
 * Class names come from batches.meta.txt when present. As torchvision.datasets.CIFAR10.
 */
export function loadCifar10(dir: string): DatasetSplits {
  const meta = join(dir, 'batches.meta.txt');
  const classes = existsSync(meta)
    ? readFileSync(meta, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0)
    : DEFAULT_CLASSES;
  return {
    train: readBatches(
      dir,
      [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`),
      classes,
    ),
    test: readBatches(dir, ['test_batch.bin'], classes),
  };
}
