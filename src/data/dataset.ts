/**
 * The in-memory image dataset every loader produces: uint8 pixels in
 * [N, C, H, W] order, one label per image, and the class names.
 */

/** The shape of one image: channels, height and width. */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** An in-memory image dataset: uint8 pixels in [N, C, H, W] order, one label (class index) per image, and the class names. */
export interface ImageDataset {
  name: string;
  /** Pixels, N * C * H * W bytes, image after image, channel planes within an image. */
  images: Uint8Array;
  labels: Uint8Array;
  shape: ImageShape;
  classes: string[];
}

/** A named split pair, as the loaders return them. */
export interface DatasetSplits {
  train: ImageDataset;
  test: ImageDataset;
}

/** An error about a data file: names the file and what is wrong with it. */
export class DataFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataFileError';
  }
}
