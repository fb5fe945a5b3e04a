/**
 * The report's appendix with the source code of the models it covers: how
 * many learnable layers each has, then every source file that defines them
 * as a numbered listing. The files are read from the package's own src/
 * folder at run time; a copy installed without it gets a note instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { hasModelSources, modelDisplayName, modelSourceFiles } from '../models/catalog.js';
import type { DocumentBuilder } from './document.js';

export const SOURCE_APPENDIX_TITLE = 'Appendix: source code of the models';

export interface SourceAppendixOptions {
  /** The package root whose src/models/ holds the files (default: found from this module's location). */
  packageRoot?: string;
}

/** The package root: the nearest folder above this module (dist/src/report/ once compiled) that holds package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(fileURLToPath(import.meta.url)), '../../..');
    dir = parent;
  }
}

/** A file's text as lines, without the empty line its final newline would add. */
export function sourceLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Adds the section "Appendix: source code of the models": a sentence per model
 * with its learnable layers (parameters().length), then one listing per source
 * file, each file once however many models share it. A model given twice with
 * the same count is stated once.
 */
export function addSourceAppendix(
  builder: DocumentBuilder,
  models: { name: string; learnableLayers: number }[],
  options: SourceAppendixOptions = {},
): void {
  const root = options.packageRoot ?? packageRoot();
  builder.section(SOURCE_APPENDIX_TITLE);
  const stated = new Set<string>();
  for (const { name, learnableLayers } of models) {
    const key = `${name}\u0000${learnableLayers}`;
    if (stated.has(key)) continue;
    stated.add(key);
    const display = modelDisplayName(name);
    builder.paragraph(`${display === name ? name : `${display} (${name})`} has ${learnableLayers} learnable layers (parameters().length).`);
  }
  const unknown = [...new Set(models.map((m) => m.name).filter((n) => !hasModelSources(n)))];
  if (unknown.length > 0) {
    builder.paragraph(
      `No source files are known for ${unknown.join(', ')}: this copy of skipstudio does not register ${unknown.length === 1 ? 'that model' : 'those models'}.`,
    );
  }
  const files = modelSourceFiles(models.map((m) => m.name).filter(hasModelSources));
  if (files.length === 0) return;
  const plain = models.some((m) => /-plain$/i.test(m.name));
  builder.paragraph(
    'The listings below are the source files that define these models, as shipped with this copy of skipstudio, ' +
      'the input checks and building blocks first.' +
      (plain ? ' The plain variants are the same classes built with skipConnections: false.' : ''),
  );
  for (const file of files) {
    const path = join(root, 'src', 'models', file);
    const shown = `src/models/${file}`;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const why =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'is not in this installation'
          : `could not be read (${(error as Error).message})`;
      builder.paragraph(`The source file ${shown} ${why}, so it is not listed here.`);
      continue;
    }
    builder.listing(shown, sourceLines(text));
  }
}
