/**
 * The exercise's dataset: a subset of COCO built from an instances_*.json
 * file and its image folder. N categories (e.g. boat, cake, couch, dog,
 * motorcycle), a number of train and val images per category, each image used
 * once only, resized to a square, stored as a compact cache (uint8 pixels and
 * labels in safetensors) plus a manifest of image ids.
 *
 * The annotation file (the full train2017 file is 448 MB) is read in chunks by
 * a validating scanner that builds nothing it does not keep (coco-json.ts):
 * images are kept as id -> file name, annotations as three typed columns
 * (image, category, area), so memory stays far below the file's size.
 * Ids must be non-negative safe integers (kept exactly, in float64 columns);
 * a file_name must stay inside the image folder. Only regular files are read
 * as images, each within a time limit, and decoded and resized by sharp
 * (libvips) on its worker threads.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, win32 } from 'node:path';

import sharp from 'sharp';

import { loadSafetensorsWithMetadata, makeFolder, saveSafetensors, unwritableProblem, writeFileAtomic } from '../io/index.js';
import { tensor } from '../tensor/index.js';
import { CONTAINER, type CocoEntry, type CocoScanProgress, scanCocoJson } from './coco-json.js';
import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';
import { type ImageSkip, concurrencyLimit, loadImageFile } from './images.js';
import { epochOrder } from './loader.js';

/** The format tag of a built subset's manifest.json; loading and --force replacing check it. */
export const COCO_SUBSET_FORMAT = 'skipstudio-coco-subset/1';
/** The least and greatest side a subset's images are resized to: below 8 pixels the models' pooling leaves nothing to classify. */
export const COCO_SIZE_RANGE: readonly [number, number] = [8, 1024];

/** How an image with several chosen categories gets its one class, in words (recorded in the manifest). */
export const ASSIGNMENT_RULE =
  'an image holding several of the chosen categories goes to the one whose annotations cover the largest total area (ties: the category listed first)';

/**
 * A column of numbers that grows as the stream delivers them. Float64, so ids
 * (any safe integer, as COCO's JSON allows) are kept exactly: an Int32Array
 * would wrap an id of 2^31 or more.
 */
export class Column {
  #data = new Float64Array(1024);
  /** The number of values pushed. */
  length = 0;
  /** Appends a value, doubling the storage when it is full. */
  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }
  /** The value at index i. */
  get(i: number): number {
    return this.#data[i]!;
  }
}

/**
 * What readCocoAnnotations keeps of an instances file: image id -> file name, the categories, the annotations as columns
 * (image id, category id, area; entry i of each column is annotation i), and the file's size in bytes and SHA-256.
 */
export interface CocoAnnotations {
  images: Map<number, string>;
  categories: { id: number; name: string }[];
  annotationImage: Column;
  annotationCategory: Column;
  annotationArea: Column;
  bytes: number;
  sha256: string;
}

/** readCocoAnnotations's settings: a progress callback and how often it is called, and the read size. */
export interface CocoReadOptions {
  /** Called about once a second while the file is read, and once at the end. */
  progress?: (progress: CocoScanProgress) => void;
  progressIntervalMs?: number;
  /** Bytes read at a time (default 4 MB). */
  chunkBytes?: number;
}

/**
 * Reads an instances_*.json file, keeping only what the builder needs (see coco-json.ts: a
 * validating scanner over 4 MB chunks, 75-130 MB/s here, memory that grows with what is kept).
 */
