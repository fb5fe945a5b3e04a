/** Loading a built COCO subset: its manifest checked for the format, its train and val caches read as the train and test splits. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadSafetensorsWithMetadata } from '../io/index.js';
import { COCO_SUBSET_FORMAT, type CocoManifest } from './coco-manifest.js';
import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';

/** Loads a built subset: the train split and the val split (as the test split). */
export function loadCocoSubset(dir: string): DatasetSplits {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new DataFileError(
      manifestPath,
      'no COCO subset here: build one with `skipstudio data coco --annotations ... --images ... --out DIR`',
    );
  }
  let manifest: CocoManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CocoManifest;
  } catch (error) {
    throw new DataFileError(manifestPath, `not valid JSON (${(error as Error).message})`);
  }
  if (manifest.format !== COCO_SUBSET_FORMAT)
    throw new DataFileError(manifestPath, `format is ${JSON.stringify(manifest.format)}, expected ${COCO_SUBSET_FORMAT}`);
  const load = (split: 'train' | 'val'): ImageDataset => {
    const path = join(dir, `${split}.safetensors`);
    const { tensors } = loadSafetensorsWithMetadata(path);
    const images = tensors.images;
    const labels = tensors.labels;
    if (images === undefined || labels === undefined || images.dtype !== 'uint8' || labels.dtype !== 'uint8' || images.ndim !== 4) {
      throw new DataFileError(path, 'expected uint8 tensors images [N, 3, S, S] and labels [N]');
    }
    const [n, channels, height, width] = images.shape as [number, number, number, number];
    if (labels.numel !== n) throw new DataFileError(path, `${labels.numel} labels for ${n} images`);
    const labelData = labels.data() as Uint8Array;
    const bad = labelData.findIndex((l) => l >= manifest.classes.length);
    if (bad >= 0)
      throw new DataFileError(path, `label ${labelData[bad]} at index ${bad} is out of range (${manifest.classes.length} classes)`);
    return {
      name: 'coco',
      images: images.data() as Uint8Array,
      labels: labelData,
      shape: { channels, height, width },
      classes: manifest.classes,
    };
  };
  return { train: load('train'), test: load('val') };
}
