import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { native } from '../../src/tensor/native.js';

// dist/test/tensor/binding.test.js -> the package root is three levels up.
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../../../src/tensor/native.ts');

/** The member names of `interface NativeBinding`, read from the TypeScript source. */
function declaredMembers(source: string): string[] {
  const start = source.indexOf('export interface NativeBinding {');
  assert.notEqual(start, -1, 'native.ts declares interface NativeBinding');
  const end = source.indexOf('\n}\n', start);
  assert.notEqual(end, -1, 'interface NativeBinding ends with a closing brace at the line start');
  const body = source.slice(start, end);
  // A member opens a line at the interface's indentation; continuation lines and comments do not.
  return [...body.matchAll(/^ {2}([A-Za-z_$][\w$]*)\??\s*[(<:]/gm)].map((match) => match[1]);
}

describe('the native binding', () => {
  it('declares in TypeScript exactly the functions that the addon exports', () => {
    const declared = declaredMembers(readFileSync(SOURCE, 'utf8'));
    assert.equal(new Set(declared).size, declared.length, 'no member is declared twice');
    const exported = Object.keys(native);
    for (const name of exported) assert.equal(typeof (native as unknown as Record<string, unknown>)[name], 'function', name);
    const missingInAddon = declared.filter((name) => !exported.includes(name));
    const missingInTs = exported.filter((name) => !declared.includes(name));
    assert.deepEqual({ missingInAddon, missingInTs }, { missingInAddon: [], missingInTs: [] });
    assert.ok(declared.length > 100, `found ${declared.length} declared members`);
  });
});