export async function readCocoAnnotations(path: string, options: CocoReadOptions = {}): Promise<CocoAnnotations> {
  if (!existsSync(path)) throw new DataFileError(path, 'annotation file not found');
  const result: CocoAnnotations = {
    images: new Map(),
    categories: [],
    annotationImage: new Column(),
    annotationCategory: new Column(),
    annotationArea: new Column(),
    bytes: 0,
    sha256: '',
  };
  const at = (offset: number) => ` (the entry at byte ${offset})`;
  const bad = (what: string, offset?: number) => new DataFileError(path, `not a COCO instances file: ${what}${offset === undefined ? '' : at(offset)}`);
  /** An id: a non-negative safe integer (a fraction, a negative or an id past 2^53 - 1 is refused, never rounded or wrapped). */
  const checkId = (id: number, what: string, offset: number): number => {
    if (!Number.isSafeInteger(id) || id < 0) throw new DataFileError(path, `${what} ${id} is not an id: ids must be non-negative integers below 2^53${at(offset)}`);
    return id;
  };
  const onImage = (value: CocoEntry, offset: number) => {
    if (typeof value.id !== 'number' || typeof value.file_name !== 'string') throw bad('an image lacks a numeric id or a file_name', offset);
    const id = checkId(value.id, 'image id', offset);
    const unsafe = unsafeFileName(value.file_name);
    if (unsafe !== undefined) {
      throw new DataFileError(path, `image ${id} has file_name ${JSON.stringify(value.file_name)}, ${unsafe}: a file_name must name a file inside the image folder${at(offset)}`);
    }
    const earlier = result.images.get(id);
    if (earlier !== undefined) {
      // Two images under one id would pair one file with the other's annotations: wrong labels, silently.
      throw new DataFileError(path, `image id ${id} is given twice, to ${JSON.stringify(earlier)} and to ${JSON.stringify(value.file_name)}${at(offset)}: ` +
        'each image needs its own id; repair the file');
    }
    result.images.set(id, value.file_name);
  };
  const onAnnotation = (value: CocoEntry, offset: number) => {
    if (typeof value.image_id !== 'number' || typeof value.category_id !== 'number') throw bad('an annotation lacks a numeric image_id or category_id', offset);
    const which = typeof value.id === 'number' ? `annotation ${value.id}'s` : "an annotation's";
    result.annotationImage.push(checkId(value.image_id, `${which} image_id`, offset));
    result.annotationCategory.push(checkId(value.category_id, `${which} category_id`, offset));
    result.annotationArea.push(typeof value.area === 'number' ? value.area : 0);
  };
  const onCategory = (value: CocoEntry, offset: number) => {
    if (value.name === undefined || value.name === CONTAINER) throw bad('a category lacks a name (a string)', offset);
    const name = String(value.name);
    if (typeof value.id !== 'number') throw bad(`category ${JSON.stringify(name)} has no numeric id`, offset);
    result.categories.push({ id: checkId(value.id, `category ${JSON.stringify(name)}'s id`, offset), name });
  };
  let scanned;
  try {
    scanned = scanCocoJson(path, {
      entry: (section, value, offset) => (section === 'images' ? onImage : section === 'annotations' ? onAnnotation : onCategory)(value, offset),
      progress: options.progress,
      progressIntervalMs: options.progressIntervalMs,
      chunkBytes: options.chunkBytes,
    });
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(path, `cannot be read (${(error as Error).message})`);
  }
  const missing = (['images', 'annotations', 'categories'] as const).filter((section) => scanned.counts[section] === 0);
  if (missing.length > 0) throw bad(`it has no ${missing.join(', ')} (a COCO instances file has images, annotations and categories)`);
  const clash = categoryClash(result.categories);
  if (clash !== undefined) throw bad(`${clash}: each category of a COCO file has an id and a name of its own, or its images would be labelled by a guess`);
  result.bytes = scanned.bytes;
  result.sha256 = scanned.sha256;
  return result;
}

/** Two categories that share an id or a name, in words, or undefined where every id and name is used once. */
export function categoryClash(categories: { id: number; name: string }[]): string | undefined {
  for (const key of ['id', 'name'] as const) {
    const first = new Map<number | string, string>();
    for (const category of categories) {
      const earlier = first.get(category[key]);
      if (earlier !== undefined) return `categories ${earlier} and ${JSON.stringify(category.name)} share the ${key} ${JSON.stringify(category[key])}`;
      first.set(category[key], JSON.stringify(category.name));
    }
  }
  return undefined;
}

/** Why a COCO file_name could name a file outside the image folder, or undefined where it cannot. */
function unsafeFileName(name: string): string | undefined {
  if (name === '') return 'which is empty';
  if (name.includes('\0')) return 'which holds a NUL character';
  if (posix.isAbsolute(name) || win32.isAbsolute(name)) return 'an absolute path';
  if (name.split(/[\\/]/).includes('..')) return "which climbs out with '..'";
  return undefined;
}

/**
 * buildCocoSubset's settings (the `data coco` command's flags): the annotation file and image folder, the classes, images per class
 * in each split, the square side in pixels, the seed and the output folder.
 */
