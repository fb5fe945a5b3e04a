/**
 * A stand-in for the COCO 2017 download, laid out as the real one and as
 * large: annotations/instances_train2017.json (118,287 images, 860,001
 * annotations, 448 MiB) and instances_val2017.json (5,000 images, 36,781
 * annotations, about 20 MB) with COCO's 80 categories (real names and ids),
 * images of COCO's common sizes, polygon segmentations and 1% crowd
 * annotations with run-length masks; and train2017/, val2017/ holding a
 * JPEG for every image of the five assignment classes. The other images'
 * files are absent, as in a partial download: the builder never reads them.
 *
 * Each class has a shape of its own (boat a triangle, cake a disc, couch a
 * long box, dog a star, motorcycle two wheels), drawn at a random place,
 * size, angle and colour over a noisy background with line distractors, so
 * a network can learn the classes and a labelling bug shows as chance
 * accuracy. One image in ten also holds a smaller shape of a second class:
 * the builder's largest-area rule must give it to the larger. The record
 * (standin.json) says which class each image's largest area belongs to.
 *
 * Seeded: two runs with one seed write the same bytes.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';

import { HW5_CLASSES, concurrencyLimit, seededRandom } from '../src/index.js';

export const STANDIN_FORMAT = 'skipstudio-coco-standin/1';

/** The shape of one split of the stand-in. */
export interface SplitShape {
  images: number;
  annotations: number;
  /** The annotation file's size, in bytes (reached within a fraction of a percent). */
  bytes: number;
  /** Images whose largest chosen-class area is each class's: their JPEGs are written. */
  classImages: Record<string, number>;
}

export type SplitName = 'train2017' | 'val2017';

/**
 * COCO 2017's own figures: images, annotations and file size of each split, and
 * the images that hold each assignment class (COCO's per-category image counts).
 */
export const COCO_2017: Record<SplitName, SplitShape> = {
  train2017: {
    images: 118_287,
    annotations: 860_001,
    bytes: 469_785_474,
    classImages: { boat: 3025, cake: 2925, couch: 4423, dog: 4385, motorcycle: 3502 },
  },
  val2017: {
    images: 5000,
    annotations: 36_781,
    bytes: 19_987_840,
    classImages: { boat: 121, cake: 124, couch: 201, dog: 177, motorcycle: 159 },
  },
};

/** COCO's image sizes, most common first (width x height), with how often each is drawn. */
const IMAGE_SIZES: [number, number, number][] = [
  [640, 480, 0.45],
  [480, 640, 0.1],
  [640, 427, 0.15],
  [427, 640, 0.05],
  [640, 424, 0.1],
  [500, 375, 0.1],
  [640, 360, 0.05],
];

/** COCO's 80 categories as the real files give them (from the test fixture, a cut of real COCO). */
function cocoCategories(): { supercategory: string; id: number; name: string }[] {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/coco-tiny/annotations/instances_tiny2017.json');
  return (JSON.parse(readFileSync(fixture, 'utf8')) as { categories: { supercategory: string; id: number; name: string }[] }).categories;
}

type Point = [number, number];

/** A class's outline around (0, 0) at unit size: one polygon or more (a motorcycle's two wheels). */
function outline(shape: string): Point[][] {
  const circle = (cx: number, r: number, n = 24): Point[] =>
    Array.from({ length: n }, (_, i) => [cx + r * Math.cos((2 * Math.PI * i) / n), r * Math.sin((2 * Math.PI * i) / n)]);
  switch (shape) {
    case 'boat':
      return [
        [
          [-1, 0.6],
          [1, 0.6],
          [0, -0.9],
        ],
      ];
    case 'cake':
      return [circle(0, 0.8)];
    case 'couch':
      return [
        [
          [-1, -0.35],
          [1, -0.35],
          [1, 0.35],
          [-1, 0.35],
        ],
      ];
    case 'dog':
      return [
        Array.from({ length: 10 }, (_, i) => {
          const r = i % 2 === 0 ? 1 : 0.42;
          const a = (Math.PI * i) / 5 - Math.PI / 2;
          return [r * Math.cos(a), r * Math.sin(a)] as Point;
        }),
      ];
    case 'motorcycle':
      return [circle(-0.55, 0.42, 16), circle(0.55, 0.42, 16)];
    default:
      throw new RangeError(`the stand-in draws no shape for '${shape}'`);
  }
}

