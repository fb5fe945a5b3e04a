/**
 * Data benchmarks (not tests): how fast the loaders read, how fast and in how
 * much memory the COCO annotation file is read (beside Python's json.load),
 * and how fast COCO images are decoded.
 *
 *   npm run bench:data [-- --coco-mb 94,450 --rounds 3 --decode-rounds 5 --parts fashion-mnist,cifar,coco-json,decode]
 *
 * 1. Fashion-MNIST: loading all 70,000 images (gzipped IDX from Debian's package).
 * 2. CIFAR-10 format: loading generated data_batch_1..5.bin + test_batch.bin,
 *    against a bare read of the same files.
 * 3. COCO annotations: for each size in --coco-mb, a generated instances file
 *    shaped like instances_train2017.json (compact JSON; images; annotations
 *    with polygons of 16 to 64 coordinates and 1% crowd RLE masks; COCO's 80
 *    categories; 30,000 images below 200 MB, else train2017's 118,287), read
 *    by skipstudio's readCocoAnnotations and by Python's json.load, each in a
 *    child process of its own, taking turns round by round (so the machine's
 *    other load falls on both alike): the median time and the peak RSS of the
 *    whole process (for skipstudio: with libtorch loaded, as in the CLI).
 * 4. COCO image decoding: real COCO JPEGs (the 160 of ../shared/coco-tiny where
 *    present, else the 28 of the test fixture) read and decoded to 64x64 by the
 *    builder's own path (loadImageFile, 16 in flight), in images per second.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import * as S from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    'coco-mb': { type: 'string', default: '94,450' },
    rounds: { type: 'string', default: '3' },
    'decode-rounds': { type: 'string', default: '5' },
    parts: { type: 'string', default: 'fashion-mnist,cifar,coco-json,decode' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const repository = join(here, '../..');
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
  console.log(
    `CIFAR-10 format: ${mb.toFixed(0)} MB loaded in ${median(loadTimes).toFixed(3)} s; a bare read of the files takes ` +
      `${median(bareTimes).toFixed(3)} s (${(median(loadTimes) / median(bareTimes)).toFixed(2)}x)`,
  );
}

/**
 * Writes a COCO-shaped instances file of about `megabytes` MB (2^20 bytes) with `images` images:
 * compact JSON as COCO's own files, the same bytes for the same arguments.
 */
async function writeSyntheticCoco(path: string, megabytes: number, images: number): Promise<number> {
  const categories = (
    JSON.parse(readFileSync(join(repository, 'test/fixtures/coco-tiny/annotations/instances_tiny2017.json'), 'utf8')) as {
      categories: { supercategory: string; id: number; name: string }[];
    }
  ).categories;
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const out = createWriteStream(path);
  let bytes = 0;
  const write = (text: string) =>
    new Promise<void>((resolve) => {
      bytes += text.length;
      if (out.write(text)) resolve();
      else out.once('drain', resolve);
    });
  await write(
    '{"info":{"description":"synthetic, shaped like COCO 2017","url":"http://cocodataset.org","version":"1.0","year":2017,' +
      '"contributor":"COCO Consortium","date_created":"2017/09/01"},"licenses":[{"url":"http://creativecommons.org/licenses/by-nc-sa/2.0/",' +
      '"id":1,"name":"Attribution-NonCommercial-ShareAlike License"}],"images":[',
  );
  for (let i = 1; i <= images; i++) {
    const name = String(i).padStart(12, '0');
    await write(
      (i > 1 ? ',' : '') +
        JSON.stringify({
          license: 1 + (i % 8),
          file_name: `${name}.jpg`,
          coco_url: `http://images.cocodataset.org/train2017/${name}.jpg`,
          height: 480,
          width: 640,
          date_captured: '2013-11-14 11:18:45',
          flickr_url: `http://farm4.staticflickr.com/${i % 9000}/${i}_e89efb3ae2_z.jpg`,
          id: i,
        }),
    );
  }
  await write('],"annotations":[');
  let id = 0;
  do {
    id += 1;
    const crowd = random() < 0.01;
    // Polygons (or, for crowds, run-length masks) are where the bytes are, as in COCO's files.
    const segmentation = crowd
      ? { counts: Array.from({ length: 100 }, () => Math.floor(random() * 400)), size: [480, 640] }
      : [Array.from({ length: 2 * (8 + Math.floor(random() * 25)) }, () => Math.round(random() * 64000) / 100)];
    const w = random() * 300;
    const h = random() * 300;
    await write(
      (id > 1 ? ',' : '') +
        JSON.stringify({
          segmentation,
          area: w * h * 0.61,
          iscrowd: crowd ? 1 : 0,
          image_id: 1 + Math.floor(random() * images),
          bbox: [
            Math.round(random() * 30000) / 100,
            Math.round(random() * 30000) / 100,
            Math.round(w * 100) / 100,
            Math.round(h * 100) / 100,
          ],
          category_id: categories[Math.floor(random() * categories.length)]!.id,
          id,
        }),
    );
  } while (bytes < megabytes * 2 ** 20);
  await write(`],"categories":${JSON.stringify(categories)}}`);
  await new Promise((resolve) => out.end(resolve));
  return id;
}

