/**
 * Adam and AdamW with PyTorch's exact rules (bias correction, eps added after
 * the square root, optional amsgrad). AdamW decays the weights directly
 * (p *= 1 - lr * wd) instead of adding wd * p to the gradient.
 */
import {
  type Tensor,
  foreachAdd,
  foreachAdd_,
  foreachAddcdiv_,
  foreachAddcmul_,
  foreachDiv_,
  foreachMaximum_,
  foreachMul_,
  foreachSqrt,
  keep,
  zerosLike,
} from '../tensor/index.js';
import { type GroupInput, Optimizer, type ParamGroup } from './optimizer.js';

/** Adam's and AdamW's hyper-parameters. Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, amsgrad false; weightDecay 0 for Adam, 1e-2 for AdamW. */
export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

class AdamBase extends Optimizer<AdamOptions> {
  constructor(
    params: Tensor[] | GroupInput<AdamOptions>[],
    options: Partial<AdamOptions>,
    private readonly decoupled: boolean,
  ) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, ...options });
  }

  protected override validate(group: AdamOptions): void {
    super.validate(group);
    const [b1, b2] = group.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
      throw new RangeError(`${this.constructor.name}: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(group.eps >= 0)) throw new RangeError(`${this.constructor.name}: eps must be >= 0`);
    if (!(group.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: weightDecay must be >= 0`);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[]): void {
    const [beta1, beta2] = group.betas;
    const states = params.map((p) => {
      const s = this.stateOf(p);
      if (s.step === undefined) {
        s.step = 0;
        s.exp_avg = keep(zerosLike(p));
        s.exp_avg_sq = keep(zerosLike(p));
        if (group.amsgrad) s.max_exp_avg_sq = keep(zerosLike(p));
      }
      s.step = (s.step as number) + 1;
      return s;
    });
    let g = grads;
    // Stryker disable next-line ConditionalExpression: with 0, both decays (scale by 1, add 0 times) change no value; the check only saves the work
    if (group.weightDecay !== 0) {
      if (this.decoupled) foreachMul_(params, 1 - group.lr * group.weightDecay);
      else g = foreachAdd(grads, params, group.weightDecay);
    }
    const expAvg = states.map((s) => s.exp_avg as Tensor);
    const expAvgSq = states.map((s) => s.exp_avg_sq as Tensor);
    foreachMul_(expAvg, beta1);
    foreachAdd_(expAvg, g, 1 - beta1);
    foreachMul_(expAvgSq, beta2);
    foreachAddcmul_(expAvgSq, g, g, 1 - beta2);
    let second = expAvgSq;
    if (group.amsgrad) {
      second = states.map((s) => s.max_exp_avg_sq as Tensor);
      foreachMaximum_(second, expAvgSq);
    }
    // Parameters that share a step count share the bias corrections.
    const byStep = new Map<number, number[]>();
    states.forEach((s, i) => byStep.set(s.step as number, [...(byStep.get(s.step as number) ?? []), i]));
    for (const [step, indices] of byStep) {
      const pick = <T>(list: T[]) => indices.map((i) => list[i]!);
      const stepSize = group.lr / (1 - beta1 ** step);
      const bias2Sqrt = Math.sqrt(1 - beta2 ** step);
      const denom = foreachSqrt(pick(second));
      foreachDiv_(denom, bias2Sqrt);
      foreachAdd_(denom, group.eps);
      foreachAddcdiv_(pick(params), pick(expAvg), denom, -stepSize);
    }
  }
}

/** Adam, with weight decay added to the gradient (L2) and optional amsgrad. As torch.optim.Adam. */
export class Adam extends AdamBase {
  constructor(params: Tensor[] | GroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, options, false);
  }
}

/** Adam with decoupled weight decay (p *= 1 - lr * weightDecay before the update). As torch.optim.AdamW. */
export class AdamW extends AdamBase {
  constructor(params: Tensor[] | GroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, options, true);
  }
}
