/**
 * The names of the datasets skipstudio reads, declared once: the registry
 * holds one entry per name (the compiler checks it), and the settings' help
 * and the CLI's lists are made from it. No loader is imported here, so the
 * settings table lists the datasets without loading any.
 */
export const DATASET_NAMES = ['fashion-mnist', 'cifar10', 'coco', 'imagefolder'] as const;

/** One of {@link DATASET_NAMES}. */
export type DatasetName = (typeof DATASET_NAMES)[number];
