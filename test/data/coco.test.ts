import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';

import * as S from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../../src/cli/main.js');
// A trimmed real COCO 2017 sample carried by the repository (see its README.md).
const tiny = join(here, '../../../test/fixtures/coco-tiny');
const annotations = join(tiny, 'annotations/instances_tiny2017.json');
const images = join(tiny, 'tiny2017');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-coco-'));

const base = (out: string): S.CocoBuildOptions => ({
  annotations,
  images,
  classes: ['person', 'cup', 'bottle'],
  trainPerClass: 3,
  valPerClass: 2,
  size: 32,
  seed: 7,
  out,
});

describe('the COCO subset builder on the coco-tiny fixture (real COCO 2017 images and annotations)', () => {
  it('builds the cache and manifest: counts, classes, each image used once, pixels as decoded', async () => {
    const out = join(root, 'subset');
    const manifest = await S.buildCocoSubset({ ...base(out), writeImages: true });
    assert.deepEqual(manifest.classes, ['person', 'cup', 'bottle']);
    assert.deepEqual(manifest.categoryIds, [1, 47, 44]);
    assert.deepEqual(manifest.splits.train.perClass, { person: 3, cup: 3, bottle: 3 });
    assert.deepEqual(manifest.splits.val.perClass, { person: 2, cup: 2, bottle: 2 });
    assert.match(manifest.assignmentRule, /largest total area/);
    assert.equal(manifest.annotationFile.bytes, readFileSync(annotations).length);
    assert.match(manifest.annotationFile.sha256, /^[0-9a-f]{64}$/);
    const ids = [...manifest.splits.train.images, ...manifest.splits.val.images].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no image is used twice');

    // Every chosen image really holds its class, and it is the class of largest area among the chosen ones.
    const coco = JSON.parse(readFileSync(annotations, 'utf8')) as {
      annotations: { image_id: number; category_id: number; area: number }[];
    };
    for (const entry of manifest.splits.train.images) {
      const area = new Map<number, number>();
      for (const a of coco.annotations)
        if (a.image_id === entry.id && manifest.categoryIds.includes(a.category_id))
          area.set(a.category_id, (area.get(a.category_id) ?? 0) + a.area);
      const best = [...area.entries()].sort((x, y) => y[1] - x[1])[0]![0];
      assert.equal(manifest.classes[manifest.categoryIds.indexOf(best)], entry.class);
    }

    const { train, test } = S.loadCocoSubset(out);
    assert.deepEqual(train.shape, { channels: 3, height: 32, width: 32 });
    assert.equal(train.labels.length, 9);
    assert.equal(test.labels.length, 6);
    assert.deepEqual(
      Array.from(train.labels),
      manifest.splits.train.images.map((e) => manifest.classes.indexOf(e.class)),
    );
    // Pixels equal an independent decode (sharp, HWC) laid out channel-first.
    const first = manifest.splits.train.images[0]!;
    const { data } = await sharp(join(images, first.file))
      .rotate()
      .resize(32, 32, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (const [p, c] of [
      [0, 0],
      [100, 1],
      [1023, 2],
      [517, 0],
    ] as const) {
      assert.equal(train.images[c * 1024 + p], data[p * 3 + c], `pixel ${p} channel ${c}`);
    }
    assert.deepEqual(readdirSync(join(out, 'images/train')).sort(), ['bottle', 'cup', 'person']);
    assert.equal(readdirSync(join(out, 'images/val/cup')).length, 2);
  });

  it('builds, byte for byte, the subsets the previous reader (stream-json) and decoder built: manifest, pixels, labels, skipped images', async () => {
    // SHA-256 of manifest.json (its imagesFolder, a path of the machine, set to "IMAGES"), train.safetensors and
    // val.safetensors, as the builder of commit 2a4c22d wrote them (stream-json reader, windows of 16 decodes).
    const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
    const digest = (out: string) => {
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as S.CocoManifest;
      manifest.imagesFolder = 'IMAGES';
      return {
        manifest: sha(`${JSON.stringify(manifest, null, 2)}\n`),
        train: sha(readFileSync(join(out, 'train.safetensors'))),
        val: sha(readFileSync(join(out, 'val.safetensors'))),
      };
    };
    const cases: [Partial<S.CocoBuildOptions>, ReturnType<typeof digest>][] = [
      [
        { classes: ['boat', 'cake', 'couch', 'dog', 'motorcycle'], trainPerClass: 2, valPerClass: 1, size: 64, seed: 0 },
        {
          manifest: '36c29ffa47cc1c080a10f2af8d50c8eb600f21e242cf2165f0ef57ed8047cb9e',
          train: '3598d20fde7a6edc93a873eceaacbb726b3035a6598402b48418875bd202d911',
          val: 'ef29bad445763d25231d57a9de08e60a6837a1efeea949c6997676047362ddda',
        },
      ],
      [
        { classes: ['person', 'cup', 'bottle'], trainPerClass: 3, valPerClass: 2, size: 32, seed: 7 },
        {
          manifest: '76f37c22849ebb15a6ccd20a68958e519a6ebbb6b0a02f9fda2bee03869087d1',
          train: 'f6da4880c8944fd9f9aa90e2d00dfbfd5c035a5fc06088418ce4ce365681f53e',
          val: '8b7c21508a540159b058a62de92ed76d98bee7de4904b46c925e5017e9473e0b',
        },
      ],
      [
        { classes: ['person', 'cake', 'dog', 'bottle', 'boat'], trainPerClass: 8, valPerClass: 4, size: 17, seed: 3, allowFewer: true },
        {
          manifest: 'd7bdc2e5846361418898f9a6b618ef482d5dcb486ba10efe4eb44ac968e8fe25',
          train: '3f3ebaf4f1a2b0c3c251202edfb3d846e8c5ba4c019423a707a88dd000b609c8',
          val: '695e642a0d4fee31ceb951245a3acd9a4aa79940ff90f2174119c2f4590addde',
        },
      ],
    ];
    for (const [i, [options, expected]] of cases.entries()) {
      const out = join(root, `golden-${i}`);
      await S.buildCocoSubset({ ...base(out), ...options });
      assert.deepEqual(digest(out), expected, `case ${i}: ${JSON.stringify(options)}`);
    }
    // With images missing (every fourth from the second) and cut short (every fourth from the third): the same skipped lists, in the same order.
    const folder = join(root, 'golden-broken-images');
    mkdirSync(folder, { recursive: true });
    readdirSync(images)
      .sort()
      .forEach((file, i) => {
        if (i % 4 === 1) return;
        if (i % 4 === 2) writeFileSync(join(folder, file), readFileSync(join(images, file)).subarray(0, 100));
        else copyFileSync(join(images, file), join(folder, file));
      });
    const out = join(root, 'golden-broken');
    const manifest = await S.buildCocoSubset({
      ...base(out),
      images: folder,
      classes: ['person', 'cup', 'bottle', 'boat', 'cake'],
      trainPerClass: 2,
      valPerClass: 1,
      size: 24,
      seed: 5,
      allowFewer: true,
    });
    assert.deepEqual(manifest.skipped, {
      missing: ['000000435208.jpg', '000000241668.jpg', '000000196619.jpg', '000000098304.jpg'],
      corrupt: ['000000524291.jpg', '000000491008.jpg', '000000404484.jpg', '000000139270.jpg', '000000204805.jpg', '000000245760.jpg'],
      notRegularFile: [],
    });
    assert.deepEqual(digest(out), {
      manifest: '2c9eff256791d4b29839184c9b0206aa179f37f7866a8ea6ef842de66dcd9914',
      train: 'd5ea13aeffcd7c65887a89a5751fcd8c797559e986cb6f439a503ea2c8c7d629',
      val: '2c55955f4515d83e87f1c4b2d63c7b9f7750960a6eb8a8c0de528ade4bf64057',
    });
  });

  it('logs its progress: the annotation file read (MB, MB/s), the images decoded (images/s)', async () => {
    const lines: string[] = [];
    await S.buildCocoSubset({ ...base(join(root, 'progress')), progressIntervalMs: 0, log: (line) => lines.push(line) });
    assert.match(lines[0]!, /^read 28 images, 307 annotations and 80 categories in \d+\.\d s \(0\.1 MB, [\d.]+ MB\/s\)$/);
    const decoding = lines.filter((line) => line.startsWith('decoding: '));
    assert.equal(decoding.length, 15, lines.join('\n'));
    for (const [i, line] of decoding.entries()) assert.match(line, new RegExp(`^decoding: ${i + 1} of 15 images \\(\\d+ images/s\\)$`));
    assert.match(lines.at(-1)!, /^decoded and resized 15 images in \d+\.\d s \(\d+ images\/s\)$/);
  });

  it('is deterministic for a given seed and differs for another', async () => {
    const a = await S.buildCocoSubset(base(join(root, 'det-a')));
    const b = await S.buildCocoSubset(base(join(root, 'det-b')));
    const c = await S.buildCocoSubset({ ...base(join(root, 'det-c')), seed: 8 });
    assert.deepEqual(a.splits, b.splits);
    assert.deepEqual(readFileSync(join(root, 'det-a/train.safetensors')), readFileSync(join(root, 'det-b/train.safetensors')));
    assert.notDeepEqual(
      a.splits.train.images.filter((e) => e.class === 'person'),
      c.splits.train.images.filter((e) => e.class === 'person'),
    );
  });

  it('skips missing and corrupt images, counts them, and fills the class from other candidates', async () => {
    const folder = join(root, 'broken-images');
    mkdirSync(folder, { recursive: true });
    for (const file of readdirSync(images)) copyFileSync(join(images, file), join(folder, file));
    const reference = await S.buildCocoSubset({ ...base(join(root, 'reference')), classes: ['person'], trainPerClass: 4, valPerClass: 0 });
    const [gone, broken] = reference.splits.train.images;
    spawnSync('rm', [join(folder, gone!.file)]);
    writeFileSync(join(folder, broken!.file), Buffer.from('not a jpeg at all'));
    const manifest = await S.buildCocoSubset({
      ...base(join(root, 'repaired')),
      images: folder,
      classes: ['person'],
      trainPerClass: 4,
      valPerClass: 0,
    });
    assert.deepEqual(manifest.skipped, { missing: [gone!.file], corrupt: [broken!.file], notRegularFile: [] });
    assert.equal(manifest.splits.train.count, 4);
  });

  it('rejects bad input with a message that names the problem, leaving nothing half-written', async () => {
    const notJson = join(root, 'broken.json');
    writeFileSync(notJson, '{"images": [ {"id": 1, "file_name": "a.jpg"}, ');
    const noCategories = join(root, 'no-categories.json');
    writeFileSync(
      noCategories,
      JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ id: 1, image_id: 1, category_id: 1, area: 3 }] }),
    );
    const cases: [Partial<S.CocoBuildOptions>, RegExp][] = [
      [{ annotations: notJson }, /broken\.json: not valid JSON/],
      [{ annotations: noCategories }, /no-categories\.json: not a COCO instances file: it has no categories/],
      [{ annotations: join(root, 'absent.json') }, /absent\.json: annotation file not found/],
      [{ classes: ['person', 'unicorn'] }, /unknown category 'unicorn'; instances_tiny2017\.json has: .*airplane, apple, backpack/],
      [{ classes: ['bottle'], trainPerClass: 50 }, /too few usable images for bottle: \d+ of 52 .* pass --allow-fewer/],
      [{ size: 3 }, /--size must be an integer from 8 to 1024/],
    ];
    for (const [override, pattern] of cases) {
      const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
      await assert.rejects(S.buildCocoSubset({ ...base(out), ...override }), pattern);
      assert.ok(!existsSync(out), 'nothing is written');
    }
    assert.ok(!readdirSync(root).some((f) => f.includes('.partial-')), 'no temporary folder is left behind');
    const fewer = await S.buildCocoSubset({ ...base(join(root, 'fewer')), classes: ['bottle'], trainPerClass: 50, allowFewer: true });
    assert.ok(fewer.splits.train.count < 50);
  });

  it('refuses an existing output folder unless --force', () => {
    const out = join(root, 'subset');
    const args = [
      'data',
      'coco',
      '--annotations',
      annotations,
      '--images',
      images,
      '--classes',
      'person,cup',
      '--train-per-class',
      '2',
      '--val-per-class',
      '1',
      '--size',
      '16',
      '--out',
      out,
    ];
    const refused = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /already exists: choose another --out, or pass --force/);
    const forced = spawnSync(process.execPath, [main, ...args, '--force'], { encoding: 'utf8' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /built .*: 4 train and 2 val images of 2 classes at 16x16/);
    assert.equal(S.loadCocoSubset(out).train.shape.height, 16);
  });

  it("checks --size at the flag by the builder's own range, as its help says (issue 42, defect 21)", () => {
    const size = (n: string) =>
      spawnSync(
        process.execPath,
        [
          main,
          'data',
          'coco',
          '--annotations',
          annotations,
          '--images',
          images,
          '--classes',
          'person',
          '--train-per-class',
          '2',
          '--val-per-class',
          '1',
          '--size',
          n,
          '--out',
          join(root, `size-${n}`),
        ],
        { encoding: 'utf8' },
      );
    const [least, most] = S.COCO_SIZE_RANGE;
    for (const n of [least - 1, most + 1])
      assert.match(
        size(String(n)).stderr,
        new RegExp(`'--size <n>' argument '${n}' is invalid\\. must be an integer from ${least} to 1,024`),
      );
    assert.equal(size(String(least)).status, 0, 'the least size the flag takes builds');
  });

  it('trains a model on the built subset', () => {
    const out = join(root, 'subset');
    const run = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--dataset',
        'coco',
        '--data-dir',
        out,
        '--model',
        'net2',
        '--lr',
        '0.01',
        '--epochs',
        '1',
        '--batch-size',
        '2',
        '--threads',
        '1',
        '--out',
        join(root, 'coco-run'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const model = JSON.parse(readFileSync(join(root, 'coco-run/model.json'), 'utf8'));
    assert.deepEqual(model.inputShape, [3, 16, 16]);
    assert.deepEqual(model.classes, ['person', 'cup']);
  });

  it('refuses to train on a subset with no validation images, instead of a run reported as diverged (issue 42, defect 11)', () => {
    const subset = join(root, 'reference'); // built above with --val-per-class 0
    const run = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--dataset',
        'coco',
        '--data-dir',
        subset,
        '--model',
        'net2',
        '--lr',
        '0.01',
        '--epochs',
        '1',
        '--batch-size',
        '2',
        '--threads',
        '1',
        '--out',
        join(root, 'no-val-run'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /reference: the test split holds no images; a run needs both splits \(a subset built with --val-per-class 0 has none/,
    );
    assert.ok(!existsSync(join(root, 'no-val-run/status.json')), 'no run is left to be reported');
  });
});

