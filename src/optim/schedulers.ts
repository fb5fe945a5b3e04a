/**
 * Learning-rate schedules with PyTorch's closed forms: StepLR, MultiStepLR,
 * CosineAnnealingLR, OneCycleLR and LinearLR (linear warmup). Call step()
 * once per epoch (or per iteration for OneCycle), after optimizer.step().
 */
import type { Optimizer } from './optimizer.js';

/** A scheduler's saved state: the epoch (steps taken) and each group's base learning rate. */
export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
}

/** Any optimizer whose hyper-parameters include a learning rate; what a scheduler drives. */
export type AnyOptimizer = Optimizer<{ lr: number }>;

/** Base of the learning-rate schedules: sets each parameter group's lr from a closed form of the epoch. As torch.optim.lr_scheduler.LRScheduler. */
export abstract class LRScheduler {
  lastEpoch = 0;
  readonly baseLrs: number[];

  constructor(readonly optimizer: AnyOptimizer) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group at epoch e. */
  protected abstract lrAt(e: number): number[];

  /** Sets each group's learning rate for the current epoch (subclasses call it from their constructor). */
  protected apply(): void {
    this.lrAt(this.lastEpoch).forEach((lr, i) => {
      this.optimizer.paramGroups[i]!.lr = lr;
    });
  }

  /** Advances one epoch (one batch for OneCycleLR) and sets the new learning rates; call it after optimizer.step(). */
  step(): void {
    this.lastEpoch += 1;
    this.apply();
  }

  /** The learning rate each parameter group has now. As get_last_lr(). */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The epoch and base learning rates, for a checkpoint. */
  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores a state from stateDict() and sets the learning rates for its epoch. */
  loadStateDict(state: SchedulerState): void {
    this.lastEpoch = state.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.apply();
  }
}

/** lr = base * gamma ^ floor(epoch / stepSize) */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError('StepLR: stepSize must be a positive integer');
    this.apply();
  }

  protected lrAt(e: number): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** Math.floor(e / this.stepSize));
  }
}

/** lr = base * gamma ^ (number of milestones reached) */
export class MultiStepLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly milestones: number[],
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    this.apply();
  }

  protected lrAt(e: number): number[] {
    const reached = this.milestones.filter((m) => m <= e).length;
    return this.baseLrs.map((lr) => lr * this.gamma ** reached);
  }
}

/** lr = etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(optimizer);
    if (!(tMax > 0)) throw new RangeError('CosineAnnealingLR: tMax must be positive');
    this.apply();
  }

  protected lrAt(e: number): number[] {
    return this.baseLrs.map((lr) => this.etaMin + ((lr - this.etaMin) * (1 + Math.cos((Math.PI * e) / this.tMax))) / 2);
  }
}

/** Linear warmup: the factor goes from startFactor to endFactor over totalIters, then stays. */
export class LinearLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly startFactor = 1 / 3,
    readonly endFactor = 1,
    readonly totalIters = 5,
  ) {
    super(optimizer);
    if (!(startFactor > 0 && startFactor <= 1)) throw new RangeError('LinearLR: startFactor must be in (0, 1]');
    this.apply();
  }

  protected lrAt(e: number): number[] {
    const t = Math.min(e, this.totalIters) / this.totalIters;
    return this.baseLrs.map((lr) => lr * (this.startFactor + (this.endFactor - this.startFactor) * t));
  }
}

/** OneCycleLR's settings. Defaults: pctStart 0.3, divFactor 25, finalDivFactor 1e4, cycleMomentum true, baseMomentum 0.85, maxMomentum 0.95. */
export interface OneCycleOptions {
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  /** Cycle SGD's momentum (or Adam's beta1) inversely to the learning rate, as PyTorch does by default. */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

function cosineAnneal(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** The 1cycle policy (Smith): warm up to maxLr with cosine annealing, then anneal to maxLr / (div * finalDiv). Step it per batch. */
export class OneCycleLR extends LRScheduler {
  readonly maxLr: number;
  readonly phaseEnd: number;
  readonly options: Required<OneCycleOptions>;

  constructor(
    optimizer: AnyOptimizer,
    maxLr: number,
    readonly totalSteps: number,
    options: OneCycleOptions = {},
  ) {
    super(optimizer);
    if (!Number.isInteger(totalSteps) || totalSteps < 2) throw new RangeError('OneCycleLR: totalSteps must be an integer >= 2');
    this.maxLr = maxLr;
    this.options = {
      pctStart: 0.3,
      divFactor: 25,
      finalDivFactor: 1e4,
      cycleMomentum: true,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
      ...options,
    };
    this.phaseEnd = this.options.pctStart * totalSteps - 1;
    this.apply();
  }

  protected lrAt(e: number): number[] {
    if (e > this.totalSteps) throw new RangeError(`OneCycleLR: stepped ${e} times, past totalSteps (${this.totalSteps})`);
    const initial = this.maxLr / this.options.divFactor;
    const min = initial / this.options.finalDivFactor;
    // Stryker disable next-line EqualityOperator: at e = phaseEnd both phases give maxLr
    const rising = e <= this.phaseEnd;
    const lr = rising
      ? cosineAnneal(initial, this.maxLr, e / this.phaseEnd)
      : cosineAnneal(this.maxLr, min, (e - this.phaseEnd) / (this.totalSteps - 1 - this.phaseEnd));
    return this.baseLrs.map(() => lr);
  }

  protected override apply(): void {
    super.apply();
    if (!this.options.cycleMomentum) return;
    const { baseMomentum: lo, maxMomentum: hi } = this.options;
    const e = this.lastEpoch;
    // Stryker disable next-line EqualityOperator: at e = phaseEnd both phases give the base momentum
    const falling = e <= this.phaseEnd;
    const m = falling
      ? cosineAnneal(hi, lo, e / this.phaseEnd)
      : cosineAnneal(lo, hi, (e - this.phaseEnd) / (this.totalSteps - 1 - this.phaseEnd));
    for (const group of this.optimizer.paramGroups as unknown as Record<string, unknown>[]) {
      if (Array.isArray(group.betas)) group.betas = [m, group.betas[1]];
      else if (typeof group.momentum === 'number') group.momentum = m;
    }
  }
}
