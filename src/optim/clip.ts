/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
import { type Tensor, foreachMul_, foreachNorm, gradsOf, noGrad, scope, stack } from '../tensor/index.js';

/**
 * Scales all gradients so that their joint L2 norm is at most maxNorm and
 * returns the norm before clipping (Infinity or NaN tells of a blown-up step).
 */
export function clipGradNorm(parameters: Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  return scope(() =>
    noGrad(() => {
      const grads = gradsOf(parameters).filter((g): g is Tensor => g !== undefined);
      if (grads.length === 0) return 0;
      const total = stack(foreachNorm(grads)).norm().item();
      const coefficient = maxNorm / (total + 1e-6);
      // Stryker disable next-line EqualityOperator: a coefficient of exactly 1 scales by 1
      if (coefficient < 1) foreachMul_(grads, coefficient);
      return total;
    }),
  );
}
