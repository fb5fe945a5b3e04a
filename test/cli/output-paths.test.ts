/**
 * The one output rule (issue 42, defects 1-3), through every command that
 * writes a file a user names: never a device node or another non-regular
 * file (tested on nodes made with mknod and mkfifo in a temp folder, never
 * the system's), never any run's own files (not only the run a command
 * reads), an existing file only with --force.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { checkOutputFile } from '../../src/runs/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-output-paths-'));
after(() => rmSync(root, { recursive: true, force: true }));
const data = writeTinyFashionMnist(join(root, 'data'), 64, 16);
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });

/** A character device (/dev/null's numbers) and a named pipe, made in the temp folder. */
const device = join(root, 'null-device');
execFileSync('mknod', [device, 'c', '1', '3']);
const pipe = join(root, 'pipe');
execFileSync('mkfifo', [pipe]);

function refused(result: ReturnType<typeof cli>, message: RegExp): void {
  assert.notEqual(result.status, 0, `refused: ${result.stdout}`);
  assert.match(result.stderr, message);
}

describe('the output rule', () => {
  it('refuses a device, a pipe and a folder even with force, naming what each is', () => {
    assert.throws(
      () => checkOutputFile(device, { force: true }),
      /--out .*null-device is a character device, which this command does not write over: give a new path or a regular file/,
    );
    assert.throws(() => checkOutputFile(pipe, { force: true }), /is a named pipe/);
    assert.throws(() => checkOutputFile(root, { force: true, flag: '--to' }), /^Error: --to .* is a folder/);
  });

  it('refuses the files of any run found above the path, not only a run the command reads', () => {
    const run = join(root, 'made-run');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    writeFileSync(join(run, 'config.json'), '{}');
    for (const file of ['config.json', 'metrics.jsonl', 'lock', 'checkpoints/last.safetensors', 'checkpoints/anything.png']) {
      assert.throws(
        () => checkOutputFile(join(run, file), { force: true }),
        new RegExp(`is one of the files of the run in ${run}: write to another path`),
        file,
      );
    }
    checkOutputFile(join(run, 'model.onnx'), { force: true }); // beside a run's files, not one of them
    checkOutputFile(join(root, 'no-run-here', 'checkpoints', 'x.png')); // a checkpoints folder of no run
  });

  it('takes a new path, and an existing regular file only with force', () => {
    const file = join(root, 'exists.png');
    checkOutputFile(file);
    writeFileSync(file, 'x');
    assert.throws(() => checkOutputFile(file), /exists: give --force to replace it, or another --out/);
    checkOutputFile(file, { force: true });
  });
});

describe('the commands that write a named file', () => {
  const runA = join(root, 'a');
  const runB = join(root, 'b');
  const train = ['--model', 'net1', '--lr', '0.01', '--epochs', '1', '--batch-size', '16', '--threads', '1', '--data-dir', data];

  it('data show and export leave a device node a device node', () => {
    refused(cli('data', 'show', '--data-dir', data, '--out', device), /is a character device/);
    assert.ok(statSync(device).isCharacterDevice());
    assert.equal(cli('train', ...train, '--out', runA).status, 0);
    refused(cli('export', '--run', runA, '--force', '--out', device), /is a character device/);
    assert.ok(statSync(device).isCharacterDevice());
  });

  it("data show and export refuse another run's checkpoint and records, with or without --force", () => {
    assert.equal(cli('train', ...train, '--out', runB).status, 0);
    const checkpoint = join(runB, 'checkpoints/last.safetensors');
    const before = readFileSync(checkpoint);
    refused(cli('data', 'show', '--data-dir', data, '--out', checkpoint), /is one of the files of the run in .*b: write to another path/);
    refused(cli('export', '--run', runA, '--force', '--out', checkpoint), /is one of the files of the run in .*b/);
    for (const file of ['config.json', 'metrics.jsonl'])
      refused(cli('export', '--run', runA, '--force', '--out', join(runB, file)), /is one of the files of the run/);
    assert.ok(readFileSync(checkpoint).equals(before), "the other run's checkpoint is untouched");
  });

  it('data show writes a new file, and an existing one only with --force', () => {
    const grid = join(root, 'grid.png');
    assert.equal(cli('data', 'show', '--data-dir', data, '--out', grid).status, 0);
    refused(cli('data', 'show', '--data-dir', data, '--out', grid), /grid\.png exists: give --force to replace it/);
    assert.equal(cli('data', 'show', '--data-dir', data, '--out', grid, '--force').status, 0);
  });
});

describe('a folder of the other kind as --out', () => {
  it("train refuses an experiment's folder and experiment refuses a run's, each leaving it as it was", () => {
    const experiment = join(root, 'experiment');
    mkdirSync(experiment);
    writeFileSync(join(experiment, 'experiment.json'), '{}');
    refused(
      cli('train', '--model', 'net1', '--epochs', '1', '--data-dir', data, '--out', experiment),
      /--out .*experiment is an experiment's folder \(it holds experiment\.json\), not a run's: give the run a folder of its own, e\.g\. .*experiment\/my-run/,
    );
    assert.ok(!existsSync(join(experiment, 'config.json')), "no run written into the experiment's root");
    const run = join(root, 'a-run');
    mkdirSync(run);
    writeFileSync(join(run, 'config.json'), '{}');
    refused(
      cli('experiment', '--models', 'net1', '--epochs', '1', '--data-dir', data, '--out', run),
      /--out .*a-run is a run's folder \(it holds config\.json\), not an experiment's: give the experiment a folder of its own/,
    );
    assert.ok(!existsSync(join(run, 'experiment.json')));
  });
});
