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
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

import { DataFileError } from './dataset.js';

/** The array sections of a COCO file the builder reads. */
export type CocoSection = 'images' | 'annotations' | 'categories';
const SECTIONS: readonly CocoSection[] = ['images', 'annotations', 'categories'];

/** A field holding an object or an array (the reader does not build them). */
export const CONTAINER: unique symbol = Symbol('an object or an array');
export type FieldValue = number | string | boolean | null | typeof CONTAINER | undefined;

/** The fields kept of one entry; undefined where the entry has no such field. Reused from entry to entry. */
export interface CocoEntry {
  id: FieldValue;
  file_name: FieldValue;
  image_id: FieldValue;
  category_id: FieldValue;
  area: FieldValue;
  name: FieldValue;
}

/** How far the scan of an annotation file has come: bytes read of the file's total, and seconds since it began. */
export interface CocoScanProgress {
  bytesRead: number;
  totalBytes: number;
  seconds: number;
}

export interface CocoScanHandlers {
  /** Called for each entry of a section, with the file offset of its '{' (for messages). */
  entry(section: CocoSection, entry: CocoEntry, offset: number): void;
  /** Called about every intervalMs while reading, and once at the end. */
  progress?: (progress: CocoScanProgress) => void;
  progressIntervalMs?: number;
  /** Bytes read at a time (default 4 MB; tests use tiny ones so that tokens straddle the reads). */
  chunkBytes?: number;
}

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

/** A syntax fault at an index into the current buffer (converted to a file offset where caught). */
class Fault {
  constructor(readonly index: number, readonly message: string) {}
}

function describeByte(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** Set by scanString: whether the string just scanned holds an escape. */
let sawEscape = false;

/**
 * Scans a string whose opening quote is at p - 1. Returns the index after the closing quote, or
 * -1 where the buffer ends first.
 */
/** 1 for the bytes a string holds as they are: not a quote, a backslash or a control character. */
const PLAIN = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x20 && c !== 0x22 && c !== 0x5c ? 1 : 0));

/** Where scanString stopped when the buffer ended inside a string: the first byte not yet checked (an escape cut off starts there). */
let stringCut = 0;

function cutAt(p: number): number {
  stringCut = p;
  return -1;
}

