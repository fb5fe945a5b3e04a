/**
 * DistributedSampler semantics of the data loader's shards: the same seeded
 * order on every rank, padded by wrapping around to a multiple of the world
 * size, every worldSize-th example from position rank; shards disjoint but
 * for the padding, equally long, and together the whole epoch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DataLoader, epochOrder, shardOrder } from '../../src/index.js';

describe('shardOrder', () => {
  it("splits 10 examples over 3 ranks as torch's DistributedSampler: 4 each, padded with the first two", () => {
    const order = Int32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const shards = [0, 1, 2].map((r) => Array.from(shardOrder(order, r, 3)));
    assert.deepEqual(shards, [
      [9, 6, 3, 0],
      [8, 5, 2, 9],
      [7, 4, 1, 8],
    ]);
  });

  it('covers a seeded epoch exactly once when the world size divides it', () => {
    const order = epochOrder(1000, 3, 2);
    const shards = [0, 1, 2, 3].map((r) => shardOrder(order, r, 4));
    assert.ok(shards.every((s) => s.length === 250));
    assert.deepEqual(
      shards.flatMap((s) => Array.from(s)).sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it('refuses a rank outside the world', () => {
    assert.throws(() => shardOrder(Int32Array.from([1, 2]), 2, 2), /rank 2 of world size 2/);
  });

  it('a sharded loader serves its shard in batches of its own size', () => {
    const dataset = {
      name: 'toy',
      classes: ['a', 'b'],
      shape: { channels: 1, height: 1, width: 1 },
      images: Uint8Array.from({ length: 10 }, (_, i) => i),
      labels: Uint8Array.from({ length: 10 }, (_, i) => i % 2),
    };
    const loader = new DataLoader(dataset as never, { batchSize: 2, shuffle: false, shard: { rank: 1, worldSize: 3 } });
    assert.equal(loader.size, 4);
    assert.equal(loader.length, 2);
    const seen = [...loader.epoch(0)].flatMap((b) => Array.from(b.x.data() as Float32Array, (v) => Math.round(v * 255)));
    assert.deepEqual(seen, [1, 4, 7, 0]);
  });
});
