/**
 * TensorBoard scalars from run records: the training loss, the test and
 * train accuracy and loss per epoch, and the learning rate, as TensorBoard
 * event files. Each event is a tensorflow.Event protobuf (encoded by
 * protobufjs from the schema below) in TFRecord framing: the length as a
 * little-endian uint64, its masked CRC32C, the bytes, their masked CRC32C.
 * `tensorboardSink(dir)` writes records as training makes them;
 * `writeTensorBoard(runOrExperiment, logdir)` converts finished runs, one
 * TensorBoard run (a sub-folder of logdir) per run directory.
 */
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

import protobuf from 'protobufjs';

import { makeFolder, unwritableProblem, writeFileAtomic } from '../io/index.js';
import { type MetricRecord, RunDirectory } from '../runs/index.js';

/** The part of TensorFlow's event.proto and summary.proto that scalars use, with their field numbers. */
const schema = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        Event: {
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } } },
          },
        },
      },
    },
  },
});
const EventType = schema.lookupType('tensorflow.Event');

/** The event file format TensorBoard reads (its first event says so). */
export const FILE_VERSION = 'brain.Event:2';

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as TFRecord uses it. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant, so a CRC of data holding CRCs stays strong. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

function encodeEvent(event: {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: { value: { tag: string; simpleValue: number }[] };
}): Buffer {
  return tfRecord(EventType.encode(EventType.fromObject(event)).finish());
}

/** The scalars of one metrics record, as [tag, value] pairs (none for gradient and divergence records). */
export function recordScalars(record: MetricRecord): [string, number][] {
  switch (record.type) {
    case 'iteration':
      return [
        ['loss/train', record.loss],
        ['learning_rate', record.lr],
      ];
    case 'epoch':
      return [
        ['loss/train_epoch', record.trainLoss],
        ['loss/test', record.testLoss],
        ['accuracy/train', record.trainAccuracy],
        ['accuracy/test', record.testAccuracy],
        ['learning_rate', record.lr],
      ];
    default:
      return [];
  }
}

/** The events of a run's records as one buffer: the file-version event, then one event per scalar. */
export function eventFileBytes(records: MetricRecord[], wallTime: (record: MetricRecord) => number): Buffer {
  const parts = [encodeEvent({ wallTime: wallTime(records[0] ?? ({} as MetricRecord)), fileVersion: FILE_VERSION })];
  for (const record of records) {
    for (const [tag, value] of recordScalars(record)) {
      parts.push(encodeEvent({ wallTime: wallTime(record), step: record.step, summary: { value: [{ tag, simpleValue: value }] } }));
    }
  }
  return Buffer.concat(parts);
}

/** The event file of a run in a TensorBoard log folder: one fixed name, so writing a run again replaces its events. */
export function runEventFile(logdir: string, runName: string): string {
  return join(logdir, runName, 'events.out.tfevents.skipstudio');
}

/**
 * Makes a TensorBoard log folder before a run writes anything, so a folder that cannot be made (on a read-only mount,
 * under /proc) stops the command at once, naming the flag, instead of leaving a run folder with no status.
 */
export function prepareTensorBoardFolder(logdir: string): void {
  try {
    makeFolder(logdir);
  } catch (error) {
    throw new Error(`--tensorboard ${logdir}: ${(error as Error).message}`);
  }
  // A folder that exists on a read-only mount is made already, and still takes no file.
  const problem = unwritableProblem(join(logdir, 'events'));
  if (problem !== undefined) throw new Error(`--tensorboard ${logdir}: ${problem}`);
}

/**
 * Appends scalar events to an event file as they come, each write reaching
 * the file at once (a reader sees it while training goes on). The file is
 * made afresh: the file-version event, then the scalars of `earlier` records.
 */
export class TensorBoardWriter {
  readonly path: string;
  #fd: number | undefined;

