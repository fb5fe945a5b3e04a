/**
 * Decoding a COCO subset's images: each class's candidates tried in their seeded order, read and decoded and resized
 * (by sharp, on its worker threads) through one limit of images in flight, until the class has its train and val
 * images. A file_name, or a link, that leads outside the image folder is refused; a file that is missing, not
 * decodable in the time limit or not a regular file is skipped, with the reason. Progress is logged as it goes.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

import type { CocoAnnotations } from './coco-annotations.js';
import type { CocoBuildOptions } from './coco-manifest.js';
import { type ImageSkip, concurrencyLimit, loadImageFile } from './images.js';

/**
 * What decoding needs, shared by every class: the settings, the image folder, one limit of `concurrency` images in flight
 * (so the threads stay busy across classes), and the images accepted so far, for the progress lines.
 */
export interface DecodingContext {
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
export interface ClassImages {
  pool: number[];
  accepted: { id: number; file: string; pixels: Uint8Array }[];
  skippedHere: [ImageSkip, string][];
}

/** The decoding context for a build, its clock started. */
export function decodingContext(options: CocoBuildOptions, coco: CocoAnnotations, log: (line: string) => void): DecodingContext {
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
      throw new RangeError(
        `data coco: image ${id}'s file ${JSON.stringify(file)} is a link to ${target}, outside --images ${options.images}: ` +
          'copy the image into the folder, or pass --follow-symlinks to read linked files wherever they are',
      );
    }
    return { id, file, result: await loadImageFile(path, options.size, ctx.timeoutSeconds) };
  });
}

/**
 * Takes the first `wanted` images of a class's seeded order that decode (every class runs at once, through ctx's one limit).
 * It launches no more than it still needs, and reads its results in order, so what it accepts and skips is the same as
 * decoding one image after the other.
 */
export async function decodeClass(ctx: DecodingContext, pool: number[]): Promise<ClassImages> {
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
  ctx.log(
    `decoding: ${ctx.accepted.toLocaleString('en-US')} of ${wantedTotal.toLocaleString('en-US')} images ` +
      `(${(ctx.accepted / ((now - ctx.started) / 1000)).toFixed(0)} images/s)`,
  );
}

/** A path with every link resolved, or undefined where it does not exist (a missing image is skipped later, as missing). */
function realPathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Whether path lies inside folder (not the folder itself). */
function isInside(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside !== '' && inside.split(/[\\/]/)[0] !== '..' && !isAbsolute(inside);
}
