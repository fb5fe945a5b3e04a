/**
 * Process-wide settings: CPU threads, random seeds (and the generator state a
 * checkpoint saves), bfloat16 autocast, and build information.
 */
import { type DType, dtypeCode } from './dtype.js';
import { native } from './native.js';
import { Tensor, handleOf } from './tensor.js';

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: need a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Seeds libtorch's CPU generator, making rand/randn/dropout/randperm repeatable. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed: need a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The CPU generator's full state (a uint8 tensor), to save with a checkpoint. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}

export function setRngState(state: Tensor): void {
  native.setRngState(handleOf(state, 'setRngState'));
}

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
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new TypeError('autocast(fn): fn returned a Promise; autocast only covers synchronous code');
    }
    return result;
  } finally {
    native.autocastNesting(-1);
    native.setAutocast(wasEnabled, previousDtype);
  }
}

export interface BuildInfo {
  torchVersion: string;
  parallelInfo: string;
  cudaAvailable: boolean;
  mkldnnAvailable: boolean;
}

export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