function scanString(b: Uint8Array, p: number, e: number): number {
  sawEscape = false;
  for (;;) {
    while (p < e && PLAIN[b[p]!] === 1) p++;
    if (p >= e) return cutAt(p);
    const c = b[p]!;
    if (c === 0x22) return p + 1;
    if (c === 0x5c) {
      sawEscape = true;
      if (p + 1 >= e) return cutAt(p);
      const d = b[p + 1]!;
      if (d === 0x75) {
        if (p + 5 >= e) return cutAt(p);
        for (let k = p + 2; k < p + 6; k++) {
          const h = b[k]!;
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
            throw new Fault(p, 'a \\u escape not followed by four hexadecimal digits');
          }
        }
        p += 6;
        continue;
      }
      if (d === 0x22 || d === 0x5c || d === 0x2f || d === 0x62 || d === 0x66 || d === 0x6e || d === 0x72 || d === 0x74) {
        p += 2;
        continue;
      }
      throw new Fault(p, `an invalid escape '\\${String.fromCharCode(d)}' in a string`);
    }
    if (c < 0x20) throw new Fault(p, `a raw control character (${describeByte(c)}) inside a string (JSON requires it escaped)`);
    p++;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Scans a number starting at p. Returns the index after it, or -1 where the buffer ends first. */
function scanNumber(b: Uint8Array, p: number, e: number): number {
  let q = p;
  if (b[q] === 0x2d) {
    q++;
    if (q >= e) return -1;
  }
  let c = b[q]!;
  if (c === 0x30) {
    q++;
  } else if (c >= 0x31 && c <= 0x39) {
    q++;
    while (q < e && isDigit(b[q]!)) q++;
  } else {
    throw new Fault(q, `a '-' followed by ${describeByte(c)}, not a digit`);
  }
  if (q >= e) return -1;
  c = b[q]!;
  if (c === 0x2e) {
    q++;
    if (q >= e) return -1;
    if (!isDigit(b[q]!)) throw new Fault(q, `a '.' in a number followed by ${describeByte(b[q]!)}, not a digit`);
    while (q < e && isDigit(b[q]!)) q++;
    if (q >= e) return -1;
    c = b[q]!;
  }
  if (c === 0x65 || c === 0x45) {
    q++;
    if (q >= e) return -1;
    c = b[q]!;
    if (c === 0x2b || c === 0x2d) {
      q++;
      if (q >= e) return -1;
    }
    if (!isDigit(b[q]!)) throw new Fault(q, `an exponent in a number followed by ${describeByte(b[q]!)}, not a digit`);
    while (q < e && isDigit(b[q]!)) q++;
    if (q >= e) return -1;
  }
  return q;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Scans true, false or null at p. Returns the index after it, or -1 where the buffer ends first. */
function scanLiteral(b: Uint8Array, p: number, e: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) {
    if (p + k >= e) return -1;
    if (b[p + k] !== word[k]) throw new Fault(p, 'a word that is not true, false or null where a value should start');
  }
  return p + word.length;
}

/** The value of a number token (valid JSON), as JSON.parse gives it. */
function numberValue(b: Buffer, s: number, e: number): number {
  if (e - s <= 15) {
    let v = 0;
    let k = s;
    for (; k < e; k++) {
      const c = b[k]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
    if (k === e) return v;
  }
  return Number(b.toString('latin1', s, e));
}

/** The value of a string token whose quotes are at s and e - 1. */
function stringValue(b: Buffer, s: number, e: number, escaped: boolean): string {
  return escaped ? (JSON.parse(b.toString('utf8', s, e)) as string) : b.toString('utf8', s + 1, e - 1);
}

/** Field slots of an entry, by the bytes of the key. */
const enum Field { None = -1, Id, FileName, ImageId, CategoryId, Area, Name }
const FIELD_NAMES = ['id', 'file_name', 'image_id', 'category_id', 'area', 'name'] as const;

function sameBytes(b: Uint8Array, s: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** The field a key (quotes at s and e - 1) names, or Field.None. */
function fieldOf(b: Buffer, s: number, e: number, escaped: boolean): Field {
  if (escaped) {
    const index = (FIELD_NAMES as readonly string[]).indexOf(stringValue(b, s, e, true));
    return index as Field;
  }
  const n = e - s - 2;
  const k = s + 1;
  switch (n) {
    case 2: return sameBytes(b, k, 'id') ? Field.Id : Field.None;
    case 4: return sameBytes(b, k, 'area') ? Field.Area : sameBytes(b, k, 'name') ? Field.Name : Field.None;
    case 8: return sameBytes(b, k, 'image_id') ? Field.ImageId : Field.None;
    case 9: return sameBytes(b, k, 'file_name') ? Field.FileName : Field.None;
    case 11: return sameBytes(b, k, 'category_id') ? Field.CategoryId : Field.None;
    default: return Field.None;
  }
}

function setField(entry: CocoEntry, field: Field, value: FieldValue): void {
  switch (field) {
    case Field.Id: entry.id = value; break;
    case Field.FileName: entry.file_name = value; break;
    case Field.ImageId: entry.image_id = value; break;
    case Field.CategoryId: entry.category_id = value; break;
    case Field.Area: entry.area = value; break;
    case Field.Name: entry.name = value; break;
    default: break;
  }
}

/** The file, read chunk by chunk into one buffer that keeps the bytes from a given index on. */
class Source {
  buf: Buffer;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  read = 0;
  readonly hash = createHash('sha256');
  constructor(readonly readInto: (buf: Buffer, offset: number, length: number) => number, readonly chunk: number, readonly margin: number) {
    this.buf = Buffer.allocUnsafe(chunk + margin);
  }

  /** Drops the bytes before index keep and reads until the buffer is full or the file ends. */
  fill(keep: number): void {
    const tail = this.end - keep;
    if (keep > 0) this.buf.copy(this.buf, 0, keep, this.end);
    this.base += keep;
    this.end = tail;
    // A token longer than the buffer (a huge string): grow it.
    if (this.buf.length - this.end < this.chunk / 2) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.end + this.chunk));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < this.buf.length && !this.eof) {
      const n = this.readInto(this.buf, this.end, this.buf.length - this.end);
      if (n === 0) {
        this.eof = true;
      } else {
        this.hash.update(this.buf.subarray(this.end, this.end + n));
        this.end += n;
        this.read += n;
      }
    }
  }
}

