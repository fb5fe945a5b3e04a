/**
 * SGD with PyTorch's exact rule (momentum, dampening, nesterov, weight
 * decay), each step a handful of multi-tensor calls:
 *   g = grad + wd * p;  buf = g (first step) or momentum * buf + (1 - dampening) * g
 *   g = nesterov ? g + momentum * buf : buf;  p -= lr * g
 */
import { type Tensor, foreachAdd, foreachAdd_, foreachMul_, keep } from '../tensor/index.js';
import { type GroupInput, Optimizer, type ParamGroup } from './optimizer.js';

/** SGD's hyper-parameters; all but lr default to 0 (nesterov to false). */
export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay. As torch.optim.SGD. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | GroupInput<SGDOptions>[], options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected override validate(group: SGDOptions): void {
    super.validate(group);
    if (!(group.momentum >= 0)) throw new RangeError(`SGD: momentum must be >= 0, got ${group.momentum}`);
    if (!(group.weightDecay >= 0)) throw new RangeError(`SGD: weightDecay must be >= 0, got ${group.weightDecay}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new RangeError('SGD: nesterov needs a positive momentum and zero dampening');
    }
  }

  protected updateGroup(group: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    // Stryker disable next-line ConditionalExpression: adding 0 times the parameters changes no value; the check only saves the work
    let g = group.weightDecay !== 0 ? foreachAdd(grads, params, group.weightDecay) : grads;
    if (group.momentum !== 0) {
      const states = params.map((p) => this.stateOf(p));
      const fresh = states.map((s, i) => (s.momentum_buffer === undefined ? i : -1)).filter((i) => i >= 0);
      const existing = states.map((s, i) => (s.momentum_buffer !== undefined ? i : -1)).filter((i) => i >= 0);
      for (const i of fresh) states[i]!.momentum_buffer = keep(g[i]!.clone());
      if (existing.length > 0) {
        const bufs = existing.map((i) => states[i]!.momentum_buffer as Tensor);
        foreachMul_(bufs, group.momentum);
        foreachAdd_(
          bufs,
          existing.map((i) => g[i]!),
          1 - group.dampening,
        );
      }
      const bufs = states.map((s) => s.momentum_buffer as Tensor);
      g = group.nesterov ? foreachAdd(g, bufs, group.momentum) : bufs;
    }
    foreachAdd_(params, g, -group.lr);
  }
}
