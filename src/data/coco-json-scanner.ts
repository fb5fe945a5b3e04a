/**
 * The walk of the COCO JSON reader (coco-json.ts) over one file: the file read chunk by chunk into one
 * buffer (hashed as it arrives), every token taken through JSON's grammar state by state, each entry of a
 * section handed on with the fields kept, and the progress reported as the bytes are read.
 */
import { createHash } from 'node:crypto';

import {
  type CocoEntry,
  type CocoSection,
  CONTAINER,
  Field,
  type FieldValue,
  SECTIONS,
  fieldOf,
  numberValue,
  setField,
  stringValue,
} from './coco-json-fields.js';
import { FALSE, NULL, TRUE, describeByte, isDigit, sawEscape, scanLiteral, scanNumber, scanString, stringCut } from './coco-json-tokens.js';
import { DataFileError } from './dataset.js';

/** How far the scan of an annotation file has come: bytes read of the file's total, and seconds since it began. */
export interface CocoScanProgress {
  bytesRead: number;
  totalBytes: number;
  seconds: number;
}

/** What the scan hands each entry to, who hears of its progress and how often, and how much it reads at a time. */
export interface CocoScanHandlers {
  /** Called for each entry of a section, with the file offset of its '{' (for messages). */
  entry(section: CocoSection, entry: CocoEntry, offset: number): void;
  /** Called about every intervalMs while reading, and once at the end. */
  progress?: (progress: CocoScanProgress) => void;
  progressIntervalMs?: number;
  /** Bytes read at a time (default 4 MB; tests use tiny ones so that tokens straddle the reads). */
  chunkBytes?: number;
}

/** The file, read chunk by chunk into one buffer that keeps the bytes from a given index on. */
export class Source {
  buf: Buffer;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  read = 0;
  readonly hash = createHash('sha256');
  constructor(
    readonly readInto: (buf: Buffer, offset: number, length: number) => number,
    readonly chunk: number,
    readonly margin: number,
  ) {
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

/** Hands handlers.progress the bytes read so far, at most once every progressIntervalMs unless forced. */
export class Progress {
  readonly started = performance.now();
  last = this.started;
  readonly interval: number;
  constructor(
    readonly handlers: CocoScanHandlers,
    readonly src: Source,
    readonly totalBytes: number,
  ) {
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

/** Where the grammar is: what may come next. */
const enum State {
  Value,
  ArrayFirst,
  ObjectFirst,
  ObjectKey,
  Colon,
  After,
}
const OBJECT = 1;
const ARRAY = 2;

/**
 * The walk over one file: where it is in the buffer (b, p, e), the grammar's state and the open containers, and the
 * section and entry being read. run() takes one token a round; a method per state takes it from there.
 */
export class Scanner {
  b: Buffer;
  p = 0;
  e: number;
  /** Where a refill is due, src.margin bytes (MARGIN in coco-json.ts) before the buffer's end (the end itself once the file is read to its end). */
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
  readonly entry: CocoEntry = {
    id: undefined,
    file_name: undefined,
    image_id: undefined,
    category_id: undefined,
    area: undefined,
    name: undefined,
  };
  readonly sectionsSeen = new Set<string>();

  constructor(
    readonly path: string,
    readonly src: Source,
    readonly handlers: CocoScanHandlers,
    readonly progress: Progress,
  ) {
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
      this.fail(
        this.p,
        `${describeByte(c)} where a value should start${this.state === State.Value && c === 0x5d ? ' (a trailing comma?)' : ''}`,
      );
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
        throw new DataFileError(
          path,
          `not a COCO instances file: the key "${key}" appears twice in the top-level object (again at byte ${at})`,
        );
      }
      this.sectionsSeen.add(key);
      if (c !== 0x5b) throw new DataFileError(path, `not a COCO instances file: "${key}" is not an array (at byte ${at})`);
      this.section = key as CocoSection;
    } else if (depth === 2 && this.section !== undefined) {
      if (c !== 0x7b) {
        throw new DataFileError(
          path,
          `not a COCO instances file: an entry is not an object (${this.section}[${this.counts[this.section]}], at byte ${at})`,
        );
      }
      const entry = this.entry;
      entry.id = entry.file_name = entry.image_id = entry.category_id = entry.area = entry.name = undefined;
      this.entryOffset = at;
    } else if (depth === 0 && c !== 0x7b) {
      throw new DataFileError(
        path,
        `not a COCO instances file: the file holds ${c === 0x5b ? 'an array' : 'a JSON value that is not an object'}, ` +
          `not an object with images, annotations and categories (at byte ${at})`,
      );
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
      const value: FieldValue =
        c === 0x22
          ? stringValue(this.b, this.p, tokenEnd, sawEscape)
          : c === 0x74
            ? true
            : c === 0x66
              ? false
              : c === 0x6e
                ? null
                : numberValue(this.b, this.p, tokenEnd);
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
