/**
 * The training step's loss: cross-entropy, with labelSmoothing mixing in the
 * mean log-probability over the classes, checked against the formula on the
 * step's own logits.
 *
 * Then the step itself, called directly on a Linear layer: the count classified right, the SGD update from the step's own gradient, the schedule stepped, gradient norms only when asked (null for a weight that got none), a given forward used in place of the model's, bf16 autocast only for precision bf16, and a non-finite loss that updates nothing but still clears the gradients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { type StepParts, trainingStep } from '../../src/train/step.js';

const logSoftmax = (z: number[]) => {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
};

function stepLoss(labelSmoothing: number, x: S.Tensor, y: S.Tensor): { loss: number; logits: number[][] } {
  S.manualSeed(3);
  const model = new S.Linear(4, 3);
  const logits = S.noGrad(() => model.forward(x).toArray() as number[][]);
  const optimizer = new S.SGD(model.parameters(), { lr: 0 });
  const parts = {
    model,
    optimizer,
    scheduler: undefined,
    config: { precision: 'fp32' as const, labelSmoothing },
    memoryFormat: 'contiguous' as const,
    gradientWeights: [],
  };
  const { loss } = trainingStep(parts, { x, y }, false);
  S.dispose(model.parameters());
  return { loss, logits };
}

describe("the training step's loss", () => {
  const x = S.keep(
    S.tensor([
      [0.5, -1, 2, 0],
      [1, 1, -0.5, 3],
      [-2, 0.3, 0.1, 1],
    ]),
  );
  const y = S.keep(S.tensor([2, 0, 1], { dtype: 'int64' }));
  const labels = [2, 0, 1];

  it('is the mean cross-entropy without smoothing', () => {
    const { loss, logits } = stepLoss(0, x, y);
    const expected = logits.reduce((t, z, i) => t - logSoftmax(z)[labels[i]!]!, 0) / 3;
    assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
  });

  it('with labelSmoothing e, is (1 - e) x cross-entropy + e x the mean over classes of -log p', () => {
    const e = 0.1;
    const { loss, logits } = stepLoss(e, x, y);
    const expected =
      logits.reduce((t, z, i) => {
        const logp = logSoftmax(z);
        return t + (1 - e) * -logp[labels[i]!]! + (e * -logp.reduce((a, v) => a + v, 0)) / z.length;
      }, 0) / 3;
    assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
    assert.ok(Math.abs(loss - stepLoss(0, x, y).loss) > 1e-3, 'smoothing changes the loss');
  });
});

const argmax = (z: number[]) => z.indexOf(Math.max(...z));
const norm = (values: number[]) => Math.sqrt(values.reduce((a, v) => a + v * v, 0));
const flat = (t: S.Tensor) => Array.from(t.data() as Float32Array);

const x = S.keep(
  S.tensor([
    [0.123456, -1.987654, 2.345678, 0.314159],
    [1.11111, 0.777777, -0.55555, 3.141592],
    [-2.71828, 0.333333, 0.141421, 1.414213],
  ]),
);

/** A seeded Linear(4, 3), its logits on x, and labels that make the first two rows right and the third wrong. */
function setup(seed = 3) {
  S.manualSeed(seed);
  const model = new S.Linear(4, 3);
  const logits = S.noGrad(() => model.forward(x).toArray() as number[][]);
  const labels = logits.map((z, i) => (i < 2 ? argmax(z) : (argmax(z) + 1) % 3));
  const y = S.tensor(labels, { dtype: 'int64' });
  return { model, logits, labels, y };
}

/** The gradients of the mean cross-entropy for a copy of the model, by a separate forward and backward. */
function referenceGrads(model: S.Linear, y: S.Tensor, scale = 1) {
  const copy = new S.Linear(4, 3);
  copy.loadStateDict(model.stateDict());
  S.crossEntropy(copy.forward(x).mul(scale), y).backward();
  return { weight: flat(copy.weight.grad!), bias: flat(copy.bias!.grad!) };
}

function parts(model: S.Linear, extra: Partial<StepParts> = {}): StepParts {
  return {
    model,
    optimizer: new S.SGD(model.parameters(), { lr: 0.5 }),
    scheduler: undefined,
    config: { precision: 'fp32', labelSmoothing: 0 },
    memoryFormat: 'contiguous',
    gradientWeights: [],
    ...extra,
  };
}

const meanCrossEntropy = (logits: number[][], labels: number[]) =>
  logits.reduce((t, z, i) => t - logSoftmax(z)[labels[i]!]!, 0) / logits.length;

