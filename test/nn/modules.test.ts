import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose, fixturePath } from '../helpers.js';

class Block extends S.Module {
  conv = new S.Conv2d(2, 3, 3, { padding: 1 });
  bn = new S.BatchNorm2d(3);
  forward(x: S.Tensor): S.Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

class Net extends S.Module {
  blocks = [new Block(), new Block()];
  head = new S.Sequential(new S.Flatten(), new S.Linear(3, 2));
  scale = this.param(S.ones([1]));
  forward(x: S.Tensor): S.Tensor {
    return x;
  }
}

describe('Module', () => {
  it('finds parameters, buffers and children from fields, with PyTorch keys and order', () => {
    const net = new Net();
    assert.deepEqual(
      net.namedParameters().map(([k]) => k),
      [
        'scale',
        'blocks.0.conv.weight',
        'blocks.0.conv.bias',
        'blocks.0.bn.weight',
        'blocks.0.bn.bias',
        'blocks.1.conv.weight',
        'blocks.1.conv.bias',
        'blocks.1.bn.weight',
        'blocks.1.bn.bias',
        'head.1.weight',
        'head.1.bias',
      ],
    );
    assert.deepEqual(
      net.namedBuffers().map(([k]) => k),
      [
        'blocks.0.bn.running_mean',
        'blocks.0.bn.running_var',
        'blocks.0.bn.num_batches_tracked',
        'blocks.1.bn.running_mean',
        'blocks.1.bn.running_var',
        'blocks.1.bn.num_batches_tracked',
      ],
    );
    assert.deepEqual(Object.keys(net.stateDict()).slice(0, 8), [
      'scale',
      'blocks.0.conv.weight',
      'blocks.0.conv.bias',
      'blocks.0.bn.weight',
      'blocks.0.bn.bias',
      'blocks.0.bn.running_mean',
      'blocks.0.bn.running_var',
      'blocks.0.bn.num_batches_tracked',
    ]);
    assert.equal(net.parameters().length, 11);
    assert.equal(net.numParameters(), 1 + 2 * (2 * 3 * 9 + 3 + 3 + 3) + (3 * 2 + 2));
    assert.deepEqual(net.children().length, 3);
    assert.equal(net.modules().length, 1 + 2 * 3 + 3);
  });

  it('switches train and eval mode through the whole tree', () => {
    const net = new Net();
    assert.equal(net.blocks[1]!.bn.training, true);
    net.eval();
    assert.ok(net.modules().every((m) => !m.training));
    net.train();
    assert.ok(net.modules().every((m) => m.training));
  });

  it('batch norm updates its running statistics and counter in training only', () => {
    const bn = new S.BatchNorm2d(2);
    const x = S.randn([4, 2, 3, 3]).mul(2).add(1);
    bn.forward(x);
    assert.equal(bn.num_batches_tracked!.item(), 1);
    assertClose(bn.running_mean!, x.mean([0, 2, 3]).mul(0.1).toArray() as number[], 1e-5);
    bn.eval();
    const before = bn.running_mean!.clone();
    bn.forward(x);
    assert.ok(bn.running_mean!.allclose(before, 0, 0));
    assert.equal(bn.num_batches_tracked!.item(), 1);
  });

  it('loads a state dict in place, and names every mismatched key and shape', () => {
    const a = new Net();
    const b = new Net();
    const weight = b.blocks[0]!.conv.weight;
    b.loadStateDict(a.stateDict());
    assert.equal(b.blocks[0]!.conv.weight, weight, 'tensors keep their identity');
    assert.ok(b.blocks[0]!.conv.weight.allclose(a.blocks[0]!.conv.weight, 0, 0));
    const state = a.stateDict();
    delete state['head.1.bias'];
    state['extra.weight'] = S.ones([1]);
    state['scale'] = S.ones([2]);
    assert.throws(
      () => b.loadStateDict(state),
      (e: Error) =>
        /missing keys: 1 \(head\.1\.bias\)/.test(e.message) &&
        /unexpected keys: 1 \(extra\.weight\)/.test(e.message) &&
        /scale: shape \[2\] in the state dict, \[1\] in the model/.test(e.message),
    );
    // Another model's state names a few of its keys and counts the rest, not hundreds of them.
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`other.${i}.weight`, S.ones([1])]));
    assert.throws(
      () => b.loadStateDict(many),
      /unexpected keys: 40 \(other\.0\.weight, other\.1\.weight, other\.2\.weight, other\.3\.weight, other\.4\.weight, \.\.\. 35 more\)/,
    );
    delete state['scale'];
    const result = b.loadStateDict({ ...state, scale: S.ones([1]) }, { strict: false });
    assert.deepEqual(result.missingKeys, ['head.1.bias']);
    assert.deepEqual(result.unexpectedKeys, ['extra.weight']);
  });

  it('zeroGrad clears every parameter gradient', () => {
    const lin = new S.Linear(3, 2);
    lin
      .forward(S.ones([1, 3]))
      .sum()
      .backward();
    assert.ok(lin.weight.grad !== undefined);
    lin.zeroGrad();
    assert.equal(lin.weight.grad, undefined);
  });
});

