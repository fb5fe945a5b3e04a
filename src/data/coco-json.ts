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

/** Hands handlers.progress the bytes read so far, at most once every progressIntervalMs unless forced. */
class Progress {
  readonly started = performance.now();
  last = this.started;
  readonly interval: number;
  constructor(readonly handlers: CocoScanHandlers, readonly src: Source, readonly totalBytes: number) {
    this.interval = handlers.progressIntervalMs ?? 1000;
  }

  /** Reports now if the interval has passed since the last report (or always, when forced). */
  report(force: boolean): void {
    if (this.handlers.progress === undefined) return;
    const now = performance.now();
    if (!force && now - this.last < this.interval) return;
    this.last = now;
    this.handlers.progress({ bytesRead: this.src.read, totalBytes: this.totalBytes, seconds: (now - this.started) / 1000 });
  }
}

/**
 * The walk over one file: where it is in the buffer (b, p, e), the grammar's state and the open containers, and the
 * section and entry being read. run() takes one token a round; a method per state takes it from there.
 */
class Scanner {
  b: Buffer;
  p = 0;
  e: number;
  /** Where a refill is due, MARGIN bytes before the buffer's end (the end itself once the file is read to its end). */
  limit: number;
  state = State.Value;
  depth = 0;
  readonly stack: number[] = [];
  /** The section whose array is open at depth 2 (or undefined). */
  section: CocoSection | undefined = undefined;
  /** The top-level key whose value comes next. */
  topKey = '';
  /** The field of the entry whose value comes next (depth 3). */
  field = Field.None;
  entryOffset = 0;
  done = false;
  readonly counts: Record<CocoSection, number> = { images: 0, annotations: 0, categories: 0 };
  readonly entry: CocoEntry = { id: undefined, file_name: undefined, image_id: undefined, category_id: undefined, area: undefined, name: undefined };
  readonly sectionsSeen = new Set<string>();

  constructor(readonly path: string, readonly src: Source, readonly handlers: CocoScanHandlers, readonly progress: Progress) {
    this.b = src.buf;
    this.e = src.end;
    this.limit = src.eof ? this.e : this.e - src.margin;
  }

  /** Walks the file to its end, one token a round; throws at the first fault. */
  run(): void {
    for (;;) {
      const c = this.nextByte();
      if (c < 0) {
        if (this.done) return;
        this.fail(this.p, this.depth === 0 && this.src.read === 0 ? 'the file is empty' : 'the file ends here (truncated?)');
      }
      if (this.done) this.fail(this.p, `unexpected ${describeByte(c)}`);
      const state = this.state;
      if (state === State.Colon) this.colon(c);
      else if (state === State.After) this.afterValue(c);
      else if (state === State.ObjectFirst || state === State.ObjectKey) this.key(c);
      else this.value(c);
    }
  }

