/** Reading an experiment file (`--config`) and the `--depths` flag, each mistake named by file and field. */
import { previewJson, readJsonObject } from '../../io/index.js';
import { MAX_NOTE_LENGTH, MAX_NOTES } from '../../runs/index.js';
import { ConfigError } from '../config.js';
import { type ExperimentConfig, MAX_SEEDS, SWEEPS } from './config.js';

const FILE_KEYS = ['out', 'models', 'lrs', 'recipes', 'seeds', 'base', 'modelOptions', 'depths', 'sweep', 'landscape', 'notes'] as const;

/** An experiment file's fields: any part of an {@link ExperimentConfig}. */
export type ExperimentFile = Partial<ExperimentConfig>;

/** Reads an experiment file (`--config`), checking the shape of each field so a mistake names the file and the field. */
export function readExperimentFile(path: string): ExperimentFile {
  const value = readJsonObject(path, 'experiment file');
  const problems: string[] = [];
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isList = (v: unknown, type: string) => Array.isArray(v) && v.every((x) => typeof x === type);
  for (const key of Object.keys(value))
    if (!(FILE_KEYS as readonly string[]).includes(key)) problems.push(`unknown field '${key}' (known: ${FILE_KEYS.join(', ')})`);
  const expect = (key: (typeof FILE_KEYS)[number], ok: (v: unknown) => boolean, what: string) => {
    if (value[key] !== undefined && !ok(value[key])) problems.push(`'${key}' must be ${what}, got ${previewJson(value[key])}`);
  };
  expect('out', (v) => typeof v === 'string' && v.length > 0, 'a folder name');
  expect('models', (v) => isList(v, 'string'), 'a list of model names, e.g. ["hw5net", "net3"]');
  expect('lrs', (v) => isList(v, 'number'), 'a list of numbers, e.g. [0.1, 0.02]');
  expect('seeds', (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SEEDS, `an integer from 1 to ${MAX_SEEDS}`);
  expect(
    'recipes',
    (v) => isObject(v) && Object.values(v as object).every(isObject),
    'an object of recipes by model, e.g. { "net3": { "optimizer": "adam", "lrs": [0.001] } }',
  );
  expect('base', isObject, 'an object of training settings');
  expect(
    'modelOptions',
    (v) => isObject(v) && Object.values(v as object).every(isObject),
    'an object of option objects by model, e.g. { "hw5net": { "width": 16 } }',
  );
  expect(
    'depths',
    (v) => isObject(v) && Object.values(v as object).every((d) => isList(d, 'number')),
    'an object of depth lists by model, e.g. { "hw5net": [1, 2, 4, 6] }',
  );
  expect('sweep', (v) => (SWEEPS as readonly unknown[]).includes(v), `one of ${SWEEPS.map((w) => `"${w}"`).join(', ')}`);
  expect(
    'notes',
    (v) => isList(v, 'string') && (v as string[]).length <= MAX_NOTES && (v as string[]).every((note) => note.length <= MAX_NOTE_LENGTH),
    `a list of at most ${MAX_NOTES} sentences, each at most ${MAX_NOTE_LENGTH.toLocaleString('en-US')} characters (the report lays each one out)`,
  );
  expect(
    'landscape',
    (v) => v === null || isObject(v),
    'an object of landscape settings, e.g. { "grid": 11, "points": 21, "sample": 1000 }, or null for none',
  );
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${path}: ${p}`));
  // null in a file turns a preset's landscape off.
  return (value.landscape === null ? { ...value, landscape: undefined } : value) as ExperimentFile;
}

/** Parses `--depths model:d1,d2,...` (e.g. hw5net:1,2,4,6); the values are checked with the plan. */
export function parseDepths(text: string): [string, number[]] {
  const colon = text.indexOf(':');
  const values = text
    .slice(colon + 1)
    .split(',')
    .map((v) => v.trim());
  if (colon <= 0 || values.some((v) => !/^\d+$/.test(v))) {
    throw new RangeError(
      `depths '${text}' must look like model:d1,d2,... with non-negative integers, e.g. hw5net:1,2,4,6 or net3:0,5,10,20`,
    );
  }
  return [text.slice(0, colon).trim(), values.map(Number)];
}
