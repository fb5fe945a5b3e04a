/**
 * The process group: a TCPStore rendezvous at the master and a Gloo group,
 * laid out as PyTorch lays them out, and the collectives over it (Promises
 * that wait on a worker thread, never on the event loop).
 */
import { hostname as machineName } from 'node:os';

import { native } from '../tensor/native.js';
import { Tensor, handleOf, noGrad } from '../tensor/index.js';

/**
 * initProcessGroup's settings; those not given come from torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT),
 * else rank 0 of a world of 1 at 127.0.0.1:29500. Only the gloo backend is available.
 */
export interface ProcessGroupOptions {
  backend?: 'gloo';
  rank?: number;
  worldSize?: number;
  masterAddr?: string;
  masterPort?: number;
  /** How long a rendezvous or a collective may wait for the others (default 60 s). */
  timeoutMs?: number;
}

/** How allReduce combines the ranks' tensors; 'avg' is the sum divided by the world size. */
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

function envInt(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}=${value}: expected a non-negative integer`);
  return n;
}

/** The settings torchrun passes to each worker: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK. */
export function distributedEnvironment():
  { rank: number; worldSize: number; localRank: number; masterAddr: string; masterPort: number } | undefined {
  const worldSize = envInt('WORLD_SIZE');
  if (worldSize === undefined) return undefined;
  const rank = envInt('RANK') ?? 0;
  return {
    rank,
    worldSize,
    localRank: envInt('LOCAL_RANK') ?? rank,
    masterAddr: process.env.MASTER_ADDR ?? '127.0.0.1',
    masterPort: envInt('MASTER_PORT') ?? 29500,
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Joins (rank 0: opens) the default process group. Options not given come
 * from the environment torchrun sets; rank 0 hosts the store at
 * masterAddr:masterPort. Rejects with a clear message when the master cannot
 * be reached, the port cannot be bound or the ranks disagree on the world size.
 */
export async function initProcessGroup(options: ProcessGroupOptions = {}): Promise<void> {
  const env = distributedEnvironment();
  const backend = options.backend ?? 'gloo';
  if (backend !== 'gloo') throw new Error(`initProcessGroup: backend '${String(backend)}' is not available (gloo is)`);
  const rank = options.rank ?? env?.rank ?? 0;
  const worldSize = options.worldSize ?? env?.worldSize ?? 1;
  const masterAddr = options.masterAddr ?? env?.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? env?.masterPort ?? 29500;
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`initProcessGroup: world size must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`initProcessGroup: rank ${rank} is outside 0..${worldSize - 1}`);
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535)
    throw new RangeError(`initProcessGroup: port ${masterPort} is outside 1..65535`);
  // Gloo's own connections: on the loopback when the master is local, else on the interface this machine's name resolves to.
  const iface = process.env.GLOO_SOCKET_HOST ?? (LOOPBACK.has(masterAddr) ? '127.0.0.1' : machineName());
  await native.distInit(rank, worldSize, masterAddr, masterPort, timeoutMs, iface);
}

/** Whether this process has joined a process group. As torch.distributed.is_initialized. */
export function isInitialized(): boolean {
  return native.distInfo() !== undefined;
}

/** This process's rank in the group (0 without one). As torch.distributed.get_rank. */
export function getRank(): number {
  return native.distInfo()?.rank ?? 0;
}

/** The number of ranks in the group (1 without one). As torch.distributed.get_world_size. */
export function getWorldSize(): number {
  return native.distInfo()?.worldSize ?? 1;
}

/** Leaves the default process group. As torch.distributed.destroy_process_group. */
export function destroyProcessGroup(): void {
  native.distDestroy();
}

function handles(tensors: Tensor | Tensor[], op: string) {
  return (Array.isArray(tensors) ? tensors : [tensors]).map((t) => {
    if (!t.isContiguous()) throw new Error(`${op}: tensors must be contiguous`);
    return handleOf(t, op);
  });
}

/** Reduces each tensor over all ranks, in place (torch.distributed.all_reduce); 'avg' is the sum divided by the world size. */
export async function allReduce(tensors: Tensor | Tensor[], op: ReduceOp = 'sum'): Promise<void> {
  await native.distAllReduce(handles(tensors, 'allReduce'), op === 'avg' ? 'sum' : op);
  if (op === 'avg') {
    const n = getWorldSize();
    noGrad(() => {
      for (const t of Array.isArray(tensors) ? tensors : [tensors]) t.div_(n);
    });
  }
}

/** Copies each tensor from rank `src` to every rank, in place. */
export async function broadcast(tensors: Tensor | Tensor[], src = 0): Promise<void> {
  await native.distBroadcast(handles(tensors, 'broadcast'), src);
}

/** Every rank's copy of `tensor`, in rank order. */
export async function allGather(tensor: Tensor): Promise<Tensor[]> {
  return (await native.distAllGather(handleOf(tensor, 'allGather'))).map((h) => new Tensor(h));
}

/** Resolves once every rank has reached the barrier. As torch.distributed.barrier. */
export async function barrier(): Promise<void> {
  await native.distBarrier();
}

/** Which ranks stopped answering (for the message of a failed collective). */
export async function diagnoseFailure(): Promise<string> {
  return isInitialized() ? native.distDiagnose() : 'no process group';
}

/**
 * A sum over ranks that autograd differentiates (torch.distributed.nn.all_reduce):
 * its gradient is the sum of the ranks' gradients. Blocks the calling thread,
 * since it runs inside forward and backward.
 */
export function allReduceSumDifferentiable(t: Tensor): Tensor {
  return new Tensor(native.distAllReduceSumAutograd(handleOf(t, 'allReduceSumDifferentiable')));
}
