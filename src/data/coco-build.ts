/**
 * Building a COCO subset (`data coco`): the settings checked, the annotation file read, each class's COCO category
 * found, each image given to one class (ASSIGNMENT_RULE), each class's candidates shuffled by the seed and decoded
 * until it has its images, those put into train and val, and the whole written with its manifest.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

import { unwritableProblem } from '../io/index.js';
import { type CocoAnnotations, readCocoAnnotations } from './coco-annotations.js';
import { type ClassImages, type DecodingContext, decodeClass, decodingContext } from './coco-decode.js';
import {
  ASSIGNMENT_RULE,
  COCO_SIZE_RANGE,
  COCO_SUBSET_FORMAT,
  type CocoBuildOptions,
  type CocoManifest,
  type SplitImages,
} from './coco-manifest.js';
import { outputFolderProblem, writeSubset } from './coco-write.js';
import type { ImageSkip } from './images.js';
import { epochOrder } from './loader.js';

/** Refuses settings that cannot build a subset, naming every problem at once, before minutes of reading and decoding. */
function checkOptions(o: CocoBuildOptions): void {
  const problems: string[] = [];
  if (o.classes.length === 0) problems.push('--classes names no category');
  if (new Set(o.classes).size !== o.classes.length) problems.push('--classes names a category twice');
  for (const [name, v] of [
    ['--train-per-class', o.trainPerClass],
    ['--val-per-class', o.valPerClass],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a non-negative integer, got ${v}`);
  }
  const [least, most] = COCO_SIZE_RANGE;
  if (!Number.isInteger(o.size) || o.size < least || o.size > most)
    problems.push(`--size must be an integer from ${least} to ${most}, got ${o.size}`);
  if (!existsSync(o.images)) problems.push(`the image folder ${o.images} does not exist`);
  if (o.imageTimeoutSeconds !== undefined && !(o.imageTimeoutSeconds > 0))
    problems.push(`the image time limit must be positive, got ${o.imageTimeoutSeconds}`);
  const outProblem = outputFolderProblem(o.out, o.force === true);
  if (outProblem !== undefined) problems.push(outProblem);
  // Found now, not after minutes of decoding: the subset is built in a folder beside --out.
  const unwritable = unwritableProblem(o.out);
  if (unwritable !== undefined) problems.push(`--out ${o.out}: ${unwritable}`);
  if (problems.length > 0) throw new RangeError(`data coco: ${problems.join('; ')}`);
}

/** Builds the subset into options.out (atomically: a temporary folder renamed at the end). */
export async function buildCocoSubset(options: CocoBuildOptions): Promise<CocoManifest> {
  checkOptions(options);
  const log = options.log ?? (() => {});
  const coco = await readAnnotationsLogged(options, log);
  const categoryIds = chosenCategoryIds(options, coco);
  const candidates = seededOrder(candidatesByLargestArea(coco, categoryIds), options.seed);
  const decoding = decodingContext(options, coco, log);
  const perClass = await Promise.all(candidates.map((pool) => decodeClass(decoding, pool)));
  const decodeSeconds = (performance.now() - decoding.started) / 1000;
  const { splits, skipped, shortfalls } = assignSplits(decoding, perClass);
  log(
    `decoded and resized ${decoding.accepted.toLocaleString('en-US')} images in ${decodeSeconds.toFixed(1)} s ` +
      `(${(decoding.accepted / Math.max(decodeSeconds, 1e-9)).toFixed(0)} images/s)`,
  );
  if (shortfalls.length > 0 && !options.allowFewer) {
    throw new RangeError(`data coco: too few usable images for ${shortfalls.join('; ')}. Ask for fewer, or pass --allow-fewer`);
  }
  const manifest: CocoManifest = {
    format: COCO_SUBSET_FORMAT,
    classes: options.classes,
    categoryIds,
    assignmentRule: ASSIGNMENT_RULE,
    options: { trainPerClass: options.trainPerClass, valPerClass: options.valPerClass, size: options.size, seed: options.seed },
    annotationFile: { name: basename(options.annotations), bytes: coco.bytes, sha256: coco.sha256 },
    imagesFolder: options.images,
    splits: { train: splitManifest(splits.train, options.classes), val: splitManifest(splits.val, options.classes) },
    skipped,
  };
  await writeSubset(options, splits, manifest);
  return manifest;
}

/** Reads the annotation file, logging the megabytes read as it goes and what it holds at the end (with the time and rate). */
async function readAnnotationsLogged(options: CocoBuildOptions, log: (line: string) => void): Promise<CocoAnnotations> {
  const started = performance.now();
  const annotationName = basename(options.annotations);
  const megabytes = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0);
  const rate = (bytes: number, seconds: number) => `${megabytes(bytes / Math.max(seconds, 1e-9))} MB/s`;
  const coco = await readCocoAnnotations(options.annotations, {
    progressIntervalMs: options.progressIntervalMs,
    progress: ({ bytesRead, totalBytes, seconds }) => {
      if (bytesRead < totalBytes)
        log(`reading ${annotationName}: ${megabytes(bytesRead)} of ${megabytes(totalBytes)} MB (${rate(bytesRead, seconds)})`);
    },
  });
  const readSeconds = (performance.now() - started) / 1000;
  log(
    `read ${coco.images.size.toLocaleString('en-US')} images, ${coco.annotationImage.length.toLocaleString('en-US')} annotations and ` +
      `${coco.categories.length} categories in ${readSeconds.toFixed(1)} s (${megabytes(coco.bytes)} MB, ${rate(coco.bytes, readSeconds)})`,
  );
  return coco;
}

/** The COCO category id of each class, in the classes' order; a class the file lacks is refused, naming the categories it has. */
function chosenCategoryIds(options: CocoBuildOptions, coco: CocoAnnotations): number[] {
  const byName = new Map(coco.categories.map((c) => [c.name, c.id]));
  const unknown = options.classes.filter((c) => !byName.has(c));
  if (unknown.length > 0) {
    throw new RangeError(
      `data coco: unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((u) => `'${u}'`).join(', ')}; ` +
        `${basename(options.annotations)} has: ${[...byName.keys()].sort().join(', ')}`,
    );
  }
  return options.classes.map((c) => byName.get(c)!);
}

/** Each class's candidate images (by increasing id): the images it wins by ASSIGNMENT_RULE, among those the file lists. */
function candidatesByLargestArea(coco: CocoAnnotations, categoryIds: number[]): number[][] {
  const classOf = new Map(categoryIds.map((id, i) => [id, i]));
  // Total annotated area of each chosen category in each image; the largest wins the image.
  const areas = new Map<number, Float64Array>();
  for (let i = 0; i < coco.annotationImage.length; i++) {
    const k = classOf.get(coco.annotationCategory.get(i));
    if (k === undefined) continue;
    const image = coco.annotationImage.get(i);
    let perClass = areas.get(image);
    if (perClass === undefined) {
      perClass = new Float64Array(categoryIds.length);
      areas.set(image, perClass);
    }
    perClass[k]! += coco.annotationArea.get(i);
  }
  const candidates: number[][] = categoryIds.map(() => []);
  for (const [image, perClass] of [...areas.entries()].sort((a, b) => a[0] - b[0])) {
    if (!coco.images.has(image)) continue;
    let best = 0;
    for (let k = 1; k < perClass.length; k++) if (perClass[k]! > perClass[best]!) best = k;
    candidates[best]!.push(image);
  }
  return candidates;
}

/** Each class's candidates shuffled by the seed (class k by the seed's k-th order), the order in which they are tried. */
function seededOrder(candidates: number[][], seed: number): number[][] {
  return candidates.map((pool, k) => Array.from(epochOrder(pool.length, seed, k), (i) => pool[i]!));
}

/**
 * Puts each class's accepted images into the splits (its first trainPerClass to train, the rest to val) and its skipped files
 * into the manifest's lists, logging each class; a class with fewer than it wanted is a shortfall, in words.
 */
function assignSplits(ctx: DecodingContext, perClass: ClassImages[]) {
  const { options, wanted } = ctx;
  const splits: Record<'train' | 'val', SplitImages> = {
    train: { pixels: [], labels: [], entries: [] },
    val: { pixels: [], labels: [], entries: [] },
  };
  const skipped: CocoManifest['skipped'] = { missing: [], corrupt: [], notRegularFile: [] };
  const shortfalls: string[] = [];
  for (const [k, name] of options.classes.entries()) {
    const { pool, accepted, skippedHere } = perClass[k]!;
    for (const [why, file] of skippedHere) skipped[why].push(file);
    const skips = skipSummary(skippedHere, options.images);
    if (accepted.length < wanted) shortfalls.push(`${name}: ${accepted.length} of ${wanted} (${pool.length} candidate images${skips})`);
    accepted.forEach((image, i) => {
      const split = i < options.trainPerClass ? splits.train : splits.val;
      split.pixels.push(image.pixels);
      split.labels.push(k);
      split.entries.push({ id: image.id, file: image.file, class: name });
    });
    ctx.log(`${name}: ${accepted.length} images (${pool.length} candidates${skips})`);
  }
  return { splits, skipped, shortfalls };
}

const SKIP_WORDS: Record<ImageSkip, string> = { missing: 'missing', corrupt: 'not decodable', notRegularFile: 'not a regular file' };

/** The images a class skipped, by reason, each naming its first files: '; skipped 2 missing (COCO/train2017/a.jpg, ...)'. */
function skipSummary(skipped: [ImageSkip, string][], folder: string): string {
  const parts = (Object.keys(SKIP_WORDS) as ImageSkip[]).flatMap((why) => {
    const files = skipped.filter(([w]) => w === why).map(([, file]) => join(folder, file));
    if (files.length === 0) return [];
    return [`${files.length} ${SKIP_WORDS[why]} (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', ...' : ''})`];
  });
  return parts.length === 0 ? '' : `; skipped ${parts.join(', ')}`;
}

/** A split as the manifest lists it: its count, its count per class, and its images. */
function splitManifest(split: SplitImages, classes: string[]) {
  const perClass = Object.fromEntries(classes.map((c) => [c, split.entries.filter((e) => e.class === c).length]));
  return { count: split.entries.length, perClass, images: split.entries };
}