  constructor(
    dir: string,
    file = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`,
    earlier: MetricRecord[] = [],
  ) {
    makeFolder(dir);
    this.path = join(dir, file);
    const now = Date.now() / 1000;
    writeFileAtomic(
      this.path,
      eventFileBytes(earlier, () => now),
    );
    this.#fd = openSync(this.path, 'a');
  }

  #write(bytes: Buffer): void {
    if (this.#fd === undefined) throw new Error(`${this.path} is closed`);
    let written = 0;
    while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
  }

  /** Appends one scalar event (e.g. tag 'loss/train') at a step. */
  scalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    this.#write(encodeEvent({ wallTime, step, summary: { value: [{ tag, simpleValue: value }] } }));
  }

  /** Writes a record's scalars (see recordScalars). */
  record(record: MetricRecord, wallTime = Date.now() / 1000): void {
    for (const [tag, value] of recordScalars(record)) this.scalar(tag, value, record.step, wallTime);
  }

  /** Closes the file; later writes are an error. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * A run directory whose records also go to the run's TensorBoard event file
 * as they are appended (`train --tensorboard DIR`). The trainer truncates the
 * records when a run begins or resumes; the event file is then rewritten from
 * the records kept, so a resumed run's events match its metrics.jsonl.
 */
export class TensorBoardRunDirectory extends RunDirectory {
  #writer: TensorBoardWriter | undefined;

  constructor(
    path: string,
    readonly logdir: string,
  ) {
    super(path);
  }

  override truncateRecords(step: number): void {
    super.truncateRecords(step);
    this.close();
    const file = runEventFile(this.logdir, basename(this.path));
    this.#writer = new TensorBoardWriter(dirname(file), basename(file), this.records());
  }

  override append(record: MetricRecord): void {
    super.append(record);
    this.#writer?.record(record);
  }

  /** Closes the event file (the run directory's records go on being written without it). */
  override close(): void {
    this.#writer?.close();
    this.#writer = undefined;
  }
}

/** A function to call with each metrics record, writing its scalars to an event file at once. */
export interface TensorBoardSink {
  /** Writes the record's scalars (see recordScalars). */
  (record: MetricRecord): void;
  /** Closes the event file. */
  close(): void;
  /** The event file. */
  readonly path: string;
}

/**
 * For a training loop of your own: a sink for its metrics records, writing
 * their scalars to a new event file in `dir` as they come (so TensorBoard
 * shows the run while it trains). The CLI's `--tensorboard` uses
 * {@link TensorBoardRunDirectory} instead.
 */
export function tensorboardSink(dir: string): TensorBoardSink {
  const writer = new TensorBoardWriter(dir);
  return Object.assign((record: MetricRecord) => writer.record(record), { close: () => writer.close(), path: writer.path });
}

/**
 * Writes a run directory's scalars to `<logdir>/<run name>/`. The file has a
 * fixed name, replaced atomically, so converting again after more training
 * rewrites it rather than doubling the points. Records carry no clock time:
 * each event's wall time is spread over the run's wall time by step.
 */
export function writeRunScalars(runPath: string, logdir: string): string {
  const dir = new RunDirectory(runPath);
  const records = dir.records();
  let wallSeconds = 0;
  let started = 0;
  try {
    const status = dir.status();
    wallSeconds = status.wallSeconds;
    started = Date.parse(status.updatedAt) / 1000 - wallSeconds;
  } catch {
    started = Date.now() / 1000;
  }
  if (!Number.isFinite(started)) started = Date.now() / 1000;
  const lastStep = Math.max(1, ...records.map((r) => r.step));
  const path = runEventFile(logdir, basename(runPath));
  writeFileAtomic(
    path,
    eventFileBytes(records, (r) => started + (wallSeconds * (r.step ?? 0)) / lastStep),
  );
  return path;
}

/** Converts a run directory, or every run of an experiment directory, into `logdir`; returns the event files written. */
export function writeTensorBoard(path: string, logdir: string): string[] {
  if (new RunDirectory(path).exists()) return [writeRunScalars(path, logdir)];
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  return readdirSync(path)
    .sort()
    .map((entry) => join(path, entry))
    .filter((p) => new RunDirectory(p).exists())
    .map((p) => writeRunScalars(p, logdir));
}