  /** Skips white space; the next byte, or -1 where the file ends. Keeps MARGIN bytes ahead so that ordinary tokens never straddle the buffer's end. */
  nextByte(): number {
    for (;;) {
      if (this.p >= this.limit && !this.src.eof) {
        this.refill();
        this.progress.report(false);
      }
      if (this.p >= this.e) return -1;
      const c = this.b[this.p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
      this.p++;
    }
  }

  /** Moves the unread bytes from p to the buffer's start and reads more after them (rare: once a chunk, or inside a long token). */
  refill(): void {
    this.src.fill(this.p);
    this.b = this.src.buf;
    this.p = 0;
    this.e = this.src.end;
    this.limit = this.src.eof ? this.e : this.e - this.src.margin;
  }

  /** The place in the document, in words, for a fault's message. */
  where(): string {
    const { depth, section } = this;
    if (depth === 0) return this.done ? 'after the end of the JSON value' : 'where the JSON value should start';
    if (section !== undefined) return depth >= 3 ? `inside ${section}[${this.counts[section]}]` : `inside the "${section}" array`;
    return depth === 1 ? 'inside the top-level object' : `inside the value of the top-level key ${JSON.stringify(this.topKey)}`;
  }

  /** Throws the DataFileError for a fault at an index into the buffer. */
  fail(index: number, message: string): never {
    throw new DataFileError(this.path, `not valid JSON at byte ${this.src.base + index}: ${message} (${this.where()})`);
  }

  /** The ':' between a key and its value. */
  colon(c: number): void {
    if (c !== 0x3a) this.fail(this.p, `${describeByte(c)} where ':' should follow a key`);
    this.p++;
    this.state = State.Value;
  }

  /** After a value: a ',' or the bracket that closes its container. */
  afterValue(c: number): void {
    const top = this.stack[this.depth - 1];
    if (c === 0x2c) {
      this.p++;
      this.state = top === OBJECT ? State.ObjectKey : State.Value;
    } else if ((c === 0x7d && top === OBJECT) || (c === 0x5d && top === ARRAY)) {
      this.close(c);
    } else {
      this.fail(this.p, `${describeByte(c)} where ',' or '${top === OBJECT ? '}' : ']'}' should follow a value`);
    }
  }

  /** Closes the innermost container at its bracket c: an entry's '}' hands the entry on, a section's ']' ends the section. */
  close(c: number): void {
    this.p++;
    this.depth--;
    this.stack.pop();
    if (this.depth === 2 && this.section !== undefined && c === 0x7d) {
      this.handlers.entry(this.section, this.entry, this.entryOffset);
      this.counts[this.section]++;
    } else if (this.depth === 1 && this.section !== undefined) {
      this.section = undefined;
    }
    if (this.depth === 0) this.done = true;
    this.state = State.After;
  }

  /** A key of an object (its top-level key, or its field where it is an entry), or the '}' of an empty object. */
  key(c: number): void {
    const state = this.state;
    if (c === 0x7d && state === State.ObjectFirst) {
      this.close(c);
      return;
    }
    if (c !== 0x22) {
      const hint = state === State.ObjectKey && c === 0x7d ? ' (a trailing comma?)' : '';
      this.fail(this.p, `${describeByte(c)} where a key (a string in double quotes) should start${hint}`);
    }
    let tokenEnd = -1;
    for (;;) {
      tokenEnd = scanString(this.b, this.p + 1, this.e);
      if (tokenEnd >= 0 || this.src.eof) break;
      this.refill();
    }
    if (tokenEnd < 0) this.fail(this.e, 'the file ends inside a key (truncated?)');
    if (this.depth === 1) {
      this.topKey = stringValue(this.b, this.p, tokenEnd, sawEscape);
    } else if (this.depth === 3 && this.section !== undefined) {
      this.field = fieldOf(this.b, this.p, tokenEnd, sawEscape);
    }
    this.p = tokenEnd;
    this.state = State.Colon;
  }

  /** Where a value may start (state Value or ArrayFirst): a value, or the ']' of an empty array. */
  value(c: number): void {
    if (c === 0x5d && this.state === State.ArrayFirst) {
      this.close(c);
      return;
    }
    if (!(c === 0x7b || c === 0x5b || c === 0x22 || c === 0x2d || isDigit(c) || c === 0x74 || c === 0x66 || c === 0x6e)) {
      this.fail(this.p, `${describeByte(c)} where a value should start${this.state === State.Value && c === 0x5d ? ' (a trailing comma?)' : ''}`);
    }
    this.checkStructure(c);
    const keep = this.depth === 3 && this.section !== undefined && this.field !== Field.None;
    if (c === 0x7b || c === 0x5b) this.open(c, keep);
    else if (c === 0x22 && !keep) this.skipString();
    else this.scalar(c, keep);
  }

  /** Holds a value starting with c to the COCO shape: an object at the top, each section an array of objects; opens a section or an entry. */
  checkStructure(c: number): void {
    const { depth, path } = this;
    const at = this.src.base + this.p;
    if (depth === 1 && (SECTIONS as readonly string[]).includes(this.topKey)) {
      const key = this.topKey;
      if (this.sectionsSeen.has(key)) {
        throw new DataFileError(path, `not a COCO instances file: the key "${key}" appears twice in the top-level object (again at byte ${at})`);
      }
      this.sectionsSeen.add(key);
      if (c !== 0x5b) throw new DataFileError(path, `not a COCO instances file: "${key}" is not an array (at byte ${at})`);
      this.section = key as CocoSection;
    } else if (depth === 2 && this.section !== undefined) {
      if (c !== 0x7b) {
        throw new DataFileError(path, `not a COCO instances file: an entry is not an object (${this.section}[${this.counts[this.section]}], at byte ${at})`);
      }
      const entry = this.entry;
      entry.id = entry.file_name = entry.image_id = entry.category_id = entry.area = entry.name = undefined;
      this.entryOffset = at;
    } else if (depth === 0 && c !== 0x7b) {
      throw new DataFileError(path, `not a COCO instances file: the file holds ${c === 0x5b ? 'an array' : 'a JSON value that is not an object'}, ` +
        `not an object with images, annotations and categories (at byte ${at})`);
    }
  }

  /** Opens an object or an array at its bracket c (a kept field holding one is set to CONTAINER). */
  open(c: number, keep: boolean): void {
    if (keep) setField(this.entry, this.field, CONTAINER);
    this.stack.push(c === 0x7b ? OBJECT : ARRAY);
    this.depth++;
    this.p++;
    this.state = c === 0x7b ? State.ObjectFirst : State.ArrayFirst;
  }

  /**
   * Checks a string that is not kept piece by piece, the checked part dropped at each refill:
   * a 640 MB string in an unused field costs a buffer, not 640 MB.
   */
  skipString(): void {
    let from = this.p + 1;
    let tokenEnd = -1;
    for (;;) {
      tokenEnd = scanString(this.b, from, this.e);
      if (tokenEnd >= 0 || this.src.eof) break;
      this.p = stringCut;
      this.refill();
      from = this.p;
    }
    if (tokenEnd < 0) this.fail(this.e, 'the file ends inside a value (truncated?)');
    this.p = tokenEnd;
    this.state = State.After;
  }

  /** A string, number, true, false or null starting with c, scanned again from its start where it runs past the buffer; kept where keep says. */
  scalar(c: number, keep: boolean): void {
    let tokenEnd = -1;
    for (;;) {
      const { b, p, e } = this;
      if (c === 0x22) tokenEnd = scanString(b, p + 1, e);
      else if (c === 0x2d || isDigit(c)) tokenEnd = scanNumber(b, p, e);
      else if (c === 0x74) tokenEnd = scanLiteral(b, p, e, TRUE);
      else if (c === 0x66) tokenEnd = scanLiteral(b, p, e, FALSE);
      else if (c === 0x6e) tokenEnd = scanLiteral(b, p, e, NULL);
      else this.fail(p, `${describeByte(c)} where a value should start`); // not reached: checked in value()
      if (tokenEnd >= 0 || this.src.eof) break;
      this.refill();
    }
    if (tokenEnd < 0) this.fail(this.e, 'the file ends inside a value (truncated?)');
    if (keep) {
      const value: FieldValue = c === 0x22 ? stringValue(this.b, this.p, tokenEnd, sawEscape)
        : c === 0x74 ? true : c === 0x66 ? false : c === 0x6e ? null : numberValue(this.b, this.p, tokenEnd);
      setField(this.entry, this.field, value);
    }
    this.p = tokenEnd;
    this.state = State.After;
    if (!keep && c !== 0x22 && this.stack[this.depth - 1] === ARRAY) this.skipNumberRun();
  }

  /**
   * A run of numbers in an array (a polygon, a box, an RLE mask): scanned here, without a round of run() per comma
   * and number. Anything else (white space, the buffer's last bytes, the end of the array) is left to run().
   */
  skipNumberRun(): void {
    const { b, e, limit } = this;
    let p = this.p;
    while (p < limit - 1 && b[p] === 0x2c) {
      const d = b[p + 1]!;
      if (d !== 0x2d && !isDigit(d)) break;
      const q = scanNumber(b, p + 1, e);
      if (q < 0) break;
      p = q;
    }
    this.p = p;
  }
}