interface ReadRun {
  seconds: number;
  /** Peak resident memory of the whole process (VmHWM), and its resident memory just before the read (VmRSS), in kB. */
  peakKb: number;
  beforeKb: number;
}

/**
 * Reads path in a child process (skipstudio's reader or Python's json.load): its time and memory.
 * Peak RSS is read from /proc/self/status (VmHWM): getrusage's maxrss is not used, since Linux
 * carries it over from the parent across fork and exec, so a child of this process would report
 * the benchmark's own peak.
 */
function readInChild(reader: 'skipstudio' | 'python', path: string): ReadRun {
  const run =
    reader === 'skipstudio'
      ? spawnSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `
        import { readFileSync } from 'node:fs';
        import { readCocoAnnotations } from ${JSON.stringify(join(here, '../src/index.js'))};
        const status = (key) => Number(new RegExp('^' + key + ':\\\\s+(\\\\d+) kB', 'm').exec(readFileSync('/proc/self/status', 'utf8'))[1]);
        const beforeKb = status('VmRSS');
        const start = performance.now();
        const coco = await readCocoAnnotations(${JSON.stringify(path)});
        const seconds = (performance.now() - start) / 1000;
        console.log(JSON.stringify({ seconds, annotations: coco.annotationImage.length, peakKb: status('VmHWM'), beforeKb }));`,
          ],
          { encoding: 'utf8' },
        )
      : spawnSync(
          'python3',
          [
            '-c',
            `
import json, re, sys, time
def status(key):
    with open('/proc/self/status') as f:
        return int(re.search('^' + key + r':\\s+(\\d+) kB', f.read(), re.M).group(1))
before = status('VmRSS')
start = time.perf_counter()
with open(sys.argv[1]) as f:
    coco = json.load(f)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "annotations": len(coco["annotations"]), "peakKb": status('VmHWM'), "beforeKb": before}))`,
            path,
          ],
          { encoding: 'utf8' },
        );
  if (run.status !== 0) throw new Error(`${reader}: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout) as ReadRun;
}

async function cocoAnnotations(): Promise<void> {
  const sizes = flags['coco-mb'].split(',').map(Number);
  const rounds = Number(flags.rounds);
  const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  const havePython = python.status === 0;
  const rows: string[][] = [];
  for (const megabytes of sizes) {
    const path = join(scratch, `instances_synthetic_${megabytes}.json`);
    const images = megabytes < 200 ? 30_000 : 118_287;
    const annotations = await writeSyntheticCoco(path, megabytes, images);
    const bytes = statSync(path).size;
    const ours: ReadRun[] = [];
    const theirs: ReadRun[] = [];
    for (let r = 0; r < rounds; r++) {
      // Taking turns, the order swapped every round.
      const order = r % 2 === 0 ? (['skipstudio', 'python'] as const) : (['python', 'skipstudio'] as const);
      for (const reader of order) {
        if (reader === 'python' && !havePython) continue;
        (reader === 'skipstudio' ? ours : theirs).push(readInChild(reader, path));
      }
    }
    rmSync(path);
    const time = (runs: ReadRun[]) => median(runs.map((run) => run.seconds));
    const rss = (runs: ReadRun[]) => Math.max(...runs.map((run) => run.peakKb)) / 1024;
    const growth = (runs: ReadRun[]) => Math.max(...runs.map((run) => run.peakKb - run.beforeKb)) / 1024;
    const range = (runs: ReadRun[]) =>
      `${Math.min(...runs.map((run) => run.seconds)).toFixed(2)}-${Math.max(...runs.map((run) => run.seconds)).toFixed(2)}`;
    rows.push([
      `${(bytes / 2 ** 20).toFixed(0)} MB (${images.toLocaleString('en-US')} images, ${annotations.toLocaleString('en-US')} annotations)`,
      `${time(ours).toFixed(2)} s (${range(ours)}), ${(bytes / 2 ** 20 / time(ours)).toFixed(0)} MB/s`,
      `${rss(ours).toFixed(0)} MB (+${growth(ours).toFixed(0)})`,
      havePython ? `${time(theirs).toFixed(2)} s (${range(theirs)})` : 'no python3',
      havePython ? `${rss(theirs).toFixed(0)} MB (+${growth(theirs).toFixed(0)})` : '',
      havePython ? `${(time(theirs) / time(ours)).toFixed(1)}x` : '',
    ]);
  }
  console.log(
    `COCO annotations: generated instances files, each read ${rounds} times by each reader in turn, each time in a fresh process; ` +
      'the median time (and range); the peak RSS of the whole process (and its growth during the read), the largest of the rounds',
  );
  printTable(['file', 'skipstudio readCocoAnnotations', 'peak RSS', 'Python json.load', 'peak RSS', 'Python time / skipstudio time'], rows);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

async function decoding(): Promise<void> {
  const shared = join(repository, '../shared/coco-tiny');
  const files = existsSync(shared)
    ? ['train2017', 'val2017'].flatMap((split) => readdirSync(join(shared, split)).map((f) => join(shared, split, f)))
    : readdirSync(join(repository, 'test/fixtures/coco-tiny/tiny2017')).map((f) => join(repository, 'test/fixtures/coco-tiny/tiny2017', f));
  const rounds = Number(flags['decode-rounds']);
  const limit = S.concurrencyLimit(16);
  const timed = async (decode: (file: string) => Promise<unknown>, list = files) => {
    const all = () => Promise.all(list.map((f) => limit(() => decode(f))));
    await all(); // warm-up
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let r = 0; r < rounds; r++) await all();
    const used = process.cpuUsage(cpu);
    const n = list.length * rounds;
    return { perSecond: n / ((performance.now() - start) / 1000), cpuMs: (used.user + used.system) / 1000 / n };
  };
  const builderPath = async (f: string) => {
    const pixels = await S.loadImageFile(f, 64);
    if (typeof pixels === 'string') throw new Error(`${f}: ${pixels}`);
  };
  const builder = await timed(builderPath);
  // The JPEG decoder alone at its cheapest: 1/8 scale (libjpeg's smallest DCT scaling), nothing after it.
  const sizes = new Map(await Promise.all(files.map(async (f) => [f, await sharp(f).metadata()] as const)));
  const floor = await timed(async (f) => {
    const { width, height } = sizes.get(f)!;
    await sharp(f)
      .resize(Math.max(1, Math.floor(width! / 8)), Math.max(1, Math.floor(height! / 8)), { fit: 'fill' })
      .raw()
      .toBuffer();
  });
  console.log(
    `COCO decoding: ${files.length} real COCO JPEGs x ${rounds} rounds read, decoded and resized to 64x64 by the builder's path at ` +
      `${builder.perSecond.toFixed(0)} images/s on ${availableParallelism()} cores (${builder.cpuMs.toFixed(2)} ms of CPU per image); ` +
      `the JPEG decoder alone at 1/8 scale: ${floor.perSecond.toFixed(0)} images/s (${floor.cpuMs.toFixed(2)} ms of CPU per image)`,
  );
  await colourProfiles(
    files.filter((f) => sizes.get(f)!.icc !== undefined),
    files.filter((f) => sizes.get(f)!.icc === undefined),
    timed,
    builderPath,
  );
  // sharp's cost per image regardless of its size: a 16x16 JPEG through the same 1/8 decode.
  const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 120, b: 60 } } })
    .jpeg()
    .toBuffer();
  const setUp = await timed(async () => {
    await sharp(tiny).resize(2, 2, { fit: 'fill' }).raw().toBuffer();
  });
  console.log(`sharp's per-image set-up: a 16x16 JPEG decoded at 1/8 costs ${setUp.cpuMs.toFixed(2)} ms of CPU`);
  djpegReference(files);
}

