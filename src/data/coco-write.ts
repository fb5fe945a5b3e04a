/**
 * Writing a built COCO subset: the cache (uint8 pixels and labels in safetensors), the images for a person to browse
 * where asked, and manifest.json, into a temporary folder beside --out that then takes --out's place; and whether
 * --out may be used at all (absent, empty, or with --force a subset built here and nothing else).
 */
import { existsSync, lstatSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import sharp from 'sharp';

import { makeFolder, saveSafetensors, writeFileAtomic } from '../io/index.js';
import { tensor } from '../tensor/index.js';
import { BUILT_ENTRIES, COCO_SUBSET_FORMAT, type CocoBuildOptions, type CocoManifest, type SplitImages } from './coco-manifest.js';

/**
 * Why the output folder may not be used, or undefined where it may: it does not exist, it is an
 * empty folder, or (with --force) it holds a subset this builder built and nothing else.
 */
export function outputFolderProblem(out: string, force: boolean): string | undefined {
  let stats;
  try {
    stats = lstatSync(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `--out ${out} cannot be inspected (${(error as Error).message})`;
  }
  if (stats.isSymbolicLink()) return `--out ${out} is a symbolic link: it is neither replaced nor followed; choose another --out`;
  if (!stats.isDirectory()) return `--out ${out} exists and is not a folder: it is not replaced; choose another --out`;
  const entries = readdirSync(out);
  if (entries.length === 0) return undefined;
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format !== COCO_SUBSET_FORMAT) {
    return (
      `--out ${out} is a folder that holds no subset built by \`data coco\` (no manifest.json of format ${COCO_SUBSET_FORMAT}), ` +
      'so it is not replaced, even with --force: choose another --out, or an empty folder'
    );
  }
  const foreign = entries.filter((entry) => !BUILT_ENTRIES.has(entry)).sort();
  if (foreign.length > 0) {
    return (
      `--out ${out} holds a subset built by \`data coco\` but also ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ` and ${foreign.length - 5} more` : ''}, ` +
      'which it did not write, so it is not replaced, even with --force: move them, or choose another --out'
    );
  }
  if (!force) return `${out} already exists: choose another --out, or pass --force to replace it`;
  return undefined;
}

/**
 * Writes the cache (and the images, where asked) and the manifest into a temporary folder beside --out, then puts it in
 * --out's place, checking --out again first: the folder may have changed while the images were decoded.
 */
export async function writeSubset(
  options: CocoBuildOptions,
  splits: Record<'train' | 'val', SplitImages>,
  manifest: CocoManifest,
): Promise<void> {
  const temporary = join(dirname(options.out), `.${basename(options.out)}.partial-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  makeFolder(temporary);
  try {
    for (const split of ['train', 'val'] as const) {
      const { pixels, labels } = splits[split];
      const all = new Uint8Array(pixels.length * 3 * options.size * options.size);
      pixels.forEach((p, i) => all.set(p, i * p.length));
      saveSafetensors(
        {
          images: tensor(all, { shape: [pixels.length, 3, options.size, options.size] }),
          labels: tensor(Uint8Array.from(labels)),
        },
        join(temporary, `${split}.safetensors`),
        { format: COCO_SUBSET_FORMAT },
      );
      if (options.writeImages) await writeImages(join(temporary, 'images', split), splits[split], options.size);
    }
    writeFileAtomic(join(temporary, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const outProblem = outputFolderProblem(options.out, options.force === true);
    if (outProblem !== undefined) throw new RangeError(`data coco: ${outProblem}`);
    if (existsSync(options.out)) rmSync(options.out, { recursive: true, force: true });
    renameSync(temporary, options.out);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Class folders of the resized images, for a person to browse. */
async function writeImages(folder: string, split: SplitImages, size: number): Promise<void> {
  const plane = size * size;
  for (const [i, entry] of split.entries.entries()) {
    const chw = split.pixels[i]!;
    const hwc = Buffer.alloc(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) hwc[p * 3 + c] = chw[c * plane + p]!;
    const classFolder = join(folder, entry.class.replace(/[^\w.-]+/g, '_'));
    makeFolder(classFolder);
    await sharp(hwc, { raw: { width: size, height: size, channels: 3 } })
      .jpeg({ quality: 92 })
      .toFile(join(classFolder, `${entry.id}.jpg`));
  }
}
