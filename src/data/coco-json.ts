/**
 * A reader for COCO instances_*.json files that keeps only what the subset
 * builder needs, at 75-130 MB/s on a shared 2-core machine (5-7 times Python's
 * json.load) and in memory that grows with what is kept, not with the file.
 *
 * The file is read in 4 MB chunks (hashed as they arrive) and walked once by a
 * validating JSON scanner: every byte is checked against the JSON grammar
 * (RFC 8259: strings and their escapes, numbers, literals, nesting, nothing
 * after the end), so a file JSON.parse would refuse is refused, with the byte
 * offset of the first fault. No object is built for what is not kept: of each
 * entry of the top-level "images", "annotations" and "categories" arrays only
 * the fields id, file_name, image_id, category_id, area and name (at the
 * entry's own level, last one wins as in JSON.parse) are decoded and handed on;
 * polygons and everything else are validated and skipped (an unused string
 * piece by piece, so even a huge one never has to fit in the buffer). A whole-file
 * JSON.parse is no option for the real train2017 file (448 MB, near V8's
 * string limit), and a streaming tokenizer that builds every value (stream-json)
 * reads at about 2 MB/s.
 *
 * This file opens the file and runs the scan; the walk is in coco-json-scanner.ts, the tokens' grammar in
 * coco-json-tokens.ts, and the fields kept in coco-json-fields.ts.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

import type { CocoSection } from './coco-json-fields.js';
import { type CocoScanHandlers, Progress, Scanner, Source } from './coco-json-scanner.js';
import { Fault } from './coco-json-tokens.js';
import { DataFileError } from './dataset.js';

export { CONTAINER, type CocoEntry, type CocoSection, type FieldValue } from './coco-json-fields.js';
export type { CocoScanHandlers, CocoScanProgress } from './coco-json-scanner.js';

export interface CocoScanResult {
  bytes: number;
  sha256: string;
  /** Entries seen per section (a section that is absent counts 0). */
  counts: Record<CocoSection, number>;
}

const CHUNK = 4 << 20;
/**
 * Before a token starts, at least this many bytes are in the buffer (unless the file ends sooner),
 * so ordinary tokens never straddle the buffer's end; a longer one is scanned again after a refill.
 */
const MARGIN = 64 << 10;

/**
 * Reads a COCO instances file, calling handlers.entry for every entry of its top-level images,
 * annotations and categories arrays. Throws DataFileError (naming the file and the byte offset)
 * on anything that is not valid JSON, on a top-level value that is not an object, on a section
 * that is not an array of objects, and on a section given twice.
 */
export function scanCocoJson(path: string, handlers: CocoScanHandlers): CocoScanResult {
  // Without blocking: a FIFO given as the file is refused below instead of waiting for a writer.
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new DataFileError(path, 'not a regular file');
    if (!primed) {
      primed = true;
      // Several times: V8 gives a function its type feedback only after a few calls.
      for (let i = 0; i < 12; i++)
        scan('(warm-up)', readFrom(WARM_UP), WARM_UP.length, { entry: () => {}, chunkBytes: i % 2 === 0 ? 16 : CHUNK });
    }
    return scan(path, (buf, offset, length) => readSync(fd, buf, offset, length, null), stats.size, handlers);
  } finally {
    closeSync(fd);
  }
}

/**
 * A small document that takes the scanner down each of its paths once before the first real file,
 * so that V8 compiles it with type feedback for all of them: otherwise the optimised code, compiled
 * while the first section is read, is thrown away (deoptimised) when the next one brings a path it
 * has not seen, which costs about 0.1 s of a 10 MB file.
 */
const WARM_UP = Buffer.from(
  '{"info":{"description":"a \\"b\\" \\u00e9","images":[1]},"licenses":[{"id":1,"url":"u"},[],{}],' +
    '"images":[{"license":1,"file_name":"000000000001.jpg","id":1},{"id":2,"file\\u005fname":"b.jpg","x":[true,false,null]}],' +
    '"annotations":[{"segmentation":[[1.5,-2,3e2,4.5E-1,0]],"area":702.1057499999998,"iscrowd":0,"image_id":1,"bbox":[1,2,3,4],"category_id":18,"id":1},' +
    '{"segmentation":{"counts":[1,2],"size":[4,5]},"area":12,"image_id":2,"category_id":1,"id":2,"name":null},' +
    '{"area":{"x":1},"image_id":1,"category_id":1,"id":true,"file_name":false}],' +
    '"categories":[{"supercategory":"s","id":1,"name":"person"},{"id":18,"name":"dog"}]} \r\n\t',
);
let primed = false;

function readFrom(bytes: Buffer): (buf: Buffer, offset: number, length: number) => number {
  let at = 0;
  return (buf, offset, length) => {
    const n = bytes.copy(buf, offset, at, Math.min(bytes.length, at + length));
    at += n;
    return n;
  };
}

function scan(
  path: string,
  readInto: (buf: Buffer, offset: number, length: number) => number,
  totalBytes: number,
  handlers: CocoScanHandlers,
): CocoScanResult {
  const chunk = Math.max(1, Math.floor(handlers.chunkBytes ?? CHUNK));
  const src = new Source(readInto, chunk, Math.min(MARGIN, chunk >> 2));
  const progress = new Progress(handlers, src, totalBytes);
  src.fill(0);
  while (src.end < 4 && !src.eof) src.fill(0); // the byte order mark needs the first bytes
  const scanner = new Scanner(path, src, handlers, progress);
  scanner.p = byteOrderMarkLength(path, src.buf, src.end);
  try {
    scanner.run();
  } catch (error) {
    if (error instanceof Fault) scanner.fail(error.index, error.message);
    throw error;
  }
  progress.report(true);
  return { bytes: totalBytes, sha256: src.hash.digest('hex'), counts: scanner.counts };
}

/** The bytes to skip at the file's start: UTF-8's byte order mark; UTF-16's (or UTF-32's) is refused, as COCO files are UTF-8. */
function byteOrderMarkLength(path: string, b: Buffer, e: number): number {
  if (e >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 3;
  if (e >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) {
    throw new DataFileError(path, 'not valid JSON at byte 0: the file starts with a UTF-16 byte order mark (a COCO file is UTF-8)');
  }
  return 0;
}
