/**
 * IDX files (the MNIST family's format), plain or gzipped: a big-endian magic
 * number (2051 for images, 2049 for labels), the dimension sizes, then the
 * bytes. Every size is checked against the file before it is trusted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { DataFileError } from './dataset.js';

/** The magic number that opens an IDX image file. */
export const IDX_IMAGES_MAGIC = 2051;
/** The magic number that opens an IDX label file. */
export const IDX_LABELS_MAGIC = 2049;

function readMaybeGzipped(path: string): Buffer {
  if (!existsSync(path)) throw new DataFileError(path, 'file not found');
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (error) {
      throw new DataFileError(path, `corrupt gzip data (${(error as Error).message})`);
    }
  }
  return raw;
}

/** The file's bytes once its header fits and its magic number is the one for this kind of IDX file. */
function readIdx(path: string, kind: 'image' | 'label', magic: number, headerBytes: number): Buffer {
  const data = readMaybeGzipped(path);
  if (data.length < headerBytes)
    throw new DataFileError(path, `truncated IDX ${kind} file (${data.length} bytes, the header alone is ${headerBytes})`);
  const found = data.readUInt32BE(0);
  if (found !== magic) throw new DataFileError(path, `wrong magic number ${found} for an IDX ${kind} file (expected ${magic})`);
  return data;
}

/** The images of an IDX file: their count, rows and columns, and the pixels (count * rows * cols bytes). */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/** Reads an IDX image file, plain or gzipped, checking its magic number and sizes; throws a DataFileError naming the file otherwise. */
export function readIdxImages(path: string): IdxImages {
  const data = readIdx(path, 'image', IDX_IMAGES_MAGIC, 16);
  const count = data.readUInt32BE(4);
  const rows = data.readUInt32BE(8);
  const cols = data.readUInt32BE(12);
  const expected = 16 + count * rows * cols;
  if (data.length < expected) {
    throw new DataFileError(path, `truncated: ${count} images of ${rows}x${cols} need ${expected} bytes, the file has ${data.length}`);
  }
  return { count, rows, cols, pixels: new Uint8Array(data.buffer, data.byteOffset + 16, count * rows * cols) };
}

/** Reads an IDX label file, plain or gzipped, checking its magic number, its size and that every label is below numClasses. */
export function readIdxLabels(path: string, numClasses: number): Uint8Array {
  const data = readIdx(path, 'label', IDX_LABELS_MAGIC, 8);
  const count = data.readUInt32BE(4);
  if (data.length < 8 + count)
    throw new DataFileError(path, `truncated: ${count} labels need ${8 + count} bytes, the file has ${data.length}`);
  const labels = new Uint8Array(data.buffer, data.byteOffset + 8, count);
  const bad = labels.findIndex((label) => label >= numClasses);
  if (bad >= 0) throw new DataFileError(path, `label ${labels[bad]} at index ${bad} is out of range (there are ${numClasses} classes)`);
  return labels;
}