describe('layers', () => {
  it('BatchNorm2d refuses one value per channel in training, as PyTorch does, and takes it in eval (issue 42, defect 13)', () => {
    const bn = new S.BatchNorm2d(3);
    assert.throws(
      () => bn.forward(S.randn([1, 3, 1, 1])),
      /^RangeError: BatchNorm2d: expected more than 1 value per channel when training, got input shape \[1, 3, 1, 1\]: train with a batch of 2 or more, or call eval\(\) first$/,
    );
    assert.deepEqual(bn.running_var!.toArray(), [1, 1, 1], 'running_var untouched');
    bn.forward(S.randn([2, 3, 1, 1]));
    bn.forward(S.randn([1, 3, 2, 1]));
    bn.eval();
    assert.deepEqual(bn.forward(S.randn([1, 3, 1, 1])).shape, [1, 3, 1, 1]);
  });

  it('initialise exactly as PyTorch does from the same seed', () => {
    const reference = S.loadSafetensors(fixturePath('init.safetensors'));
    S.manualSeed(0);
    const conv = new S.Conv2d(3, 4, 3);
    const lin = new S.Linear(5, 2);
    assert.ok(conv.weight.allclose(reference['conv.weight']!, 0, 1e-7));
    assert.ok(conv.bias!.allclose(reference['conv.bias']!, 0, 1e-7));
    assert.ok(lin.weight.allclose(reference['linear.weight']!, 0, 1e-7));
    assert.ok(lin.bias!.allclose(reference['linear.bias']!, 0, 1e-7));
  });

  it('compute what their functions compute', () => {
    const x = S.randn([2, 3, 8, 8]);
    const conv = new S.Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false });
    assert.equal(conv.bias, undefined);
    assert.deepEqual(conv.forward(x).shape, [2, 4, 4, 4]);
    assert.deepEqual(new S.MaxPool2d(2).forward(x).shape, [2, 3, 4, 4]);
    assert.deepEqual(new S.AvgPool2d(4).forward(x).shape, [2, 3, 2, 2]);
    assert.deepEqual(new S.AdaptiveAvgPool2d(1).forward(x).shape, [2, 3, 1, 1]);
    assert.deepEqual(new S.Flatten().forward(x).shape, [2, 192]);
    assert.ok(new S.ReLU().forward(x).min().item() >= 0);
    assertClose(new S.LeakyReLU(0.5).forward(S.tensor([-2], { dtype: 'float32' })), [-1]);
    assert.equal(new S.Identity().forward(x), x);
    const drop = new S.Dropout(0.5);
    drop.eval();
    assert.ok(drop.forward(x).allclose(x));
    const seq = new S.Sequential(new S.Flatten(), new S.Linear(192, 5), new S.ReLU());
    assert.deepEqual(seq.forward(x).shape, [2, 5]);
    assert.deepEqual(Object.keys(seq.stateDict()), ['1.weight', '1.bias']);
    const list = new S.ModuleList([new S.Linear(2, 2), new S.Linear(2, 3)]);
    assert.deepEqual(Object.keys(list.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias']);
  });

  it('reject bad configurations', () => {
    assert.throws(() => new S.Conv2d(3, 4, 3, { groups: 2 }), /groups \(2\) must divide/);
    assert.throws(() => new S.Linear(0, 3), /inFeatures must be a positive integer/);
    assert.throws(() => new S.Dropout(2), RangeError);
  });

  it('initialisers follow torch.nn.init', () => {
    S.manualSeed(3);
    const w = S.empty([256, 128, 3, 3]);
    // 294,912 values: the sample std is within 0.2% of the true one, the largest |w| of a uniform within 0.1% of its bound.
    const near = (actual: number, expected: number, relative: number, label: string) =>
      assert.ok(Math.abs(actual - expected) <= relative * expected, `${label}: ${actual}, expected ${expected} within ${100 * relative}%`);
    S.init.kaimingNormal_(w, { nonlinearity: 'relu' });
    near(w.std().item(), Math.sqrt(2 / (128 * 9)), 0.02, 'kaimingNormal_ std');
    S.init.xavierUniform_(w);
    const xavier = Math.sqrt(6 / (128 * 9 + 256 * 9));
    near(w.abs().max().item(), xavier, 1e-3, 'xavierUniform_ max |w|');
    assert.ok(w.abs().max().item() <= xavier * (1 + 1e-6));
    near(w.std().item(), xavier / Math.sqrt(3), 0.02, 'xavierUniform_ std');
    S.init.kaimingUniform_(w, { a: Math.sqrt(5) });
    near(w.abs().max().item(), 1 / Math.sqrt(128 * 9), 1e-3, 'kaimingUniform_ max |w|');
    assert.ok(w.abs().max().item() <= (1 / Math.sqrt(128 * 9)) * (1 + 1e-6));
  });
});

describe('summary', () => {
  it('lists every layer with exact output shapes and totals', () => {
    const net = new S.Sequential(
      new S.Conv2d(1, 4, 3, { padding: 1 }),
      new S.ReLU(),
      new S.MaxPool2d(2),
      new S.Flatten(),
      new S.Linear(4 * 14 * 14, 10),
    );
    const s = S.summary(net, [1, 28, 28]);
    assert.deepEqual(
      s.layers.map((l) => l.outputShape),
      [
        [1, 4, 28, 28],
        [1, 4, 28, 28],
        [1, 4, 14, 14],
        [1, 784],
        [1, 10],
      ],
    );
    assert.equal(s.totalParameters, 4 * 9 + 4 + 784 * 10 + 10);
    assert.equal(s.parameterTensors, 4);
    assert.equal(s.totalFlops, 2 * 9 * 4 * 28 * 28 + 2 * 784 * 10);
    assert.match(s.text, /Parameter tensors \(learnable layers\): 4/);
    assert.equal(net.training, true, 'summary restores the training mode');
  });
});
