/** Batch norm over the global batch (torch.nn.SyncBatchNorm), and the conversion of a model's batch norms to it. */
import type { Module } from '../nn/index.js';
import { BatchNorm2d } from '../nn/layers.js';
import { type Tensor, cat, noGrad, scope } from '../tensor/index.js';
import { allReduceSumDifferentiable, getWorldSize, isInitialized } from './process-group.js';

/**
 * Batch norm whose batch statistics are those of the whole global batch
 * (torch.nn.SyncBatchNorm): each rank's per-channel sum, sum of squares and
 * count are summed over the ranks with a differentiable all-reduce, so
 * backward sums the statistics' gradients over the ranks too.
 */
export class SyncBatchNorm2d extends BatchNorm2d {
  /** A SyncBatchNorm2d sharing bn's weight, bias and running statistics, with its settings and training mode. */
  static from(bn: BatchNorm2d): SyncBatchNorm2d {
    const sync = new SyncBatchNorm2d(bn.numFeatures, {
      eps: bn.eps,
      momentum: bn.momentum,
      affine: bn.weight !== undefined,
      trackRunningStats: bn.running_mean !== undefined,
    });
    for (const t of [sync.weight, sync.bias, sync.running_mean, sync.running_var, sync.num_batches_tracked]) t?.dispose();
    Object.assign(sync, {
      weight: bn.weight,
      bias: bn.bias,
      running_mean: bn.running_mean,
      running_var: bn.running_var,
      num_batches_tracked: bn.num_batches_tracked,
    });
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
      noGrad(() =>
        scope(() => {
          runningMean.mul_(1 - m).add_(mean.detach().mul(m));
          runningVar.mul_(1 - m).add_(variance.detach().mul((m * count) / (count - 1)));
        }),
      );
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
