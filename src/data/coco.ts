/**
 * The exercise's dataset: a subset of COCO built from an instances_*.json
 * file and its image folder. N categories (e.g. boat, cake, couch, dog,
 * motorcycle), a number of train and val images per category, each image used
 * once only, resized to a square, stored as a compact cache (uint8 pixels and
 * labels in safetensors) plus a manifest of image ids.
 *
 * The annotation file is read as a stream (the full train2017 file is about
 * 450 MB): images are kept as id -> file name, annotations as three typed
 * columns (image, category, area), so memory stays far below the file's size.
 * Ids must be non-negative safe integers (kept exactly, in float64 columns);
 * a file_name must stay inside the image folder. Only regular files are read
 * as images, each within a time limit, and decoded and resized by sharp
 * (libvips) on its worker threads.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, win32 } from 'node:path';

import sharp from 'sharp';
import StreamJson from 'stream-json';
import Pick from 'stream-json/filters/Pick.js';
import StreamValues from 'stream-json/streamers/StreamValues.js';

import { loadSafetensorsWithMetadata, saveSafetensors, writeFileAtomic } from '../io/index.js';
import { tensor } from '../tensor/index.js';
import { DataFileError, type DatasetSplits, type ImageDataset } from './dataset.js';
import { epochOrder } from './loader.js';

export const COCO_SUBSET_FORMAT = 'skipstudio-coco-subset/1';
export const ASSIGNMENT_RULE =
  'an image holding several of the chosen categories goes to the one whose annotations cover the largest total area (ties: the category listed first)';

/**
 * A column of numbers that grows as the stream delivers them. Float64, so ids
 * (any safe integer, as COCO's JSON allows) are kept exactly: an Int32Array
 * would wrap an id of 2^31 or more.
 */
class Column {
  #data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }
  get(i: number): number {
    return this.#data[i]!;
  }
}

export interface CocoAnnotations {
  images: Map<number, string>;
  categories: { id: number; name: string }[];
  annotationImage: Column;
  annotationCategory: Column;
  annotationArea: Column;
  bytes: number;
  sha256: string;
}

/** Streams an instances_*.json file, keeping only what the builder needs. */
export async function readCocoAnnotations(path: string): Promise<CocoAnnotations> {
  if (!existsSync(path)) throw new DataFileError(path, 'annotation file not found');
  const result: CocoAnnotations = {
    images: new Map(),
    categories: [],
    annotationImage: new Column(),
    annotationCategory: new Column(),
    annotationArea: new Column(),
    bytes: statSync(path).size,
    sha256: '',
  };
  const seen = { images: false, annotations: false, categories: false };
  const hash = createHash('sha256');
  const file = createReadStream(path);
  file.on('data', (chunk) => hash.update(chunk));
  const parser = StreamJson.parser();
  const picker = Pick.pick({ filter: /^(images|annotations|categories)\.\d+$/ });
  const pipeline = StreamValues.streamValues();
  // .pipe() does not forward errors: hand each stage's error to the stream being read.
  for (const stage of [file, parser, picker] as NodeJS.EventEmitter[]) stage.on('error', (error: Error) => pipeline.destroy(error));
  file.pipe(parser).pipe(picker).pipe(pipeline);
  const bad = (what: string) => new DataFileError(path, `not a COCO instances file: ${what}`);
  /** An id: a non-negative safe integer (a fraction, a negative or an id past 2^53 - 1 is refused, never rounded or wrapped). */
  const checkId = (id: number, what: string): number => {
    if (!Number.isSafeInteger(id) || id < 0) throw new DataFileError(path, `${what} ${id} is not an id: ids must be non-negative integers below 2^53`);
    return id;
  };
  try {
    for await (const { value } of pipeline as AsyncIterable<{ value: Record<string, unknown> }>) {
      if (value === null || typeof value !== 'object') throw bad('an entry is not an object');
      if ('file_name' in value) {
        seen.images = true;
        if (typeof value.id !== 'number' || typeof value.file_name !== 'string') throw bad('an image lacks a numeric id or a file_name');
        const id = checkId(value.id, 'image id');
        const unsafe = unsafeFileName(value.file_name);
        if (unsafe !== undefined) {
          throw new DataFileError(path, `image ${id} has file_name ${JSON.stringify(value.file_name)}, ${unsafe}: a file_name must name a file inside the image folder`);
        }
        result.images.set(id, value.file_name);
      } else if ('category_id' in value) {
        seen.annotations = true;
        if (typeof value.image_id !== 'number' || typeof value.category_id !== 'number') throw bad('an annotation lacks image_id or category_id');
        const which = typeof value.id === 'number' ? `annotation ${value.id}'s` : "an annotation's";
        result.annotationImage.push(checkId(value.image_id, `${which} image_id`));
        result.annotationCategory.push(checkId(value.category_id, `${which} category_id`));
        result.annotationArea.push(typeof value.area === 'number' ? value.area : 0);
      } else if ('name' in value && 'id' in value) {
        seen.categories = true;
        if (typeof value.id !== 'number') throw bad(`category ${JSON.stringify(value.name)} has no numeric id`);
        result.categories.push({ id: checkId(value.id, `category ${JSON.stringify(value.name)}'s id`), name: String(value.name) });
      }
    }
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(path, `not valid JSON (${(error as Error).message})`);
  } finally {
    file.destroy();
  }
  const missing = Object.entries(seen).filter(([, present]) => !present).map(([name]) => name);
  if (missing.length > 0) throw bad(`it has no ${missing.join(', ')} (a COCO instances file has images, annotations and categories)`);
  result.sha256 = hash.digest('hex');
  return result;
}

