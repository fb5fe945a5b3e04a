/**
 * skipstudio as a package: `npm pack` holds only what a user needs, and the
 * tarball installed into an empty project gives a working addon and types:
 * an example compiled there with `tsc --strict` against the installed
 * package runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileAndRunExample } from './project.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-package-'));
after(() => rmSync(root, { recursive: true, force: true }));

function npm(args: string[], cwd: string) {
  const run = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(run.status, 0, `npm ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

describe('the packed package', () => {
  // The build is current (npm test ran the setup), so pack without its prepack step.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', root], repo)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const paths = packed!.files.map((f) => f.path);

  it('holds the compiled library with its types, the addon and its sources, the model sources the report lists, and nothing else', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'build/Release/skipstudio_native.node',
      'binding.gyp',
      'native/src/addon.cc',
      'scripts/install.mjs',
      'src/models/hw5net.ts',
      'examples/custom-skipblocks.ts',
    ]) {
      assert.ok(paths.includes(needed), `the tarball holds ${needed}`);
    }
    const unwanted = paths.filter((p) =>
      /^(test|bench|dist\/test|dist\/bench|dist\/examples|node_modules|runs|docs|build\/Release\/obj)\//.test(p),
    );
    assert.deepEqual(unwanted, [], 'no tests, benchmarks, runs, docs or build intermediates');
  });

  it('installs into an empty project, whose code type-checks under strict against it and runs', () => {
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-skipstudio', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(root, packed!.filename)], project);
    compileAndRunExample(project);
    const cli = spawnSync(join(project, 'node_modules/.bin/skipstudio'), ['models'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^hw5net +213 /m, 'the installed command works too');
  });
});
