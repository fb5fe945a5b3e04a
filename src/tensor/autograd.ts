/**
 * Gradient mode and functional gradients. Backward and .grad live on Tensor;
 * here are noGrad (for evaluation and optimizer updates), enableGrad, and
 * grad(outputs, inputs) like torch.autograd.grad.
 */
import { native } from './native.js';
import { refuseAsync } from './synchronous.js';
import { Tensor, handlesOf } from './tensor.js';

function withGradMode<T>(enabled: boolean, fn: () => T, op: string): T {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    const result = fn();
    refuseAsync(result, `${op}(fn): fn returned a Promise; gradient mode only covers synchronous code`);
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn without recording operations for autograd (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad');
}

/** Runs fn with gradient recording on, even inside noGrad (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad');
}

/** Whether operations are recorded for autograd now (false inside noGrad), as torch.is_grad_enabled. */
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Options of grad(), as torch.autograd.grad's grad_outputs, retain_graph, create_graph and allow_unused (the flags default to false). */
export interface GradOptions {
  /** Weights for non-scalar outputs (the vector of the vector-Jacobian product). */
  gradOutputs?: Tensor[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return undefined for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** d(sum of outputs)/d(input) for each input, without touching any .grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | undefined)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gradOutputs = options.gradOutputs === undefined ? undefined : handlesOf(options.gradOutputs, 'grad');
  const result = native.autogradGrad(
    handlesOf(outs, 'grad'),
    handlesOf(ins, 'grad'),
    gradOutputs,
    options.retainGraph ?? false,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h === undefined ? undefined : new Tensor(h)));
}

/** The .grad of each tensor (undefined where none), in one native call. */
export function gradsOf(tensors: Tensor[]): (Tensor | undefined)[] {
  return native.gradsOf(handlesOf(tensors, 'gradsOf')).map((h) => (h === undefined ? undefined : new Tensor(h)));
}

/** Resets the gradients of tensors: to undefined (the default, as PyTorch 2) or to zeros. */
export function zeroGrads(tensors: Tensor[], setToNone = true): void {
  native.zeroGrads(handlesOf(tensors, 'zeroGrads'), setToNone);
}
