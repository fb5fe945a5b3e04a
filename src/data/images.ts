/**
 * Image decoding for the builders and ImageFolder: any JPEG, PNG or WebP to RGB, resized, channel-first.
 *
 * The pipeline is sharp's (libvips): EXIF rotation, then a resize whose JPEG part is done by the
 * decoder itself (shrink-on-load, sharp's default `fastShrinkOnLoad`: a 640x480 JPEG resized to
 * 64x64 is decoded at 1/4 scale, then reduced with lanczos3), RGB, raw bytes. Each image runs on
 * one of libuv's threads (sharp's per-image concurrency is 1 here), so images decoded at once use
 * every core up to UV_THREADPOOL_SIZE (default 4; set it higher, before Node starts, on a machine
 * with more cores). What is left for JavaScript is the HWC to CHW copy.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

import sharp from 'sharp';

/** (H, W, channels) bytes to (3, H, W): gray repeats its one channel, alpha is dropped. */
function toChannelFirst(data: Buffer, channels: number, size: number): Uint8Array {
  const plane = size * size;
  const out = new Uint8Array(3 * plane);
  if (channels === 3) {
    for (let p = 0, q = 0; p < plane; p++, q += 3) {
      out[p] = data[q]!;
      out[plane + p] = data[q + 1]!;
      out[2 * plane + p] = data[q + 2]!;
    }
    return out;
  }
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = data[p * channels + Math.min(c, channels - 1)]!;
  }
  return out;
}

function pipeline(image: sharp.Sharp, size: number): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  return image.rotate().resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
}

/** Decodes, applies EXIF rotation, converts to RGB and resizes to size x size; pixels come out as (C, H, W). */
export async function decodeImage(path: string, size: number): Promise<Uint8Array> {
  const { data, info } = await pipeline(sharp(path), size);
  return toChannelFirst(data, info.channels, size);
}

/** As decodeImage, from the file's bytes, with sharp's own time limit (whole seconds, at least 1). */
export async function decodeImageBytes(bytes: Buffer, size: number, timeoutSeconds = 60): Promise<Uint8Array> {
  const { data, info } = await pipeline(sharp(bytes).timeout({ seconds: Math.max(1, Math.ceil(timeoutSeconds)) }), size);
  return toChannelFirst(data, info.channels, size);
}

/** Why an image file gave no pixels. */
export type ImageSkip = 'missing' | 'corrupt' | 'notRegularFile';

/**
 * Reads and decodes one image file (as decodeImageBytes): 'missing' where there is none,
 * 'notRegularFile' where the name is a folder, a pipe, a socket or a device (opened without
 * blocking, so a FIFO cannot hang the build, and checked on the open descriptor, so it cannot be
 * swapped in between), 'corrupt' where it cannot be decoded or takes longer than timeoutSeconds.
 */
export async function loadImageFile(path: string, size: number, timeoutSeconds = 60): Promise<Uint8Array | ImageSkip> {
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
    return await withTimeout((async () => decodeImageBytes(await file.readFile(), size, timeoutSeconds))(), timeoutSeconds * 1000);
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

/** Runs at most `limit` of the functions handed to it at once, first come first served. */
export function concurrencyLimit(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over by release
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next !== undefined) next();
      else active--;
    }
  };
}

/** Maps items through fn with at most `limit` promises in flight, keeping the order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
