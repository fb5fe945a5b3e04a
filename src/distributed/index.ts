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
export {
  type ProcessGroupOptions,
  type ReduceOp,
  allGather,
  allReduce,
  allReduceSumDifferentiable,
  barrier,
  broadcast,
  destroyProcessGroup,
  diagnoseFailure,
  distributedEnvironment,
  getRank,
  getWorldSize,
  initProcessGroup,
  isInitialized,
} from './process-group.js';
export { type DataParallelOptions, DistributedDataParallel, syncBuffers, syncState } from './data-parallel.js';
export { SyncBatchNorm2d, convertSyncBatchNorm } from './sync-batch-norm.js';
