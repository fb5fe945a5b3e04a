/**
 * The report and the run records load without the engine: with the tensor
 * engine's module made unloadable, a run directory is read and its report
 * written. (The report, the CLI's readers and the dashboard must not need
 * libtorch, nor the trainer.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { writeTinyFashionMnist } from '../helpers.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-no-engine-'));

/** A module-resolution hook that refuses the engine (tensor/, the native addon) and the trainer (train/). */
const BLOCKER = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (/\\/src\\/(tensor|train)\\/|\\.node$/.test(result.url)) throw new Error('blocked for this test: ' + result.url);
  return result;
}`;

describe('reading runs without the engine', () => {
  it('writes a report with tensor/, train/ and the native addon unloadable', () => {
    const data = writeTinyFashionMnist(join(root, 'data'), 64, 32);
    const out = join(root, 'run');
    const trained = spawnSync(
      process.execPath,
      [
        join(dist, 'src/cli/main.js'),
        'train',
        '--data-dir',
        data,
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--epochs',
        '1',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    const hooks = join(root, 'blocker.mjs');
    writeFileSync(hooks, BLOCKER);
    const register = join(root, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const script = `
      const { writeReport } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/report/index.js')).href)});
      const { RunDirectory, summarizeRun } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/runs/index.js')).href)});
      const dir = new RunDirectory(${JSON.stringify(out)});
      console.log(JSON.stringify(summarizeRun(dir, dir.readJson('config.json')).status));
      const report = await writeReport([${JSON.stringify(out)}]);
      console.log(report.pages);
      await import(${JSON.stringify(pathToFileURL(join(dist, 'src/tensor/index.js')).href)}).then(() => console.log('engine loaded'), (e) => console.log(e.message));`;
    const run = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const [status, pages, engine] = run.stdout.trim().split('\n');
    assert.equal(status, '"finished"');
    assert.ok(Number(pages) >= 2);
    assert.match(engine!, /blocked for this test: .*src\/tensor\/index\.js/, 'the hook really blocks the engine');
    assert.ok(existsSync(join(out, 'report.pdf')));
  });
});