export interface CocoBuildOptions {
  annotations: string;
  images: string;
  classes: string[];
  trainPerClass: number;
  valPerClass: number;
  size: number;
  seed: number;
  out: string;
  writeImages?: boolean;
  /** Replace an existing output folder. */
  force?: boolean;
  /** Read image files that are links to places outside the image folder (default: refused). */
  followSymlinks?: boolean;
  /** Accept classes with fewer images than asked for. */
  allowFewer?: boolean;
  /** Images decoded at once (sharp decodes on libuv's threads). */
  concurrency?: number;
  /** Seconds allowed to read and decode one image; past it the image counts as corrupt (default 60). */
  imageTimeoutSeconds?: number;
  /** How often progress lines (bytes read, images decoded, with a rate) go to log, in ms (default 1000). */
  progressIntervalMs?: number;
  /** Receives the progress lines and summaries (default: discarded). */
  log?: (line: string) => void;
}

interface SplitImages {
  pixels: Uint8Array[];
  labels: number[];
  entries: { id: number; file: string; class: string }[];
}

/**
 * manifest.json of a built subset: its format, classes and COCO category ids, the build options, the annotation file's identity,
 * and each split's images (id, file, class).
 */
export interface CocoManifest {
  format: string;
  classes: string[];
  categoryIds: number[];
  assignmentRule: string;
  options: { trainPerClass: number; valPerClass: number; size: number; seed: number };
  annotationFile: { name: string; bytes: number; sha256: string };
  imagesFolder: string;
  splits: Record<'train' | 'val', { count: number; perClass: Record<string, number>; images: { id: number; file: string; class: string }[] }>;
  /** Image files skipped: absent; not decodable (or past the time limit); not a regular file (a folder, a pipe, a device). */
  skipped: { missing: string[]; corrupt: string[]; notRegularFile: string[] };
}

/** What `data coco` writes in its output folder (the only entries --force may replace). */
const BUILT_ENTRIES = new Set(['manifest.json', 'train.safetensors', 'val.safetensors', 'images']);

/**
 * Why the output folder may not be used, or undefined where it may: it does not exist, it is an
 * empty folder, or (with --force) it holds a subset this builder built and nothing else.
 */
function outputFolderProblem(out: string, force: boolean): string | undefined {
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
    return `--out ${out} is a folder that holds no subset built by \`data coco\` (no manifest.json of format ${COCO_SUBSET_FORMAT}), ` +
      'so it is not replaced, even with --force: choose another --out, or an empty folder';
  }
  const foreign = entries.filter((entry) => !BUILT_ENTRIES.has(entry)).sort();
  if (foreign.length > 0) {
    return `--out ${out} holds a subset built by \`data coco\` but also ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ` and ${foreign.length - 5} more` : ''}, ` +
      'which it did not write, so it is not replaced, even with --force: move them, or choose another --out';
  }
  if (!force) return `${out} already exists: choose another --out, or pass --force to replace it`;
  return undefined;
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

/** A path with every link resolved, or undefined where it does not exist (a missing image is skipped later, as missing). */
function realPathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function isInside(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside !== '' && inside.split(/[\\/]/)[0] !== '..' && !isAbsolute(inside);
}

