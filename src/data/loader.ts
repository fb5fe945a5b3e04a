/**
 * DataLoader: turns an ImageDataset into batches of tensors. The pixels are
 * uploaded once as a uint8 tensor; each batch is an index-select, a cast and
 * a per-channel normalisation in libtorch, so batching costs little next to
 * a training step. The order is a seeded permutation per epoch (its own
 * generator, not libtorch's), so a resumed run sees the same batches.
 */
import { type Tensor, dispose, gatherBatchInBackground, keep, rand, randint, scope, stack, tensor, where } from '../tensor/index.js';
import type { ImageDataset } from './dataset.js';

/** Per-channel mean and standard deviation of pixels scaled to [0, 1]: a batch is normalised as (x / 255 - mean) / std. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/**
 * DataLoader's settings. Defaults: shuffle true, dropLast false, seed 0, normalization mean 0 and std 1 (pixels only scaled to [0, 1]),
 * no augmentation, no sharding.
 */
export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  dropLast?: boolean;
  seed?: number;
  normalization?: Normalization;
  /** Random crop (zero padding of 2 after normalisation) and horizontal flip, drawn from libtorch's generator. */
  augment?: boolean;
  /**
   * This process's share of every epoch in data-parallel training
   * (DistributedSampler): the same seeded order on every rank, padded to a
   * multiple of worldSize, every worldSize-th example from position rank.
   */
  shard?: { rank: number; worldSize: number };
}

/** One batch: x float32 images [B, C, H, W], y int64 labels [B]. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** splitmix32: a small, well-mixed PRNG for data order (and for generated data: the COCO stand-in). Numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** The order of examples in an epoch: a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const random = seededRandom(seed * 1_000_003 + epoch);
  // Stryker disable next-line EqualityOperator: at i = 0 the only choice is j = 0, a swap with itself
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * One rank's share of an epoch's order, as torch's DistributedSampler: padded
 * by wrapping around to a multiple of the world size, then every
 * worldSize-th example from position `rank`, so the shards are disjoint (but
 * for the padding) and equally long.
 */
export function shardOrder(order: Int32Array, rank: number, worldSize: number): Int32Array {
  // Stryker disable next-line ConditionalExpression: with rank >= 0, `rank >= worldSize` already refuses a world size below 1
  if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RangeError(`shardOrder: rank ${rank} of world size ${worldSize}`);
  }
  if (worldSize === 1) return order;
  const perRank = Math.ceil(order.length / worldSize);
  const out = new Int32Array(perRank);
  // Stryker disable next-line EqualityOperator: out[perRank] is past the Int32Array's end, and a write there is ignored
  for (let i = 0; i < perRank; i++) out[i] = order[(rank + i * worldSize) % order.length]!;
  return out;
}

/** Per-channel mean and standard deviation of a dataset's pixels scaled to [0, 1]. */
export function computeNormalization(dataset: ImageDataset): Normalization {
  const { channels, height, width } = dataset.shape;
  const plane = height * width;
  const sums = new Float64Array(channels);
  const squares = new Float64Array(channels);
  const n = dataset.labels.length;
  for (let i = 0; i < n; i++) {
    // Stryker disable next-line EqualityOperator: a channel past the last writes to sums[channels], which a Float64Array ignores
    for (let c = 0; c < channels; c++) {
      const base = (i * channels + c) * plane;
      let s = 0;
      let q = 0;
      for (let k = 0; k < plane; k++) {
        const v = dataset.images[base + k]! / 255;
        s += v;
        q += v * v;
      }
      sums[c]! += s;
      squares[c]! += q;
    }
  }
  const count = n * plane;
  const mean = Array.from(sums, (s) => s / count);
  const std = Array.from(squares, (q, c) => Math.sqrt(Math.max(q / count - mean[c]! ** 2, 1e-12)));
  return { mean, std };
}

const CROP_PADDING = 2;

/** Per image: a horizontal flip with probability 1/2 and a random crop of the zero-padded image. */
function augmentBatch(x: Tensor): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const flipped = where(rand([n, 1, 1, 1]).lt(0.5), x.flip([3]), x);
  const padded = flipped.pad([CROP_PADDING, CROP_PADDING, CROP_PADDING, CROP_PADDING]);
  const offsets = randint(0, 2 * CROP_PADDING + 1, [n, 2]).data() as BigInt64Array;
  const crops = Array.from({ length: n }, (_, i) =>
    padded
      .select(0, i)
      .narrow(1, Number(offsets[2 * i]), h)
      .narrow(2, Number(offsets[2 * i + 1]), w),
  );
  return stack(crops, 0);
}