describe('the COCO subset builder does not trust its input or its --out folder', () => {
  const write = (path: string, coco: unknown): string => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(coco));
    return path;
  };
  const [jpegA, jpegB] = readdirSync(images).sort();

  it("--force replaces only a folder the builder built: a user's folder survives and the command says why; an empty folder is used", async () => {
    const cli = (out: string, ...more: string[]) =>
      spawnSync(
        process.execPath,
        [
          main,
          'data',
          'coco',
          '--annotations',
          annotations,
          '--images',
          images,
          '--classes',
          'dog',
          '--train-per-class',
          '1',
          '--val-per-class',
          '0',
          '--size',
          '8',
          '--out',
          out,
          ...more,
        ],
        { encoding: 'utf8' },
      );
    const mine = join(root, 'my-folder');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'my notes');
    const refused = cli(mine, '--force');
    assert.equal(refused.status, 1, refused.stdout);
    assert.ok(
      refused.stderr.includes(
        `--out ${mine} is a folder that holds no subset built by \`data coco\` (no manifest.json of format skipstudio-coco-subset/1), so it is not replaced, even with --force`,
      ),
      refused.stderr,
    );
    assert.deepEqual(readdirSync(mine), ['notes.txt']);
    assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my notes');

    const options = { ...base(''), classes: ['dog'], trainPerClass: 1, valPerClass: 0, size: 8, force: true };
    // A manifest.json of another format is not the builder's.
    const foreign = join(root, 'foreign-manifest');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'manifest.json'), '{"format": "someone-else/1"}');
    await assert.rejects(
      S.buildCocoSubset({ ...options, out: foreign }),
      /foreign-manifest is a folder that holds no subset built by `data coco`/,
    );
    assert.equal(readFileSync(join(foreign, 'manifest.json'), 'utf8'), '{"format": "someone-else/1"}');
    // A built subset holding a file the builder did not write.
    const added = join(root, 'built-plus');
    await S.buildCocoSubset({ ...options, out: added, writeImages: true });
    writeFileSync(join(added, 'results.csv'), 'mine');
    await assert.rejects(
      S.buildCocoSubset({ ...options, out: added }),
      /built-plus holds a subset built by `data coco` but also results\.csv, which it did not write, so it is not replaced, even with --force/,
    );
    assert.deepEqual(readdirSync(added).sort(), ['images', 'manifest.json', 'results.csv', 'train.safetensors', 'val.safetensors']);
    // A file is not a folder.
    const file = join(root, 'a-file');
    writeFileSync(file, 'keep');
    await assert.rejects(S.buildCocoSubset({ ...options, out: file }), /a-file exists and is not a folder: it is not replaced/);
    assert.equal(readFileSync(file, 'utf8'), 'keep');
    // An empty folder is used, even without --force; a built one is replaced with --force.
    const empty = join(root, 'empty-folder');
    mkdirSync(empty);
    await S.buildCocoSubset({ ...options, out: empty, force: false });
    assert.equal(S.loadCocoSubset(empty).train.labels.length, 1);
    const rebuilt = await S.buildCocoSubset({ ...options, out: empty, seed: 8 });
    assert.equal(rebuilt.options.seed, 8);
    assert.deepEqual(readdirSync(empty).sort(), ['manifest.json', 'train.safetensors', 'val.safetensors']);
  });

  it("refuses a file_name that leads outside --images ('..' or an absolute path), naming the entry", async () => {
    const dir = join(root, 'escape');
    mkdirSync(join(dir, 'images'), { recursive: true });
    copyFileSync(join(images, jpegA!), join(dir, 'outside.jpg'));
    copyFileSync(join(images, jpegB!), join(dir, 'images/inside.jpg'));
    const cases: [string, string, RegExp][] = [
      [
        'dotdot.json',
        '../outside.jpg',
        /dotdot\.json: image 2 has file_name "\.\.\/outside\.jpg", which climbs out with '\.\.': a file_name must name a file inside the image folder/,
      ],
      ['nested.json', 'sub/../../outside.jpg', /nested\.json: image 2 has file_name "sub\/\.\.\/\.\.\/outside\.jpg", which climbs out/],
      [
        'absolute.json',
        join(dir, 'outside.jpg'),
        /absolute\.json: image 2 has file_name ".*\/escape\/outside\.jpg", an absolute path: a file_name must name a file inside/,
      ],
    ];
    for (const [name, fileName, pattern] of cases) {
      const file = write(join(dir, name), {
        images: [
          { id: 1, file_name: 'inside.jpg' },
          { id: 2, file_name: fileName },
        ],
        annotations: [
          { id: 1, image_id: 1, category_id: 1, area: 5 },
          { id: 2, image_id: 2, category_id: 1, area: 9 },
        ],
        categories: [{ id: 1, name: 'person' }],
      });
      const out = join(dir, `out-${name}`);
      await assert.rejects(
        S.buildCocoSubset({
          ...base(out),
          annotations: file,
          images: join(dir, 'images'),
          classes: ['person'],
          trainPerClass: 2,
          valPerClass: 0,
        }),
        pattern,
      );
      assert.ok(!existsSync(out), 'nothing is written');
    }
  });

  it('keeps image and category ids of 2^31 and more exactly; refuses a fractional, negative or unsafe id, naming the file and the id', async () => {
    const dir = join(root, 'ids');
    const bigImage = 2 ** 31 + 5;
    const bigCategory = 2 ** 31 + 7;
    const good = write(join(dir, 'big-ids.json'), {
      images: [
        { id: bigImage, file_name: jpegA },
        { id: 4, file_name: jpegB },
      ],
      annotations: [
        { id: 1, image_id: bigImage, category_id: bigCategory, area: 10 },
        { id: 2, image_id: 4, category_id: 3, area: 5 },
        { id: 3, image_id: bigImage, category_id: 3, area: 1 },
      ],
      categories: [
        { id: bigCategory, name: 'thing' },
        { id: 3, name: 'other' },
      ],
    });
    const manifest = await S.buildCocoSubset({
      ...base(join(dir, 'out')),
      annotations: good,
      classes: ['thing', 'other'],
      trainPerClass: 1,
      valPerClass: 0,
    });
    assert.deepEqual(manifest.categoryIds, [bigCategory, 3]);
    assert.deepEqual(manifest.splits.train.images, [
      { id: bigImage, file: jpegA, class: 'thing' },
      { id: 4, file: jpegB, class: 'other' },
    ]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'out/manifest.json'), 'utf8')).splits.train.images[0].id, 2147483653);

    const coco = (image: number, annotationImage: number, category: number, annotationCategory: number) => ({
      images: [{ id: image, file_name: jpegA }],
      annotations: [{ id: 1, image_id: annotationImage, category_id: annotationCategory, area: 10 }],
      categories: [{ id: category, name: 'thing' }],
    });
    const cases: [string, unknown, RegExp][] = [
      [
        'fractional-image.json',
        coco(12.5, 12.5, 3, 3),
        /fractional-image\.json: image id 12\.5 is not an id: ids must be non-negative integers below 2\^53/,
      ],
      ['fractional-annotation.json', coco(12, 12.25, 3, 3), /fractional-annotation\.json: annotation 1's image_id 12\.25 is not an id/],
      ['fractional-category.json', coco(12, 12, 3, 3.5), /fractional-category\.json: annotation 1's category_id 3\.5 is not an id/],
      ['negative-category.json', coco(12, 12, -3, -3), /negative-category\.json: annotation 1's category_id -3 is not an id/],
      ['unsafe-image.json', coco(2 ** 53, 2 ** 53, 3, 3), /unsafe-image\.json: image id 9007199254740992 is not an id/],
    ];
    for (const [name, content, pattern] of cases) {
      const out = join(dir, `out-${name}`);
      await assert.rejects(
        S.buildCocoSubset({
          ...base(out),
          annotations: write(join(dir, name), content),
          classes: ['thing'],
          trainPerClass: 1,
          valPerClass: 0,
        }),
        pattern,
      );
      assert.ok(!existsSync(out), 'nothing is written');
    }
  });

  it('refuses two categories with one id or one name, naming both, instead of labelling images by a guess (issue 42, defect 11)', async () => {
    const dir = join(root, 'clash');
    const coco = (categories: { id: number; name: string }[]) => ({
      images: [
        { id: 1, file_name: jpegA },
        { id: 2, file_name: jpegB },
      ],
      annotations: [
        { id: 1, image_id: 1, category_id: 17, area: 10 },
        { id: 2, image_id: 2, category_id: 18, area: 10 },
      ],
      categories,
    });
    const cases: [string, { id: number; name: string }[], string, RegExp][] = [
      [
        'same-id.json',
        [
          { id: 17, name: 'cat' },
          { id: 17, name: 'bird' },
        ],
        'bird',
        /same-id\.json: not a COCO instances file: categories "cat" and "bird" share the id 17: each category of a COCO file has an id and a name of its own/,
      ],
      [
        'same-name.json',
        [
          { id: 17, name: 'cat' },
          { id: 18, name: 'cat' },
        ],
        'cat',
        /same-name\.json: not a COCO instances file: categories "cat" and "cat" share the name "cat"/,
      ],
    ];
    for (const [name, categories, wanted, pattern] of cases) {
      const out = join(dir, `out-${name}`);
      await assert.rejects(
        S.buildCocoSubset({
          ...base(out),
          annotations: write(join(dir, name), coco(categories)),
          classes: [wanted],
          trainPerClass: 1,
          valPerClass: 0,
        }),
        pattern,
      );
      assert.ok(!existsSync(out), 'nothing is written');
    }
  });

  it('skips a FIFO and a folder named as images: never read, counted, and the build ends', async () => {
    const folder = join(root, 'fifo-images');
    mkdirSync(folder, { recursive: true });
    for (const file of readdirSync(images)) copyFileSync(join(images, file), join(folder, file));
    const reference = await S.buildCocoSubset({
      ...base(join(root, 'fifo-reference')),
      classes: ['person'],
      trainPerClass: 4,
      valPerClass: 0,
    });
    const [pipe, directory] = reference.splits.train.images.map((e) => e.file);
    rmSync(join(folder, pipe!));
    const mkfifo = spawnSync('mkfifo', [join(folder, pipe!)]);
    assert.equal(mkfifo.status, 0, `mkfifo: ${mkfifo.error?.message ?? mkfifo.stderr}`);
    rmSync(join(folder, directory!));
    mkdirSync(join(folder, directory!));
    const out = join(root, 'fifo-subset');
    // In a child process with a time limit: a build that reads the FIFO would wait for a writer forever.
    const run = spawnSync(
      process.execPath,
      [
        main,
        'data',
        'coco',
        '--annotations',
        annotations,
        '--images',
        folder,
        '--classes',
        'person',
        '--train-per-class',
        '4',
        '--val-per-class',
        '0',
        '--size',
        '16',
        '--seed',
        '7',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.signal, null, 'the build ended by itself');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /skipped 0 missing and 0 corrupt images, and 2 not regular files/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as S.CocoManifest;
    assert.deepEqual(manifest.skipped, { missing: [], corrupt: [], notRegularFile: [pipe, directory] });
    assert.equal(manifest.splits.train.count, 4);
  });
});

