/**
 * The COCO 2017 stand-in (bench/coco-standin.ts) at a tiny size: its files
 * have COCO's layout and field shapes, the builder accepts them, the labels
 * the builder gives are the ones the generator drew (its record), one seed
 * gives the same bytes, and a missing image is named in the builder's error.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { type SplitShape, type StandInRecord, writeCocoStandIn } from '../../bench/coco-standin.js';
import * as S from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'skipstudio-standin-'));
const SHAPE: SplitShape = {
  images: 300,
  annotations: 1200,
  bytes: 500_000,
  classImages: { boat: 8, cake: 8, couch: 8, dog: 8, motorcycle: 8 },
};

async function standIn(name: string, seed = 5): Promise<{ out: string; record: StandInRecord }> {
  const out = join(root, name);
  return { out, record: await writeCocoStandIn({ out, seed, splits: { train2017: SHAPE } }) };
}

/** A folder's files and their SHA-256, for comparing two stand-ins byte for byte. */
function folderHashes(folder: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => [
        join(e.parentPath, e.name).slice(folder.length),
        createHash('sha256')
          .update(readFileSync(join(e.parentPath, e.name)))
          .digest('hex'),
      ]),
  );
}

const build = (out: string, subset: string, perClass: { train: number; val: number }) =>
  S.buildCocoSubset({
    annotations: join(out, 'annotations/instances_train2017.json'),
    images: join(out, 'train2017'),
    classes: S.HW5_CLASSES,
    trainPerClass: perClass.train,
    valPerClass: perClass.val,
    size: 32,
    seed: 0,
    out: join(root, subset),
  });

describe('the COCO 2017 stand-in', () => {
  it('is laid out as COCO 2017, with its counts, size and field shapes', async () => {
    const { out, record } = await standIn('layout');
    const coco = JSON.parse(readFileSync(join(out, 'annotations/instances_train2017.json'), 'utf8'));
    assert.equal(coco.images.length, SHAPE.images);
    assert.equal(coco.annotations.length, SHAPE.annotations);
    assert.ok(
      Math.abs(readFileSync(join(out, 'annotations/instances_train2017.json')).length - SHAPE.bytes) < 0.02 * SHAPE.bytes,
      'the file is the size asked for',
    );
    assert.equal(coco.categories.length, 80);
    assert.deepEqual(
      coco.categories.find((c: { name: string }) => c.name === 'motorcycle'),
      { supercategory: 'vehicle', id: 4, name: 'motorcycle' },
    );
    assert.deepEqual(Object.keys(coco.images[0]).sort(), [
      'coco_url',
      'date_captured',
      'file_name',
      'flickr_url',
      'height',
      'id',
      'license',
      'width',
    ]);
    assert.deepEqual(Object.keys(coco.annotations[0]).sort(), ['area', 'bbox', 'category_id', 'id', 'image_id', 'iscrowd', 'segmentation']);
    const crowds = coco.annotations.filter((a: { iscrowd: number }) => a.iscrowd === 1);
    assert.ok(crowds.length > 0, 'some crowd annotations');
    for (const crowd of crowds)
      assert.deepEqual(Object.keys(crowd.segmentation).sort(), ['counts', 'size'], 'a crowd has a run-length mask');
    const files = readdirSync(join(out, 'train2017'));
    assert.equal(files.length, 40, 'a JPEG for each image of the five classes only');
    assert.equal(record.splits.train2017!.absentFiles, SHAPE.images - 40);
    const sizes = new Set(coco.images.map((i: { width: number; height: number }) => `${i.width}x${i.height}`));
    assert.ok(sizes.has('640x480') && sizes.size > 2, "COCO's image sizes");
  });

  it("gives the builder images whose labels are the generator's own, the larger area winning where two classes meet", async () => {
    const { out, record } = await standIn('labels');
    const manifest = await build(out, 'labels-subset', { train: 6, val: 2 });
    const labels = record.splits.train2017!.labels;
    const images = [...manifest.splits.train.images, ...manifest.splits.val.images];
    assert.equal(images.length, 40);
    for (const image of images) assert.equal(image.class, labels[String(image.id)], `image ${image.id}`);
    // Some images hold a second, smaller class: the builder's largest-area rule is what gives them their label.
    const coco = JSON.parse(readFileSync(join(out, 'annotations/instances_train2017.json'), 'utf8'));
    const chosen = new Set(
      coco.categories.filter((c: { name: string }) => S.HW5_CLASSES.includes(c.name)).map((c: { id: number }) => c.id),
    );
    const perImage = new Map<number, number>();
    for (const a of coco.annotations) if (chosen.has(a.category_id)) perImage.set(a.image_id, (perImage.get(a.image_id) ?? 0) + 1);
    assert.ok(
      [...perImage.values()].some((n) => n > 1),
      'some images hold two of the classes',
    );
  });

  it('writes the same bytes from the same seed, and other bytes from another', async () => {
    const a = await standIn('seed-a');
    const b = await standIn('seed-b');
    const c = await standIn('seed-c', 6);
    assert.deepEqual(folderHashes(a.out), folderHashes(b.out));
    assert.notEqual(a.record.splits.train2017!.sha256, c.record.splits.train2017!.sha256);
  });

  it("names a missing image in the builder's error when a class runs short", async () => {
    const { out, record } = await standIn('missing');
    const boat = Object.entries(record.splits.train2017!.labels).find(([, name]) => name === 'boat')![0];
    const file = `${boat.padStart(12, '0')}.jpg`;
    rmSync(join(out, 'train2017', file));
    await assert.rejects(
      build(out, 'missing-subset', { train: 6, val: 2 }),
      (error: Error) => error.message.includes('boat: 7 of 8') && error.message.includes(`1 missing (${join(out, 'train2017', file)})`),
    );
  });
});
