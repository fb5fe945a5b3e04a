import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose, fixturePath, formulaFill, formulaInput } from '../helpers.js';

/** The TinyNet of test/fixtures/pytorch_reference.py. */
class TinyNet extends S.Module {
  conv = new S.Conv2d(1, 3, 3);
  bn = new S.BatchNorm2d(3);
  fc = new S.Linear(3 * 4 * 4, 4);
  forward(x: S.Tensor): S.Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x).relu()).flatten(1));
  }
}

type Make = (params: S.Tensor[]) => S.Optimizer<{ lr: number }>;

const OPTIMIZERS: Record<string, Make> = {
  sgd: (p) => new S.SGD(p, { lr: 0.1 }),
  sgd_nesterov: (p) => new S.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-2 }),
  sgd_dampening: (p) => new S.SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.2 }),
  adam: (p) => new S.Adam(p, { lr: 1e-2, weightDecay: 1e-2 }),
  adam_amsgrad: (p) => new S.Adam(p, { lr: 1e-2, betas: [0.8, 0.99], amsgrad: true }),
  adamw: (p) => new S.AdamW(p, { lr: 1e-2, weightDecay: 0.1 }),
};

function train(model: TinyNet, optimizer: S.Optimizer<{ lr: number }>, steps: number): void {
  const x = formulaInput([4, 1, 6, 6]);
  const y = S.tensor([0, 1, 2, 3]);
  for (let i = 0; i < steps; i++) {
    S.scope(() => {
      S.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
      optimizer.zeroGrad();
    });
  }
}

describe('optimizers match PyTorch after 20 steps', () => {
  const reference = S.loadSafetensors(fixturePath('optimizers.safetensors'));
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(name, () => {
      const model = new TinyNet();
      formulaFill(model);
      train(model, make(model.parameters()), 20);
      for (const [key, value] of Object.entries(model.stateDict())) {
        const expected = reference[`${name}.${key}`]!;
        const diff = value.to('float64').sub(expected.to('float64')).abs().max().item();
        assert.ok(diff <= 1e-5, `${name} ${key}: max difference ${diff}`);
      }
    });
  }
});

