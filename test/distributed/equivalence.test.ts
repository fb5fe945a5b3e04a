/**
 * Data-parallel training is the same computation as one process: two ranks
 * over Gloo on 127.0.0.1, each on half of every batch, end 20 SGD steps with
 * the weights of one process that accumulates the two halves' gradients
 * (an MLP), or that sees the whole batch (HW5Net with synchronised batch
 * statistics).
 */
import assert from 'node:assert/strict';

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { freePort, runNode } from './helpers.js';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'equivalence-worker.js');

function maxDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  let max = 0;
  for (const key of Object.keys(a)) {
    a[key]!.forEach((v, i) => {
      max = Math.max(max, Math.abs(v - b[key]![i]!));
    });
  }
  return max;
}

async function compare(model: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'skipstudio-ddp-'));
  const port = await freePort();
  const [r0, r1, single] = await Promise.all([
    runNode([worker, 'ddp', model, '0', '2', String(port), join(dir, 'ddp.json')]),
    runNode([worker, 'ddp', model, '1', '2', String(port), join(dir, 'unused.json')]),
    runNode([worker, 'single', model, join(dir, 'single.json')]),
  ]);
  for (const r of [r0, r1, single]) assert.equal(r.code, 0, r.stderr);
  const ddp = JSON.parse(readFileSync(join(dir, 'ddp.json'), 'utf8')) as Record<string, number[]>;
  const one = JSON.parse(readFileSync(join(dir, 'single.json'), 'utf8')) as Record<string, number[]>;
  return maxDifference(ddp, one);
}

describe('data-parallel training over Gloo', () => {
  it('2 processes x half batches = 1 process accumulating both halves (MLP, 20 SGD steps)', async () => {
    const diff = await compare('mlp');
    assert.ok(diff <= 1e-5, `weights differ by ${diff}`);
  });

  it('2 processes with synchronised batch norm = 1 process on the whole batch (HW5Net, 20 SGD steps)', async () => {
    const diff = await compare('hw5net');
    assert.ok(diff <= 1e-5, `weights differ by ${diff}`);
  });
});
