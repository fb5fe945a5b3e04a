/**
 * Data benchmarks (not tests): how fast the loaders read, and how much memory
 * the COCO annotation stream needs.
 *
 *   npm run bench:data [-- --coco-mb 450 --decode-rounds 5]
 *
 * 1. Fashion-MNIST: loading all 70,000 images (gzipped IDX from Debian's package).
 * 2. CIFAR-10 format: loading generated data_batch_1..5.bin + test_batch.bin,
 *    against a bare read of the same files.
 * 3. COCO: streaming a generated instances file of --coco-mb megabytes (shaped
 *    like instances_train2017.json: images, annotations with polygons,
 *    categories) in a child process, reporting its peak RSS.
 * 4. COCO image decoding: the 160 real JPEGs of ../shared/coco-tiny, decoded
 *    and resized to 64x64 with sharp on all cores, in images per second.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as S from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    'coco-mb': { type: 'string', default: '450' },
    'decode-rounds': { type: 'string', default: '5' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'skipstudio-bench-data-'));

function seconds<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const result = fn();
  return [result, (performance.now() - start) / 1000];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function fashionMnist(): void {
  const times = [0, 1, 2].map(() => seconds(() => S.loadFashionMnist())[1]);
  console.log(`Fashion-MNIST: all 70,000 images loaded in ${median(times).toFixed(2)} s (median of 3)`);
}

function cifar(): void {
  const dir = join(scratch, 'cifar');
  const record = 3073;
  const make = (n: number) => {
    const data = Buffer.alloc(n * record);
    for (let i = 0; i < n; i++) data[i * record] = i % 10;
    return data;
  };
  mkdirSync(dir, { recursive: true });
  const files = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`).concat('test_batch.bin');
  for (const file of files) writeFileSync(join(dir, file), make(10_000));
  const bareTimes = [0, 1, 2].map(() => seconds(() => files.map((f) => readFileSync(join(dir, f))))[1]);
  const loadTimes = [0, 1, 2].map(() => seconds(() => S.loadCifar10(dir))[1]);
  const mb = (files.length * 10_000 * record) / 2 ** 20;
  console.log(`CIFAR-10 format: ${mb.toFixed(0)} MB loaded in ${median(loadTimes).toFixed(3)} s; a bare read of the files takes ` +
    `${median(bareTimes).toFixed(3)} s (${(median(loadTimes) / median(bareTimes)).toFixed(2)}x)`);
}

/** Writes a COCO-shaped instances file of about `megabytes` MB. */
async function writeSyntheticCoco(path: string, megabytes: number): Promise<number> {
  const out = createWriteStream(path);
  const write = (text: string) => new Promise<void>((resolve) => (out.write(text) ? resolve() : out.once('drain', resolve)));
  const images = 118_287;
  await write('{"info": {"description": "synthetic, shaped like COCO 2017"}, "licenses": [], "images": [');
  for (let i = 1; i <= images; i++) {
    await write(`${i > 1 ? ',' : ''}{"license": 3, "file_name": "${String(i).padStart(12, '0')}.jpg", "coco_url": "http://images.cocodataset.org/train2017/${String(i).padStart(12, '0')}.jpg", "height": 480, "width": 640, "date_captured": "2013-11-14 11:18:45", "flickr_url": "http://farm4.staticflickr.com/0/0_0_z.jpg", "id": ${i}}`);
  }
  await write('], "annotations": [');
  let written = images * 260;
  let id = 0;
  // Each annotation carries a polygon, as real ones do; that is where the bytes are.
  const polygon = Array.from({ length: 60 }, (_, k) => (200 + 100 * Math.sin(k)).toFixed(2)).join(',');
  while (written < megabytes * 2 ** 20) {
    id += 1;
    const text = `${id > 1 ? ',' : ''}{"segmentation": [[${polygon}]], "area": ${1000 + (id % 5000)}.5, "iscrowd": 0, "image_id": ${1 + (id * 7919) % images}, "bbox": [1.0, 2.0, 30.5, 40.5], "category_id": ${1 + (id % 90)}, "id": ${id}}`;
    written += text.length;
    await write(text);
  }
  await write('], "categories": [');
  for (let c = 1; c <= 90; c++) await write(`${c > 1 ? ',' : ''}{"supercategory": "thing", "id": ${c}, "name": "category${c}"}`);
  await write(']}');
  await new Promise((resolve) => out.end(resolve));
  return id;
}

async function cocoStream(): Promise<void> {
  const megabytes = Number(flags['coco-mb']);
  const path = join(scratch, 'instances_synthetic.json');
  const annotations = await writeSyntheticCoco(path, megabytes);
  const size = statSync(path).size;
  const script = `
    import { readCocoAnnotations } from ${JSON.stringify(join(here, '../src/index.js'))};
    const start = performance.now();
    const coco = await readCocoAnnotations(${JSON.stringify(path)});
    console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, annotations: coco.annotationImage.length, images: coco.images.size, maxRssKb: process.resourceUsage().maxRSS }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const result = JSON.parse(run.stdout) as { seconds: number; annotations: number; images: number; maxRssKb: number };
  console.log(`COCO annotations: a ${(size / 2 ** 20).toFixed(0)} MB instances file (${result.images.toLocaleString('en-US')} images, ` +
    `${annotations.toLocaleString('en-US')} annotations) streamed in ${result.seconds.toFixed(1)} s with a peak RSS of ` +
    `${(result.maxRssKb / 1024).toFixed(0)} MB (the whole process)`);
  rmSync(path);
}

async function decoding(): Promise<void> {
  const tiny = join(here, '../../../shared/coco-tiny');
  if (!existsSync(tiny)) {
    console.log('COCO decoding: ../shared/coco-tiny not found, skipped');
    return;
  }
  const files = ['train2017', 'val2017'].flatMap((split) => readdirSync(join(tiny, split)).map((f) => join(tiny, split, f)));
  const rounds = Number(flags['decode-rounds']);
  await S.mapLimited(files, 16, (f) => S.decodeImage(f, 64)); // warm-up
  const start = performance.now();
  for (let r = 0; r < rounds; r++) await S.mapLimited(files, 16, (f) => S.decodeImage(f, 64));
  const elapsed = (performance.now() - start) / 1000;
  console.log(`COCO decoding: ${files.length} real COCO JPEGs x ${rounds} rounds decoded and resized to 64x64 at ` +
    `${((files.length * rounds) / elapsed).toFixed(0)} images/s on ${availableParallelism()} cores`);
}

try {
  fashionMnist();
  cifar();
  await cocoStream();
  await decoding();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
