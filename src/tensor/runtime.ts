/**
 * Process-wide settings: CPU threads, random seeds (and the generator state a
 * checkpoint saves), bfloat16 autocast, and build information.
 */
import { type DType, dtypeCode } from './dtype.js';
import { native } from './native.js';
import { Tensor, handleOf } from './tensor.js';
import { refuseAsync } from './synchronous.js';

/** The most CPU threads an op may use: far above any machine's cores, far below a count that stalls the process. */
export const MAX_THREADS = 1024;

/**
 * Sets the number of CPU threads libtorch uses within an op, as torch.set_num_threads.
 * At load it is SKIPSTUDIO_THREADS, or else the available parallelism.
 */
export function setNumThreads(n: number): void {
  // Each thread is an OpenMP worker with its own stack: 100,000 of them stall the first op for minutes, so a count has a ceiling.
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(
      `setNumThreads: need an integer from 1 to ${MAX_THREADS} (threads beyond the cores only slow an op down), got ${n}`,
    );
  }
  native.setNumThreads(n);
}

/** The number of CPU threads libtorch uses within an op, as torch.get_num_threads. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Seeds libtorch's CPU generator, making rand/randn/dropout/randperm repeatable. */
export function manualSeed(seed: number): void {
  // Past 2^53 - 1 a number is no longer an exact integer, and libtorch would take 2^64 as 0: refused, not wrapped.
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`manualSeed: need an integer from 0 to 2^53 - 1 (Number.MAX_SAFE_INTEGER), got ${seed}`);
  }
  native.manualSeed(seed);
}

/** The CPU generator's full state (a uint8 tensor), to save with a checkpoint. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}

/** Restores the CPU generator's state from a tensor that getRngState returned, as torch.set_rng_state. */
export function setRngState(state: Tensor): void {
  native.setRngState(handleOf(state, 'setRngState'));
}

/** Options of autocast: the lower-precision dtype and whether autocast is on (default true). */
export interface AutocastOptions {
  /** bfloat16 (the default; AVX512-BF16 CPUs run it fastest) or float16. */
  dtype?: DType;
  enabled?: boolean;
}

/**
 * Runs fn with libtorch's CPU autocast: convolutions and matrix products run
 * in the lower precision, precision-sensitive ops stay float32. Synchronous
 * only, since the state is thread-local and would leak across an await.
 */
export function autocast<T>(fn: () => T, options: AutocastOptions = {}): T {
  const [wasEnabled, previousDtype] = native.autocastState();
  native.setAutocast(options.enabled ?? true, dtypeCode(options.dtype ?? 'bfloat16'));
  native.autocastNesting(1);
  try {
    const result = fn();
    refuseAsync(result, 'autocast(fn): fn returned a Promise; autocast only covers synchronous code');
    return result;
  } finally {
    native.autocastNesting(-1);
    native.setAutocast(wasEnabled, previousDtype);
  }
}

/** How the loaded libtorch was built, as buildInfo() reports it. */
export interface BuildInfo {
  torchVersion: string;
  parallelInfo: string;
  cudaAvailable: boolean;
  mkldnnAvailable: boolean;
}

/** The loaded libtorch's version, its parallel settings (at::get_parallel_info) and whether it has CUDA and MKL-DNN. */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