type Timed = (decode: (file: string) => Promise<unknown>, list?: string[]) => Promise<{ perSecond: number; cpuMs: number }>;

/**
 * The builder's path on the images that carry an ICC profile and on those that
 * do not, and the first again with the profile ignored: sharp converts each
 * profiled image to sRGB with a colour transform (lcms) built anew per image,
 * a cost the pixels depend on, so the builder keeps it.
 */
async function colourProfiles(profiled: string[], plain: string[], timed: Timed, builderPath: (f: string) => Promise<void>): Promise<void> {
  if (profiled.length === 0 || plain.length === 0) return;
  const withProfile = await timed(builderPath, profiled);
  const without = await timed(builderPath, plain);
  const ignored = await timed((f) => sharp(f, { ignoreIcc: true }).rotate().resize(64, 64, { fit: 'fill' }).raw().toBuffer(), profiled);
  console.log(
    `colour profiles: ${profiled.length} of ${profiled.length + plain.length} images carry an ICC profile: ` +
      `${withProfile.cpuMs.toFixed(2)} ms of CPU per image (${ignored.cpuMs.toFixed(2)} ms with the profile ignored, other pixels), ` +
      `the other ${plain.length} ${without.cpuMs.toFixed(2)} ms: at most ${((availableParallelism() * 1000) / without.cpuMs).toFixed(0)} images/s on ${availableParallelism()} cores for images without one`,
  );
}

