/**
 * The group is PyTorch's own engine, not a look-alike: a skipstudio process
 * and a PyTorch process (torch.distributed, gloo backend) meet in one group
 * and all-reduce and broadcast tensors between them, with either one as the
 * rank 0 that hosts the store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

import { allReduce, broadcast, barrier, destroyProcessGroup, initProcessGroup } from '../../src/distributed/index.js';
import { tensor } from '../../src/index.js';
import { fixturePath, hasPyTorch } from '../helpers.js';
import { freePort } from './helpers.js';

function runPython(rank: number, port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // USE_LIBUV=0: PyTorch 2.x's store asks for libuv by default, and Debian's
    // PyTorch is built without it (1.13 has no such option and ignores it).
    const child = spawn('/usr/bin/python3', [fixturePath('torch_dist_peer.py')], {
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), USE_LIBUV: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a skipstudio rank and a PyTorch rank in one Gloo group', { skip: !hasPyTorch() && 'python3-torch is not installed' }, () => {
  for (const ourRank of [0, 1]) {
    it(`skipstudio as rank ${ourRank}`, async () => {
      const port = await freePort();
      const peer = runPython(1 - ourRank, port);
      await initProcessGroup({ rank: ourRank, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 30_000 }).catch(
        async (error: unknown) => {
          const python = await peer;
          throw new Error(`${String(error)}\nthe PyTorch rank (exit ${python.code}) said:\n${python.stderr}`);
        },
      );
      // float32, as torch.tensor([1.0, ...]) on the other side.
      const t = tensor([1, 2, 3], { dtype: 'float32' }).mul(ourRank + 1);
      const b = tensor([ourRank + 10, ourRank + 10], { dtype: 'float32' });
      try {
        await allReduce(t);
        await broadcast(b, 0);
        await barrier();
      } finally {
        destroyProcessGroup();
      }
      const python = await peer;
      assert.equal(python.code, 0, python.stderr);
      const theirs = JSON.parse(python.stdout) as { rank: number; world: number; allReduce: number[]; broadcast: number[] };
      assert.deepEqual(t.toArray(), [3, 6, 9]);
      assert.deepEqual(theirs.allReduce, [3, 6, 9]);
      assert.deepEqual(b.toArray(), [10, 10]);
      assert.deepEqual(theirs.broadcast, [10, 10]);
      assert.deepEqual([theirs.rank, theirs.world], [1 - ourRank, 2]);
    });
  }
});
