/**
 * A run another process is training is not evaluated over (issue 42, defect
 * 6): `eval --run` takes the run's lock, so started while `train` runs it is
 * refused, naming the process, and the trainer's own final evaluation
 * stands; once the trainer has stopped, eval runs. Real processes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-run-in-use-'));
after(() => rmSync(root, { recursive: true, force: true }));
const data = writeTinyFashionMnist(join(root, 'data'), 256, 32);
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('eval --run of a run in training', () => {
  it('is refused while the trainer holds the run, and evaluates once it has stopped', async () => {
    const run = join(root, 'run');
    const trainer = spawn(process.execPath, [main, 'train', '--model', 'net1', '--lr', '0.01', '--epochs', '200', '--batch-size', '16',
      '--threads', '1', '--data-dir', data, '--out', run], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    trainer.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => trainer.on('exit', (code) => resolve(code)));
    try {
      // Training, with a checkpoint eval could read: the end of its first epoch.
      const deadline = Date.now() + 60_000;
      while (!(existsSync(join(run, 'checkpoints/last.safetensors')) && existsSync(join(run, 'lock')))) {
        assert.ok(Date.now() < deadline, `the trainer did not reach its first checkpoint: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const during = cli('eval', '--run', run);
      assert.notEqual(during.status, 0, during.stdout);
      assert.match(during.stderr, new RegExp(`is in use by process ${trainer.pid} on .*one process writes a run at a time`));
      assert.ok(!existsSync(join(run, 'eval.json')), 'no evaluation written beside the trainer');
    } finally {
      trainer.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
    const afterwards = cli('eval', '--run', run);
    assert.equal(afterwards.status, 0, afterwards.stderr);
    assert.match(readFileSync(join(run, 'eval.json'), 'utf8'), /"accuracy"/);
    assert.ok(!existsSync(join(run, 'lock')), 'eval released the lock');
  });
});
