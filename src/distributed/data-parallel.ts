/**
 * DistributedDataParallel: libtorch's Reducer all-reduces gradients in
 * buckets while backward still runs; and the broadcasts that make every
 * rank's parameters and buffers rank 0's.
 */
import type { Module } from '../nn/index.js';
import { type NativeReducer, native } from '../tensor/native.js';
import { type Tensor, handleOf, noGrad } from '../tensor/index.js';
import { broadcast, isInitialized } from './process-group.js';

/** DistributedDataParallel's settings. */
export interface DataParallelOptions {
  /** Bucket size of the gradient all-reduce (default 25 MiB, as PyTorch). */
  bucketCapMB?: number;
  /**
   * Whether forward may leave parameters unused (default true, unlike
   * PyTorch: a SkipBlock whose channels match never uses its in2out
   * convolution). Each step then walks the output's graph to find them.
   */
  findUnusedParameters?: boolean;
}

/**
 * DistributedDataParallel: wraps a module whose parameters and buffers are
 * made rank 0's (call `await DistributedDataParallel.create(...)`). Its
 * forward() arms c10d's Reducer for the backward of that output, which then
 * averages the gradients over the ranks bucket by bucket as they become
 * ready, while backward goes on.
 */
export class DistributedDataParallel {
  #reducer: NativeReducer | undefined;

  private constructor(
    readonly module: Module,
    reducer: NativeReducer,
  ) {
    this.#reducer = reducer;
  }

  /** Makes every rank's parameters and buffers rank 0's, then wraps the module; the process group must be initialised first. */
  static async create(module: Module, options: DataParallelOptions = {}): Promise<DistributedDataParallel> {
    if (!isInitialized()) throw new Error('DistributedDataParallel: call initProcessGroup first');
    await syncState(module);
    const params = module.parameters();
    const cap = Math.round((options.bucketCapMB ?? 25) * 1024 * 1024);
    const reducer = native.ddpReducer(
      params.map((p) => handleOf(p, 'DistributedDataParallel')),
      cap,
      options.findUnusedParameters ?? true,
    );
    return new DistributedDataParallel(module, reducer);
  }

  /** The module's output, with the gradient all-reduce armed for its backward. */
  forward(...inputs: Tensor[]): Tensor {
    if (this.#reducer === undefined) throw new Error('DistributedDataParallel: released');
    const output = this.module.forward(...inputs);
    native.ddpPrepare(this.#reducer, [handleOf(output, 'DistributedDataParallel.forward')]);
    return output;
  }

  /** Frees the native Reducer; forward() throws afterwards. Calling it again does nothing. */
  release(): void {
    if (this.#reducer !== undefined) native.ddpRelease(this.#reducer);
    this.#reducer = undefined;
  }
}

/** Makes every rank's parameters and buffers rank 0's. */
export async function syncState(module: Module, src = 0): Promise<void> {
  await broadcastInPlace([...module.parameters(), ...module.buffers()], src);
}

/**
 * Makes every rank's buffers (batch norm's running statistics) rank 0's, as
 * DistributedDataParallel's broadcast_buffers: before an evaluation, so that
 * every rank's shard is evaluated with the statistics rank 0 saves.
 */
export async function syncBuffers(module: Module, src = 0): Promise<void> {
  await broadcastInPlace(module.buffers(), src);
}

async function broadcastInPlace(tensors: Tensor[], src: number): Promise<void> {
  // Broadcast into contiguous copies and write them back: a parameter may be channels-last.
  const copies = noGrad(() => tensors.map((t) => t.detach().contiguous().clone()));
  try {
    await broadcast(copies, src);
    noGrad(() => tensors.forEach((t, i) => t.copy_(copies[i]!)));
  } finally {
    for (const c of copies) c.dispose();
  }
}
