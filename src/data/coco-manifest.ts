/**
 * What a built COCO subset is: the format tag and fields of its manifest.json, the entries its folder holds, the
 * rule that gives an image its class, and the settings it is built from (the `data coco` command's flags).
 */
/** The format tag of a built subset's manifest.json; loading and --force replacing check it. */
export const COCO_SUBSET_FORMAT = 'skipstudio-coco-subset/1';
/** The least and greatest side a subset's images are resized to: below 8 pixels the models' pooling leaves nothing to classify. */
export const COCO_SIZE_RANGE: readonly [number, number] = [8, 1024];

/** How an image with several chosen categories gets its one class, in words (recorded in the manifest). */
export const ASSIGNMENT_RULE =
  'an image holding several of the chosen categories goes to the one whose annotations cover the largest total area (ties: the category listed first)';

/**
 * buildCocoSubset's settings (the `data coco` command's flags): the annotation file and image folder, the classes, images per class
 * in each split, the square side in pixels, the seed and the output folder.
 */
export interface CocoBuildOptions {
  annotations: string;
  images: string;
  classes: string[];
  trainPerClass: number;
  valPerClass: number;
  size: number;
  seed: number;
  out: string;
  writeImages?: boolean;
  /** Replace an existing output folder. */
  force?: boolean;
  /** Read image files that are links to places outside the image folder (default: refused). */
  followSymlinks?: boolean;
  /** Accept classes with fewer images than asked for. */
  allowFewer?: boolean;
  /** Images decoded at once (sharp decodes on libuv's threads). */
  concurrency?: number;
  /** Seconds allowed to read and decode one image; past it the image counts as corrupt (default 60). */
  imageTimeoutSeconds?: number;
  /** How often progress lines (bytes read, images decoded, with a rate) go to log, in ms (default 1000). */
  progressIntervalMs?: number;
  /** Receives the progress lines and summaries (default: discarded). */
  log?: (line: string) => void;
}

/** The images of one split as they are built: their pixels (CHW), labels and manifest entries, in the same order. */
export interface SplitImages {
  pixels: Uint8Array[];
  labels: number[];
  entries: { id: number; file: string; class: string }[];
}

/**
 * manifest.json of a built subset: its format, classes and COCO category ids, the build options, the annotation file's identity,
 * and each split's images (id, file, class).
 */
export interface CocoManifest {
  format: string;
  classes: string[];
  categoryIds: number[];
  assignmentRule: string;
  options: { trainPerClass: number; valPerClass: number; size: number; seed: number };
  annotationFile: { name: string; bytes: number; sha256: string };
  imagesFolder: string;
  splits: Record<
    'train' | 'val',
    { count: number; perClass: Record<string, number>; images: { id: number; file: string; class: string }[] }
  >;
  /** Image files skipped: absent; not decodable (or past the time limit); not a regular file (a folder, a pipe, a device). */
  skipped: { missing: string[]; corrupt: string[]; notRegularFile: string[] };
}

/** What `data coco` writes in its output folder (the only entries --force may replace). */
export const BUILT_ENTRIES = new Set(['manifest.json', 'train.safetensors', 'val.safetensors', 'images']);
