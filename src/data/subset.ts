/** A seeded subset of a split, for training on fewer images (`--train-subset`). */
import type { ImageDataset } from './dataset.js';
import { epochOrder } from './loader.js';

/** The first n images of a seeded shuffle of a split (all of it when n is 0 or larger). */
export function subset(dataset: ImageDataset, n: number, seed: number): ImageDataset {
  const total = dataset.labels.length;
  if (n === 0 || n >= total) return dataset;
  const order = epochOrder(total, seed, -1).subarray(0, n);
  const plane = dataset.images.length / total;
  const images = new Uint8Array(n * plane);
  const labels = new Uint8Array(n);
  order.forEach((source, i) => {
    images.set(dataset.images.subarray(source * plane, (source + 1) * plane), i * plane);
    labels[i] = dataset.labels[source]!;
  });
  return { ...dataset, images, labels };
}
