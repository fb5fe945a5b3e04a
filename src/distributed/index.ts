/**
 * Data-parallel training over libtorch's own distributed engine, c10d, as
 * torch.distributed uses it: a TCPStore rendezvous at the master, a Gloo
 * process group for the collectives, and DistributedDataParallel's Reducer,
 * which all-reduces gradients in buckets while backward still runs. The
 * store and group are laid out as PyTorch lays them out, so a PyTorch rank
 * (torch.distributed with the gloo backend) can join the same group.
 * Collectives return Promises and wait on a worker thread, never on the
 * event loop.
 */
import { hostname as machineName } from 'node:os';

import type { Module } from '../nn/index.js';
import { BatchNorm2d } from '../nn/layers.js';
import { type NativeReducer, native } from '../tensor/native.js';
import { Tensor, cat, handleOf, noGrad, scope } from '../tensor/index.js';

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
export function distributedEnvironment(): { rank: number; worldSize: number; localRank: number; masterAddr: string; masterPort: number } | undefined {
  const worldSize = envInt('WORLD_SIZE');
  if (worldSize === undefined) return undefined;
  const rank = envInt('RANK') ?? 0;
  return {
    rank, worldSize, localRank: envInt('LOCAL_RANK') ?? rank, masterAddr: process.env.MASTER_ADDR ?? '127.0.0.1', masterPort: envInt('MASTER_PORT') ?? 29500,
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
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`initProcessGroup: world size must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`initProcessGroup: rank ${rank} is outside 0..${worldSize - 1}`);
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535) throw new RangeError(`initProcessGroup: port ${masterPort} is outside 1..65535`);
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

  private constructor(readonly module: Module, reducer: NativeReducer) {
    this.#reducer = reducer;
  }

  /** Makes every rank's parameters and buffers rank 0's, then wraps the module; the process group must be initialised first. */
  static async create(module: Module, options: DataParallelOptions = {}): Promise<DistributedDataParallel> {
    if (!isInitialized()) throw new Error('DistributedDataParallel: call initProcessGroup first');
    await syncState(module);
    const params = module.parameters();
    const cap = Math.round((options.bucketCapMB ?? 25) * 1024 * 1024);
    const reducer = native.ddpReducer(params.map((p) => handleOf(p, 'DistributedDataParallel')), cap, options.findUnusedParameters ?? true);
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

/**
 * Batch norm whose batch statistics are those of the whole global batch
 * (torch.nn.SyncBatchNorm): each rank's per-channel sum, sum of squares and
 * count are summed over the ranks with a differentiable all-reduce, so
 * backward sums the statistics' gradients over the ranks too.
 */
export class SyncBatchNorm2d extends BatchNorm2d {
  /** A SyncBatchNorm2d sharing bn's weight, bias and running statistics, with its settings and training mode. */
  static from(bn: BatchNorm2d): SyncBatchNorm2d {
    const sync = new SyncBatchNorm2d(bn.numFeatures, { eps: bn.eps, momentum: bn.momentum, affine: bn.weight !== undefined, trackRunningStats: bn.running_mean !== undefined });
    for (const t of [sync.weight, sync.bias, sync.running_mean, sync.running_var, sync.num_batches_tracked]) t?.dispose();
    Object.assign(sync, { weight: bn.weight, bias: bn.bias, running_mean: bn.running_mean, running_var: bn.running_var, num_batches_tracked: bn.num_batches_tracked });
    return sync.train(bn.training);
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || !isInitialized() || getWorldSize() === 1) return super.forward(x);
    if (this.num_batches_tracked !== undefined) {
      const counter = this.num_batches_tracked;
      noGrad(() => counter.add_(1));
    }
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const xf = x.dtype === 'float64' ? x : x.float();
    const local = cat([xf.sum([0, 2, 3]), xf.mul(xf).sum([0, 2, 3])]);
    const stats = allReduceSumDifferentiable(local);
    const count = n * h * w * getWorldSize();
    const mean = stats.narrow(0, 0, c).div(count);
    const variance = stats.narrow(0, c, c).div(count).sub(mean.mul(mean));
    if (this.running_mean !== undefined && this.running_var !== undefined) {
      const runningMean = this.running_mean;
      const runningVar = this.running_var;
      const m = this.momentum;
      noGrad(() => scope(() => {
        runningMean.mul_(1 - m).add_(mean.detach().mul(m));
        runningVar.mul_(1 - m).add_(variance.detach().mul((m * count) / (count - 1)));
      }));
    }
    const shape = [1, c, 1, 1];
    let y = xf.sub(mean.reshape(shape)).div(variance.add(this.eps).sqrt().reshape(shape));
    if (this.weight !== undefined) y = y.mul(this.weight.reshape(shape));
    if (this.bias !== undefined) y = y.add(this.bias.reshape(shape));
    return y.to(x.dtype);
  }
}

/** Replaces every BatchNorm2d of a module by a SyncBatchNorm2d holding the same tensors (torch's convert_sync_batchnorm). */
export function convertSyncBatchNorm<M extends Module>(module: M): M {
  const visit = (m: Module) => {
    for (const [key, value] of Object.entries(m)) {
      if (value instanceof BatchNorm2d && !(value instanceof SyncBatchNorm2d)) {
        (m as unknown as Record<string, unknown>)[key] = SyncBatchNorm2d.from(value);
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (v instanceof BatchNorm2d && !(v instanceof SyncBatchNorm2d)) value[i] = SyncBatchNorm2d.from(v);
        });
      }
    }
    for (const child of m.children()) visit(child);
  };
  visit(module);
  return module;
}
