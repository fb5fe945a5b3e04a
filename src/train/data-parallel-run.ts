/**
 * What a training run does differently in data-parallel training (a process group of two or more): each rank's share
 * of the global batch, the run directory as ranks other than 0 see it (read, never written), the checks that every
 * rank starts from the same step with the same precision, the global batch's loss and stop request agreed after
 * each step, and a failed run's error naming the rank that stopped answering.
 */
import { RunDirectory, type TrainConfig } from '../runs/index.js';
import { type DistributedDataParallel, allReduce, diagnoseFailure, getRank, getWorldSize, isInitialized } from '../distributed/index.js';
import { tensor } from '../tensor/index.js';

/** This process's place in data-parallel training, when a process group of two or more is initialised. */
export interface DataParallel {
  rank: number;
  worldSize: number;
  ddp: DistributedDataParallel;
}

/** The run directory as ranks other than 0 see it: read (config, checkpoint), never written. */
export class ReadOnlyRunDirectory extends RunDirectory {
  override create(): void {}
  override writeJson(): void {}
  override append(): void {}
  override truncateRecords(): void {}
}

/**
 * This process's shard of the data (its rank and the world size) where a process group of two or more is initialised,
 * or undefined; refuses a global batch that does not split evenly over the processes.
 */
export function dataParallelShard(batchSize: number): { rank: number; worldSize: number } | undefined {
  const shard = isInitialized() && getWorldSize() > 1 ? { rank: getRank(), worldSize: getWorldSize() } : undefined;
  if (shard && batchSize % shard.worldSize !== 0) {
    throw new Error(`the batch size ${batchSize} does not split evenly over ${shard.worldSize} processes`);
  }
  return shard;
}

/**
 * Refuses to train when the processes resumed from different steps (a rank
 * that could not read the checkpoint), or chose different precisions
 * (`auto` on machines with and without native bf16).
 */
export async function agreeOnStart(step: number, precision: TrainConfig['precision']): Promise<void> {
  const bf16 = precision === 'bf16' ? 1 : 0;
  const bounds = tensor(Float64Array.from([step, -step, bf16, -bf16]), { dtype: 'float64' });
  try {
    await allReduce(bounds, 'max');
    const [highest, negLowest, anyBf16, negAllBf16] = bounds.data() as Float64Array;
    if (highest !== -negLowest!) {
      throw new Error(
        `the processes start from different steps (${-negLowest!} to ${highest}): every rank must read the same run directory and checkpoint`,
      );
    }
    if (anyBf16 !== -negAllBf16!) {
      throw new Error(
        'the processes chose different precisions (precision auto on machines with and without native bf16): give --precision fp32 or --precision bf16',
      );
    }
  } finally {
    bounds.dispose();
  }
}

/**
 * The global batch's loss and correct count (each rank saw its shard, so the
 * result is changed in place), and whether any rank was asked to stop, so
 * that all stop after the same step.
 */
export async function agreeOnStep(
  result: { loss: number; correct: number },
  worldSize: number,
  stopRequested: boolean | undefined,
): Promise<boolean> {
  const values = tensor(Float64Array.from([result.loss, result.correct, stopRequested ? 1 : 0]), { dtype: 'float64' });
  try {
    await allReduce(values, 'sum');
    const [loss, correct, stops] = values.data() as Float64Array;
    result.loss = loss! / worldSize;
    result.correct = correct!;
    return stops! > 0;
  } finally {
    values.dispose();
  }
}

/** A failed data-parallel run's error, with which rank stopped answering (unless it says so already). */
export async function namingFailedRanks(error: unknown): Promise<Error> {
  const message = error instanceof Error ? error.message : String(error);
  if (/heartbeat|cannot be reached|still alive/.test(message)) return new Error(`rank ${getRank()}: ${message}`);
  let diagnosis: string;
  try {
    diagnosis = await diagnoseFailure();
  } catch {
    diagnosis = 'no diagnosis';
  }
  return new Error(`rank ${getRank()}: ${message} [${diagnosis}]`);
}
