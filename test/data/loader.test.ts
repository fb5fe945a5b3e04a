/**
 * Leaving a prefetching epoch early (a stopped run, an exception in a step):
 * the batch being assembled in the background must not outlive the loop,
 * and nothing may reject unhandled.
 *
 * Then the loader's answers: the data order (splitmix32 and Fisher-Yates, pinned to values worked out from their definitions in Python), the shards of data-parallel training, the per-channel normalisation, the batches' values and types, and the seeded training subset.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

const dataset: S.ImageDataset = {
  name: 'ramp',
  images: Uint8Array.from({ length: 40 * 4 * 4 }, (_, i) => i % 251),
  labels: Uint8Array.from({ length: 40 }, (_, i) => i % 3),
  shape: { channels: 1, height: 4, width: 4 },
  classes: ['a', 'b', 'c'],
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
      name: 'large',
      images: Uint8Array.from({ length: 64 * 32 * 32 }, (_, i) => (i * 7) % 256),
      labels: new Uint8Array(64),
      shape: { channels: 1, height: 32, width: 32 },
      classes: ['a'],
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

/** n images of c channels of 2x2 pixels; image i, channel k holds i + 10k + (0, 1, 2, 3). */
function ramp(n: number, channels: number): S.ImageDataset {
  const images = Uint8Array.from(
    { length: n * channels * 4 },
    (_, j) => Math.floor(j / (channels * 4)) + 10 * (Math.floor(j / 4) % channels) + (j % 4),
  );
  return {
    name: 'ramp',
    images,
    labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
    shape: { channels, height: 2, width: 2 },
    classes: ['a', 'b', 'c'],
  };
}

describe('data order', () => {
  it('seededRandom is splitmix32', () => {
    const random = S.seededRandom(7);
    const expected = [0.13706416846252978, 0.45108226174488664, 0.9981013059150428];
    for (const e of expected) assert.equal(random(), e);
  });

  it('epochOrder is a Fisher-Yates shuffle seeded by seed * 1000003 + epoch', () => {
    assert.deepEqual([...S.epochOrder(10, 3, 2)], [7, 2, 1, 6, 3, 5, 0, 4, 9, 8]);
    assert.deepEqual([...S.epochOrder(10, 3, 0)], [9, 4, 0, 6, 1, 8, 7, 2, 5, 3]);
    assert.deepEqual([...S.epochOrder(10, 5, -1)], [9, 4, 5, 2, 0, 7, 6, 1, 8, 3]);
    assert.deepEqual([...S.epochOrder(1, 3, 0)], [0]);
  });

  it('shardOrder pads by wrapping around and deals every worldSize-th example, as DistributedSampler', () => {
    const order = Int32Array.from({ length: 10 }, (_, i) => 100 + i);
    assert.deepEqual([...S.shardOrder(order, 0, 3)], [100, 103, 106, 109]);
    assert.deepEqual([...S.shardOrder(order, 1, 3)], [101, 104, 107, 100]);
    assert.deepEqual([...S.shardOrder(order, 2, 3)], [102, 105, 108, 101]);
    assert.deepEqual([...S.shardOrder(order, 1, 2)], [101, 103, 105, 107, 109]);
    assert.equal(S.shardOrder(order, 0, 1), order, 'one process: the order itself');
  });

  it('shardOrder refuses a rank or world size that does not exist', () => {
    const order = Int32Array.from([0, 1, 2]);
    for (const [rank, worldSize] of [
      [0, 0],
      [0, 1.5],
      [0.5, 2],
      [-1, 2],
      [2, 2],
      [3, 2],
    ] as const) {
      assert.throws(
        () => S.shardOrder(order, rank, worldSize),
        (e: Error) => e instanceof RangeError && e.message === `shardOrder: rank ${rank} of world size ${worldSize}`,
      );
    }
    assert.deepEqual([...S.shardOrder(order, 1, 2)], [1, 0]);
  });
});

describe('computeNormalization', () => {
  it("is each channel's mean and standard deviation over all images, scaled to [0, 1]", () => {
    // Channel 0 holds 0..3 and 1..4 over the two images; channel 1 holds 10..13 and 11..14.
    const { mean, std } = S.computeNormalization(ramp(2, 2));
    const values = [
      [0, 1, 2, 3, 1, 2, 3, 4],
      [10, 11, 12, 13, 11, 12, 13, 14],
    ].map((c) => c.map((v) => v / 255));
    values.forEach((c, k) => {
      const m = c.reduce((a, b) => a + b) / c.length;
      const sd = Math.sqrt(c.reduce((a, b) => a + (b - m) ** 2, 0) / c.length);
      assert.ok(Math.abs(mean[k]! - m) < 1e-15, `mean ${k}: ${mean[k]} vs ${m}`);
      assert.ok(Math.abs(std[k]! - sd) < 1e-12, `std ${k}: ${std[k]} vs ${sd}`);
    });
  });

  it('gives a constant channel a tiny standard deviation instead of 0, so normalising does not divide by zero', () => {
    const flat: S.ImageDataset = { ...ramp(2, 1), images: new Uint8Array(8).fill(51) };
    const { mean, std } = S.computeNormalization(flat);
    assert.ok(Math.abs(mean[0]! - 0.2) < 1e-15);
    assert.equal(std[0], 1e-6);
  });
});

