/**
 * One writer of a run at a time, and what a killed writer leaves (issue 42,
 * defects 5 and 6). `eval --run` takes the run's lock, so started while
 * `train` runs it is refused, naming the process, and the trainer's own
 * final evaluation stands; once the trainer has stopped, eval runs. A
 * trainer killed mid-write leaves a checkpoint-sized temporary file; the
 * next process that takes the lock (`--resume`) removes it. Real processes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
    const trainer = spawn(
      process.execPath,
      [
        main,
        'train',
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--epochs',
        '200',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--data-dir',
        data,
        '--out',
        run,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    trainer.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
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

describe('the temporary files of a killed writer', () => {
  it('are removed by --resume, which takes the run over; other files stay', async () => {
    const run = join(root, 'killed');
    const trainer = spawn(
      process.execPath,
      [
        main,
        'train',
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--epochs',
        '3',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--checkpoint-every',
        '1',
        '--data-dir',
        data,
        '--out',
        run,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => trainer.on('exit', resolve));
    const checkpoint = join(run, 'checkpoints/last.safetensors');
    while (!existsSync(checkpoint)) await new Promise((resolve) => setTimeout(resolve, 20));
    trainer.kill('SIGKILL');
    await exited;
    // What a SIGKILL inside writeFileAtomic leaves: the temporary beside the target, named by its rule.
    const leftovers = [
      join(run, `checkpoints/.last.safetensors.${trainer.pid}.${Date.now()}.tmp`),
      join(run, `.metrics.jsonl.${trainer.pid}.${Date.now()}.tmp`),
    ];
    copyFileSync(checkpoint, leftovers[0]!);
    writeFileSync(leftovers[1]!, '{"type":"iter');
    writeFileSync(join(run, '.notes.tmp'), "a user's file, not a temporary of an atomic write");
    const resumed = cli('train', '--resume', run);
    assert.equal(resumed.status, 0, resumed.stderr);
    for (const leftover of leftovers) assert.ok(!existsSync(leftover), `${leftover} removed`);
    assert.ok(existsSync(join(run, '.notes.tmp')));
    assert.deepEqual(
      readdirSync(join(run, 'checkpoints')).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });
});
