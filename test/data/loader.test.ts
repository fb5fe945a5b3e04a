/**
 * Leaving a prefetching epoch early (a stopped run, an exception in a step):
 * the batch being assembled in the background must not outlive the loop,
 * and nothing may reject unhandled.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

const dataset: S.ImageDataset = {
  name: 'ramp', images: Uint8Array.from({ length: 40 * 4 * 4 }, (_, i) => i % 251), labels: Uint8Array.from({ length: 40 }, (_, i) => i % 3),
  shape: { channels: 1, height: 4, width: 4 }, classes: ['a', 'b', 'c'],
};

/** Runs body, then waits for the background work it may have left, and returns the unhandled rejections seen meanwhile. */
async function watchRejections(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await body();
    // Let a pending background gather finish (it takes well under a millisecond for these sizes).
    for (let i = 0; i < 10; i++) await sleep(5);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return seen;
}

describe('DataLoader.prefetchingEpoch', () => {
  for (const augment of [false, true]) {
    it(`leaves no tensor alive when the loop breaks after 2 batches${augment ? ' (augmented)' : ''}`, async () => {
      const loader = new S.DataLoader(dataset, { batchSize: 4, seed: 2, augment });
      const before = S.memory().tensors;
      const rejections = await watchRejections(async () => {
        let taken = 0;
        for await (const batch of loader.prefetchingEpoch(0)) {
          assert.deepEqual(batch.x.shape, [4, 1, 4, 4]);
          batch.x.dispose();
          batch.y.dispose();
          if (++taken === 2) break;
        }
        assert.equal(taken, 2);
      });
      assert.deepEqual(rejections, []);
      assert.equal(S.memory().tensors, before, 'the batch prefetched for step 3 was freed');
    });
  }

  it('leaves no tensor alive when the loop throws', async () => {
    const loader = new S.DataLoader(dataset, { batchSize: 4, seed: 2 });
    const before = S.memory().tensors;
    const rejections = await watchRejections(async () => {
      await assert.rejects(async () => {
        for await (const batch of loader.prefetchingEpoch(0)) {
          batch.x.dispose();
          batch.y.dispose();
          throw new Error('a failed step');
        }
      }, /a failed step/);
    });
    assert.deepEqual(rejections, []);
    assert.equal(S.memory().tensors, before);
  });

  it('frees everything after a full epoch', async () => {
    const loader = new S.DataLoader(dataset, { batchSize: 4, seed: 2 });
    const before = S.memory().tensors;
    let count = 0;
    for await (const batch of loader.prefetchingEpoch(0, 3)) {
      count += 1;
      batch.x.dispose();
      batch.y.dispose();
    }
    assert.equal(count, 7, 'batches 3..9 of 10');
    await sleep(5);
    assert.equal(S.memory().tensors, before);
  });

  it('gathers a batch large enough to split over threads the same on its worker thread', async () => {
    // 64 images of 32x32: ATen would split each op of the gather over threads on the main thread.
    const large: S.ImageDataset = {
      name: 'large', images: Uint8Array.from({ length: 64 * 32 * 32 }, (_, i) => (i * 7) % 256), labels: new Uint8Array(64),
      shape: { channels: 1, height: 32, width: 32 }, classes: ['a'],
    };
    const loader = new S.DataLoader(large, { batchSize: 64, seed: 1, normalization: { mean: [0.5], std: [0.25] } });
    const [expected] = [...loader.epoch(0)];
    for await (const batch of loader.prefetchingEpoch(0)) {
      assert.deepEqual(batch.x.data(), expected!.x.data());
      S.dispose([batch.x, batch.y]);
    }
    S.dispose([expected!.x, expected!.y]);
  });
});
