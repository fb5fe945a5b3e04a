/**
 * Looking at data before training on it: counts per class and split, image
 * shape and pixel statistics (`skipstudio data info`), and a labelled grid of
 * sample images per class as a PNG (`skipstudio data show`).
 */
import sharp from 'sharp';

import { textTableLines } from '../text/format.js';
import type { DatasetSplits, ImageDataset } from './dataset.js';
import { computeNormalization, epochOrder, type Normalization } from './loader.js';

/** What `skipstudio data info` shows: a dataset's name, image shape, classes, images per class in each split and the training split's normalisation. */
export interface DatasetInfoReport {
  name: string;
  shape: { channels: number; height: number; width: number };
  classes: string[];
  counts: Record<'train' | 'test', number[]>;
  normalization: Normalization;
}

function countPerClass(dataset: ImageDataset): number[] {
  const counts = new Array<number>(dataset.classes.length).fill(0);
  for (const label of dataset.labels) counts[label]! += 1;
  return counts;
}

/** Counts each split's images per class and computes the training split's per-channel normalisation. */
export function describeDataset(splits: DatasetSplits): DatasetInfoReport {
  return {
    name: splits.train.name,
    shape: splits.train.shape,
    classes: splits.train.classes,
    counts: { train: countPerClass(splits.train), test: countPerClass(splits.test) },
    normalization: computeNormalization(splits.train),
  };
}

/** The text `skipstudio data info` prints: the shape, the per-channel mean and std, and a table of images per class and split. */
export function formatDatasetInfo(info: DatasetInfoReport): string {
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const table = textTableLines(
    ['class', '  train', '   test'],
    [
      ...info.classes.map((c, i) => [c, String(info.counts.train[i]), String(info.counts.test[i])]),
      ['total', String(total(info.counts.train)), String(total(info.counts.test))],
    ],
  );
  return [
    `${info.name}: ${info.classes.length} classes, images ${info.shape.channels} x ${info.shape.height} x ${info.shape.width} (channels x height x width)`,
    `per-channel mean ${info.normalization.mean.map((m) => m.toFixed(4)).join(', ')}; std ${info.normalization.std.map((s) => s.toFixed(4)).join(', ')} (pixels scaled to [0, 1], training split)`,
    '',
    table.header,
    ...table.rows,
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A PNG grid: one row per class with its name, `perClass` sample images each (seeded choice). */
export async function sampleGrid(
  dataset: ImageDataset,
  options: { perClass?: number; cell?: number; seed?: number } = {},
): Promise<Buffer> {
  const perClass = options.perClass ?? 8;
  const cell = options.cell ?? 64;
  const { channels, height, width } = dataset.shape;
  const plane = height * width;
  const order = epochOrder(dataset.labels.length, options.seed ?? 0, 0);
  const labelWidth = 140;
  const gap = 4;
  const rows = dataset.classes.map((_, k) =>
    Array.from(order)
      .filter((i) => dataset.labels[i] === k)
      .slice(0, perClass),
  );
  const images: string[] = [];
  for (const [k, indices] of rows.entries()) {
    for (const [j, index] of indices.entries()) {
      const hwc = Buffer.alloc(plane * 3);
      const base = index * channels * plane;
      for (let p = 0; p < plane; p++)
        for (let c = 0; c < 3; c++) hwc[p * 3 + c] = dataset.images[base + Math.min(c, channels - 1) * plane + p]!;
      const png = await sharp(hwc, { raw: { width, height, channels: 3 } })
        .resize(cell, cell, { kernel: 'nearest' })
        .png()
        .toBuffer();
      images.push(
        `<image x="${labelWidth + j * (cell + gap)}" y="${gap + k * (cell + gap)}" width="${cell}" height="${cell}" href="data:image/png;base64,${png.toString('base64')}"/>`,
      );
    }
  }
  const labels = dataset.classes.map(
    (name, k) =>
      `<text x="${labelWidth - 8}" y="${gap + k * (cell + gap) + cell / 2 + 5}" text-anchor="end" font-family="DejaVu Sans" font-size="13">${escapeXml(name)}</text>`,
  );
  const svgWidth = labelWidth + perClass * (cell + gap);
  const svgHeight = gap + dataset.classes.length * (cell + gap);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${svgWidth}" height="${svgHeight}"><rect width="100%" height="100%" fill="white"/>${labels.join('')}${images.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
