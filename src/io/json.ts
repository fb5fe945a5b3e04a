/** Reading JSON files that a user wrote, with errors that name the file and what is wrong with it. */
import { existsSync, readFileSync } from 'node:fs';

import { fileError } from './folders.js';

/** Reads a JSON file that must hold an object; `what` names the file's role in the error ("config file"). */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`${what} ${path} not found`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fileError(`read the ${what}`, path, error); // a folder, say: named, with the reason
  }
  let value: unknown;
  try {
    // A byte-order mark (some editors write one) is no part of the JSON, as most JSON readers take it.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(`${what} ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `${what} ${path} must hold a JSON object ({ ... }), not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * A JSON value shown in a message, at most `max` characters and a few levels deep: a mistake in a file is named without
 * printing a 50 MB string, or recursing through a list nested 200,000 deep.
 */
export function previewJson(value: unknown, max = 80): string {
  const walk = (v: unknown, depth: number): string => {
    if (Array.isArray(v))
      return depth >= 3
        ? `[${v.length ? '...' : ''}]`
        : `[${v
            .slice(0, 5)
            .map((x) => walk(x, depth + 1))
            .join(',')}${v.length > 5 ? ',...' : ''}]`;
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (depth >= 3) return `{${entries.length ? '...' : ''}}`;
      return `{${entries
        .slice(0, 5)
        .map(([k, x]) => `${JSON.stringify(k.slice(0, max))}:${walk(x, depth + 1)}`)
        .join(',')}${entries.length > 5 ? ',...' : ''}}`;
    }
    return typeof v === 'string' ? JSON.stringify(v.slice(0, max + 1)) : String(JSON.stringify(v));
  };
  const text = walk(value, 0);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
