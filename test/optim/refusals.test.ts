/**
 * The optimizers', schedulers' and clipping's edges: each bad hyper-parameter
 * is refused with a message naming it, each boundary value is accepted, and
 * the state kept and the momentum cycled are PyTorch's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

const param = () => S.ones([2], { requiresGrad: true });
const withGradient = (values: number[]) => {
  const p = S.zeros([values.length], { requiresGrad: true });
  p.mul(S.tensor(values)).sum().backward();
  return p;
};

describe('optimizer hyper-parameters', () => {
  const refused: [string, () => unknown, RegExp][] = [
    ['negative learning rate', () => new S.SGD([param()], { lr: -0.1 }), /^RangeError: SGD: learning rate must be >= 0, got -0.1$/],
    ['NaN learning rate', () => new S.Adam([param()], { lr: Number.NaN }), /^RangeError: Adam: learning rate must be >= 0, got NaN$/],
    ['negative momentum', () => new S.SGD([param()], { lr: 0.1, momentum: -0.5 }), /^RangeError: SGD: momentum must be >= 0, got -0.5$/],
    [
      'negative SGD weight decay',
      () => new S.SGD([param()], { lr: 0.1, weightDecay: -1 }),
      /^RangeError: SGD: weightDecay must be >= 0, got -1$/,
    ],
    [
      'Nesterov without momentum',
      () => new S.SGD([param()], { lr: 0.1, nesterov: true }),
      /^RangeError: SGD: nesterov needs a positive momentum and zero dampening$/,
    ],
    ['Nesterov with dampening', () => new S.SGD([param()], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /nesterov needs/],
    [
      'beta1 below 0',
      () => new S.Adam([param()], { betas: [-0.1, 0.999] }),
      /^RangeError: Adam: betas must be in \[0, 1\), got \[-0.1, 0.999\]$/,
    ],
    ['beta1 of 1', () => new S.Adam([param()], { betas: [1, 0.999] }), /betas must be in \[0, 1\), got \[1, 0.999\]/],
    [
      'beta2 below 0',
      () => new S.AdamW([param()], { betas: [0.9, -0.1] }),
      /^RangeError: AdamW: betas must be in \[0, 1\), got \[0.9, -0.1\]$/,
    ],
    ['beta2 of 1', () => new S.Adam([param()], { betas: [0.9, 1] }), /betas must be in \[0, 1\), got \[0.9, 1\]/],
    ['negative eps', () => new S.Adam([param()], { eps: -1e-8 }), /^RangeError: Adam: eps must be >= 0$/],
    ['negative Adam weight decay', () => new S.AdamW([param()], { weightDecay: -0.01 }), /^RangeError: AdamW: weightDecay must be >= 0$/],
    ['no parameters', () => new S.SGD([], { lr: 0.1 }), /^RangeError: SGD: got an empty parameter list$/],
    ['only empty groups', () => new S.SGD([{ params: [] }, { params: [] }], { lr: 0.1 }), /empty parameter list/],
    [
      'a bad value in one group',
      () => new S.SGD([{ params: [param()] }, { params: [param()], options: { momentum: -1 } }], { lr: 0.1 }),
      /momentum must be >= 0, got -1/,
    ],
    [
      'a parameter given twice (issue 42, defect 13)',
      () => {
        const p = param();
        return new S.SGD([param(), p, p], { lr: 0.1 });
      },
      /^RangeError: SGD: parameter 2 of the list is given more than once \(it would be updated twice each step\): give each parameter once/,
    ],
    [
      'a parameter in two groups',
      () => {
        const p = param();
        return new S.Adam([{ params: [p] }, { params: [p] }]);
      },
      /^RangeError: Adam: parameter 1 of the list is given more than once/,
    ],
  ];
  for (const [what, make, message] of refused) {
    it(`refuses ${what}`, () => assert.throws(make, (e: Error) => message.test(`${e.name}: ${e.message}`)));
  }

  it('accepts each boundary value', () => {
    assert.doesNotThrow(() => new S.SGD([param()], { lr: 0, momentum: 0, weightDecay: 0 }));
    assert.doesNotThrow(() => new S.SGD([param()], { lr: 0.1, momentum: 0.9, nesterov: true }));
    assert.doesNotThrow(() => new S.Adam([param()], { lr: 0, betas: [0, 0], eps: 0, weightDecay: 0 }));
    assert.doesNotThrow(() => new S.Adam([param()], { betas: [0.999999, 0.999999] }));
    assert.doesNotThrow(() => new S.SGD([{ params: [] }, { params: [param()] }], { lr: 0.1 }), 'one empty group among others is allowed');
  });

  it('takes a list of tensors as one group, and groups with their own options', () => {
    const [a, b] = [param(), param()];
    assert.deepEqual(
      new S.SGD([a, b], { lr: 0.1 }).paramGroups.map((g) => g.params.length),
      [2],
    );
    const grouped = new S.SGD([{ params: [a] }, { params: [b], options: { lr: 0.5 } }], { lr: 0.1 });
    assert.deepEqual(
      grouped.paramGroups.map((g) => g.lr),
      [0.1, 0.5],
    );
    assert.deepEqual(
      grouped.stateDict().paramGroups.map((g) => g.params),
      [[0], [1]],
      'indices count on across groups',
    );
  });
});

describe('optimizer steps', () => {
  it('updates only the parameters that have a gradient, and keeps state only for them', () => {
    const [a, b] = [param(), withGradient([1, 2])];
    const sgd = new S.SGD([a, b], { lr: 0.5, momentum: 0.9 });
    sgd.step();
    assert.deepEqual([...a.data()], [1, 1]);
    assert.deepEqual([...b.data()], [-0.5, -1]);
    assert.deepEqual(Object.keys(sgd.stateDict().state), ['1']);
  });

  it('a group with no gradient at all is skipped', () => {
    const [a, b] = [param(), withGradient([4])];
    const adam = new S.Adam([{ params: [a] }, { params: [b] }], { lr: 0.1 });
    adam.step();
    assert.deepEqual(Object.keys(adam.stateDict().state), ['1']);
    assert.ok(Math.abs(b.item() + 0.1) < 1e-6, `Adam's first step is lr * sign(g): ${b.item()}`);
  });

  it('keeps a momentum buffer only with momentum, and max_exp_avg_sq only with amsgrad', () => {
    const plain = new S.SGD([withGradient([1])], { lr: 0.1 });
    plain.step();
    assert.deepEqual(plain.stateDict().state, {}, 'SGD without momentum keeps no state, as PyTorch');
    const adam = new S.Adam([withGradient([1])], {});
    adam.step();
    assert.deepEqual(Object.keys(adam.stateDict().state[0]!).sort(), ['exp_avg', 'exp_avg_sq', 'step']);
    const ams = new S.Adam([withGradient([1])], { amsgrad: true });
    ams.step();
    assert.deepEqual(Object.keys(ams.stateDict().state[0]!).sort(), ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
  });

  it('zeroGrad drops the gradients by default and fills them with zeros when asked', () => {
    const p = withGradient([3]);
    const sgd = new S.SGD([p], { lr: 0.1 });
    sgd.zeroGrad(false);
    assert.deepEqual([...p.grad!.data()], [0]);
    sgd.zeroGrad();
    assert.equal(p.grad, undefined);
  });

  it("loadStateDict names a state tensor whose shape is not its parameter's", () => {
    const sgd = new S.SGD([S.ones([2, 2], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const saved = { state: { 0: { momentum_buffer: S.zeros([3, 1]) } }, paramGroups: sgd.stateDict().paramGroups };
    assert.throws(
      () => sgd.loadStateDict(saved),
      (e: Error) => e.message === 'SGD.loadStateDict: state 0.momentum_buffer has shape [3, 1], parameter has [2, 2]',
    );
  });

  it("loadStateDict copies the saved state in the parameter's dtype, so the saved tensors stay the caller's", () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const sgd = new S.SGD([S.ones([2], { requiresGrad: true, dtype })], { lr: 0.1, momentum: 0.9 });
      const buffer = S.tensor(Float32Array.from([1, 2]));
      sgd.loadStateDict({ state: { 0: { momentum_buffer: buffer } }, paramGroups: sgd.stateDict().paramGroups });
      const loaded = sgd.stateDict().state[0]!.momentum_buffer as S.Tensor;
      assert.equal(loaded.dtype, dtype);
      buffer.mul_(10);
      assert.deepEqual([...loaded.data()], [1, 2], `${dtype}: a copy, not the caller's tensor`);
    }
  });
});

describe('clipGradNorm', () => {
  it('refuses a maxNorm that is not positive', () => {
    for (const bad of [0, -1, Number.NaN]) {
      assert.throws(
        () => S.clipGradNorm([param()], bad),
        (e: Error) => e instanceof RangeError && e.message === `clipGradNorm: maxNorm must be positive, got ${bad}`,
      );
    }
    assert.doesNotThrow(() => S.clipGradNorm([param()], 1e-9));
  });

  it('returns 0 and changes nothing when no parameter has a gradient', () => {
    assert.equal(S.clipGradNorm([param()], 1), 0);
  });

  it('scales the gradients to maxNorm when their norm is above it, and leaves them when below', () => {
    const p = withGradient([3, 4]);
    assert.equal(S.clipGradNorm([p, param()], 10), 5);
    assert.deepEqual([...p.grad!.data()], [3, 4], 'norm 5 is under 10: untouched');
    const q = withGradient([3, 4]);
    assert.equal(S.clipGradNorm([q], 1), 5);
    const [x, y] = [...q.grad!.data()] as number[];
    assert.ok(Math.abs(x! - 0.6 / (1 + 1e-6 / 5)) < 1e-6 && Math.abs(y! - 0.8) < 1e-6, `clipped to norm 1: ${x}, ${y}`);
    const r = withGradient([3, 4]);
    S.clipGradNorm([r], 5);
    assert.ok(Math.abs((r.grad!.data()[0] as number) - 3) < 1e-5, 'at exactly maxNorm the coefficient is 5 / (5 + 1e-6), a hair under 1');
    assert.ok((r.grad!.data()[0] as number) < 3);
  });
});

describe('scheduler settings', () => {
  const sgd = () => new S.SGD([param()], { lr: 1, momentum: 0.9 });
  const refused: [string, () => unknown, string][] = [
    ['a StepLR step of 0', () => new S.StepLR(sgd(), 0), 'StepLR: stepSize must be a positive integer'],
    ['a fractional StepLR step', () => new S.StepLR(sgd(), 1.5), 'StepLR: stepSize must be a positive integer'],
    ['a CosineAnnealingLR tMax of 0', () => new S.CosineAnnealingLR(sgd(), 0), 'CosineAnnealingLR: tMax must be positive'],
    ['a LinearLR startFactor of 0', () => new S.LinearLR(sgd(), 0), 'LinearLR: startFactor must be in (0, 1]'],
    ['a LinearLR startFactor above 1', () => new S.LinearLR(sgd(), 1.5), 'LinearLR: startFactor must be in (0, 1]'],
    ['a OneCycleLR of 1 step', () => new S.OneCycleLR(sgd(), 1, 1), 'OneCycleLR: totalSteps must be an integer >= 2'],
    ['a fractional OneCycleLR length', () => new S.OneCycleLR(sgd(), 1, 10.5), 'OneCycleLR: totalSteps must be an integer >= 2'],
  ];
  for (const [what, make, message] of refused) {
    it(`refuses ${what}`, () => assert.throws(make, (e: Error) => e instanceof RangeError && e.message === message));
  }

  it('accepts each boundary value', () => {
    assert.doesNotThrow(() => new S.StepLR(sgd(), 1));
    assert.doesNotThrow(() => new S.LinearLR(sgd(), 1));
    assert.doesNotThrow(() => new S.OneCycleLR(sgd(), 1, 2));
    assert.doesNotThrow(() => new S.CosineAnnealingLR(sgd(), 0.5));
  });

  it('LinearLR starts at a third of the rate by default, as PyTorch', () => {
    const opt = sgd();
    new S.LinearLR(opt);
    assert.ok(Math.abs(opt.paramGroups[0]!.lr - 1 / 3) < 1e-12);
  });

  it('OneCycleLR refuses to step past its length', () => {
    const scheduler = new S.OneCycleLR(sgd(), 1, 3);
    scheduler.step();
    scheduler.step();
    scheduler.step();
    assert.throws(
      () => scheduler.step(),
      (e: Error) => e.message === 'OneCycleLR: stepped 4 times, past totalSteps (3)',
    );
  });

  it("OneCycleLR cycles Adam's beta1 and keeps beta2; without cycleMomentum it leaves momentum alone", () => {
    const adam = new S.Adam([param()], { betas: [0.9, 0.99] });
    new S.OneCycleLR(adam, 1, 10);
    assert.deepEqual(adam.paramGroups[0]!.betas, [0.95, 0.99], 'at the start, the maximum momentum');
    const opt = sgd();
    new S.OneCycleLR(opt, 1, 10, { cycleMomentum: false });
    assert.equal(opt.paramGroups[0]!.momentum, 0.9);
  });

  it('OneCycleLR gives no momentum to an optimizer that has none', () => {
    class GradientDescent extends S.Optimizer<{ lr: number }> {
      protected updateGroup(): void {}
    }
    const plain = new GradientDescent([param()], { lr: 1 });
    new S.OneCycleLR(plain, 1, 10);
    assert.deepEqual(Object.keys(plain.paramGroups[0]!).sort(), ['lr', 'params']);
  });
});
