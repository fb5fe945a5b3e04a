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
    throw fileError(`read the ${what}`, path, error);  // a folder, say: named, with the reason
  }
  let value: unknown;
  try {
    // A byte-order mark (some editors write one) is no part of the JSON, as most JSON readers take it.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(`${what} ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what} ${path} must hold a JSON object ({ ... }), not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