/** Why a COCO file_name could name a file outside the image folder, or undefined where it cannot. */
function unsafeFileName(name: string): string | undefined {
  if (name === '') return 'which is empty';
  if (name.includes('\0')) return 'which holds a NUL character';
  if (posix.isAbsolute(name) || win32.isAbsolute(name)) return 'an absolute path';
  if (name.split(/[\\/]/).includes('..')) return "which climbs out with '..'";
  return undefined;
}

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
  /** Accept classes with fewer images than asked for. */
  allowFewer?: boolean;
  /** Images decoded at once (sharp decodes on libuv's threads). */
  concurrency?: number;
  /** Seconds allowed to read and decode one image; past it the image counts as corrupt (default 60). */
  imageTimeoutSeconds?: number;
  log?: (line: string) => void;
}

interface SplitImages {
  pixels: Uint8Array[];
  labels: number[];
  entries: { id: number; file: string; class: string }[];
}

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

function checkOptions(o: CocoBuildOptions): void {
  const problems: string[] = [];
  if (o.classes.length === 0) problems.push('--classes names no category');
  if (new Set(o.classes).size !== o.classes.length) problems.push('--classes names a category twice');
  for (const [name, v] of [['--train-per-class', o.trainPerClass], ['--val-per-class', o.valPerClass]] as const) {
    if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a non-negative integer, got ${v}`);
  }
  if (!Number.isInteger(o.size) || o.size < 8 || o.size > 1024) problems.push(`--size must be an integer from 8 to 1024, got ${o.size}`);
  if (!existsSync(o.images)) problems.push(`the image folder ${o.images} does not exist`);
  if (o.imageTimeoutSeconds !== undefined && !(o.imageTimeoutSeconds > 0)) problems.push(`the image time limit must be positive, got ${o.imageTimeoutSeconds}`);
  const outProblem = outputFolderProblem(o.out, o.force === true);
  if (outProblem !== undefined) problems.push(outProblem);
  if (problems.length > 0) throw new RangeError(`data coco: ${problems.join('; ')}`);
}

/** Builds the subset into options.out (atomically: a temporary folder renamed at the end). */
export async function buildCocoSubset(options: CocoBuildOptions): Promise<CocoManifest> {
  checkOptions(options);
  const log = options.log ?? (() => {});
  const started = performance.now();
  const coco = await readCocoAnnotations(options.annotations);
  log(`read ${coco.images.size.toLocaleString('en-US')} images, ${coco.annotationImage.length.toLocaleString('en-US')} annotations and ` +
    `${coco.categories.length} categories in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const byName = new Map(coco.categories.map((c) => [c.name, c.id]));
  const unknown = options.classes.filter((c) => !byName.has(c));
  if (unknown.length > 0) {
    throw new RangeError(`data coco: unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((u) => `'${u}'`).join(', ')}; ` +
      `${basename(options.annotations)} has: ${[...byName.keys()].sort().join(', ')}`);
  }
  const categoryIds = options.classes.map((c) => byName.get(c)!);
  const classOf = new Map(categoryIds.map((id, i) => [id, i]));

  // Total annotated area of each chosen category in each image; the largest wins the image.
  const areas = new Map<number, Float64Array>();
  for (let i = 0; i < coco.annotationImage.length; i++) {
    const k = classOf.get(coco.annotationCategory.get(i));
    if (k === undefined) continue;
    const image = coco.annotationImage.get(i);
    let perClass = areas.get(image);
    if (perClass === undefined) {
      perClass = new Float64Array(options.classes.length);
      areas.set(image, perClass);
    }
    perClass[k]! += coco.annotationArea.get(i);
  }
  const candidates: number[][] = options.classes.map(() => []);
  for (const [image, perClass] of [...areas.entries()].sort((a, b) => a[0] - b[0])) {
    if (!coco.images.has(image)) continue;
    let best = 0;
    for (let k = 1; k < perClass.length; k++) if (perClass[k]! > perClass[best]!) best = k;
    candidates[best]!.push(image);
  }

  const splits: Record<'train' | 'val', SplitImages> = {
    train: { pixels: [], labels: [], entries: [] },
    val: { pixels: [], labels: [], entries: [] },
  };
  const skipped: CocoManifest['skipped'] = { missing: [], corrupt: [], notRegularFile: [] };
  const imagesFolder = resolve(options.images);
  const timeoutSeconds = options.imageTimeoutSeconds ?? 60;
  const wanted = options.trainPerClass + options.valPerClass;
  const concurrency = options.concurrency ?? 16;
  const shortfalls: string[] = [];
  for (const [k, name] of options.classes.entries()) {
    const pool = candidates[k]!;
    const order = epochOrder(pool.length, options.seed, k);
    const accepted: { id: number; file: string; pixels: Uint8Array }[] = [];
    for (let start = 0; start < order.length && accepted.length < wanted; start += concurrency) {
      const window = Array.from(order.subarray(start, start + concurrency), (i) => pool[i]!);
      const decoded = await Promise.all(window.map(async (id) => {
        const file = coco.images.get(id)!;
        const path = resolve(imagesFolder, file);
        const inside = relative(imagesFolder, path);
        // readCocoAnnotations refuses such a file_name already; this guards the join itself.
        if (inside.split(/[\\/]/)[0] === '..' || isAbsolute(inside)) {
          throw new RangeError(`data coco: image ${id}'s file_name ${JSON.stringify(file)} leads outside --images ${options.images}`);
        }
        return { id, file, result: await loadImage(path, options.size, timeoutSeconds) };
      }));
      for (const d of decoded) {
        if (accepted.length >= wanted) break;
        if (typeof d.result === 'string') skipped[d.result].push(d.file);
        else accepted.push({ id: d.id, file: d.file, pixels: d.result });
      }
    }
    if (accepted.length < wanted) shortfalls.push(`${name}: ${accepted.length} of ${wanted} (${pool.length} candidate images)`);
    accepted.forEach((image, i) => {
      const split = i < options.trainPerClass ? splits.train : splits.val;
      split.pixels.push(image.pixels);
      split.labels.push(k);
      split.entries.push({ id: image.id, file: image.file, class: name });
    });
    log(`${name}: ${accepted.length} images (${pool.length} candidates)`);
  }
  if (shortfalls.length > 0 && !options.allowFewer) {
    throw new RangeError(`data coco: too few usable images for ${shortfalls.join('; ')}. Ask for fewer, or pass --allow-fewer`);
  }

  const temporary = join(dirname(options.out), `.${basename(options.out)}.partial-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(temporary, { recursive: true });
  try {
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
    // Checked again: the folder may have changed while the images were decoded.
    const outProblem = outputFolderProblem(options.out, options.force === true);
    if (outProblem !== undefined) throw new RangeError(`data coco: ${outProblem}`);
    if (existsSync(options.out)) rmSync(options.out, { recursive: true, force: true });
    renameSync(temporary, options.out);
    return manifest;
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Reads and decodes one image file: 'missing' where there is none, 'notRegularFile' where the
 * name is a folder, a pipe, a socket or a device (opened without blocking, so a FIFO cannot hang
 * the build, and checked on the open descriptor, so it cannot be swapped in between), 'corrupt'
 * where it cannot be decoded or takes longer than timeoutSeconds.
 */
async function loadImage(path: string, size: number, timeoutSeconds: number): Promise<Uint8Array | 'missing' | 'corrupt' | 'notRegularFile'> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'corrupt';
  }
  try {
    if (!(await handle.stat()).isFile()) return 'notRegularFile';
    const file = handle;
    return await withTimeout((async () => decodeBytes(await file.readFile(), size, timeoutSeconds))(), timeoutSeconds * 1000);
  } catch {
    return 'corrupt';
  } finally {
    // Not awaited: after a time-out, close waits for the read still in flight.
    handle.close().catch(() => {});
  }
}

/** Rejects when the promise has not settled within ms. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** As decodeImage (images.ts), from bytes already read, with sharp's own time limit: EXIF rotation, RGB, size x size, (C, H, W). */
async function decodeBytes(bytes: Buffer, size: number, timeoutSeconds: number): Promise<Uint8Array> {
  const { data, info } = await sharp(bytes).timeout({ seconds: Math.max(1, Math.ceil(timeoutSeconds)) }).rotate()
    .resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const plane = size * size;
  const out = new Uint8Array(3 * plane);
  const channels = info.channels;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = data[p * channels + Math.min(c, channels - 1)]!;
  }
  return out;
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
    mkdirSync(classFolder, { recursive: true });
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
