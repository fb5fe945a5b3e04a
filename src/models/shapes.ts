/** The input shape options of a classifier and the checks every model makes on them when it is built. */

export interface ClassifierShape {
  /** [height, width] of the input images. */
  imageSize?: [number, number];
  numClasses?: number;
  inChannels?: number;
}

export function checkClassifierShape(model: string, imageSize: [number, number], numClasses: number, inChannels: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`${model}: numClasses must be a positive integer, got ${numClasses}`);
  }
  if (!Number.isInteger(inChannels) || inChannels < 1) {
    throw new RangeError(`${model}: inChannels must be a positive integer, got ${inChannels}`);
  }
  if (!Array.isArray(imageSize) || imageSize.length !== 2 || !imageSize.every((s) => Number.isInteger(s) && s > 0)) {
    throw new RangeError(`${model}: imageSize must be [height, width] in positive integers, got ${JSON.stringify(imageSize)}`);
  }
}