function checkOptions(o: CocoBuildOptions): void {
  const problems: string[] = [];
  if (o.classes.length === 0) problems.push('--classes names no category');
  if (new Set(o.classes).size !== o.classes.length) problems.push('--classes names a category twice');
  for (const [name, v] of [['--train-per-class', o.trainPerClass], ['--val-per-class', o.valPerClass]] as const) {
    if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a non-negative integer, got ${v}`);
  }
  const [least, most] = COCO_SIZE_RANGE;
  if (!Number.isInteger(o.size) || o.size < least || o.size > most) problems.push(`--size must be an integer from ${least} to ${most}, got ${o.size}`);
  if (!existsSync(o.images)) problems.push(`the image folder ${o.images} does not exist`);
  if (o.imageTimeoutSeconds !== undefined && !(o.imageTimeoutSeconds > 0)) problems.push(`the image time limit must be positive, got ${o.imageTimeoutSeconds}`);
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
  log(`decoded and resized ${decoding.accepted.toLocaleString('en-US')} images in ${decodeSeconds.toFixed(1)} s ` +
    `(${(decoding.accepted / Math.max(decodeSeconds, 1e-9)).toFixed(0)} images/s)`);
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
      if (bytesRead < totalBytes) log(`reading ${annotationName}: ${megabytes(bytesRead)} of ${megabytes(totalBytes)} MB (${rate(bytesRead, seconds)})`);
    },
  });
  const readSeconds = (performance.now() - started) / 1000;
  log(`read ${coco.images.size.toLocaleString('en-US')} images, ${coco.annotationImage.length.toLocaleString('en-US')} annotations and ` +
    `${coco.categories.length} categories in ${readSeconds.toFixed(1)} s (${megabytes(coco.bytes)} MB, ${rate(coco.bytes, readSeconds)})`);
  return coco;
}

/** The COCO category id of each class, in the classes' order; a class the file lacks is refused, naming the categories it has. */
function chosenCategoryIds(options: CocoBuildOptions, coco: CocoAnnotations): number[] {
  const byName = new Map(coco.categories.map((c) => [c.name, c.id]));
  const unknown = options.classes.filter((c) => !byName.has(c));
  if (unknown.length > 0) {
    throw new RangeError(`data coco: unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((u) => `'${u}'`).join(', ')}; ` +
      `${basename(options.annotations)} has: ${[...byName.keys()].sort().join(', ')}`);
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
 * What decoding needs, shared by every class: the settings, the image folder, one limit of `concurrency` images in flight
 * (so the threads stay busy across classes), and the images accepted so far, for the progress lines.
 */
interface DecodingContext {
  options: CocoBuildOptions;
  log: (line: string) => void;
  images: Map<number, string>;
  imagesFolder: string;
  /** imagesFolder with its links resolved (undefined where it does not exist). */
  realImagesFolder: string | undefined;
  timeoutSeconds: number;
  /** Images each class takes: its train and val images. */
  wanted: number;
  concurrency: number;
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  started: number;
  lastProgress: number;
  progressMs: number;
  accepted: number;
}

/** An image read and decoded (its pixels), or why it was skipped. */
interface DecodedImage {
  id: number;
  file: string;
  result: Uint8Array | ImageSkip;
}

/** What one class got: its candidates (in the order tried), the images accepted and the files skipped (why, file). */
interface ClassImages {
  pool: number[];
  accepted: { id: number; file: string; pixels: Uint8Array }[];
  skippedHere: [ImageSkip, string][];
}

/** The decoding context for a build, its clock started. */
function decodingContext(options: CocoBuildOptions, coco: CocoAnnotations, log: (line: string) => void): DecodingContext {
  const imagesFolder = resolve(options.images);
  const concurrency = options.concurrency ?? 16;
  const context = {
    options,
    log,
    images: coco.images,
    imagesFolder,
    realImagesFolder: realPathOrUndefined(imagesFolder),
    timeoutSeconds: options.imageTimeoutSeconds ?? 60,
    wanted: options.trainPerClass + options.valPerClass,
    concurrency,
    limit: concurrencyLimit(concurrency),
    started: 0,
    lastProgress: 0,
    progressMs: options.progressIntervalMs ?? 1000,
    accepted: 0,
  };
  context.started = context.lastProgress = performance.now();
  return context;
}

/** Reads and decodes one image once the limit lets it, refusing a file (or a link's target) outside --images. */
function decodeImage(ctx: DecodingContext, id: number): Promise<DecodedImage> {
  const { options, imagesFolder, realImagesFolder } = ctx;
  return ctx.limit(async () => {
    const file = ctx.images.get(id)!;
    const path = resolve(imagesFolder, file);
    // readCocoAnnotations refuses such a file_name already; this guards the join itself.
    if (!isInside(imagesFolder, path)) {
      throw new RangeError(`data coco: image ${id}'s file_name ${JSON.stringify(file)} leads outside --images ${options.images}`);
    }
    // The same rule for symbolic links: the file really read must lie inside --images, unless links are allowed out of it.
    const target = realPathOrUndefined(path);
    if (!options.followSymlinks && target !== undefined && realImagesFolder !== undefined && !isInside(realImagesFolder, target)) {
      throw new RangeError(`data coco: image ${id}'s file ${JSON.stringify(file)} is a link to ${target}, outside --images ${options.images}: ` +
        'copy the image into the folder, or pass --follow-symlinks to read linked files wherever they are');
    }
    return { id, file, result: await loadImageFile(path, options.size, ctx.timeoutSeconds) };
  });
}