describe('CIFAR-10 binary files', () => {
  function writeCifar(dir: string, records: number, corrupt?: 'size' | 'label'): string {
    mkdirSync(dir, { recursive: true });
    const make = (n: number) => {
      const data = Buffer.alloc(n * 3073);
      for (let i = 0; i < n; i++) {
        data[i * 3073] = i % 10;
        data.fill(i % 256, i * 3073 + 1, (i + 1) * 3073);
      }
      return data;
    };
    for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), make(records));
    let test = make(records);
    if (corrupt === 'size') test = test.subarray(0, test.length - 5);
    if (corrupt === 'label') test[3073] = 12;
    writeFileSync(join(dir, 'test_batch.bin'), test);
    return dir;
  }

  it('reads the records, labels and class names', () => {
    const dir = writeCifar(join(root, 'cifar'), 4);
    writeFileSync(join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const { train, test } = S.loadCifar10(dir);
    assert.equal(train.labels.length, 20);
    assert.equal(test.labels.length, 4);
    assert.deepEqual(train.shape, { channels: 3, height: 32, width: 32 });
    assert.equal(train.classes[9], 'truck');
    assert.equal(train.images[3 * 3072], 3, 'record 3 is filled with 3');
  });

  it('rejects a file whose size is not a multiple of 3073, and a label out of range', () => {
    assert.throws(
      () => S.loadCifar10(writeCifar(join(root, 'cifar-size'), 2, 'size')),
      /test_batch\.bin: size 6141 is not a positive multiple of the 3073-byte CIFAR-10 record/,
    );
    assert.throws(
      () => S.loadCifar10(writeCifar(join(root, 'cifar-label'), 2, 'label')),
      /test_batch\.bin: label 12 of record 1 is out of range/,
    );
    assert.throws(() => S.loadCifar10(join(root, 'nowhere')), /data_batch_1\.bin: CIFAR-10 file not found/);
  });
});

