/**
 * safetensors, the open weights format: an 8-byte little-endian header
 * length, a JSON header ({name: {dtype, shape, data_offsets}, __metadata__}),
 * then the raw little-endian bytes. Reading treats the file as untrusted:
 * the header is checked completely (size, JSON, dtypes, shapes, offsets that
 * must tile the data exactly) before any tensor memory is allocated.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { type DType, Tensor, fromBytes } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

const DTYPE_TO_TAG: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  bfloat16: 'BF16',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const TAG_TO_DTYPE = new Map(Object.entries(DTYPE_TO_TAG).map(([dtype, tag]) => [tag!, dtype as DType]));
const ITEM_SIZE: Record<string, number> = { F32: 4, F64: 8, BF16: 2, F16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Headers larger than this are refused (the reference implementation's limit is 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** The error for a file that is not valid safetensors: names the file and what is wrong with it. */
export class SafetensorsError extends Error {
  constructor(path: string, problem: string) {
    super(`${path}: not a valid safetensors file: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** One tensor of a safetensors header: its name, dtype, shape and byte range [start, end) within the data section. */
export interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  start: number;
  end: number;
}

/** A validated safetensors header: its tensors in header order, its string metadata, and the file offset where the data section starts. */
export interface SafetensorsHeader {
  entries: Entry[];
  metadata: Record<string, string>;
  dataOffset: number;
}

/** The metadata key under which a file carries the SHA-256 of its data section, checked on every load. */
export const CHECKSUM_KEY = 'sha256';

/**
 * Serialises named tensors (in the record's key order) with optional string
 * metadata; with `checksum`, the metadata also carries the SHA-256 of the
 * data section, so a flipped byte is found on load instead of trained on.
 */
export function encodeSafetensors(
  record: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options: { checksum?: boolean } = {},
): Buffer {
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`saveSafetensors: metadata value '${k}' must be a string`);
    }
  }
  const entries: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(record)) {
    // The header's own key, and the key a JavaScript object cannot hold as data: a file with either would not read back.
    if (name === '__metadata__' || name === '__proto__') {
      throw new TypeError(
        `saveSafetensors: '${name}' cannot name a tensor (${name === '__metadata__' ? 'the header keeps its metadata there' : "it is JavaScript's prototype key"}): rename it`,
      );
    }
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors: '${name}' is not a Tensor`);
    const tag = DTYPE_TO_TAG[t.dtype];
    if (tag === undefined) throw new TypeError(`saveSafetensors: '${name}' has dtype ${t.dtype}, which safetensors cannot store`);
    const bytes = t.bytes();
    entries[name] = { dtype: tag, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  const meta = options.checksum ? { ...metadata, [CHECKSUM_KEY]: sha256(blobs) } : metadata;
  const header = { ...(meta !== undefined ? { __metadata__: meta } : {}), ...entries };
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([length, headerBytes, ...blobs]);
}

function sha256(parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** Writes named tensors to path atomically (a crash never leaves a half-written file). */
export function saveSafetensors(
  record: Record<string, Tensor>,
  path: string,
  metadata?: Record<string, string>,
  options: { checksum?: boolean } = {},
): void {
  writeFileAtomic(path, encodeSafetensors(record, metadata, options));
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and fully validates the header of an open file. */
function readHeader(fd: number, path: string, maxHeaderBytes = MAX_HEADER_BYTES): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new SafetensorsError(path, `the file has ${fileSize} bytes, fewer than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  readSync(fd, lengthBytes, 0, 8, 0);
  const headerLength = lengthBytes.readBigUInt64LE();
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(path, `the header claims ${headerLength} bytes, more than the ${maxHeaderBytes}-byte limit`);
  }
  if (headerLength > BigInt(fileSize - 8)) {
    throw new SafetensorsError(path, `the header claims ${headerLength} bytes but the file has only ${fileSize - 8} after the length`);
  }
  const n = Number(headerLength);
  const headerBytes = Buffer.alloc(n);
  readSync(fd, headerBytes, 0, n, 8);
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerBytes.toString('utf8'));
  } catch (error) {
    throw new SafetensorsError(path, `the header is not JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SafetensorsError(path, 'the header is not a JSON object');
  }
  const dataOffset = 8 + n;
  const dataLength = fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new SafetensorsError(path, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new SafetensorsError(path, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') throw new SafetensorsError(path, `entry '${name}' is not an object`);
    const dtype = typeof info.dtype === 'string' ? TAG_TO_DTYPE.get(info.dtype) : undefined;
    if (dtype === undefined) throw new SafetensorsError(path, `entry '${name}' has unknown dtype ${JSON.stringify(info.dtype)}`);
    if (!Array.isArray(info.shape) || !info.shape.every(isNonNegativeInteger)) {
      throw new SafetensorsError(path, `entry '${name}' has an invalid shape ${JSON.stringify(info.shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(path, `entry '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [start, end] = offsets as [number, number];
    if (end > dataLength) {
      throw new SafetensorsError(path, `entry '${name}' runs to byte ${end}, past the end of the data (${dataLength} bytes)`);
    }
    const numel = (info.shape as number[]).reduce((a, b) => a * b, 1);
    const expected = numel * ITEM_SIZE[info.dtype as string]!;
    if (end - start !== expected) {
      throw new SafetensorsError(
        path,
        `entry '${name}' spans ${end - start} bytes but ${info.dtype as string} [${(info.shape as number[]).join(', ')}] needs ${expected}`,
      );
    }
    entries.push({ name, dtype, shape: info.shape as number[], start, end });
  }
  // The entries must tile the data exactly: no overlap, no gap, nothing left over.
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.start < cursor) throw new SafetensorsError(path, `entry '${e.name}' overlaps the tensor before it`);
    if (e.start > cursor) throw new SafetensorsError(path, `bytes ${cursor}..${e.start} of the data belong to no tensor`);
    cursor = e.end;
  }
  if (cursor !== dataLength)
    throw new SafetensorsError(path, `the data has ${dataLength - cursor} trailing bytes that belong to no tensor`);
  return { entries, metadata, dataOffset };
}

/** The tensors of a safetensors file by name, and its metadata. */
export interface LoadedSafetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Options for reading a safetensors file: a header size limit, and a check run on the header before any tensor is read. */
export interface ReadOptions {
  /** Refuse a header longer than this (default MAX_HEADER_BYTES), before parsing it. */
  maxHeaderBytes?: number;
  /** Called with the validated header before any tensor is read: a caller's own checks (names, format) throw here, cheaply. */
  checkHeader?: (header: SafetensorsHeader) => void;
}

/** Reads the header only (names, dtypes, shapes, metadata), for inspecting a file cheaply. */
export function readSafetensorsHeader(path: string, options: ReadOptions = {}): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return readHeader(fd, path, options.maxHeaderBytes);
  } finally {
    closeSync(fd);
  }
}

/** Loads every tensor of a safetensors file, in header order, with its metadata. */
export function loadSafetensorsWithMetadata(path: string, options: ReadOptions = {}): LoadedSafetensors {
  const fd = openSync(path, 'r');
  try {
    const header = readHeader(fd, path, options.maxHeaderBytes);
    options.checkHeader?.(header);
    const blobs = header.entries.map((e) => {
      const bytes = new Uint8Array(e.end - e.start);
      const read = readSync(fd, bytes, 0, bytes.length, header.dataOffset + e.start);
      if (read !== bytes.length) throw new SafetensorsError(path, `short read for entry '${e.name}'`);
      return bytes;
    });
    const expected = header.metadata[CHECKSUM_KEY];
    if (expected !== undefined) {
      const inFileOrder = header.entries
        .map((e, i) => [e.start, blobs[i]!] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, b]) => b);
      if (sha256(inFileOrder) !== expected) {
        throw new SafetensorsError(
          path,
          'its data does not match the SHA-256 checksum in its header: the file is corrupt (a changed or flipped byte); ' +
            'use another copy, or train again',
        );
      }
    }
    const tensors: Record<string, Tensor> = {};
    header.entries.forEach((e, i) => {
      tensors[e.name] = fromBytes(blobs[i]!, e.shape, e.dtype);
    });
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}

/** Loads every tensor of a safetensors file by name. */
export function loadSafetensors(path: string): Record<string, Tensor> {
  return loadSafetensorsWithMetadata(path).tensors;
}