describe('DataLoader batches', () => {
  it('normalises each channel by its own mean and std, and labels are int64', () => {
    const normalization = { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    const dataset = ramp(4, 3);
    const loader = new S.DataLoader(dataset, { batchSize: 2, shuffle: false, normalization });
    const batch = loader.batchOf(Int32Array.from([3, 1]));
    assert.deepEqual(batch.x.shape, [2, 3, 2, 2]);
    assert.equal(batch.y.dtype, 'int64');
    assert.deepEqual([...batch.y.data()].map(Number), [0, 1]);
    const x = [...batch.x.data()] as number[];
    [3, 1].forEach((source, b) => {
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < 4; k++) {
          const raw = dataset.images[(source * 3 + c) * 4 + k]! / 255;
          const expected = (raw - normalization.mean[c]!) / normalization.std[c]!;
          const got = x[(b * 3 + c) * 4 + k]!;
          assert.ok(Math.abs(got - expected) < 1e-5, `image ${source} channel ${c} pixel ${k}: ${got} vs ${expected}`);
        }
      }
    });
  });

  it("shuffles by default, with the epoch's seeded order", () => {
    const dataset = ramp(10, 1);
    const loader = new S.DataLoader(dataset, { batchSize: 10, seed: 3 });
    const [batch] = [...loader.epoch(2)];
    assert.deepEqual(
      [...batch!.y.data()].map(Number),
      [...S.epochOrder(10, 3, 2)].map((i) => i % 3),
    );
  });

  it('a shard holds its share of the epoch', () => {
    const loader = new S.DataLoader(ramp(10, 1), { batchSize: 3, shuffle: false, shard: { rank: 1, worldSize: 3 } });
    assert.equal(loader.size, 4);
    assert.equal(loader.length, 2);
    const labels = [...loader.epoch(0)].map((b) => [...b.y.data()].map(Number));
    assert.deepEqual(labels, [[1, 4 % 3, 7 % 3], [0]], 'examples 1, 4, 7 and the wrapped-around 0');
  });

  it('dispose frees its four tensors (images, labels, offset, scale) at once; a batch it made stays valid', () => {
    const tensors = S.memory().tensors;
    const loader = new S.DataLoader(ramp(4, 1), { batchSize: 2, shuffle: false });
    assert.equal(S.memory().tensors, tensors + 4);
    const batch = loader.batchOf(Int32Array.from([2]));
    loader.dispose();
    assert.equal(S.memory().tensors, tensors + 2, "only the batch's x and y");
    assert.deepEqual([...batch.y.data()].map(Number), [2]);
    S.dispose([batch.x, batch.y]);
  });

  it('a prefetching epoch started at its end yields nothing', async () => {
    const loader = new S.DataLoader(ramp(6, 1), { batchSize: 2 });
    const seen: unknown[] = [];
    for await (const batch of loader.prefetchingEpoch(0, loader.length)) seen.push(batch);
    assert.deepEqual(seen, []);
  });
});

describe('subset', () => {
  it('is the first n images of the seeded shuffle of epoch -1, each image with its label', () => {
    const dataset = ramp(10, 2);
    const picked = S.subset(dataset, 4, 5);
    const order = [9, 4, 5, 2];
    assert.deepEqual([...S.epochOrder(10, 5, -1)].slice(0, 4), order);
    assert.deepEqual(
      [...picked.labels],
      order.map((i) => i % 3),
    );
    assert.equal(picked.images.length, 4 * 2 * 4);
    order.forEach((source, i) => {
      assert.deepEqual(
        [...picked.images.subarray(i * 8, (i + 1) * 8)],
        [...dataset.images.subarray(source * 8, (source + 1) * 8)],
        `image ${i}`,
      );
    });
    assert.deepEqual(picked.shape, dataset.shape);
    assert.equal(picked.name, 'ramp');
  });

  it('is the whole split when n is 0 or at least its size', () => {
    const dataset = ramp(5, 1);
    assert.equal(S.subset(dataset, 0, 1), dataset);
    assert.equal(S.subset(dataset, 5, 1), dataset);
    assert.equal(S.subset(dataset, 9, 1), dataset);
    assert.equal(S.subset(dataset, 4, 1).labels.length, 4);
  });
});
