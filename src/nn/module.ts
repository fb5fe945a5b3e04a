/**
 * Module: the base of every layer and network. As in PyTorch, a module's
 * parameters, buffers and child modules are its fields, found by walking them
 * in declaration order (arrays of modules count as lists), so state-dict keys
 * are exactly PyTorch's for the same attribute names:
 * `skip64_arr.3.convo1.weight`, `bn1.running_mean`, ...
 */
import { type DType, type MemoryFormat, Tensor, keep, noGrad, scope, zeroGrads } from '../tensor/index.js';

// Tensors created through Module.buffer(): state that is saved but not trained.
const bufferTensors = new WeakSet<Tensor>();

/** Tensors by PyTorch state-dict key, such as `bn1.running_mean`. */
export type StateDict = Record<string, Tensor>;

/** Options of Module.loadStateDict. */
export interface LoadStateDictOptions {
  /** Require exactly the model's keys (default true). */
  strict?: boolean;
}

/** What Module.loadStateDict found: the model's keys the state dict lacked, and the state dict's keys the model lacks (both empty when strict). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base of every layer and network, as torch.nn.Module. Subclasses define forward; parameters, buffers and child modules
 * are found from the fields in declaration order, so state-dict keys are PyTorch's for the same attribute names.
 */
export abstract class Module {
  #training = true;

  /** Computes the module's output; subclasses define it. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Registers a trainable parameter: kept alive past scopes and marked requiresGrad. */
  protected param(t: Tensor): Tensor {
    return keep(t).requiresGrad_(true);
  }

  /** Registers a buffer: saved in the state dict, never trained (e.g. running statistics). */
  protected buffer(t: Tensor): Tensor {
    bufferTensors.add(t);
    return keep(t);
  }

  get training(): boolean {
    return this.#training;
  }

  /** Sets training mode on this module and every descendant (dropout, batch norm behave accordingly). */
  train(mode = true): this {
    for (const m of this.modules()) m.#training = mode;
    return this;
  }

  /** Sets evaluation mode on this module and every descendant: train(false), as torch.nn.Module.eval. */
  eval(): this {
    return this.train(false);
  }

  /** The fields of this module that hold tensors, in declaration order. */
  #ownTensors(): [string, Tensor][] {
    return Object.entries(this).filter((entry): entry is [string, Tensor] => entry[1] instanceof Tensor);
  }

  /** Direct children with their names: module fields, and arrays of modules as `name.i`. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Module) {
        out.push([name, value]);
      } else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((child: Module, i) => out.push([`${name}.${i}`, child]));
      }
    }
    return out;
  }

  /** The direct child modules, in the order of namedChildren. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all its descendants, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** This module and all its descendants, depth first. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Tensors of the given kinds in PyTorch's order: a module's own parameters,
   * then its own buffers, then each child's in turn.
   */
  #namedTensors(kinds: readonly ('parameter' | 'buffer')[], prefix = ''): [string, Tensor][] {
    const own = this.#ownTensors();
    const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
    const out: [string, Tensor][] = [];
    for (const kind of kinds) {
      for (const [name, t] of own) if (bufferTensors.has(t) === (kind === 'buffer')) out.push([key(name), t]);
    }
    for (const [name, child] of this.namedChildren()) out.push(...child.#namedTensors(kinds, key(name)));
    return out;
  }

  /** Every trainable tensor with its state-dict key, in PyTorch's order. */
  namedParameters(): [string, Tensor][] {
    return this.#namedTensors(['parameter']);
  }

  /** Every trainable tensor; its length is what the course calls the number of learnable layers. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every buffer (saved, not trained, e.g. batch-norm running statistics) with its state-dict key, in PyTorch's order. */
  namedBuffers(): [string, Tensor][] {
    return this.#namedTensors(['buffer']);
  }

  /** Every buffer, in the order of namedBuffers. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** The total number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((total, p) => total + p.numel, 0);
  }

  /**
   * Moves or converts every parameter and buffer in place (they keep their
   * identity): to a device, to a floating dtype, or to the channels-last
   * memory format that makes oneDNN's bfloat16 convolutions fastest.
   */
  to(target: { device?: string; dtype?: DType; memoryFormat?: MemoryFormat }): this {
    noGrad(() => {
      for (const [, t] of this.#namedTensors(['parameter', 'buffer'])) {
        const isFloat = t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'bfloat16' || t.dtype === 'float16';
        scope(() => {
          const moved = t.to({ device: target.device, dtype: isFloat ? target.dtype : undefined });
          t.setData_(target.memoryFormat !== undefined && moved.ndim === 4 ? moved.contiguous(target.memoryFormat) : moved);
        });
      }
    });
    return this;
  }

  /** Clears every parameter's gradient (to undefined by default, like PyTorch's set_to_none). */
  zeroGrad(setToNone = true): void {
    zeroGrads(this.parameters(), setToNone);
  }

  /**
   * Parameters and buffers by PyTorch key, as detached views sharing storage
   * with the model (they are new handles: dispose them or make them in a scope).
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, t] of this.#namedTensors(['parameter', 'buffer'])) out[name] = t.detach();
    return out;
  }

  /**
   * Copies values into the model's tensors (keeping their identity, so an
   * optimizer holding them stays valid). Shapes must match; with strict (the
   * default) the keys must match exactly. Errors name the offending keys (a few of many).
   */
  loadStateDict(state: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = new Map(this.#namedTensors(['parameter', 'buffer']));
    const missingKeys = [...own.keys()].filter((k) => !(k in state));
    const unexpectedKeys = Object.keys(state).filter((k) => !own.has(k));
    const problems: string[] = [];
    // A state dict of another model lists hundreds of keys: name a few and count the rest.
    const list = (keys: string[]) =>
      `${keys.length} (${keys.slice(0, 5).join(', ')}${keys.length > 5 ? `, ... ${keys.length - 5} more` : ''})`;
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${list(missingKeys)}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${list(unexpectedKeys)}`);
    for (const [key, target] of own) {
      const source = state[key];
      if (source === undefined) continue;
      if (source.shape.join(',') !== target.shape.join(',')) {
        problems.push(`${key}: shape [${source.shape.join(', ')}] in the state dict, [${target.shape.join(', ')}] in the model`);
      }
    }
    if (problems.length > 0) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [key, target] of own) {
        const source = state[key];
        if (source !== undefined) target.copy_(source);
      }
    });
    return { missingKeys, unexpectedKeys };
  }
}
