/**
 * Maps a URL path onto a file inside the served folder, or refuses it. The
 * path is percent-decoded exactly once; a `..` segment (however it was
 * written: plain, %2e%2e, with %2f or backslashes as separators), a NUL, an
 * absolute path, or a file whose real path (symlinks resolved) lies outside
 * the folder is refused. Only regular files are served.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';

export class PathRefused extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404,
  ) {
    super(message);
  }
}

/** Whether `path` is `root` or lies below it (both resolved). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real path of the regular file that `urlPath` (the part of the URL
 * after the route's prefix, still percent-encoded) names under `root` (a
 * real path), or a PathRefused error.
 */
export function resolveServedFile(root: string, urlPath: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new PathRefused('malformed percent-encoding in the path', 400);
  }
  if (decoded.includes('\0')) throw new PathRefused('a NUL byte in the path', 400);
  const segments = decoded.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) throw new PathRefused('the path leaves the served folder', 403);
  if (segments.length === 0) throw new PathRefused('no file named', 404);
  const candidate = resolve(root, ...segments);
  if (!isInside(root, candidate)) throw new PathRefused('the path leaves the served folder', 403);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new PathRefused('no such file', 404);
  }
  // A symlink inside the folder that points out of it is refused like `..`.
  if (!isInside(root, real)) throw new PathRefused('the path leaves the served folder (through a symbolic link)', 403);
  if (!statSync(real).isFile()) throw new PathRefused('not a file', 404);
  return real;
}
