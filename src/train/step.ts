/**
 * One training step: forward (under bf16 autocast when asked), cross-entropy,
 * backward, the weights' gradient norms when they are due, and the optimizer
 * and schedule steps. A non-finite loss skips the update, so the weights stay
 * those of the last good step.
 */
import type { Batch } from '../data/index.js';
import type { Module } from '../nn/index.js';
import type { LRScheduler, Optimizer } from '../optim/index.js';
import type { TrainConfig } from '../runs/index.js';
import { type MemoryFormat, type Tensor, autocast, crossEntropy, foreachNorm, gradsOf, noGrad, scope, stack } from '../tensor/index.js';

export interface StepParts {
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  scheduler: LRScheduler | undefined;
  config: Pick<TrainConfig, 'precision' | 'labelSmoothing'>;
  memoryFormat: MemoryFormat;
  /** The weights whose gradient norms are recorded. */
  gradientWeights: Tensor[];
  /** The forward pass when it is not model.forward (data-parallel training: DistributedDataParallel's). */
  forward?: (x: Tensor) => Tensor;
}

export interface StepResult {
  loss: number;
  /** Images of the batch classified right (before the update). */
  correct: number;
  /** Each recorded weight's gradient norm (null: no gradient), when asked for. */
  gradientNorms?: (number | null)[];
}

/** The norm of each weight's gradient; weights that forward never used (a SkipBlock's in2out where channels match) get null. */
function gradientNorms(weights: Tensor[]): (number | null)[] {
  const grads = gradsOf(weights);
  const present = grads.filter((g): g is Tensor => g !== undefined);
  const values = present.length ? (stack(foreachNorm(present)).to('float32').data() as Float32Array) : new Float32Array(0);
  let k = 0;
  return grads.map((g) => (g === undefined ? null : values[k++]!));
}

/** Trains on one batch; the batch stays the caller's to dispose. */
export function trainingStep(parts: StepParts, batch: Batch, recordGradients: boolean): StepResult {
  const { model, optimizer, scheduler, config, memoryFormat } = parts;
  return scope(() => {
    const x = batch.x.contiguous(memoryFormat);
    const logits = autocast(() => (parts.forward ? parts.forward(x) : model.forward(x)), { enabled: config.precision === 'bf16' }).float();
    const value = crossEntropy(logits, batch.y, { labelSmoothing: config.labelSmoothing });
    value.backward();
    const loss = value.item();
    let norms: (number | null)[] | undefined;
    if (Number.isFinite(loss)) {
      if (recordGradients) norms = gradientNorms(parts.gradientWeights);
      optimizer.step();
      scheduler?.step();
    }
    optimizer.zeroGrad();
    const correct = noGrad(() => logits.argmax(1).eq(batch.y).sum().item());
    return { loss, correct, gradientNorms: norms };
  });
}