const enum State { Value, ArrayFirst, ObjectFirst, ObjectKey, Colon, After }
const OBJECT = 1;
const ARRAY = 2;

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
      for (let i = 0; i < 12; i++) scan('(warm-up)', readFrom(WARM_UP), WARM_UP.length, { entry: () => {}, chunkBytes: i % 2 === 0 ? 16 : CHUNK });
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
const WARM_UP = Buffer.from('{"info":{"description":"a \\"b\\" \\u00e9","images":[1]},"licenses":[{"id":1,"url":"u"},[],{}],' +
  '"images":[{"license":1,"file_name":"000000000001.jpg","id":1},{"id":2,"file\\u005fname":"b.jpg","x":[true,false,null]}],' +
  '"annotations":[{"segmentation":[[1.5,-2,3e2,4.5E-1,0]],"area":702.1057499999998,"iscrowd":0,"image_id":1,"bbox":[1,2,3,4],"category_id":18,"id":1},' +
  '{"segmentation":{"counts":[1,2],"size":[4,5]},"area":12,"image_id":2,"category_id":1,"id":2,"name":null},' +
  '{"area":{"x":1},"image_id":1,"category_id":1,"id":true,"file_name":false}],' +
  '"categories":[{"supercategory":"s","id":1,"name":"person"},{"id":18,"name":"dog"}]} \r\n\t');
let primed = false;

function readFrom(bytes: Buffer): (buf: Buffer, offset: number, length: number) => number {
  let at = 0;
  return (buf, offset, length) => {
    const n = bytes.copy(buf, offset, at, Math.min(bytes.length, at + length));
    at += n;
    return n;
  };
}

