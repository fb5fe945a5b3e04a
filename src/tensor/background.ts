/**
 * Work that runs on a libuv worker thread while JavaScript goes on: today the
 * assembly of a training batch, so the data loader can prefetch.
 */
import { native } from './native.js';
import { Tensor, handleOf } from './tensor.js';

/**
 * (pixels[index] as float32 - offset) / scale and labels[index], computed off
 * the main thread. pixels: uint8 [N, C, H, W]; offset, scale: [1, C, 1, 1].
 */
export async function gatherBatchInBackground(
  pixels: Tensor,
  labels: Tensor,
  index: Tensor,
  offset: Tensor,
  scale: Tensor,
): Promise<[Tensor, Tensor]> {
  const op = 'gatherBatchInBackground';
  const [x, y] = await native.gatherBatch(
    handleOf(pixels, op),
    handleOf(labels, op),
    handleOf(index, op),
    handleOf(offset, op),
    handleOf(scale, op),
  );
  return [new Tensor(x), new Tensor(y)];
}