/**
 * Takes the first `wanted` images of a class's seeded order that decode (every class runs at once, through ctx's one limit).
 * It launches no more than it still needs, and reads its results in order, so what it accepts and skips is the same as
 * decoding one image after the other.
 */
async function decodeClass(ctx: DecodingContext, pool: number[]): Promise<ClassImages> {
  const accepted: ClassImages['accepted'] = [];
  const skippedHere: ClassImages['skippedHere'] = [];
  const inFlight: Promise<DecodedImage>[] = [];
  let next = 0;
  while (accepted.length < ctx.wanted) {
    while (next < pool.length && inFlight.length < Math.min(ctx.concurrency, ctx.wanted - accepted.length)) {
      const job = decodeImage(ctx, pool[next++]!);
      job.catch(() => {}); // awaited below, in order; this only keeps a job left behind by an error from being unhandled
      inFlight.push(job);
    }
    if (inFlight.length === 0) break;
    const d = await inFlight.shift()!;
    if (typeof d.result === 'string') {
      skippedHere.push([d.result, d.file]);
    } else {
      accepted.push({ id: d.id, file: d.file, pixels: d.result });
      countAccepted(ctx);
    }
  }
  return { pool, accepted, skippedHere };
}

/** Counts an image accepted, logging how many of all the classes' images are decoded (and the rate) at most once every progressMs. */
function countAccepted(ctx: DecodingContext): void {
  ctx.accepted++;
  const now = performance.now();
  if (now - ctx.lastProgress < ctx.progressMs) return;
  ctx.lastProgress = now;
  const wantedTotal = ctx.wanted * ctx.options.classes.length;
  ctx.log(`decoding: ${ctx.accepted.toLocaleString('en-US')} of ${wantedTotal.toLocaleString('en-US')} images ` +
    `(${(ctx.accepted / ((now - ctx.started) / 1000)).toFixed(0)} images/s)`);
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

/**
 * Writes the cache (and the images, where asked) and the manifest into a temporary folder beside --out, then puts it in
 * --out's place, checking --out again first: the folder may have changed while the images were decoded.
 */
async function writeSubset(options: CocoBuildOptions, splits: Record<'train' | 'val', SplitImages>, manifest: CocoManifest): Promise<void> {
  const temporary = join(dirname(options.out), `.${basename(options.out)}.partial-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  makeFolder(temporary);
  try {
    for (const split of ['train', 'val'] as const) {
      const { pixels, labels } = splits[split];
      const all = new Uint8Array(pixels.length * 3 * options.size * options.size);
      pixels.forEach((p, i) => all.set(p, i * p.length));
      saveSafetensors({
        images: tensor(all, { shape: [pixels.length, 3, options.size, options.size] }),
        labels: tensor(Uint8Array.from(labels)),
      }, join(temporary, `${split}.safetensors`), { format: COCO_SUBSET_FORMAT });
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

function splitManifest(split: SplitImages, classes: string[]) {
  const perClass = Object.fromEntries(classes.map((c) => [c, split.entries.filter((e) => e.class === c).length]));
  return { count: split.entries.length, perClass, images: split.entries };
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
    await sharp(hwc, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 92 }).toFile(join(classFolder, `${entry.id}.jpg`));
  }
}

/** Loads a built subset: the train split and the val split (as the test split). */
export function loadCocoSubset(dir: string): DatasetSplits {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new DataFileError(manifestPath, 'no COCO subset here: build one with `skipstudio data coco --annotations ... --images ... --out DIR`');
  }
  let manifest: CocoManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CocoManifest;
  } catch (error) {
    throw new DataFileError(manifestPath, `not valid JSON (${(error as Error).message})`);
  }
  if (manifest.format !== COCO_SUBSET_FORMAT) throw new DataFileError(manifestPath, `format is ${JSON.stringify(manifest.format)}, expected ${COCO_SUBSET_FORMAT}`);
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
    if (bad >= 0) throw new DataFileError(path, `label ${labelData[bad]} at index ${bad} is out of range (${manifest.classes.length} classes)`);
    return { name: 'coco', images: images.data() as Uint8Array, labels: labelData, shape: { channels, height, width }, classes: manifest.classes };
  };
  return { train: load('train'), test: load('val') };
}
