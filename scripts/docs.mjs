#!/usr/bin/env node
// `npm run docs`: the reference pages generated from the code.
//  - docs/cli.md from the program's definition (src/cli/program.ts; a test fails when it is stale);
//  - the API reference in docs/api/ with TypeDoc (typedoc.json), its validation on and every warning an error.
//   node scripts/docs.mjs [--cli-only | --api-only]
//     --api-only  only the API reference: what CI runs, so that it never rewrites the docs/cli.md the test checks
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = (part) => !process.argv.includes(part === 'cli' ? '--api-only' : '--cli-only');

if (only('cli')) {
  const { program, FLAG_FACTS } = await import(join(root, 'dist/src/cli/program.js'));
  const { cliReference } = await import(join(root, 'dist/src/cli/reference.js'));
  writeFileSync(join(root, 'docs/cli.md'), cliReference(program, FLAG_FACTS));
  console.error('[docs] wrote docs/cli.md');
}
if (only('api')) {
  const typedoc = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc')], { cwd: root, stdio: 'inherit' });
  if (typedoc.status !== 0) process.exit(typedoc.status ?? 1);
  console.error('[docs] wrote docs/api/index.html (TypeDoc, validation on, no warnings)');
}