/** Batches of an ImageDataset as tensors, in a seeded per-epoch order, normalised and optionally augmented. As torch.utils.data.DataLoader. */
export class DataLoader {
  readonly #pixels: Tensor;
  readonly #labels: Tensor;
  // (x/255 - mean)/std computed as (x - 255*mean) / (255*std), on the uint8 values.
  readonly #offset: Tensor;
  readonly #scale: Tensor;
  readonly options: Required<Omit<LoaderOptions, 'normalization' | 'shard'>> & {
    normalization: Normalization;
    shard: { rank: number; worldSize: number };
  };

  constructor(
    readonly dataset: ImageDataset,
    options: LoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`DataLoader: batch size must be a positive integer, got ${options.batchSize}`);
    }
    const { channels, height, width } = dataset.shape;
    const normalization = options.normalization ?? { mean: Array(channels).fill(0), std: Array(channels).fill(1) };
    this.options = {
      shuffle: true,
      dropLast: false,
      seed: 0,
      augment: false,
      ...options,
      normalization,
      shard: options.shard ?? { rank: 0, worldSize: 1 },
    };
    this.#pixels = keep(tensor(dataset.images, { shape: [dataset.labels.length, channels, height, width] }));
    this.#labels = keep(tensor(dataset.labels, { dtype: 'int64' }));
    this.#offset = keep(
      tensor(
        Float32Array.from(normalization.mean, (m) => m * 255),
        { shape: [1, channels, 1, 1] },
      ),
    );
    this.#scale = keep(
      tensor(
        Float32Array.from(normalization.std, (s) => s * 255),
        { shape: [1, channels, 1, 1] },
      ),
    );
  }

  /** Frees the loader's tensors now rather than at garbage collection (the images are a copy of the whole split); batches already made stay valid. */
  dispose(): void {
    dispose([this.#pixels, this.#labels, this.#offset, this.#scale]);
  }

  /** Examples per epoch: the dataset's, or this rank's shard of it. */
  get size(): number {
    return Math.ceil(this.dataset.labels.length / this.options.shard.worldSize);
  }

  /** Batches per epoch. */
  get length(): number {
    const { batchSize, dropLast } = this.options;
    return dropLast ? Math.floor(this.size / batchSize) : Math.ceil(this.size / batchSize);
  }

  /** The batch of the given examples: x float32 [B, C, H, W] normalised (and augmented if set), y int64 [B]. */
  batchOf(indices: Int32Array): Batch {
    return scope(() => {
      // Stryker disable next-line ObjectLiteral: index_select takes int32 indices as well; int64 is PyTorch's usual index type
      const idx = tensor(indices, { dtype: 'int64' });
      const x = this.#pixels.indexSelect(0, idx).to('float32').sub(this.#offset).div(this.#scale);
      return { x: this.options.augment ? augmentBatch(x) : x, y: this.#labels.indexSelect(0, idx) };
    });
  }

  #order(epoch: number): Int32Array {
    const count = this.dataset.labels.length;
    const order = this.options.shuffle ? epochOrder(count, this.options.seed, epoch) : Int32Array.from({ length: count }, (_, i) => i);
    return shardOrder(order, this.options.shard.rank, this.options.shard.worldSize);
  }

  #indices(order: Int32Array, b: number): Int32Array {
    const { batchSize } = this.options;
    return order.subarray(b * batchSize, Math.min((b + 1) * batchSize, this.size));
  }

  /**
   * The batches of one epoch like epoch(), with the next batch assembled on a
   * worker thread while the caller trains on the current one. Augmentation
   * (which draws from libtorch's generator) stays on the main thread, in
   * order, so runs remain repeatable.
   */
  async *prefetchingEpoch(epoch = 0, startBatch = 0): AsyncGenerator<Batch> {
    const order = this.#order(epoch);
    const start = (b: number) => {
      // Stryker disable next-line ObjectLiteral: index_select takes int32 indices as well; int64 is PyTorch's usual index type
      const idx = keep(tensor(this.#indices(order, b), { dtype: 'int64' }));
      return gatherBatchInBackground(this.#pixels, this.#labels, idx, this.#offset, this.#scale).finally(() => idx.dispose());
    };
    let pending = startBatch < this.length ? start(startBatch) : undefined;
    try {
      for (let b = startBatch; pending !== undefined; b++) {
        const [x, y] = await pending;
        pending = b + 1 < this.length ? start(b + 1) : undefined;
        if (this.options.augment) {
          const augmented = scope(() => augmentBatch(x));
          x.dispose();
          yield { x: augmented, y };
        } else {
          yield { x, y };
        }
      }
    } finally {
      // Left early (break, throw, return): the batch being gathered for the next step is nobody's, so free it here.
      await pending?.then(
        ([x, y]) => dispose([x, y]),
        () => undefined,
      );
    }
  }

  /** The batches of one epoch, in its seeded order. Dispose each batch or make them in a scope. */
  *epoch(epoch = 0, startBatch = 0): Generator<Batch> {
    const order = this.#order(epoch);
    for (let b = startBatch; b < this.length; b++) yield this.batchOf(this.#indices(order, b));
  }
}