describe('trainingStep', () => {
  it('returns the loss and the images classified right before the update, and takes one SGD step on the gradient', () => {
    const { model, logits, labels, y } = setup();
    const weight = flat(model.weight);
    const grads = referenceGrads(model, y);
    const result = trainingStep(parts(model), { x, y }, false);
    const expected = meanCrossEntropy(logits, labels);
    assert.ok(Math.abs(result.loss - expected) < 1e-6, `${result.loss} vs ${expected}`);
    assert.equal(result.correct, 2);
    assert.equal(result.gradientNorms, undefined, 'no norms unless asked');
    flat(model.weight).forEach((w, i) => assert.ok(Math.abs(w - (weight[i]! - 0.5 * grads.weight[i]!)) < 1e-6, `weight ${i}`));
    assert.deepEqual(S.gradsOf(model.parameters()), [undefined, undefined], 'the gradients are cleared');
  });

  it('steps the schedule after a good step', () => {
    const { model, y } = setup();
    const p = parts(model);
    const scheduler = new S.StepLR(p.optimizer, 1, 0.1);
    trainingStep({ ...p, scheduler }, { x, y }, false);
    assert.equal(scheduler.lastEpoch, 1);
    assert.ok(Math.abs(p.optimizer.paramGroups[0]!.lr - 0.05) < 1e-12);
  });

  it("records each weight's gradient norm when asked, null for a weight without a gradient", () => {
    const { model, y } = setup();
    const grads = referenceGrads(model, y);
    const unused = S.keep(S.zeros([2]).requiresGrad_(true));
    const result = trainingStep(parts(model, { gradientWeights: [model.weight, unused, model.bias!] }), { x, y }, true);
    const norms = result.gradientNorms!;
    assert.equal(norms.length, 3);
    assert.ok(Math.abs(norms[0]! - norm(grads.weight)) < 1e-5, `${norms[0]} vs ${norm(grads.weight)}`);
    assert.equal(norms[1], null);
    assert.ok(Math.abs(norms[2]! - norm(grads.bias)) < 1e-5, `${norms[2]} vs ${norm(grads.bias)}`);
    assert.ok(Math.abs(norms[0]! - norms[2]!) > 1e-3, 'two different norms');
    // Only weights without gradients: all null.
    const again = setup();
    assert.deepEqual(trainingStep(parts(again.model, { gradientWeights: [unused] }), { x, y: again.y }, true).gradientNorms, [null]);
  });

  it("uses the given forward instead of the model's", () => {
    const { model, logits, labels, y } = setup();
    const doubled = logits.map((z) => z.map((v) => 2 * v));
    const result = trainingStep(parts(model, { forward: (input) => model.forward(input).mul(2) }), { x, y }, false);
    const expected = meanCrossEntropy(doubled, labels);
    assert.ok(Math.abs(result.loss - expected) < 1e-5, `${result.loss} vs ${expected}`);
  });

  it('passes the label smoothing to the loss', () => {
    const { model, logits, labels, y } = setup();
    const e = 0.2;
    const result = trainingStep(parts(model, { config: { precision: 'fp32', labelSmoothing: e } }), { x, y }, false);
    const expected =
      logits.reduce((t, z, i) => {
        const logp = logSoftmax(z);
        return t + (1 - e) * -logp[labels[i]!]! + (e * -logp.reduce((a, v) => a + v, 0)) / z.length;
      }, 0) / logits.length;
    assert.ok(Math.abs(result.loss - expected) < 1e-6, `${result.loss} vs ${expected}`);
  });

  it('runs forward under bf16 autocast for precision bf16 only', () => {
    const { model, logits, labels, y } = setup();
    const exact = meanCrossEntropy(logits, labels);
    const fp32 = trainingStep(parts(model), { x, y }, false).loss;
    assert.ok(Math.abs(fp32 - exact) < 1e-6, `fp32 ${fp32} vs ${exact}`);
    const again = setup();
    const bf16 = trainingStep(parts(again.model, { config: { precision: 'bf16', labelSmoothing: 0 } }), { x, y: again.y }, false).loss;
    assert.ok(Math.abs(bf16 - exact) > 1e-4, `bf16 ${bf16} carries bf16 rounding (exact ${exact})`);
    assert.ok(Math.abs(bf16 - exact) < 5e-2, `bf16 ${bf16} is still the loss`);
  });

  it('skips the update and the schedule on a non-finite loss, but clears the gradients', () => {
    const { model, y } = setup();
    const weight = flat(model.weight);
    const bias = flat(model.bias!);
    const p = parts(model, { gradientWeights: [model.weight] });
    const scheduler = new S.StepLR(p.optimizer, 1, 0.1);
    const bad = S.tensor([
      [Number.NaN, 0, 0, 0],
      [1, 1, 1, 1],
      [0, 0, 0, 0],
    ]);
    const result = trainingStep({ ...p, scheduler }, { x: bad, y }, true);
    assert.ok(Number.isNaN(result.loss));
    assert.equal(result.gradientNorms, undefined, 'no norms for a skipped step');
    assert.deepEqual(flat(model.weight), weight, 'the weights are those before the step');
    assert.deepEqual(flat(model.bias!), bias);
    assert.equal(scheduler.lastEpoch, 0);
    assert.equal(p.optimizer.paramGroups[0]!.lr, 0.5);
    assert.deepEqual(S.gradsOf(model.parameters()), [undefined, undefined], 'the NaN gradients are cleared');
    // An infinite loss is skipped too; the next good step then trains from the same weights.
    const inf = trainingStep(
      { ...p, scheduler },
      {
        x: S.tensor([
          [Number.POSITIVE_INFINITY, 0, 0, 0],
          [1, 1, 1, 1],
          [0, 0, 0, 0],
        ]),
        y,
      },
      false,
    );
    assert.ok(!Number.isFinite(inf.loss));
    assert.deepEqual(flat(model.weight), weight);
    trainingStep({ ...p, scheduler }, { x, y }, false);
    assert.notDeepEqual(flat(model.weight), weight);
    assert.equal(scheduler.lastEpoch, 1);
  });
});
