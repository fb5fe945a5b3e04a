/**
 * The run directory: everything a training run writes and the report reads.
 *
 *   config.json        the resolved configuration
 *   model.json         model name, learnable layers, parameters, FLOPs, gradient-flow layer names
 *   environment.json   the machine, CPU features, library versions and precision the run trained with
 *   metrics.jsonl      one JSON record per line: iteration windows, epochs, gradient norms, divergence
 *   status.json        running | finished | stopped | diverged, with counters, timings and the writer's pid
 *   eval.json          accuracy, per-class accuracy, confusion matrix on the test split
 *   predictions.json   every test image's true and predicted class (for paired tests between runs)
 *   landscape.json     the loss landscape around the trained weights, where one was computed
 *   checkpoints/last.safetensors   the last good checkpoint (atomic)
 *   lock               while a process writes the run: its pid and host
 */
import { appendFileSync, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

import { removeLeftoverTemporaries, writeFileAtomic } from '../io/atomic.js';
import { fileError, makeFolder } from '../io/folders.js';
import { RunLock, processAlive } from './lock.js';
import type { z } from 'zod';

import type { MetricRecord, StatusFile } from './records.js';
import { METRIC_RECORD_SCHEMA, STATUS_SCHEMA, parseRecord } from './schemas.js';

/** The files a run keeps (above): no other command's output may take one of their names. */
export const RUN_FILES = [
  'config.json',
  'model.json',
  'environment.json',
  'metrics.jsonl',
  'status.json',
  'eval.json',
  'predictions.json',
  'landscape.json',
  'lock',
] as const;

/** The file that makes a folder an experiment's (written by skipstudio experiment; its runs are its sub-folders). */
export const EXPERIMENT_FILE = 'experiment.json';

/** The longest note an experiment may carry (experiment.json's notes): the report lays each one out, and 500 KB took its PDF minutes. */
export const MAX_NOTE_LENGTH = 2000;
/** The most notes an experiment may carry, for the same reason. */
export const MAX_NOTES = 50;

/** A note or command from an experiment file as the report lays it out: cut at MAX_NOTE_LENGTH, saying so. */
export function boundedNote(text: string): string {
  return text.length <= MAX_NOTE_LENGTH
    ? text
    : `${text.slice(0, MAX_NOTE_LENGTH)}... (${(text.length - MAX_NOTE_LENGTH).toLocaleString('en-US')} more characters not shown)`;
}

/**
 * Refuses a folder of the other kind as a command's --out: `train` into an
 * experiment's folder (its report would then read the experiment as one
 * run), `experiment` into a run's (its report would never mention that run).
 */
export function checkOutputFolder(out: string, kind: 'run' | 'experiment'): void {
  if (kind === 'run' && existsSync(join(out, EXPERIMENT_FILE))) {
    throw new Error(
      `--out ${out} is an experiment's folder (it holds ${EXPERIMENT_FILE}), not a run's: give the run a folder of its own, ` +
        `e.g. ${join(out, 'my-run')}`,
    );
  }
  if (kind === 'experiment' && new RunDirectory(out).exists()) {
    throw new Error(`--out ${out} is a run's folder (it holds config.json), not an experiment's: give the experiment a folder of its own`);
  }
}

/** A path with its folder's symbolic links resolved, where the folder exists (the file itself may not yet). */
function realPath(path: string): string {
  const folder = dirname(resolve(path));
  return existsSync(folder) ? join(realpathSync(folder), basename(path)) : resolve(path);
}

/** A run's folder and the files it holds (config.json, metrics.jsonl, status.json, checkpoints/last.safetensors, ...), with readers and writers for them. */
export class RunDirectory {
  constructor(readonly path: string) {}

  /** The path of a file in the run's folder. */
  file(name: string): string {
    return join(this.path, name);
  }

  get checkpointPath(): string {
    return this.file('checkpoints/last.safetensors');
  }

  /** Whether the run exists, i.e. its config.json does. */
  exists(): boolean {
    return existsSync(this.file('config.json'));
  }

  /** Makes the run's folder and its checkpoints/ folder. */
  create(): void {
    makeFolder(this.file('checkpoints'));
  }

  /** Whether a path is one of this run's own files (its records, its lock, anything under checkpoints/), links resolved. */
  owns(path: string): boolean {
    if (!existsSync(this.path)) return false;
    const inside = relative(realpathSync(this.path), realPath(path));
    if (inside.startsWith('..') || inside === '') return false;
    return (RUN_FILES as readonly string[]).includes(inside) || inside.split(/[\\/]/)[0] === 'checkpoints';
  }

  /**
   * Makes the folder if needed and takes its lock: one writer at a time. The
   * holder is then the only writer, so what a killed writer's atomic writes
   * left behind (temporary files of up to a checkpoint's size) is removed.
   */
  lock(): RunLock {
    makeFolder(this.path);
    const lock = RunLock.acquire(this.file('lock'), this.path);
    for (const folder of [this.path, this.file('checkpoints')]) removeLeftoverTemporaries(folder);
    return lock;
  }

  /** Writes a value as indented JSON to a file of the run, atomically. */
  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.file(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Reads a JSON file of the run, throwing an error naming the path if it is missing or not valid JSON. */
  readJson<T>(name: string): T {
    const path = this.file(name);
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (error) {
      throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
    }
  }

  /** A JSON file of the run checked by its schema (schemas.ts): a damaged or edited file is an error naming the file and the field. */
  readRecord<T>(name: string, schema: z.ZodType<T, unknown>): T {
    return parseRecord(schema, this.readJson<unknown>(name), this.file(name));
  }

  /**
   * status.json, with a run whose writer is gone (killed, crashed) reported
   * as stopped rather than running.
   */
  status(): StatusFile {
    const status = this.readRecord('status.json', STATUS_SCHEMA);
    if (status.status === 'running' && !processAlive(status.pid, status.host)) {
      return { ...status, status: 'stopped', message: `its process ${status.pid} is gone; continue it with --resume` };
    }
    return status;
  }

  /** Appends one record as a line of metrics.jsonl. */
  append(record: MetricRecord): void {
    try {
      appendFileSync(this.file('metrics.jsonl'), `${JSON.stringify(record)}\n`);
    } catch (error) {
      throw fileError('append to', this.file('metrics.jsonl'), error);
    }
  }

  /**
   * The metric records. A last line without its newline was torn by a kill
   * mid-write and is skipped; any other line that is not a record is an
   * error naming the file and line.
   */
  records(): MetricRecord[] {
    const path = this.file('metrics.jsonl');
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const torn = !text.endsWith('\n') && text.length > 0;
    const records: MetricRecord[] = [];
    lines.forEach((line, i) => {
      if (!line.trim() || (torn && i === lines.length - 1)) return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (error) {
        throw new Error(`${path}:${i + 1}: not a JSON record (${(error as Error).message}); repair or delete that line`);
      }
      records.push(parseRecord(METRIC_RECORD_SCHEMA, record, `${path}:${i + 1}`));
    });
    return records;
  }

  /** Drops records written after a checkpoint's step (and a torn last line), so a resumed run logs nothing twice. */
  truncateRecords(step: number): void {
    const kept = this.records().filter((r) => r.step <= step && r.type !== 'diverged');
    writeFileAtomic(this.file('metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Releases what the directory holds open while a run writes it (nothing here; a subclass may mirror the records elsewhere). */
  close(): void {}
}

/** What a path that exists but is not a regular file is, in words; undefined for a regular file or no file. */
function notARegularFile(path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined; // a new path (or a dangling link, which the write replaces)
  }
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return 'a folder';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The run folder (a folder with a config.json) among the path's ancestors that owns it, if any. */
function owningRun(out: string): string | undefined {
  for (let folder = dirname(realPath(out)); ; folder = dirname(folder)) {
    const run = new RunDirectory(folder);
    if (run.exists() && run.owns(out)) return folder;
    if (dirname(folder) === folder) return undefined;
  }
}

/**
 * The one rule for every command that writes a file a user names (export,
 * data show, report, ...): never one of any run's own files (its records, its
 * lock, anything under its checkpoints/); never over something that is not a
 * regular file (a device, a folder, a pipe), which a write would replace; and
 * over an existing file only with force.
 */
export function checkOutputFile(out: string, options: { force?: boolean; flag?: string } = {}): void {
  const flag = options.flag ?? '--out';
  const run = owningRun(out);
  if (run !== undefined) throw new Error(`${flag} ${out} is one of the files of the run in ${run}: write to another path`);
  const kind = notARegularFile(out);
  if (kind !== undefined)
    throw new Error(`${flag} ${out} is ${kind}, which this command does not write over: give a new path or a regular file`);
  if (!options.force && existsSync(out)) throw new Error(`${flag} ${out} exists: give --force to replace it, or another ${flag}`);
}