function scan(path: string, readInto: (buf: Buffer, offset: number, length: number) => number, totalBytes: number, handlers: CocoScanHandlers): CocoScanResult {
  const chunk = Math.max(1, Math.floor(handlers.chunkBytes ?? CHUNK));
  const margin = Math.min(MARGIN, chunk >> 2);
  const src = new Source(readInto, chunk, margin);
  const started = performance.now();
  const interval = handlers.progressIntervalMs ?? 1000;
  let lastProgress = started;
  const report = (force: boolean) => {
    if (handlers.progress === undefined) return;
    const now = performance.now();
    if (!force && now - lastProgress < interval) return;
    lastProgress = now;
    handlers.progress({ bytesRead: src.read, totalBytes, seconds: (now - started) / 1000 });
  };
  const counts: Record<CocoSection, number> = { images: 0, annotations: 0, categories: 0 };
  const entry: CocoEntry = { id: undefined, file_name: undefined, image_id: undefined, category_id: undefined, area: undefined, name: undefined };
  const sectionsSeen = new Set<string>();

  src.fill(0);
  while (src.end < 4 && !src.eof) src.fill(0); // the byte order mark needs the first bytes
  let b = src.buf;
  let p = 0;
  let e = src.end;
  let limit = src.eof ? e : e - margin;

  // Byte order marks: UTF-8's is skipped; UTF-16 (or UTF-32) is not JSON as COCO writes it.
  if (e >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) p = 3;
  else if (e >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) {
    throw new DataFileError(path, 'not valid JSON at byte 0: the file starts with a UTF-16 byte order mark (a COCO file is UTF-8)');
  }

  const stack: number[] = [];
  let state = State.Value;
  let depth = 0;
  /** The section whose array is open at depth 2 (or undefined). */
  let section: CocoSection | undefined;
  /** The top-level key whose value comes next. */
  let topKey = '';
  /** The field of the entry whose value comes next (depth 3). */
  let field = Field.None;
  let entryOffset = 0;
  let done = false;

  const where = (): string => {
    if (depth === 0) return done ? 'after the end of the JSON value' : 'where the JSON value should start';
    if (section !== undefined) return depth >= 3 ? `inside ${section}[${counts[section]}]` : `inside the "${section}" array`;
    return depth === 1 ? 'inside the top-level object' : `inside the value of the top-level key ${JSON.stringify(topKey)}`;
  };
  // Moves the unread bytes from p to the buffer's start and reads more after them (rare: once a chunk, or inside a long token).
  const refill = () => {
    src.fill(p);
    b = src.buf;
    p = 0;
    e = src.end;
    limit = src.eof ? e : e - margin;
  };
  const fail = (index: number, message: string): never => {
    throw new DataFileError(path, `not valid JSON at byte ${src.base + index}: ${message} (${where()})`);
  };

  try {
    for (;;) {
      // Skip whitespace; keep MARGIN bytes ahead so that ordinary tokens never straddle the buffer's end.
      let c = 0;
      for (;;) {
        if (p >= limit && !src.eof) {
          refill();
          report(false);
        }
        if (p >= e) break;
        c = b[p]!;
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          p++;
          continue;
        }
        break;
      }
      if (p >= e) {
        if (done) break;
        fail(p, depth === 0 && src.read === 0 ? 'the file is empty' : 'the file ends here (truncated?)');
      }
      if (done) fail(p, `unexpected ${describeByte(c)}`);

      // Tokens that may run past the buffer: scanned again from their start after a refill.
      let tokenEnd = -1;
      if (state === State.Colon) {
        if (c !== 0x3a) fail(p, `${describeByte(c)} where ':' should follow a key`);
        p++;
        state = State.Value;
        continue;
      }
      if (state === State.After) {
        const top = stack[depth - 1];
        if (c === 0x2c) {
          p++;
          state = top === OBJECT ? State.ObjectKey : State.Value;
          continue;
        }
        if ((c === 0x7d && top === OBJECT) || (c === 0x5d && top === ARRAY)) {
          p++;
          depth--;
          stack.pop();
          if (depth === 2 && section !== undefined && c === 0x7d) {
            handlers.entry(section, entry, entryOffset);
            counts[section]++;
          } else if (depth === 1 && section !== undefined) {
            section = undefined;
          }
          if (depth === 0) done = true;
          continue;
        }
        fail(p, `${describeByte(c)} where ',' or '${top === OBJECT ? '}' : ']'}' should follow a value`);
      }
      if (state === State.ObjectFirst || state === State.ObjectKey) {
        if (c === 0x7d && state === State.ObjectFirst) {
          p++;
          depth--;
          stack.pop();
          if (depth === 2 && section !== undefined) {
            handlers.entry(section, entry, entryOffset);
            counts[section]++;
          }
          if (depth === 0) done = true;
          state = State.After;
          continue;
        }
        if (c !== 0x22) fail(p, `${describeByte(c)} where a key (a string in double quotes) should start${state === State.ObjectKey && c === 0x7d ? ' (a trailing comma?)' : ''}`);
        for (;;) {
          tokenEnd = scanString(b, p + 1, e);
          if (tokenEnd >= 0 || src.eof) break;
          refill();
        }
        if (tokenEnd < 0) fail(e, 'the file ends inside a key (truncated?)');
        if (depth === 1) {
          topKey = stringValue(b, p, tokenEnd, sawEscape);
        } else if (depth === 3 && section !== undefined) {
          field = fieldOf(b, p, tokenEnd, sawEscape);
        }
        p = tokenEnd;
        state = State.Colon;
        continue;
      }

      // state is Value or ArrayFirst: a value starts here.
      if (c === 0x5d && state === State.ArrayFirst) {
        p++;
        depth--;
        stack.pop();
        if (depth === 1 && section !== undefined) section = undefined;
        if (depth === 0) done = true;
        state = State.After;
        continue;
      }
      if (!(c === 0x7b || c === 0x5b || c === 0x22 || c === 0x2d || isDigit(c) || c === 0x74 || c === 0x66 || c === 0x6e)) {
        fail(p, `${describeByte(c)} where a value should start${state === State.Value && c === 0x5d ? ' (a trailing comma?)' : ''}`);
      }
      if (depth === 1 && (SECTIONS as readonly string[]).includes(topKey)) {
        if (sectionsSeen.has(topKey)) throw new DataFileError(path, `not a COCO instances file: the key "${topKey}" appears twice in the top-level object (again at byte ${src.base + p})`);
        sectionsSeen.add(topKey);
        if (c !== 0x5b) throw new DataFileError(path, `not a COCO instances file: "${topKey}" is not an array (at byte ${src.base + p})`);
        section = topKey as CocoSection;
      } else if (depth === 2 && section !== undefined) {
        if (c !== 0x7b) {
          throw new DataFileError(path, `not a COCO instances file: an entry is not an object (${section}[${counts[section]}], at byte ${src.base + p})`);
        }
        entry.id = entry.file_name = entry.image_id = entry.category_id = entry.area = entry.name = undefined;
        entryOffset = src.base + p;
      } else if (depth === 0 && c !== 0x7b) {
        throw new DataFileError(path, `not a COCO instances file: the file holds ${c === 0x5b ? 'an array' : 'a JSON value that is not an object'}, not an object with images, annotations and categories (at byte ${src.base + p})`);
      }
      const keep = depth === 3 && section !== undefined && field !== Field.None;
      if (c === 0x7b || c === 0x5b) {
        if (keep) setField(entry, field, CONTAINER);
        stack.push(c === 0x7b ? OBJECT : ARRAY);
        depth++;
        p++;
        state = c === 0x7b ? State.ObjectFirst : State.ArrayFirst;
        continue;
      }
      if (c === 0x22 && !keep) {
        // A string that is not kept is checked piece by piece, the checked part dropped at each refill:
        // a 640 MB string in an unused field costs a buffer, not 640 MB.
        let from = p + 1;
        for (;;) {
          tokenEnd = scanString(b, from, e);
          if (tokenEnd >= 0 || src.eof) break;
          p = stringCut;
          refill();
          from = p;
        }
        if (tokenEnd < 0) fail(e, 'the file ends inside a value (truncated?)');
        p = tokenEnd;
        state = State.After;
        continue;
      }
      for (;;) {
        if (c === 0x22) tokenEnd = scanString(b, p + 1, e);
        else if (c === 0x2d || isDigit(c)) tokenEnd = scanNumber(b, p, e);
        else if (c === 0x74) tokenEnd = scanLiteral(b, p, e, TRUE);
        else if (c === 0x66) tokenEnd = scanLiteral(b, p, e, FALSE);
        else if (c === 0x6e) tokenEnd = scanLiteral(b, p, e, NULL);
        else fail(p, `${describeByte(c)} where a value should start`); // not reached: checked above
        if (tokenEnd >= 0 || src.eof) break;
        refill();
      }
      if (tokenEnd < 0) fail(e, 'the file ends inside a value (truncated?)');
      if (keep) {
        const value: FieldValue = c === 0x22 ? stringValue(b, p, tokenEnd, sawEscape)
          : c === 0x74 ? true : c === 0x66 ? false : c === 0x6e ? null : numberValue(b, p, tokenEnd);
        setField(entry, field, value);
      }
      p = tokenEnd;
      state = State.After;
      // A run of numbers in an array (a polygon, a box, an RLE mask): scanned here, without a round
      // of the loop per comma and number. Anything else (white space, the buffer's last bytes, the
      // end of the array) is left to the loop.
      if (!keep && c !== 0x22 && stack[depth - 1] === ARRAY) {
        while (p < limit - 1 && b[p] === 0x2c) {
          const d = b[p + 1]!;
          if (d !== 0x2d && !isDigit(d)) break;
          const q = scanNumber(b, p + 1, e);
          if (q < 0) break;
          p = q;
        }
      }
    }
  } catch (error) {
    if (error instanceof Fault) fail(error.index, error.message);
    throw error;
  }
  report(true);
  return { bytes: totalBytes, sha256: src.hash.digest('hex'), counts };
}
