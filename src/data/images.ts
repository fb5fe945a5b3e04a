/** Image decoding for the builders and ImageFolder: any JPEG, PNG or WebP to RGB, resized, channel-first. */
import sharp from 'sharp';

/** Decodes, applies EXIF rotation, converts to RGB and resizes to size x size; pixels come out as (C, H, W). */
export async function decodeImage(path: string, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(path).rotate().resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb')
    .raw().toBuffer({ resolveWithObject: true });
  const plane = size * size;
  const out = new Uint8Array(3 * plane);
  const channels = info.channels;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = data[p * channels + Math.min(c, channels - 1)]!;
  }
  return out;
}

/** Maps items through fn with at most `limit` promises in flight, keeping the order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
