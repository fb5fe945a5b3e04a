/**
 * The assignment's COCO subset: its classes, where `--preset hw5` looks for
 * it, and the command that builds it. Pure data, so the report can print the
 * command without loading the engine.
 */
import { shellCommand } from '../text/format.js';

/** The five COCO classes of the assignment's subset, in label order. */
export const HW5_CLASSES = ['boat', 'cake', 'couch', 'dog', 'motorcycle'];

/** Where `--preset hw5` looks for its COCO subset, and where the `data coco` command it suggests builds it. */
export const HW5_SUBSET_DIR = 'data/coco-hw5';

/** The assignment's subset: training and test images per class, from train2017, resized to 64x64. */
export const HW5_SUBSET = { trainPerClass: 1600, valPerClass: 400, size: 64 };

/** The `data coco` arguments that build the assignment's subset from a COCO 2017 folder (its annotations/ and train2017/). */
export function hw5SubsetArgs(coco: string, dataDir: string = HW5_SUBSET_DIR, subset = HW5_SUBSET): string[] {
  return [
    'data',
    'coco',
    '--annotations',
    `${coco}/annotations/instances_train2017.json`,
    '--images',
    `${coco}/train2017`,
    '--classes',
    HW5_CLASSES.join(','),
    '--train-per-class',
    String(subset.trainPerClass),
    '--val-per-class',
    String(subset.valPerClass),
    '--size',
    String(subset.size),
    '--out',
    dataDir,
  ];
}

/** The command that builds the assignment's COCO subset (COCO stands for the folder of the COCO 2017 download). */
export function hw5SubsetCommand(dataDir: string = HW5_SUBSET_DIR): string {
  // Written out rather than through shellCommand, which would escape the commas of --classes.
  const { trainPerClass, valPerClass, size } = HW5_SUBSET;
  return (
    'skipstudio data coco --annotations COCO/annotations/instances_train2017.json --images COCO/train2017 ' +
    `--classes ${HW5_CLASSES.join(',')} --train-per-class ${trainPerClass} --val-per-class ${valPerClass} --size ${size} --out ${shellCommand([dataDir])}`
  );
}
