/**
 * The exercise's dataset: a subset of COCO built from an instances_*.json
 * file and its image folder. N categories (e.g. boat, cake, couch, dog,
 * motorcycle), a number of train and val images per category, each image used
 * once only, resized to a square, stored as a compact cache (uint8 pixels and
 * labels in safetensors) plus a manifest of image ids.
 *
 * The annotation file (the full train2017 file is 448 MB) is read in chunks by
 * a validating scanner that builds nothing it does not keep (coco-json.ts):
 * images are kept as id -> file name, annotations as three typed columns
 * (image, category, area), so memory stays far below the file's size.
 * Ids must be non-negative safe integers (kept exactly, in float64 columns);
 * a file_name must stay inside the image folder. Only regular files are read
 * as images, each within a time limit, and decoded and resized by sharp
 * (libvips) on its worker threads.
 *
 * The parts, one job each: reading the annotation file (coco-annotations.ts),
 * what a built subset is (coco-manifest.ts), building one (coco-build.ts,
 * with coco-decode.ts and coco-write.ts), and loading one (coco-load.ts).
 * This file lists what they export.
 */
export { type CocoAnnotations, type CocoReadOptions, Column, categoryClash, readCocoAnnotations } from './coco-annotations.js';
export { ASSIGNMENT_RULE, COCO_SIZE_RANGE, COCO_SUBSET_FORMAT, type CocoBuildOptions, type CocoManifest } from './coco-manifest.js';
export { buildCocoSubset } from './coco-build.js';
export { loadCocoSubset } from './coco-load.js';
