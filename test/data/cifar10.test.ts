/**
 * The CIFAR-10 reader on files whose every byte is known (issue 42, defect
 * 22): each record's label and each of its 3,072 pixels is a formula of the
 * file, the record and the byte's place, so an image read one byte early or
 * late, a channel out of order or a batch skipped gives other numbers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import * as S from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'skipstudio-cifar-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PIXELS = 3 * 32 * 32;
const label = (file: number, record: number) => (file * 7 + record * 3) % 10;
/** Channel c (0 red, 1 green, 2 blue), row y, column x of a record: its byte 1 + c * 1024 + y * 32 + x in the file. */
const pixel = (file: number, record: number, c: number, y: number, x: number) => (file * 31 + record * 13 + c * 101 + y * 5 + x * 3) % 256;

function writeBatch(name: string, file: number, records: number): void {
  const bytes = Buffer.alloc(records * (1 + PIXELS));
  for (let r = 0; r < records; r++) {
    const start = r * (1 + PIXELS);
    bytes[start] = label(file, r);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[start + 1 + c * 1024 + y * 32 + x] = pixel(file, r, c, y, x);
  }
  writeFileSync(join(dir, name), bytes);
}

/** The images and labels the reader must give: the files in order, each image channels-first (C, H, W). */
function expected(files: [number, number][]): { images: number[]; labels: number[] } {
  const images: number[] = [];
  const labels: number[] = [];
  for (const [file, records] of files) {
    for (let r = 0; r < records; r++) {
      labels.push(label(file, r));
      for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) images.push(pixel(file, r, c, y, x));
    }
  }
  return { images, labels };
}

describe('the CIFAR-10 reader', () => {
  it('gives every pixel and label where the binary format puts it, the five batches in order, then the test batch', () => {
    const counts = [3, 1, 2, 1, 2];
    counts.forEach((n, k) => writeBatch(`data_batch_${k + 1}.bin`, k + 1, n));
    writeBatch('test_batch.bin', 9, 2);
    writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
    const { train, test } = S.loadCifar10(dir);
    const wantTrain = expected(counts.map((n, k) => [k + 1, n]));
    assert.deepEqual([...train.labels], wantTrain.labels);
    assert.deepEqual([...train.images], wantTrain.images);
    const wantTest = expected([[9, 2]]);
    assert.deepEqual([...test.labels], wantTest.labels);
    assert.deepEqual([...test.images], wantTest.images);
    assert.deepEqual(train.shape, { channels: 3, height: 32, width: 32 });
    assert.deepEqual(train.classes, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  });
});
