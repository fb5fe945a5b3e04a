/**
 * The curvature of the training loss, PyHessian's measures (Yao et al. 2020):
 * Hessian-vector products by double backward, the top eigenvalues by power
 * iteration (deflated for the k-th), and the trace by Hutchinson's estimator
 * with Rademacher vectors; each per batch and over the batches with a
 * t-interval, since the estimates vary with the sample. Batch norm is in eval
 * mode; the weights, their gradients, the model's mode and libtorch's
 * generator are as they were afterwards.
 */
import type { Batch } from '../data/index.js';
import type { Module } from '../nn/index.js';
import { type SampleSummary, describeSample } from '../report/statistics.js';
import {
  type Tensor,
  crossEntropy,
  dispose,
  getRngState,
  grad,
  keep,
  manualSeed,
  randint,
  randn,
  scope,
  setRngState,
  zerosLike,
} from '../tensor/index.js';

/** How hessianCurvature estimates: PyHessian's tolerance and iteration limit by default. */
export interface CurvatureOptions {
  /** The dominant eigenvalues to find per batch, the k-th by power iteration orthogonal to the first k - 1 (default 1). */
  topEigenvalues?: number;
  /** Rademacher vectors of Hutchinson's trace estimate per batch (default 50). */
  traceSamples?: number;
  /** Relative change of an eigenvalue between iterations at which power iteration stops (default 1e-3). */
  tolerance?: number;
  /** The most power iterations per eigenvalue (default 100). */
  maxIterations?: number;
  /** Seed of the start and Rademacher vectors; libtorch's generator is restored afterwards (default 0). */
  seed?: number;
}

/** A measure per batch and over the batches: mean, sample standard deviation and 95% t-interval (none for one batch). */
export interface CurvatureMeasure extends SampleSummary {
  /** The measure on each batch, in the batches' order. */
  perBatch: number[];
}

/** What hessianCurvature measured. */
export interface HessianCurvature {
  /** The dominant eigenvalue of the Hessian of the training loss (largest in magnitude, as power iteration finds it; PyHessian's top eigenvalue). */
  topEigenvalue: CurvatureMeasure;
  /** Per batch, the dominant eigenvalues found, largest in magnitude first. */
  topEigenvalues: number[][];
  /** The trace of the Hessian (the sum of its eigenvalues). */
  trace: CurvatureMeasure;
  /** Hessian-vector products computed on each batch. */
  hvpsPerBatch: number[];
  /** Hessian-vector products computed in all. */
  hvps: number;
  /** Images in the batches, in all. */
  sample: number;
}

/** hessianCurvature's defaults: one eigenvalue, 50 Rademacher vectors, PyHessian's tolerance and iteration limit, seed 0. */
export const CURVATURE_DEFAULTS: Required<CurvatureOptions> = {
  topEigenvalues: 1,
  traceSamples: 50,
  tolerance: 1e-3,
  maxIterations: 100,
  seed: 0,
};

/** The weights the loss is differentiated by: the parameters that take a gradient. */
function trainable(model: Module): Tensor[] {
  return model.parameters().filter((p) => p.requiresGrad);
}

/** The dot product of two lists of tensors, accumulated in float64. */
function dot(a: Tensor[], b: Tensor[]): number {
  return scope(() => a.reduce((sum, t, i) => sum + t.to('float64').mul(b[i]!.to('float64')).sum().item(), 0));
}

/**
 * The Hessian of the batch's mean cross-entropy, with respect to the model's trainable weights, times `vector` (one tensor per
 * weight, in parameters() order): double backward, with batch norm in eval mode for the call. The result is detached.
 */
export function hessianVectorProduct(model: Module, batch: Batch, vector: Tensor[]): Tensor[] {
  const weights = trainable(model);
  if (vector.length !== weights.length || vector.some((v, i) => v.shape.join() !== weights[i]!.shape.join())) {
    throw new RangeError(
      `hessianVectorProduct: the vector needs one tensor per trainable weight, shaped like it (${weights.length} weights)`,
    );
  }
  const wasTraining = model.training;
  model.eval();
  try {
    return scope(() => {
      const loss = crossEntropy(model.forward(batch.x), batch.y);
      const gradients = grad(loss, weights, { createGraph: true, allowUnused: true }).map((g, i) => g ?? zerosLike(weights[i]!));
      const projected = gradients.reduce((sum: Tensor | undefined, g, i) => {
        const term = g.mul(vector[i]!).sum();
        return sum === undefined ? term : sum.add(term);
      }, undefined)!;
      // A weight the loss does not depend on twice (a last bias) has a zero row of the Hessian.
      return grad(projected, weights, { allowUnused: true }).map((h, i) => (h ?? zerosLike(weights[i]!)).detach());
    });
  } finally {
    model.train(wasTraining);
  }
}

