/** `skipstudio data`: build the exercise's COCO subset, and look at any dataset (counts, statistics, a grid of samples). */
import type { Command } from 'commander';

import {
  COCO_SIZE_RANGE,
  HW5_CLASSES,
  HW5_SUBSET,
  buildCocoSubset,
  datasetNames,
  describeDataset,
  formatDatasetInfo,
  loadDataset,
  sampleGrid,
} from '../data/index.js';
import { writeFileAtomic } from '../io/index.js';
import { checkOutputFile } from '../runs/index.js';
import { dataset, integerIn, nonNegativeInteger } from './options.js';

/** Adds `data coco`, `data info` and `data show` to the program. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('build and look at datasets');

  data
    .command('coco')
    .description("build the exercise's COCO subset from an instances_*.json file and its image folder")
    .requiredOption(
      '--annotations <file>',
      'a COCO instances_*.json file (read in bounded memory: the 450 MB train2017 file takes seconds)',
    )
    .requiredOption('--images <dir>', 'the folder of its images (e.g. train2017/)')
    .option(
      '--classes <list>',
      'comma-separated COCO category names',
      (v: string) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      HW5_CLASSES,
    )
    .option('--train-per-class <n>', 'training images per category', nonNegativeInteger, HW5_SUBSET.trainPerClass)
    .option('--val-per-class <n>', 'validation images per category', nonNegativeInteger, HW5_SUBSET.valPerClass)
    .option('--size <n>', 'resize every image to n x n', integerIn(...COCO_SIZE_RANGE), HW5_SUBSET.size)
    .option('--seed <n>', 'seed of the choice of images', integerIn(0, 2 ** 32 - 1), 0)
    .requiredOption(
      '--out <dir>',
      'the folder to build (an existing folder is refused unless it is empty, or --force and it holds a subset built here)',
    )
    .option('--write-images', 'also write the resized images as JPEGs in class folders')
    .option('--force', 'replace an output folder that holds a subset built by data coco (never any other folder)')
    .option('--allow-fewer', 'accept categories with fewer usable images than asked for')
    .option('--follow-symlinks', 'read image files that are links to places outside --images (default: refused, like file_names with ..)')
    .action(
      async (flags: {
        annotations: string;
        images: string;
        classes: string[];
        trainPerClass: number;
        valPerClass: number;
        size: number;
        seed: number;
        out: string;
        writeImages?: boolean;
        force?: boolean;
        allowFewer?: boolean;
        followSymlinks?: boolean;
      }) => {
        const started = performance.now();
        const manifest = await buildCocoSubset({ ...flags, log: (line) => console.log(line) });
        const seconds = (performance.now() - started) / 1000;
        const images = manifest.splits.train.count + manifest.splits.val.count;
        console.log(
          `built ${flags.out}: ${manifest.splits.train.count} train and ${manifest.splits.val.count} val images of ${manifest.classes.length} classes ` +
            `at ${flags.size}x${flags.size} in ${seconds.toFixed(1)} s (${(images / seconds).toFixed(0)} images/s); ` +
            `skipped ${manifest.skipped.missing.length} missing and ${manifest.skipped.corrupt.length} corrupt images` +
            (manifest.skipped.notRegularFile.length > 0 ? `, and ${manifest.skipped.notRegularFile.length} not regular files` : ''),
        );
      },
    );

  data
    .command('info')
    .argument('[dataset]', `${datasetNames().join(', ')}`, 'fashion-mnist')
    .option('--data-dir <dir>', 'folder with the dataset files')
    .option('--json', 'print as JSON')
    .description('counts per class and split, image shape, per-channel mean and std')
    .action(async (name: string, flags: { dataDir?: string; json?: boolean }) => {
      const report = describeDataset(await loadDataset(dataset(name), flags.dataDir));
      console.log(flags.json ? JSON.stringify(report, null, 2) : formatDatasetInfo(report));
    });

  data
    .command('show')
    .argument('[dataset]', `${datasetNames().join(', ')}`, 'fashion-mnist')
    .option('--data-dir <dir>', 'folder with the dataset files')
    .requiredOption('--out <file>', "the PNG to write, e.g. grid.png; never one of a run's own files, nor a device or folder")
    .option('--force', 'replace the output file when it exists')
    .option('--per-class <n>', 'images per class', integerIn(1, 1000), 8)
    .option('--split <name>', 'train or test', 'train')
    .description('a labelled grid of sample images per class, to see the data before training on it')
    .action(async (name: string, flags: { dataDir?: string; out: string; force?: boolean; perClass: number; split: string }) => {
      if (flags.split !== 'train' && flags.split !== 'test') throw new Error(`--split must be train or test, got '${flags.split}'`);
      checkOutputFile(flags.out, { force: flags.force });
      const splits = await loadDataset(dataset(name), flags.dataDir);
      writeFileAtomic(flags.out, await sampleGrid(splits[flags.split], { perClass: flags.perClass }));
      console.log(`wrote ${flags.out}`);
    });
}
