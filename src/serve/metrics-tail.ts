/**
 * Follows a run's metrics.jsonl as training appends to it, reading only the
 * bytes added since the last read (never the whole file again). A last line
 * without its newline is being written this instant (or was torn by a kill):
 * it is held back until its newline arrives, never reported as an error. A
 * file that shrank or was replaced (a resumed run drops the records after its
 * checkpoint by rewriting the file) starts the records over. Memory stays
 * bounded whatever is appended: one read takes at most MAX_READ_BYTES (the
 * rest waits for the next), and a line longer than MAX_LINE_BYTES is skipped
 * with an error, never held.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

import type { MetricRecord } from '../runs/index.js';

export interface TailRead {
  /** Complete records appended since the last read (all of them after a reset). */
  records: MetricRecord[];
  /** The file was replaced or shrank: drop what was read before and take `records` as the whole file. */
  reset: boolean;
  /** Complete lines that are not records, named by file and line; they are skipped. */
  errors: string[];
}

const NEWLINE = 0x0a;
/** Bytes taken per read(): a 50 MB append is read over several polls, not in one allocation. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
/** No metrics record comes near this; a longer line is not one. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Parses one complete line; a record needs a type and a step, as RunDirectory.records() requires. */
function parseRecord(line: string): MetricRecord {
  const record = JSON.parse(line) as MetricRecord;
  if (record === null || typeof record !== 'object' || typeof record.type !== 'string' || typeof record.step !== 'number') {
    throw new Error('not a metrics record (it needs a type and a step)');
  }
  return record;
}

export class MetricsTail {
  #offset = 0;
  #inode: number | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #line = 0;
  /** Inside an over-long line: its bytes are dropped until its newline. */
  #skipping = false;

  constructor(readonly path: string) {}

  /** Bytes consumed so far, the held-back partial line included. */
  get offset(): number {
    return this.#offset;
  }

  /** Whether a partial last line is being held back, waiting for its newline. */
  get waiting(): boolean {
    return this.#pending.length > 0;
  }

  #restart(): void {
    this.#offset = 0;
    this.#pending = Buffer.alloc(0);
    this.#line = 0;
    this.#skipping = false;
  }

  #tooLong(): string {
    return `${this.path}:${this.#line}: a line longer than ${MAX_LINE_BYTES / 1024 / 1024} MB is no metrics record; it is skipped`;
  }

  read(): TailRead {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    let reset = false;
    if (stat === undefined) {
      reset = this.#offset > 0;
      this.#restart();
      this.#inode = undefined;
      return { records: [], reset, errors: [] };
    }
    if ((this.#inode !== undefined && stat.ino !== this.#inode) || stat.size < this.#offset) {
      reset = this.#offset > 0 || this.#inode !== undefined;
      this.#restart();
    }
    this.#inode = stat.ino;
    if (stat.size === this.#offset) return { records: [], reset, errors: [] };
    const chunk = Buffer.alloc(Math.min(stat.size - this.#offset, MAX_READ_BYTES));
    const fd = openSync(this.path, 'r');
    let got = 0;
    try {
      while (got < chunk.length) {
        const n = readSync(fd, chunk, got, chunk.length - got, this.#offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    this.#offset += got;
    const records: MetricRecord[] = [];
    const errors: string[] = [];
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk.subarray(0, got)]) : chunk.subarray(0, got);
    if (this.#skipping) {
      const newline = data.indexOf(NEWLINE);
      if (newline < 0) return { records, reset, errors };
      this.#skipping = false;
      data = data.subarray(newline + 1);
    }
    const end = data.lastIndexOf(NEWLINE);
    // Copied, so the partial line does not keep the whole chunk alive.
    this.#pending = Buffer.from(data.subarray(end + 1));
    const complete = end < 0 ? [] : data.subarray(0, end).toString('utf8').split('\n');
    for (const line of complete) {
      this.#line += 1;
      if (!line.trim()) continue;
      if (line.length > MAX_LINE_BYTES) {
        errors.push(this.#tooLong());
        continue;
      }
      try {
        records.push(parseRecord(line));
      } catch (error) {
        errors.push(`${this.path}:${this.#line}: ${(error as Error).message}; the line is skipped`);
      }
    }
    if (this.#pending.length > MAX_LINE_BYTES) {
      this.#line += 1;
      errors.push(this.#tooLong());
      this.#pending = Buffer.alloc(0);
      this.#skipping = true;
    }
    return { records, reset, errors };
  }
}
