/**
 * The optimizer base: parameter groups with their own hyper-parameters,
 * per-parameter state, and a state dict in PyTorch's layout
 * ({ state: {index: {...}}, paramGroups: [{...hyper, params: [indices]}] })
 * so that training resumes exactly.
 */
import { Tensor, dispose, gradsOf, keep, noGrad, scope, zeroGrads } from '../tensor/index.js';

/** Per-parameter optimizer state (e.g. momentum_buffer, exp_avg, step), keyed by PyTorch's state names. */
export type ParamState = Record<string, Tensor | number>;

/** One parameter group as passed to an optimizer's constructor: its parameters and optional hyper-parameter overrides. */
export interface GroupInput<H> {
  params: Tensor[];
  /** Hyper-parameters that override the optimizer's defaults for this group. */
  options?: Partial<H>;
}

/** A parameter group as the optimizer holds it: its full hyper-parameters and its parameters. As an entry of torch.optim.Optimizer.param_groups. */
export type ParamGroup<H> = H & { params: Tensor[] };

/** An optimizer's saved state in PyTorch's layout: state by parameter index, and each group's hyper-parameters with the indices of its parameters. */
export interface OptimizerStateDict<H> {
  state: Record<number, ParamState>;
  paramGroups: (H & { params: number[] })[];
}

/**
 * Base of the optimizers: parameter groups with their own hyper-parameters, per-parameter state, and step / zeroGrad / stateDict / loadStateDict.
 * As torch.optim.Optimizer.
 */
export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | GroupInput<H>[], defaults: H) {
    const groups: GroupInput<H>[] = params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as GroupInput<H>[]);
    // (every() is true of no groups, so an empty list is refused here too)
    if (groups.every((g) => g.params.length === 0)) {
      throw new RangeError(`${this.constructor.name}: got an empty parameter list`);
    }
    // A parameter given twice would be stepped twice a step (PyTorch refuses it across groups and warns within one).
    const all = groups.flatMap((g) => g.params);
    const twice = all.findIndex((p, i) => all.indexOf(p) !== i);
    if (twice >= 0) {
      throw new RangeError(
        `${this.constructor.name}: parameter ${twice} of the list is given more than once (it would be updated twice each step): ` +
          'give each parameter once, e.g. [...new Set(params)]',
      );
    }
    this.paramGroups = groups.map((g) => {
      const group = { ...defaults, ...g.options, params: [...g.params] } as ParamGroup<H>;
      this.validate(group);
      return group;
    });
  }

  /** Checks one group's hyper-parameters, throwing a RangeError that says what to fix. */
  protected validate(group: H): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.constructor.name}: learning rate must be >= 0, got ${group.lr}`);
  }

  /** Updates one group's parameters (those with gradients) from their gradients. */
  protected abstract updateGroup(group: ParamGroup<H>, params: Tensor[], grads: Tensor[]): void;

  /** One update of every parameter that has a gradient. */
  step(): void {
    scope(() =>
      noGrad(() => {
        for (const group of this.paramGroups) {
          const grads = gradsOf(group.params);
          const params = group.params.filter((_, i) => grads[i] !== undefined);
          if (params.length > 0)
            this.updateGroup(
              group,
              params,
              grads.filter((g): g is Tensor => g !== undefined),
            );
        }
      }),
    );
  }

  /** Clears the gradients of every parameter: drops them when setToNone (the default), else fills them with zeros. As torch.optim.Optimizer.zero_grad. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) zeroGrads(group.params, setToNone);
  }

  /** The state of p, created on first use. Tensors stored in it must be kept. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  #allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** State and hyper-parameters; the state's tensors are the optimizer's own (save them, do not dispose). */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map(this.#allParams().map((p, i) => [p, i]));
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { ...s };
    let next = 0;
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => ({
      ...(hyper as unknown as H),
      params: params.map(() => next++),
    }));
    return { state, paramGroups };
  }

  /** Restores state saved by stateDict() for the same parameters in the same order. */
  /** Loads a saved state; every mismatch is found before anything changes, so a failed load leaves the optimizer as it was. */
  loadStateDict(saved: OptimizerStateDict<H>): void {
    const params = this.#allParams();
    const name = `${this.constructor.name}.loadStateDict`;
    if (saved.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}: ${saved.paramGroups.length} parameter groups saved, ${this.paramGroups.length} here`);
    }
    saved.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new Error(`${name}: group ${i} has ${g.params.length} parameters saved, ${this.paramGroups[i]!.params.length} here`);
      }
    });
    for (const [key, s] of Object.entries(saved.state)) {
      const p = params[Number(key)];
      if (p === undefined) throw new Error(`${name}: state for parameter ${key}, which does not exist`);
      for (const [field, value] of Object.entries(s)) {
        if (value instanceof Tensor && value.shape.join(',') !== p.shape.join(',')) {
          throw new Error(`${name}: state ${key}.${field} has shape [${value.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`);
        }
      }
    }
    saved.paramGroups.forEach((g, i) => {
      const { params: _ignored, ...hyper } = g;
      Object.assign(this.paramGroups[i]!, hyper);
    });
    for (const s of this.state.values()) dispose(s);
    this.state.clear();
    for (const [key, s] of Object.entries(saved.state)) {
      const p = params[Number(key)]!;
      const copy: ParamState = {};
      for (const [field, value] of Object.entries(s))
        copy[field] = value instanceof Tensor ? keep(value.to({ dtype: p.dtype, copy: true })) : value;
      this.state.set(p, copy);
    }
  }
}
