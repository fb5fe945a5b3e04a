/**
 * Training augmentation does what it says: a horizontal flip (along the
 * width, never the height) of about half the images, and a random crop of
 * the image padded by 2, every offset from -2 to 2 in both directions.
 * One bright pixel in a dark image tells each of these apart: its column
 * says whether the image was mirrored, its row and column the crop offset.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

const SIZE = 12;
const ROW = 3;
const COL = 3;
const COUNT = 400;

/** COUNT copies of a dark SIZE x SIZE image with one bright pixel at (ROW, COL). */
const dataset: S.ImageDataset = {
  name: 'one pixel',
  images: Uint8Array.from({ length: COUNT * SIZE * SIZE }, (_, i) => (i % (SIZE * SIZE) === ROW * SIZE + COL ? 255 : 0)),
  labels: new Uint8Array(COUNT),
  shape: { channels: 1, height: SIZE, width: SIZE },
  classes: ['a'],
};

/** Where the bright pixel is in each image of an augmented batch (row, column), or undefined where a crop cut it off. */
function brightPixels(seed: number): ({ row: number; col: number } | undefined)[] {
  S.manualSeed(seed);
  const loader = new S.DataLoader(dataset, { batchSize: COUNT, shuffle: false, augment: true, seed });
  const [{ x, y }] = [...loader.epoch(0)] as [S.Batch];
  const pixels = x.data() as Float32Array;
  x.dispose();
  y.dispose();
  return Array.from({ length: COUNT }, (_, n) => {
    const at = pixels.subarray(n * SIZE * SIZE, (n + 1) * SIZE * SIZE).findIndex((v) => v > 0.5);
    return at < 0 ? undefined : { row: Math.floor(at / SIZE), col: at % SIZE };
  });
}

describe('training augmentation', () => {
  const found = brightPixels(7);

  it('keeps the pixel in every image (a crop moves it by at most 2)', () => {
    assert.equal(found.filter((p) => p === undefined).length, 0);
  });

  it("never flips along the height: the pixel's row moves only by the crop", () => {
    // Flipped vertically it would be at row SIZE - 1 - ROW = 8, give or take 2.
    for (const p of found) assert.ok(p!.row >= ROW - 2 && p!.row <= ROW + 2, `row ${p!.row}`);
  });

  it('mirrors about half the images along the width', () => {
    const mirrored = found.filter((p) => Math.abs(p!.col - (SIZE - 1 - COL)) <= 2).length;
    const kept = found.filter((p) => Math.abs(p!.col - COL) <= 2).length;
    assert.equal(mirrored + kept, COUNT, 'each image is either mirrored or not, moved by at most 2');
    // Binomial(400, 0.5): outside [160, 240] with probability below 1e-4.
    assert.ok(mirrored >= 160 && mirrored <= 240, `${mirrored} of ${COUNT} mirrored`);
  });

  it('crops at every offset from -2 to 2, in both directions', () => {
    const rowShifts = new Set(found.map((p) => p!.row - ROW));
    const colShifts = new Set(found.map((p) => (Math.abs(p!.col - COL) <= 2 ? p!.col - COL : p!.col - (SIZE - 1 - COL))));
    assert.deepEqual(
      [...rowShifts].sort((a, b) => a - b),
      [-2, -1, 0, 1, 2],
    );
    assert.deepEqual(
      [...colShifts].sort((a, b) => a - b),
      [-2, -1, 0, 1, 2],
    );
  });

  it('draws the same flips and crops from the same seed, and others from another', () => {
    assert.deepEqual(brightPixels(7), found);
    assert.notDeepEqual(brightPixels(8), found);
  });
});
