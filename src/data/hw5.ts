/**
 * The assignment's COCO subset: its classes, where `--preset hw5` looks for
 * it, and the command that builds it. Pure data, so the report can print the
 * command without loading the engine.
 */
import { shellCommand } from '../nn/format.js';

export const HW5_CLASSES = ['boat', 'cake', 'couch', 'dog', 'motorcycle'];

/** Where `--preset hw5` looks for its COCO subset, and where the `data coco` command it suggests builds it. */
export const HW5_SUBSET_DIR = 'data/coco-hw5';

/** The command that builds the assignment's COCO subset (COCO stands for the folder of the COCO 2017 download). */
export function hw5SubsetCommand(dataDir: string = HW5_SUBSET_DIR): string {
  return 'skipstudio data coco --annotations COCO/annotations/instances_train2017.json --images COCO/train2017 ' +
    `--classes ${HW5_CLASSES.join(',')} --train-per-class 1600 --val-per-class 400 --size 64 --out ${shellCommand([dataDir])}`;
}
