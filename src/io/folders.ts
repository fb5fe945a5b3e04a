/**
 * Making folders and naming what went wrong. Node's recursive mkdir never
 * returns on some paths (under /proc it loops), and a bare ENOSPC or EROFS
 * names no file; here every failure says which path and what to do.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted here',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'a file of that name is in the way',
  ENAMETOOLONG: 'the name is too long',
  ENOENT: 'a folder on the way does not exist',
};

/** An error naming the path, what was being done and why it failed, in words (the code in brackets). */
export function fileError(action: string, path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code !== undefined && REASONS[code] ? `${REASONS[code]} (${code})` : (error as Error).message;
  return new Error(`cannot ${action} ${path}: ${reason}`);
}

/** Makes a folder and the ones above it, one level at a time, so that no path can make it loop. */
export function makeFolder(path: string): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let folder = target; ; folder = dirname(folder)) {
    let isFolder: boolean | undefined;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError('create the folder', path, error);
    }
    if (isFolder === false) throw new Error(`cannot create the folder ${path}: ${folder} is a file, not a folder`);
    if (isFolder) break;
    missing.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('create the folder', path, error);
    }
  }
}

/**
 * Why nothing can be written where path would go (its nearest existing
 * folder), or undefined: found by making and removing a probe folder there,
 * since permission bits say nothing to root or about a read-only mount.
 */
export function unwritableProblem(path: string): string | undefined {
  let folder = dirname(resolve(path));
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  try {
    rmSync(mkdtempSync(join(folder, '.skipstudio-write-test-')), { recursive: true, force: true });
    return undefined;
  } catch (error) {
    return fileError('write in', folder, error).message;
  }
}
