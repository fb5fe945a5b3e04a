import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

import * as S from '../../src/index.js';

function idxImages(count: number, rows: number, cols: number, fill: (i: number) => number, magic = 2051): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(magic, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(cols, 12);
  return Buffer.concat([header, Buffer.from(Array.from({ length: count * rows * cols }, (_, i) => fill(i)))]);
}

function idxLabels(labels: number[], magic = 2049): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(magic, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Buffer.from(labels)]);
}

/** Writes a tiny Fashion-MNIST folder; parts can be replaced to make it bad. */
function makeDataset(
  parts: Partial<Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', Buffer>> = {},
  gzip = true,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'skipstudio-fmnist-'));
  mkdirSync(dir, { recursive: true });
  const files = {
    'train-images-idx3-ubyte': parts.trainImages ?? idxImages(6, 28, 28, (i) => i % 256),
    'train-labels-idx1-ubyte': parts.trainLabels ?? idxLabels([0, 1, 2, 3, 4, 9]),
    't10k-images-idx3-ubyte': parts.testImages ?? idxImages(2, 28, 28, () => 255),
    't10k-labels-idx1-ubyte': parts.testLabels ?? idxLabels([5, 6]),
  };
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(data) : data);
  }
  return dir;
}

describe('Fashion-MNIST from IDX files', () => {
  it('reads gzipped and plain files with their shape, labels and class names', () => {
    for (const gzip of [true, false]) {
      const { train, test } = S.loadFashionMnist(makeDataset({}, gzip));
      assert.equal(train.labels.length, 6);
      assert.deepEqual(train.shape, { channels: 1, height: 28, width: 28 });
      assert.deepEqual(Array.from(train.labels), [0, 1, 2, 3, 4, 9]);
      assert.equal(train.images[300], 300 % 256);
      assert.equal(test.images[0], 255);
      assert.equal(train.classes[9], 'Ankle boot');
    }
  });

  it('rejects bad files, naming the file and what is wrong', () => {
    const cases: [Parameters<typeof makeDataset>[0], RegExp][] = [
      [
        { trainImages: idxImages(6, 28, 28, () => 0).subarray(0, 1000) },
        /train-images-idx3-ubyte\.gz: truncated: 6 images of 28x28 need 4720 bytes/,
      ],
      [{ trainImages: idxImages(6, 28, 28, () => 0, 2049) }, /wrong magic number 2049 for an IDX image file \(expected 2051\)/],
      [{ trainLabels: idxLabels([0, 1, 2], 2051) }, /train-labels-idx1-ubyte\.gz: wrong magic number 2051/],
      [{ trainLabels: idxLabels([0, 1, 2]) }, /3 labels for 6 images/],
      [{ testLabels: idxLabels([5, 10]) }, /t10k-labels-idx1-ubyte\.gz: label 10 at index 1 is out of range/],
      [{ testImages: Buffer.from([1, 2, 3]) }, /truncated IDX image file/],
    ];
    for (const [parts, pattern] of cases) {
      assert.throws(
        () => S.loadFashionMnist(makeDataset(parts)),
        (e: Error) => e instanceof S.DataFileError && pattern.test(e.message),
        String(pattern),
      );
    }
    assert.throws(
      () => S.loadFashionMnist('/nonexistent/folder'),
      /Fashion-MNIST file not found \(install Debian's dataset-fashion-mnist, or pass --data-dir/,
    );
  });
});

describe('DataLoader', () => {
  const { train } = S.loadFashionMnist(makeDataset());

  it('batches normalised images with their labels, in a seeded order per epoch', () => {
    const loader = new S.DataLoader(train, { batchSize: 4, seed: 3, normalization: { mean: [0.5], std: [0.25] } });
    assert.equal(loader.length, 2);
    const batches = [...loader.epoch(0)];
    assert.deepEqual(
      batches.map((b) => b.x.shape),
      [
        [4, 1, 28, 28],
        [2, 1, 28, 28],
      ],
    );
    const seen = batches.flatMap((b) => b.y.toArray() as number[]).sort((a, b) => a - b);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 9]);
    const again = [...loader.epoch(0)].flatMap((b) => b.y.toArray() as number[]);
    assert.deepEqual(
      again,
      batches.flatMap((b) => b.y.toArray() as number[]),
    );
    assert.notDeepEqual(S.epochOrder(1000, 3, 1), S.epochOrder(1000, 3, 0));
    // Example 0 has pixel values i % 256: pixel 0 -> (0/255 - 0.5)/0.25 = -2.
    const first = new S.DataLoader(train, { batchSize: 1, shuffle: false, normalization: { mean: [0.5], std: [0.25] } }).batchOf(
      Int32Array.of(0),
    );
    assert.ok(Math.abs(first.x.flatten().select(0, 0).item() + 2) < 1e-6);
    assert.ok(Math.abs(first.x.flatten().select(0, 255).item() - 2) < 1e-6);
  });

  it('prefetches: the background-assembled batches equal the synchronous ones, augmentation included', async () => {
    for (const augment of [false, true]) {
      const loader = new S.DataLoader(train, { batchSize: 4, seed: 5, augment, normalization: { mean: [0.3], std: [0.2] } });
      S.manualSeed(9);
      const sync = [...loader.epoch(1, 0)];
      S.manualSeed(9);
      const prefetched: S.Batch[] = [];
      for await (const batch of loader.prefetchingEpoch(1, 0)) prefetched.push(batch);
      assert.equal(prefetched.length, sync.length);
      prefetched.forEach((b, i) => {
        assert.ok(b.x.allclose(sync[i]!.x, 0, 1e-6), `batch ${i} images`);
        assert.deepEqual(b.y.toArray(), sync[i]!.y.toArray());
      });
    }
  });

  it('drops the last partial batch when asked, and resumes mid-epoch', () => {
    const loader = new S.DataLoader(train, { batchSize: 4, dropLast: true, seed: 1 });
    assert.equal(loader.length, 1);
    const full = [...new S.DataLoader(train, { batchSize: 2, seed: 1 }).epoch(2)].map((b) => b.y.toArray());
    const resumed = [...new S.DataLoader(train, { batchSize: 2, seed: 1 }).epoch(2, 1)].map((b) => b.y.toArray());
    assert.deepEqual(resumed, full.slice(1));
  });

  it('computes per-channel mean and std from the training split', () => {
    const norm = S.computeNormalization(train);
    const pixels = Array.from(train.images, (v) => v / 255);
    const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
    assert.ok(Math.abs(norm.mean[0]! - mean) < 1e-9);
    assert.ok(norm.std[0]! > 0);
  });

  it('rejects a batch size of zero', () => {
    assert.throws(() => new S.DataLoader(train, { batchSize: 0 }), /batch size must be a positive integer/);
  });
});
