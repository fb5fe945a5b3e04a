/**
 * ImageFolder: root/<split>/<class>/<image> with JPEG, PNG or WebP files,
 * the layout most photo collections already have. Splits are train/ and
 * test/ (or val/); classes are the sub-folder names, sorted. Every image is
 * decoded by sharp and resized to a square.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';
import { decodeImage, mapLimited } from './images.js';

const EXTENSIONS = /\.(jpe?g|png|webp)$/i;
/** The side, in pixels, that loadImageFolder resizes images to by default. */
export const IMAGE_FOLDER_SIZE = 64;

async function loadSplit(folder: string, classes: string[], size: number): Promise<ImageDataset> {
  const files: { path: string; label: number }[] = [];
  classes.forEach((name, label) => {
    const classFolder = join(folder, name);
    if (!existsSync(classFolder)) return;
    for (const file of readdirSync(classFolder).sort()) {
      if (EXTENSIONS.test(file)) files.push({ path: join(classFolder, file), label });
    }
  });
  if (files.length === 0) throw new DataFileError(folder, 'holds no JPEG, PNG or WebP images in class folders');
  const pixels = await mapLimited(files, 16, async ({ path }) => {
    try {
      return await decodeImage(path, size);
    } catch (error) {
      throw new DataFileError(path, `cannot be decoded as an image (${(error as Error).message})`);
    }
  });
  const images = new Uint8Array(files.length * 3 * size * size);
  pixels.forEach((p, i) => images.set(p, i * p.length));
  return {
    name: 'imagefolder',
    images,
    labels: Uint8Array.from(files, (f) => f.label),
    shape: { channels: 3, height: size, width: size },
    classes,
  };
}

/** A split's class folders, sorted. */
function classFolders(split: string): string[] {
  return readdirSync(split)
    .filter((d) => statSync(join(split, d)).isDirectory())
    .sort();
}

/**
 * Reads root/train/<class>/ and root/test/ (or root/val/) into RGB images resized to size x size; classes are train/'s sub-folders, sorted.
 * As torchvision.datasets.ImageFolder.
 */
export async function loadImageFolder(root: string, size = IMAGE_FOLDER_SIZE): Promise<DatasetSplits> {
  const trainFolder = join(root, 'train');
  const testFolder = ['test', 'val'].map((s) => join(root, s)).find((p) => existsSync(p));
  if (!existsSync(trainFolder) || testFolder === undefined) {
    throw new DataFileError(root, 'an ImageFolder needs train/ and test/ (or val/) folders, each with one folder per class');
  }
  const classes = classFolders(trainFolder);
  if (classes.length === 0) throw new DataFileError(trainFolder, 'has no class folders');
  if (classes.length > 255) throw new DataFileError(trainFolder, `has ${classes.length} class folders; at most 255 are supported`);
  const unknown = classFolders(testFolder).filter(
    (d) => !classes.includes(d) && readdirSync(join(testFolder, d)).some((f) => EXTENSIONS.test(f)),
  );
  if (unknown.length > 0) {
    throw new DataFileError(
      testFolder,
      `has images of ${unknown.map((d) => `'${d}'`).join(', ')}, a class train/ does not have: a network never ` +
        'trained on a class cannot predict it, so its images would only count as wrong. Add its train/ folder, or move it out of the test split',
    );
  }
  return { train: await loadSplit(trainFolder, classes, size), test: await loadSplit(testFolder, classes, size) };
}
