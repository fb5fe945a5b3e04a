/**
 * Atomic file writes: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the folder. A crash at any moment leaves
 * either the old file or the new one, never a torn one.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { fileError, makeFolder } from './folders.js';

/** The name writeFileAtomic gives its temporary file: `.<name>.<pid>.<milliseconds>.tmp`, beside the target. */
const TEMPORARY = /^\..+\.\d+\.\d+\.tmp$/;

/**
 * Removes the temporary files that interrupted atomic writes (a process
 * killed mid-write) left in a folder, and returns their names. Only for a
 * folder no other process writes now: a run's, under its lock.
 */
export function removeLeftoverTemporaries(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const leftovers = readdirSync(folder).filter((name) => TEMPORARY.test(name));
  for (const name of leftovers) rmSync(join(folder, name), { force: true });
  return leftovers;
}

/** Writes a file atomically: a temporary file beside it, fsynced, renamed over it, then the folder fsynced. Makes the folder if needed. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const folder = dirname(path);
  makeFolder(folder);
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`); // TEMPORARY's form
  try {
    const fd = openSync(temporary, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw fileError('write', path, error);
  }
  const dirFd = openSync(folder, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