describe('optimizer state', () => {
  it('saves and restores so that training continues exactly', () => {
    for (const make of [OPTIMIZERS.sgd_nesterov!, OPTIMIZERS.adam_amsgrad!]) {
      const straight = new TinyNet();
      formulaFill(straight);
      train(straight, make(straight.parameters()), 10);

      const first = new TinyNet();
      formulaFill(first);
      const opt1 = make(first.parameters());
      train(first, opt1, 5);
      const resumed = new TinyNet();
      resumed.loadStateDict(first.stateDict());
      const opt2 = make(resumed.parameters());
      opt2.loadStateDict(opt1.stateDict());
      train(resumed, opt2, 5);
      for (const [key, value] of Object.entries(resumed.stateDict())) {
        assert.ok(value.allclose(straight.stateDict()[key]!, 0, 1e-6), key);
      }
    }
  });

  it('loadStateDict names each mismatch between the saved state and its parameters', () => {
    const param = (n: number) => S.ones([n], { requiresGrad: true });
    const stepped = (params: S.Tensor[]) => {
      const opt = new S.Adam(params, { lr: 0.01 });
      params
        .map((p) => p.sum())
        .reduce((a, b) => a.add(b))
        .backward();
      opt.step();
      return opt.stateDict();
    };
    const twoGroups = new S.Adam([{ params: [param(2)] }, { params: [param(3)] }], { lr: 0.01 }).stateDict();
    assert.throws(
      () => new S.Adam([param(2)], { lr: 0.01 }).loadStateDict(twoGroups),
      /^Error: Adam\.loadStateDict: 2 parameter groups saved, 1 here$/,
    );

    const three = stepped([param(2), param(2), param(2)]);
    assert.throws(
      () => new S.Adam([param(2), param(2)], { lr: 0.01 }).loadStateDict(three),
      /Adam\.loadStateDict: group 0 has 3 parameters saved, 2 here/,
    );

    const saved = stepped([param(2), param(3)]);
    assert.throws(
      () => new S.Adam([param(2), param(4)], { lr: 0.01 }).loadStateDict(saved),
      /Adam\.loadStateDict: state 1\.exp_avg has shape \[3\], parameter has \[4\]/,
    );
    const stray = { state: { 7: saved.state[0]! }, paramGroups: saved.paramGroups };
    assert.throws(
      () => new S.Adam([param(2), param(3)], { lr: 0.01 }).loadStateDict(stray),
      /Adam\.loadStateDict: state for parameter 7, which does not exist/,
    );
    assert.throws(
      () => new S.SGD([param(2)], { lr: 0.1, momentum: 0.9 }).loadStateDict(twoGroups as never),
      /SGD\.loadStateDict: 2 parameter groups saved, 1 here/,
    );

    // The matching state loads, as copies the optimizer owns.
    const target = new S.Adam([param(2), param(3)], { lr: 0.5 });
    target.loadStateDict(saved);
    assert.equal(target.paramGroups[0]!.lr, 0.01);
    const loaded = target.stateDict().state[1]!;
    assert.equal(loaded.step, 1);
    assert.ok((loaded.exp_avg as S.Tensor).allclose(saved.state[1]!.exp_avg as S.Tensor, 0, 0));
    assert.notEqual(loaded.exp_avg, saved.state[1]!.exp_avg);

    // A failed load changes nothing: hyper-parameters and state stay as they were.
    const own = new S.Adam([param(2), param(4)], { lr: 0.5 });
    const before = stepped(own.paramGroups[0]!.params);
    own.loadStateDict(before);
    own.paramGroups[0]!.lr = 0.5;
    assert.throws(() => own.loadStateDict(saved), /state 1\.exp_avg has shape \[3\]/);
    assert.equal(own.paramGroups[0]!.lr, 0.5);
    assert.equal(own.stateDict().state[1]!.step, 1, 'the state survives a failed load');
  });

  it('supports per-group learning rates', () => {
    const a = S.ones([2], { requiresGrad: true });
    const b = S.ones([2], { requiresGrad: true });
    const opt = new S.SGD([{ params: [a] }, { params: [b], options: { lr: 1 } }], { lr: 0.1 });
    a.add(b).sum().backward();
    opt.step();
    assertClose(a, [0.9, 0.9]);
    assertClose(b, [0, 0]);
  });

  it('rejects bad hyper-parameters', () => {
    const p = [S.ones([1], { requiresGrad: true })];
    assert.throws(() => new S.SGD(p, { lr: -1 }), /learning rate must be >= 0/);
    assert.throws(() => new S.SGD(p, { lr: 0.1, nesterov: true }), /nesterov needs a positive momentum/);
    assert.throws(() => new S.Adam(p, { betas: [1.5, 0.9] }), /betas must be in \[0, 1\)/);
    assert.throws(() => new S.SGD([], { lr: 0.1 }), /empty parameter list/);
  });
});

describe('learning-rate schedules match PyTorch', () => {
  const { metadata } = S.loadSafetensorsWithMetadata(fixturePath('optimizers.safetensors'));
  const expected = JSON.parse(metadata.schedules!) as Record<string, { lr: number[]; momentum?: number[] }>;
  const cases: Record<string, (o: S.SGD) => S.LRScheduler> = {
    step: (o) => new S.StepLR(o, 3, 0.5),
    multistep: (o) => new S.MultiStepLR(o, [2, 5], 0.1),
    cosine: (o) => new S.CosineAnnealingLR(o, 10, 1e-3),
    linear: (o) => new S.LinearLR(o, 0.25, 1, 4),
    onecycle: (o) => new S.OneCycleLR(o, 0.1, 20),
  };
  for (const [name, make] of Object.entries(cases)) {
    it(name, () => {
      const opt = new S.SGD([S.zeros([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
      const scheduler = make(opt);
      const lrs: number[] = [];
      const momenta: number[] = [];
      for (let i = 0; i < expected[name]!.lr.length; i++) {
        lrs.push(opt.paramGroups[0]!.lr);
        momenta.push(opt.paramGroups[0]!.momentum);
        scheduler.step();
      }
      assertClose(lrs, expected[name]!.lr, 1e-9);
      if (expected[name]!.momentum) assertClose(momenta, expected[name]!.momentum!, 1e-9);
    });
  }
});

describe('clipGradNorm', () => {
  it('scales gradients to the maximum global norm and returns the norm before', () => {
    const a = S.zeros([2], { requiresGrad: true });
    const b = S.zeros([1], { requiresGrad: true });
    a.mul(S.tensor([3, 0], { dtype: 'float32' }))
      .sum()
      .add(b.mul(4).sum())
      .backward();
    const norm = S.clipGradNorm([a, b], 1);
    assertClose(norm, 5);
    assertClose(a.grad!, [0.6, 0], 1e-5);
    assertClose(b.grad!, [0.8], 1e-5);
  });
});
