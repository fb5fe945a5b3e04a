/**
 * Reading a COCO instances_*.json file for the subset builder: images kept as id -> file name, annotations as three
 * typed columns (image, category, area), categories as id and name, so memory stays far below the file's size. Ids
 * must be non-negative safe integers (kept exactly, in float64 columns); a file_name must stay inside the image
 * folder; two images under one id, or two categories sharing an id or a name, are refused. The bytes are read by
 * the validating scanner of coco-json.ts.
 */
import { existsSync } from 'node:fs';
import { posix, win32 } from 'node:path';

import { CONTAINER, type CocoEntry, type CocoScanProgress, scanCocoJson } from './coco-json.js';
import { DataFileError } from './dataset.js';

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
  const bad = (what: string, offset?: number) =>
    new DataFileError(path, `not a COCO instances file: ${what}${offset === undefined ? '' : at(offset)}`);
  /** An id: a non-negative safe integer (a fraction, a negative or an id past 2^53 - 1 is refused, never rounded or wrapped). */
  const checkId = (id: number, what: string, offset: number): number => {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new DataFileError(path, `${what} ${id} is not an id: ids must be non-negative integers below 2^53${at(offset)}`);
    return id;
  };
  const onImage = (value: CocoEntry, offset: number) => {
    if (typeof value.id !== 'number' || typeof value.file_name !== 'string')
      throw bad('an image lacks a numeric id or a file_name', offset);
    const id = checkId(value.id, 'image id', offset);
    const unsafe = unsafeFileName(value.file_name);
    if (unsafe !== undefined) {
      throw new DataFileError(
        path,
        `image ${id} has file_name ${JSON.stringify(value.file_name)}, ${unsafe}: a file_name must name a file inside the image folder${at(offset)}`,
      );
    }
    const earlier = result.images.get(id);
    if (earlier !== undefined) {
      // Two images under one id would pair one file with the other's annotations: wrong labels, silently.
      throw new DataFileError(
        path,
        `image id ${id} is given twice, to ${JSON.stringify(earlier)} and to ${JSON.stringify(value.file_name)}${at(offset)}: ` +
          'each image needs its own id; repair the file',
      );
    }
    result.images.set(id, value.file_name);
  };
  const onAnnotation = (value: CocoEntry, offset: number) => {
    if (typeof value.image_id !== 'number' || typeof value.category_id !== 'number')
      throw bad('an annotation lacks a numeric image_id or category_id', offset);
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
      entry: (section, value, offset) =>
        (section === 'images' ? onImage : section === 'annotations' ? onAnnotation : onCategory)(value, offset),
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
  if (clash !== undefined)
    throw bad(`${clash}: each category of a COCO file has an id and a name of its own, or its images would be labelled by a guess`);
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
      if (earlier !== undefined)
        return `categories ${earlier} and ${JSON.stringify(category.name)} share the ${key} ${JSON.stringify(category[key])}`;
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