/** Shoelace area of a polygon. */
function polygonArea(points: Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** An object placed in an image: its polygons in pixels, its COCO area and bounding box. */
interface Placed {
  polygons: Point[][];
  area: number;
  bbox: [number, number, number, number];
}

function place(shape: string, cx: number, cy: number, scale: number, angle: number): Placed {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const polygons = outline(shape).map((polygon) =>
    polygon.map(([x, y]) => [round2(cx + scale * (x * cos - y * sin)), round2(cy + scale * (x * sin + y * cos))] as Point),
  );
  const xs = polygons.flat().map((p) => p[0]);
  const ys = polygons.flat().map((p) => p[1]);
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  return {
    polygons,
    area: round2(polygons.reduce((a, p) => a + polygonArea(p), 0)),
    bbox: [x0, y0, round2(Math.max(...xs) - x0), round2(Math.max(...ys) - y0)],
  };
}

interface ClassImage {
  id: number;
  width: number;
  height: number;
  /** The class of largest area first; a second, smaller one in one image in ten. */
  objects: { category: string; placed: Placed; colour: string }[];
  distractors: { from: Point; to: Point; colour: string; width: number }[];
  background: string;
}

/** Writes the annotation file in pieces of about 4 MB, hashing as it goes. */
class JsonWriter {
  #fd: number;
  #pending: string[] = [];
  #pendingLength = 0;
  #hash = createHash('sha256');
  bytes = 0;
  constructor(path: string) {
    this.#fd = openSync(path, 'w');
  }
  write(text: string): void {
    this.#pending.push(text);
    this.#pendingLength += text.length;
    this.bytes += Buffer.byteLength(text);
    if (this.#pendingLength > 4_000_000) this.flush();
  }
  flush(): void {
    const chunk = Buffer.from(this.#pending.join(''));
    this.#hash.update(chunk);
    writeSync(this.#fd, chunk);
    this.#pending = [];
    this.#pendingLength = 0;
  }
  close(): string {
    this.flush();
    closeSync(this.#fd);
    return this.#hash.digest('hex');
  }
}

const rgb = (random: () => number, low = 0, high = 255) =>
  `rgb(${[0, 1, 2].map(() => Math.floor(low + random() * (high - low))).join(',')})`;

export interface SplitRecord extends SplitShape {
  sha256: string;
  /** The class of each written image (its largest chosen-class area), by image id. */
  labels: Record<string, string>;
  /** Image entries whose file is absent (every image of no assignment class). */
  absentFiles: number;
}

export interface StandInRecord {
  format: string;
  seed: number;
  classes: string[];
  splits: Partial<Record<SplitName, SplitRecord>>;
  note: string;
}

export interface StandInOptions {
  out: string;
  seed?: number;
  /** Each split's shape (default COCO 2017's own). */
  splits?: Partial<Record<SplitName, SplitShape>>;
  /** Images drawn at once (sharp draws on libuv's threads). */
  concurrency?: number;
  log?: (line: string) => void;
}

/** Writes the stand-in (annotation files, class images, standin.json) under options.out. */
export async function writeCocoStandIn(options: StandInOptions): Promise<StandInRecord> {
  const seed = options.seed ?? 2017;
  const shapes = options.splits ?? COCO_2017;
  const record: StandInRecord = {
    format: STANDIN_FORMAT,
    seed,
    classes: HW5_CLASSES,
    splits: {},
    note: 'Only the images of the five assignment classes have files; the other image entries name absent files, as in a partial download.',
  };
  mkdirSync(join(options.out, 'annotations'), { recursive: true });
  for (const [index, [split, shape]] of (Object.entries(shapes) as [SplitName, SplitShape][]).entries()) {
    record.splits[split] = await writeSplit(options, split, shape, seed * 7919 + index);
  }
  writeFileSync(join(options.out, 'standin.json'), `${JSON.stringify(record)}\n`);
  return record;
}

async function writeSplit(options: StandInOptions, split: SplitName, shape: SplitShape, seed: number): Promise<SplitRecord> {
  const log = options.log ?? (() => {});
  const random = seededRandom(seed);
  const categories = cocoCategories();
  const classes = Object.keys(shape.classImages);
  const chosenTotal = Object.values(shape.classImages).reduce((a, b) => a + b, 0);
  if (chosenTotal > shape.images) throw new RangeError(`${split}: ${chosenTotal} class images asked for, but only ${shape.images} images`);
  // Sparse, increasing ids as COCO's, and the images of the classes spread among them.
  const ids: number[] = [];
  for (let id = 0, i = 0; i < shape.images; i++) ids.push((id += 1 + Math.floor(random() * 8)));
  const sizes = ids.map(() => {
    let u = random();
    for (const [w, h, p] of IMAGE_SIZES) if ((u -= p) < 0) return [w, h] as const;
    return [640, 480] as const;
  });
  const classOf = new Map<number, string>();
  const order = ids.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let next = 0;
  for (const name of classes) for (let k = 0; k < shape.classImages[name]!; k++) classOf.set(order[next++]!, name);

  const classImages: ClassImage[] = [];
  for (const [i, name] of [...classOf.entries()].sort((a, b) => a[0] - b[0])) {
    const [width, height] = sizes[i]!;
    const side = Math.min(width, height);
    const scale = side * (0.22 + random() * 0.2);
    const main = place(name, width * (0.3 + random() * 0.4), height * (0.3 + random() * 0.4), scale, random() * 2 * Math.PI);
    const objects = [{ category: name, placed: main, colour: rgb(random) }];
    if (random() < 0.1) {
      // A second class, smaller by area whatever its shape: at most half of the first's.
      const other = classes[(classes.indexOf(name) + 1 + Math.floor(random() * (classes.length - 1))) % classes.length]!;
      const unit = place(other, 0, 0, 1, 0).area;
      const otherScale = Math.sqrt((main.area * (0.15 + random() * 0.35)) / unit);
      objects.push({
        category: other,
        placed: place(other, width * (0.1 + random() * 0.8), height * (0.1 + random() * 0.8), otherScale, random() * 2 * Math.PI),
        colour: rgb(random),
      });
    }
    const distractors = Array.from({ length: Math.floor(random() * 4) }, () => ({
      from: [random() * width, random() * height] as Point,
      to: [random() * width, random() * height] as Point,
      colour: rgb(random),
      width: 2 + random() * 6,
    }));
    classImages.push({ id: ids[i]!, width, height, objects, distractors, background: rgb(random, 40, 215) });
  }

  const started = performance.now();
  const sha256 = writeAnnotationFile(join(options.out, 'annotations', `instances_${split}.json`), shape, {
    ids,
    sizes,
    classImages,
    categories,
    random,
  });
  log(
    `${split}: wrote instances_${split}.json (${(shape.bytes / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const drawStarted = performance.now();
  await drawImages(join(options.out, split), classImages, seed, options.concurrency ?? 8);
  log(`${split}: drew ${classImages.length.toLocaleString('en-US')} JPEGs in ${((performance.now() - drawStarted) / 1000).toFixed(1)} s`);
  return {
    ...shape,
    sha256,
    absentFiles: shape.images - classImages.length,
    labels: Object.fromEntries(classImages.map((image) => [String(image.id), image.objects[0]!.category])),
  };
}

const fileName = (id: number) => `${String(id).padStart(12, '0')}.jpg`;

interface SplitContent {
  ids: number[];
  sizes: (readonly [number, number])[];
  classImages: ClassImage[];
  categories: { supercategory: string; id: number; name: string }[];
  random: () => number;
}

/** The annotation file: images, the class images' own annotations, then others (random polygons) up to the counts and size. */
function writeAnnotationFile(path: string, shape: SplitShape, content: SplitContent): string {
  const { ids, sizes, classImages, categories, random } = content;
  const out = new JsonWriter(path);
  out.write(
    '{"info":{"description":"skipstudio COCO 2017 stand-in","url":"http://cocodataset.org","version":"1.0","year":2017,' +
      '"contributor":"skipstudio","date_created":"2017/09/01"},"licenses":[{"url":"http://creativecommons.org/licenses/by-nc-sa/2.0/",' +
      '"id":1,"name":"Attribution-NonCommercial-ShareAlike License"}],"images":[',
  );
  ids.forEach((id, i) => {
    const [width, height] = sizes[i]!;
    out.write(
      `${i > 0 ? ',' : ''}${JSON.stringify({
        license: 1 + (id % 8),
        file_name: fileName(id),
        coco_url: `http://images.cocodataset.org/train2017/${fileName(id)}`,
        height,
        width,
        date_captured: '2013-11-14 11:18:45',
        flickr_url: `http://farm4.staticflickr.com/${id % 9000}/${id}_e89efb3ae2_z.jpg`,
        id,
      })}`,
    );
  });
  out.write('],"annotations":[');
  const categoryId = new Map(categories.map((c) => [c.name, c.id]));
  const others = categories.filter((c) => !HW5_CLASSES.includes(c.name));
  let written = 0;
  const annotation = (fields: object) => out.write(`${written++ > 0 ? ',' : ''}${JSON.stringify({ ...fields, id: written })}`);
  for (const image of classImages) {
    for (const { category, placed } of image.objects) {
      annotation({
        segmentation: placed.polygons.map((p) => p.flat()),
        area: placed.area,
        iscrowd: 0,
        image_id: image.id,
        bbox: placed.bbox,
        category_id: categoryId.get(category),
      });
    }
  }
  const tail = `],"categories":${JSON.stringify(categories)}}`;
  while (written < shape.annotations) {
    const i = Math.floor(random() * ids.length);
    const [width, height] = sizes[i]!;
    // Polygons are where the bytes are, as in COCO's files: their lengths keep the file on course for its size.
    const budget = (shape.bytes - out.bytes - tail.length) / (shape.annotations - written);
    const w = round2(10 + random() * (width - 10));
    const h = round2(10 + random() * (height - 10));
    const [x, y] = [round2(random() * (width - w)), round2(random() * (height - h))];
    let segmentation: unknown;
    if (random() < 0.01) {
      const counts: number[] = [];
      for (let left = width * height; left > 0;) left -= counts[counts.length] = Math.min(left, 1 + Math.floor(random() * 2000));
      segmentation = { counts, size: [height, width] };
    } else {
      const pairs = Math.max(3, Math.round((budget - 190) / 14));
      segmentation = [Array.from({ length: pairs }, () => [round2(x + random() * w), round2(y + random() * h)]).flat()];
    }
    annotation({
      segmentation,
      area: round2(w * h * 0.6),
      iscrowd: segmentation instanceof Array ? 0 : 1,
      image_id: ids[i],
      bbox: [x, y, w, h],
      category_id: others[Math.floor(random() * others.length)]!.id,
    });
  }
  out.write(tail);
  return out.close();
}

/** Draws each class image (SVG shapes over seeded noise) and writes it as a JPEG of quality 90. */
async function drawImages(folder: string, images: ClassImage[], seed: number, concurrency: number): Promise<void> {
  mkdirSync(folder, { recursive: true });
  const noise = new Map<string, Buffer>();
  const noiseOf = (width: number, height: number) => {
    const key = `${width}x${height}`;
    if (!noise.has(key)) {
      const random = seededRandom(seed + width * 7 + height);
      noise.set(key, Buffer.from(Uint8Array.from({ length: width * height * 3 }, () => 96 + Math.floor(random() * 64))));
    }
    return noise.get(key)!;
  };
  const limit = concurrencyLimit(concurrency);
  await Promise.all(
    images.map((image) =>
      limit(async () => {
        const shapes = image.objects
          .map(({ placed, colour }) =>
            placed.polygons.map((p) => `<polygon points="${p.map((q) => q.join(',')).join(' ')}" fill="${colour}"/>`).join(''),
          )
          .reverse()
          .join('');
        const lines = image.distractors
          .map(
            (d) =>
              `<line x1="${d.from[0]}" y1="${d.from[1]}" x2="${d.to[0]}" y2="${d.to[1]}" stroke="${d.colour}" stroke-width="${d.width.toFixed(1)}"/>`,
          )
          .join('');
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}"><rect width="100%" height="100%" fill="${image.background}"/>${lines}${shapes}</svg>`;
        await sharp(Buffer.from(svg))
          .composite([
            { input: noiseOf(image.width, image.height), raw: { width: image.width, height: image.height, channels: 3 }, blend: 'overlay' },
          ])
          .jpeg({ quality: 90 })
          .toFile(join(folder, fileName(image.id)));
      }),
    ),
  );
}
