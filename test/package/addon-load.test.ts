/**
 * When the addon does not load: the libtorch version it records in its own
 * bytes, the libtorch libraries found on the machine, the message that says
 * why and what to run, and the library's import throwing that message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { buildInfo } from '../../src/index.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'skipstudio-addon-load-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Library {
  version?: string;
  path: string;
}
interface Facts {
  addon: string;
  error: string;
  builtAgainst?: string;
  libraries: Library[];
  headers: boolean;
  installed: boolean;
  libtorch?: string;
}
const helper = (await import(pathToFileURL(join(repo, 'scripts/addon.mjs')).href)) as {
  ADDON: string;
  LIBTORCH_PACKAGES: string[];
  addonBuiltAgainst(path: string): string | undefined;
  libtorchLibraries(env: Record<string, string | undefined>): Library[];
  addonLoadMessage(facts: Facts): string;
};

const debian13 = [{ version: '2.6', path: '/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.2.6' }];
const missing = 'libc10.so.1.13: cannot open shared object file: No such file or directory';

describe('the libtorch an addon was built against', () => {
  it("is read from the built addon's bytes and agrees with the loaded addon", () => {
    assert.equal(helper.addonBuiltAgainst(join(repo, helper.ADDON)), buildInfo().torchVersion);
  });

  it('is undefined for a file without the record, or no file', () => {
    const plain = join(scratch, 'plain.node');
    writeFileSync(plain, Buffer.from('\x7fELF and nothing else'));
    assert.equal(helper.addonBuiltAgainst(plain), undefined);
    assert.equal(helper.addonBuiltAgainst(join(scratch, 'absent.node')), undefined);
  });
});

describe('the libtorch libraries on a machine', () => {
  it('are found in $LIBTORCH/lib, unversioned as a pip or CUDA tree names them', () => {
    const tree = join(scratch, 'libtorch');
    mkdirSync(join(tree, 'lib'), { recursive: true });
    writeFileSync(join(tree, 'lib/libtorch_cpu.so'), '');
    const found = helper.libtorchLibraries({ LIBTORCH: tree });
    assert.deepEqual(found[0], { version: undefined, path: join(tree, 'lib/libtorch_cpu.so') });
  });

  it('include the system libtorch this suite runs on, by its versioned name', () => {
    const [major, minor] = buildInfo().torchVersion.split('.');
    const found = helper.libtorchLibraries({});
    assert.ok(
      found.some((l) => l.version === `${major}.${minor}`),
      JSON.stringify(found),
    );
  });
});

describe('the message of an addon that does not load', () => {
  const base = { addon: '/p/node_modules/skipstudio/build/Release/skipstudio_native.node', error: missing, builtAgainst: '1.13.0' };

  it('names both libtorch versions and, in a project, the rebuild and the npm 11 approval', () => {
    const text = helper.addonLoadMessage({ ...base, libraries: debian13, headers: true, installed: true });
    assert.match(
      text,
      /^skipstudio: the native addon \/p\/node_modules\/skipstudio\/build\/Release\/skipstudio_native\.node does not load:\n {2}libc10\.so\.1\.13: cannot open/,
    );
    assert.match(
      text,
      /It was built against libtorch 1\.13\.0; this machine has libtorch 2\.6 \(\/usr\/lib\/x86_64-linux-gnu\/libtorch_cpu\.so\.2\.6\)\./,
    );
    assert.match(
      text,
      /:\n {2}npm install-scripts approve skipstudio {3}# npm 11 and later: lets npm run its install script\n {2}npm rebuild skipstudio --foreground-scripts\n/,
    );
    assert.doesNotMatch(text, /apt-get/, 'the headers are there: no packages to install');
  });

  it('asks for the Debian packages where there is no libtorch, or no headers to build against', () => {
    const apt = `  apt-get update && apt-get install -y ${helper.LIBTORCH_PACKAGES.join(' ')}   # as root`;
    const none = helper.addonLoadMessage({ ...base, libraries: [], headers: false, installed: true });
    assert.match(none, /this machine has no libtorch\./);
    assert.ok(none.includes(`folder:\n${apt}\n  npm install-scripts approve skipstudio`), none);
    const runtimeOnly = helper.addonLoadMessage({ ...base, libraries: debian13, headers: false, installed: true });
    assert.ok(runtimeOnly.includes(apt), runtimeOnly);
  });

  it("points at LIBTORCH, not at Debian's packages, when LIBTORCH names a tree without headers", () => {
    const text = helper.addonLoadMessage({ ...base, libraries: [], headers: false, installed: true, libtorch: '/opt/libtorch' });
    assert.match(text, /\nLIBTORCH=\/opt\/libtorch has no include\/torch to rebuild it against: point LIBTORCH at a libtorch tree/);
    assert.doesNotMatch(text, /apt-get|npm rebuild/);
  });

  it('says `npm run build` in a checkout, and owns up to an addon that records no version', () => {
    const text = helper.addonLoadMessage({ ...base, builtAgainst: undefined, libraries: debian13, headers: true, installed: false });
    assert.match(text, /built against a libtorch it does not record;/);
    assert.match(text, /in the checkout:\n {2}npm run build\n/);
    assert.doesNotMatch(text, /npm rebuild/);
  });
});

describe('importing the library where the addon does not load', () => {
  it('throws the message, naming the addon and the fix', () => {
    const pkg = join(scratch, 'node_modules/skipstudio');
    mkdirSync(join(pkg, 'build/Release'), { recursive: true });
    cpSync(join(repo, 'dist/src'), join(pkg, 'dist/src'), { recursive: true });
    cpSync(join(repo, 'scripts'), join(pkg, 'scripts'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'skipstudio', type: 'module' }));
    writeFileSync(join(pkg, helper.ADDON), 'skipstudio-built-against-libtorch=0.9.1; not an ELF file');
    // The module that loads the addon (the package's other dependencies are not installed here).
    const run = spawnSync(
      process.execPath,
      ['-e', `import(${JSON.stringify(pathToFileURL(join(pkg, 'dist/src/tensor/native.js')).href)})`],
      { encoding: 'utf8' },
    );
    assert.notEqual(run.status, 0);
    assert.match(
      run.stderr,
      /skipstudio: the native addon .*node_modules\/skipstudio\/build\/Release\/skipstudio_native\.node does not load:/,
    );
    assert.match(run.stderr, /It was built against libtorch 0\.9\.1; this machine has libtorch /);
    assert.match(run.stderr, /npm rebuild skipstudio --foreground-scripts/);
  });
});
