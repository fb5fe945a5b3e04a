/**
 * Faults of data-parallel training: a worker killed mid-epoch makes the
 * other stop within the timeout naming it, leaves no process behind and a
 * checkpoint that a 1-process --resume finishes from; an unreachable master,
 * a port taken and mismatched world sizes fail before training with a clear
 * message; and a collective that waits leaves the event loop running.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { writeTinyFashionMnist } from '../helpers.js';
import { barrier, destroyProcessGroup, initProcessGroup } from '../../src/distributed/index.js';
import { processAlive } from '../../src/runs/index.js';
import { freePort, runNode } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../../src/cli/main.js');
const library = join(here, '../../src/distributed/index.js');

/** A node process that joins a group: `init` is the initProcessGroup options, as JavaScript. */
function joinGroup(init: string, then = '') {
  const code = `import { initProcessGroup, barrier } from ${JSON.stringify(library)};
    try { await initProcessGroup(${init}); ${then} } catch (e) { console.error(e.message); process.exit(3); }`;
  return runNode(['--input-type=module', '-e', code], { timeoutMs: 60_000 });
}

/** Whether a process of this machine still runs (the run lock's test). */
const alive = (pid: number) => processAlive(pid, hostname());

describe('a worker that dies', () => {
  it('stops the other within the timeout, naming it; --resume with 1 process finishes the run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'skipstudio-fault-'));
    const data = writeTinyFashionMnist(join(root, 'data'), 1024, 64);
    const out = join(root, 'run');
    const port = await freePort();
    const timeoutS = 15;
    let killedAt = 0;
    const pids: number[] = [];
    const launch = runNode(
      [
        main,
        'train',
        '--data-dir',
        data,
        '--model',
        'net1',
        '--epochs',
        '4',
        '--batch-size',
        '16',
        '--threads',
        '2',
        '--checkpoint-every',
        '4',
        '--out',
        out,
        '--nproc-per-node',
        '2',
        '--master-port',
        String(port),
        '--dist-timeout',
        String(timeoutS),
      ],
      {
        timeoutMs: 240_000,
        onStderr: (text) => {
          for (const m of text.matchAll(/rank (\d) of 2: pid (\d+)/g)) pids[Number(m[1])] = Number(m[2]);
        },
        onStdout: (text) => {
          // Kill rank 1 early in the second epoch (64 steps), after the first epoch's checkpoint.
          if (killedAt === 0 && /epoch 1 done/.test(text) && pids[1] !== undefined) {
            killedAt = performance.now();
            process.kill(pids[1], 'SIGKILL');
          }
        },
      },
    );
    const result = await launch;
    const stoppedAfter = (performance.now() - killedAt) / 1000;
    assert.ok(killedAt > 0, `rank 1 was never killed: ${result.stdout}\n${result.stderr}`);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /rank 1 has stopped/, result.stderr);
    assert.match(result.stderr, /rank 0: /, 'the survivor says who it is');
    assert.ok(stoppedAfter < timeoutS + 5, `the launch ended ${stoppedAfter.toFixed(1)} s after the kill`);
    assert.ok(
      pids.every((pid) => !alive(pid)),
      'no worker is left running',
    );
    const stopped = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as { step: number; totalSteps: number };
    assert.ok(stopped.step >= 64 && stopped.step < 128, `stopped at step ${stopped.step}`);
    assert.ok(existsSync(join(out, 'checkpoints/last.safetensors')));

    const resumed = await runNode([main, 'train', '--resume', out], { timeoutMs: 240_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const status = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as { status: string; step: number; totalSteps: number };
    assert.equal(status.status, 'finished');
    assert.equal(status.step, status.totalSteps);
  });
});

describe('errors before training', () => {
  it('an unreachable master', async () => {
    const port = await freePort();
    const r = await joinGroup(`{ rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: ${port}, timeoutMs: 1500 }`);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`could not reach the master at 127.0.0.1:${port} within 1.5 s \\(rank 1 of 2\\)`));
  });

  it('a port that is taken', async () => {
    const port = await freePort();
    const holder = joinGroup(`{ rank: 0, worldSize: 2, masterPort: ${port}, timeoutMs: 3000 }`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const r = await joinGroup(`{ rank: 0, worldSize: 2, masterPort: ${port}, timeoutMs: 3000 }`);
    await holder;
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`could not start the store on 127.0.0.1:${port}`));
  });

  it('mismatched world sizes', async () => {
    const port = await freePort();
    const [a, b] = await Promise.all([
      joinGroup(`{ rank: 0, worldSize: 2, masterPort: ${port}, timeoutMs: 4000 }`),
      joinGroup(`{ rank: 1, worldSize: 3, masterPort: ${port}, timeoutMs: 4000 }`),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.code, 3);
      assert.match(r.stderr, /mismatched world sizes: rank 1 was started with 3, rank 0 with 2/);
    }
  });
});

describe('collectives off the event loop', () => {
  it('timers keep running while a barrier waits for a late rank', async () => {
    const port = await freePort();
    const late = joinGroup(
      `{ rank: 1, worldSize: 2, masterPort: ${port}, timeoutMs: 20000 }`,
      'await new Promise((r) => setTimeout(r, 1500)); await barrier();',
    );
    await initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 20_000 });
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 50);
    const started = performance.now();
    await barrier();
    const waited = performance.now() - started;
    clearInterval(timer);
    destroyProcessGroup();
    assert.equal((await late).code, 0);
    assert.ok(waited > 1000, `the barrier waited ${waited.toFixed(0)} ms`);
    assert.ok(ticks >= waited / 50 / 2, `${ticks} ticks in ${waited.toFixed(0)} ms`);
  });
});