/** A vector scaled to unit length (float64 norm). */
function normalized(vector: Tensor[]): Tensor[] {
  const norm = Math.sqrt(dot(vector, vector));
  return vector.map((v) => v.div(norm + 1e-12));
}

/** v minus its projection on each of the unit vectors found before (Gram-Schmidt), so power iteration finds the next eigenvalue. */
function orthogonalTo(v: Tensor[], found: Tensor[][]): Tensor[] {
  return found.reduce((rest, u) => {
    const along = dot(rest, u);
    return rest.map((t, i) => t.sub(u[i]!, along));
  }, v);
}

/** The top eigenvalues of one batch's Hessian by power iteration, and the Hessian-vector products they took. */
function topEigenvalues(model: Module, batch: Batch, options: Required<CurvatureOptions>): { values: number[]; hvps: number } {
  const found: Tensor[][] = [];
  const values: number[] = [];
  let hvps = 0;
  try {
    for (let k = 0; k < options.topEigenvalues; k++) {
      let v = scope(() =>
        normalized(
          orthogonalTo(
            trainable(model).map((w) => randn(w.shape)),
            found,
          ),
        ).map((t) => keep(t)),
      );
      let eigenvalue: number | undefined;
      for (let i = 0; i < options.maxIterations; i++) {
        const hv = hessianVectorProduct(model, batch, v);
        hvps++;
        const estimate = dot(hv, v);
        const next = scope(() => normalized(orthogonalTo(hv, found)).map((t) => keep(t)));
        dispose([hv, v]);
        v = next;
        const converged = eigenvalue !== undefined && Math.abs(estimate - eigenvalue) / (Math.abs(eigenvalue) + 1e-6) < options.tolerance;
        eigenvalue = estimate;
        if (converged) break;
      }
      values.push(eigenvalue!);
      found.push(v);
    }
    return { values, hvps };
  } finally {
    dispose(found);
  }
}

/** Hutchinson's estimate of one batch's Hessian trace: the mean of v'Hv over Rademacher vectors v. */
function hutchinsonTrace(model: Module, batch: Batch, samples: number): number {
  let sum = 0;
  for (let s = 0; s < samples; s++) {
    const v = scope(() => trainable(model).map((w) => keep(randint(0, 2, w.shape).to(w.dtype).mul(2).sub(1))));
    const hv = hessianVectorProduct(model, batch, v);
    sum += dot(hv, v);
    dispose([v, hv]);
  }
  return sum / samples;
}

/** The problems of curvature options, each naming its option. */
function optionProblems(o: Required<CurvatureOptions>): string[] {
  const count = (name: keyof CurvatureOptions, max: number) =>
    Number.isInteger(o[name]) && o[name] >= 1 && o[name] <= max ? [] : [`${name} must be an integer from 1 to ${max}, got ${o[name]}`];
  return [
    ...count('topEigenvalues', 20),
    ...count('traceSamples', 10_000),
    ...count('maxIterations', 10_000),
    ...(o.tolerance > 0 && o.tolerance < 1 ? [] : [`tolerance must be in (0, 1), got ${o.tolerance}`]),
    ...(Number.isSafeInteger(o.seed) && o.seed >= 0 ? [] : [`seed must be a non-negative integer, got ${o.seed}`]),
  ];
}

/**
 * The Hessian's top eigenvalue(s) and trace on each batch, and over the batches with a 95% interval. Each batch's Hessian
 * is of its own mean loss; the batches should be drawn alike (a fixed sample in equal batches).
 */
export function hessianCurvature(model: Module, batches: Batch[], given: CurvatureOptions = {}): HessianCurvature {
  const options = { ...CURVATURE_DEFAULTS, ...given };
  const problems = optionProblems(options);
  if (batches.length === 0) problems.push('the sample holds no batch: give at least one');
  if (problems.length > 0) throw new RangeError(`hessianCurvature: ${problems.join('; ')}`);
  const state = getRngState();
  try {
    manualSeed(options.seed);
    const perBatch = batches.map((batch) => {
      const eigen = topEigenvalues(model, batch, options);
      return { eigen, trace: hutchinsonTrace(model, batch, options.traceSamples), hvps: eigen.hvps + options.traceSamples };
    });
    const measure = (values: number[]): CurvatureMeasure => ({ ...describeSample(values), perBatch: values });
    const hvpsPerBatch = perBatch.map((b) => b.hvps);
    return {
      topEigenvalue: measure(perBatch.map((b) => b.eigen.values[0]!)),
      topEigenvalues: perBatch.map((b) => b.eigen.values),
      trace: measure(perBatch.map((b) => b.trace)),
      hvpsPerBatch,
      hvps: hvpsPerBatch.reduce((a, b) => a + b, 0),
      sample: batches.reduce((n, b) => n + b.y.shape[0]!, 0),
    };
  } finally {
    setRngState(state);
    state.dispose();
  }
}