describe('skipstudio data info and show', () => {
  it('prints counts per class and split, the shape and the statistics', () => {
    const run = spawnSync(process.execPath, [main, 'data', 'info'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /fashion-mnist: 10 classes, images 1 x 28 x 28/);
    assert.match(run.stdout, /^Ankle boot\s+6000\s+1000$/m);
    assert.match(run.stdout, /^total\s+60000\s+10000$/m);
    assert.match(run.stdout, /per-channel mean 0\.28\d\d; std 0\.35\d\d/);
  });

  it('draws a labelled grid of sample images per class', async () => {
    const out = join(root, 'grid.png');
    const run = spawnSync(process.execPath, [main, 'data', 'show', '--out', out, '--per-class', '3'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const meta = await sharp(out).metadata();
    assert.equal(meta.width, 140 + 3 * 68);
    assert.equal(meta.height, 4 + 10 * 68);
  });
});

describe('ImageFolder', () => {
  it('loads root/{train,val}/<class>/<image> (here: the class folders the COCO builder wrote)', async () => {
    const out = join(root, 'folder-subset');
    const manifest = await S.buildCocoSubset({ ...base(out), writeImages: true });
    const { train, test } = await S.loadImageFolder(join(out, 'images'), 16);
    assert.deepEqual(train.classes, ['bottle', 'cup', 'person']);
    assert.equal(train.labels.length, manifest.splits.train.count);
    assert.equal(test.labels.length, manifest.splits.val.count);
    assert.deepEqual(train.shape, { channels: 3, height: 16, width: 16 });
    const viaRegistry = await S.loadDataset('imagefolder', join(out, 'images'));
    assert.deepEqual(viaRegistry.train.shape, { channels: 3, height: 64, width: 64 });
  });

  it('names a corrupt image and a missing split', async () => {
    const folder = join(root, 'bad-folder');
    mkdirSync(join(folder, 'train/cat'), { recursive: true });
    mkdirSync(join(folder, 'test/cat'), { recursive: true });
    writeFileSync(join(folder, 'train/cat/broken.png'), 'not a png');
    copyFileSync(join(images, readdirSync(images)[0]!), join(folder, 'test/cat/ok.jpg'));
    await assert.rejects(S.loadImageFolder(folder), /train\/cat\/broken\.png: cannot be decoded as an image/);
    await assert.rejects(S.loadImageFolder(join(folder, 'train')), /needs train\/ and test\/ \(or val\/\) folders/);
  });

  it('refuses a test class that train/ does not have, instead of dropping its images (issue 42, defect 11)', async () => {
    const folder = join(root, 'extra-class');
    const jpeg = join(images, readdirSync(images)[0]!);
    for (const place of ['train/cat', 'test/cat', 'test/dog']) {
      mkdirSync(join(folder, place), { recursive: true });
      copyFileSync(jpeg, join(folder, place, 'a.jpg'));
    }
    await assert.rejects(S.loadImageFolder(folder, 16), /extra-class\/test: has images of 'dog', a class train\/ does not have/);
    rmSync(join(folder, 'test/dog/a.jpg'));
    assert.deepEqual((await S.loadImageFolder(folder, 16)).test.labels, Uint8Array.from([0]), 'an empty class folder is no class');
  });
});