/**
 * libjpeg-turbo's own decoder on the same files at 1/8 scale (Debian's
 * libjpeg-turbo-progs, when installed), one process per file in one shell
 * loop, beside the same loop printing djpeg's version: the difference is
 * the decoding, less the start of a process.
 */
function djpegReference(files: string[]): void {
  if (spawnSync('djpeg', ['-version']).error !== undefined) {
    console.log('libjpeg-turbo reference skipped: no djpeg (apt-get install libjpeg-turbo-progs)');
    return;
  }
  const loop = (command: string) => {
    const start = performance.now();
    spawnSync('bash', ['-c', `for f in "$@"; do ${command}; done`, 'loop', ...files]);
    return (performance.now() - start) / files.length;
  };
  const decode = loop('djpeg -scale 1/8 -outfile /dev/null "$f"');
  const startUp = loop('djpeg -version 2>/dev/null');
  console.log(
    `libjpeg-turbo's djpeg -scale 1/8: ${decode.toFixed(2)} ms a file in a shell loop, ${startUp.toFixed(2)} ms of it starting djpeg ` +
      `(${(decode - startUp).toFixed(2)} ms decoding)`,
  );
}

const PARTS: Record<string, () => void | Promise<void>> = {
  'fashion-mnist': fashionMnist,
  cifar,
  'coco-json': cocoAnnotations,
  decode: decoding,
};
try {
  for (const part of flags.parts!.split(',')) {
    const run = PARTS[part];
    if (run === undefined) throw new Error(`--parts: unknown part '${part}' (known: ${Object.keys(PARTS).join(', ')})`);
    await run();
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
