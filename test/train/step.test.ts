/**
 * The training step's loss: cross-entropy, with labelSmoothing mixing in the
 * mean log-probability over the classes, checked against the formula on the
 * step's own logits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { trainingStep } from '../../src/train/step.js';

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
  const parts = { model, optimizer, scheduler: undefined, config: { precision: 'fp32' as const, labelSmoothing }, memoryFormat: 'contiguous' as const, gradientWeights: [] };
  const { loss } = trainingStep(parts, { x, y }, false);
  S.dispose(model.parameters());
  return { loss, logits };
}

describe('the training step\'s loss', () => {
  const x = S.keep(S.tensor([[0.5, -1, 2, 0], [1, 1, -0.5, 3], [-2, 0.3, 0.1, 1]]));
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
    const expected = logits.reduce((t, z, i) => {
      const logp = logSoftmax(z);
      return t + (1 - e) * -logp[labels[i]!]! + e * -logp.reduce((a, v) => a + v, 0) / z.length;
    }, 0) / 3;
    assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
    assert.ok(Math.abs(loss - stepLoss(0, x, y).loss) > 1e-3, 'smoothing changes the loss');
  });
});
