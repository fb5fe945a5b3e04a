/**
 * docs/cli.md is generated from the program's definition: the committed file
 * must be what the code generates now (`npm run docs` rewrites it), and it
 * names every command and flag with its default, range and help.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FLAG_FACTS, program } from '../../src/cli/program.js';
import { cliReference } from '../../src/cli/reference.js';

const committed = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/cli.md');

describe('docs/cli.md', () => {
  const generated = cliReference(program, FLAG_FACTS);

  it('is what the program generates now (run `npm run docs` after changing a command or a flag)', () => {
    assert.equal(readFileSync(committed, 'utf8'), generated, 'docs/cli.md is stale: run npm run docs and commit it');
  });

  it('has every command and subcommand, and each flag with its default, range and help', () => {
    const names = (c: typeof program): string[] => c.commands.flatMap((sub) => [sub.name(), ...names(sub)]);
    for (const name of names(program)) assert.match(generated, new RegExp(`^## skipstudio (\\w+ )?${name}$`, 'm'), name);
    assert.match(
      generated,
      /^\| `--batch-size <n>` \| `64` \| 1 to 65,536 \| images per step \|$/m,
      'a setting: its default and range from the settings table',
    );
    assert.match(generated, /^\| `--preset <name>` \| `default` \| `default`, `full`, `hw5` \| /m, 'a flag with choices');
    assert.match(generated, /^\| `--threads <n>` \| every core \| 1 to 1,024 \| /m, 'a default that depends on the machine, in words');
    assert.match(generated, /^\| `--per-class <n>` \| `8` \| 1 to 1,000 \| images per class \|$/m, "a flag's own integer range");
  });
});
