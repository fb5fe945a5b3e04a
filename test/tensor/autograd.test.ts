import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { assertClose, gradcheck } from '../helpers.js';

const r = (...shape: number[]) => S.randn(shape, { dtype: 'float64' });
const positive = (...shape: number[]) => S.rand(shape, { dtype: 'float64' }).add(0.5);

describe('gradients against finite differences (float64)', () => {
  S.manualSeed(7);
  const unary: [string, (x: S.Tensor) => S.Tensor, () => S.Tensor][] = [
    ['neg', (x) => x.neg(), () => r(2, 3)],
    ['abs', (x) => x.abs(), () => positive(2, 3).mul(S.tensor([1, -1, 1], { dtype: 'float64' }))],
    ['exp', (x) => x.exp(), () => r(2, 3)],
    ['log', (x) => x.log(), () => positive(2, 3)],
    ['sqrt', (x) => x.sqrt(), () => positive(2, 3)],
    ['rsqrt', (x) => x.rsqrt(), () => positive(2, 3)],
    ['pow', (x) => x.pow(3), () => r(2, 3)],
    ['square', (x) => x.square(), () => r(2, 3)],
    ['sigmoid', (x) => x.sigmoid(), () => r(2, 3)],
    ['tanh', (x) => x.tanh(), () => r(2, 3)],
    ['relu', (x) => x.relu(), () => positive(2, 3).mul(S.tensor([1, -1, 1], { dtype: 'float64' }))],
    ['leakyRelu', (x) => x.leakyRelu(0.2), () => positive(2, 3).mul(S.tensor([1, -1, 1], { dtype: 'float64' }))],
    ['gelu', (x) => x.gelu(), () => r(2, 3)],
    [
      'clamp',
      (x) => x.clamp(-0.5, 0.5),
      () =>
        S.tensor(
          [
            [-1, -0.2, 0.3],
            [0.9, 0.1, -0.7],
          ],
          { dtype: 'float64' },
        ),
    ],
    ['sum(dim)', (x) => x.sum(1), () => r(2, 3)],
    ['mean(dim, keepdim)', (x) => x.mean(0, { keepdim: true }), () => r(2, 3)],
    ['max(dim)', (x) => x.max(1), () => r(2, 3)],
    ['min', (x) => x.min(), () => r(2, 3)],
    ['std', (x) => x.std(1), () => r(2, 4)],
    ['var', (x) => x.var(), () => r(2, 4)],
    ['norm', (x) => x.norm(), () => r(2, 4)],
    [
      'reshape+permute',
      (x) =>
        x
          .reshape([3, 2])
          .permute([1, 0])
          .mul(S.arange(3, undefined, 1, { dtype: 'float64' })),
      () => r(2, 3),
    ],
    ['transpose+flatten', (x) => x.transpose(0, 1).flatten(), () => r(2, 3)],
    ['narrow+select', (x) => x.narrow(1, 1, 2).select(0, 1), () => r(2, 3)],
    ['expand+repeat', (x) => x.expand([2, 3]).repeat([2, 1]), () => r(1, 3)],
    ['indexSelect+gather', (x) => x.indexSelect(1, S.tensor([2, 0])).gather(1, S.tensor([[1], [0]])), () => r(2, 3)],
    ['flip+pad', (x) => x.flip([1]).pad([1, 1], 0.5), () => r(2, 3)],
    ['softmax', (x) => S.softmax(x, 1), () => r(2, 3)],
    ['logSoftmax', (x) => S.logSoftmax(x, 1), () => r(2, 3)],
    ['maxPool2d', (x) => S.maxPool2d(x, 2), () => r(1, 2, 4, 4)],
    ['avgPool2d', (x) => S.avgPool2d(x, 2, { stride: 1, padding: 1 }), () => r(1, 1, 3, 3)],
    ['adaptiveAvgPool2d', (x) => S.adaptiveAvgPool2d(x, 2), () => r(1, 2, 5, 5)],
    ['crossEntropy', (x) => S.crossEntropy(x, S.tensor([0, 2, 1]), { labelSmoothing: 0.1 }), () => r(3, 4)],
    ['nllLoss', (x) => S.nllLoss(S.logSoftmax(x, 1), S.tensor([3, 0]), { reduction: 'sum' }), () => r(2, 4)],
    ['mseLoss', (x) => S.mseLoss(x, S.zeros([2, 3], { dtype: 'float64' })), () => r(2, 3)],
    ['batchNorm(training)', (x) => S.batchNorm(x, { training: true }), () => r(3, 2, 2, 2)],
  ];
  for (const [name, f, make] of unary) {
    it(name, () => gradcheck(f, [make()]));
  }

  const binary: [string, (a: S.Tensor, b: S.Tensor) => S.Tensor, () => S.Tensor[]][] = [
    ['add (broadcast, alpha)', (a, b) => a.add(b, 0.5), () => [r(2, 3), r(3)]],
    ['sub', (a, b) => a.sub(b), () => [r(2, 3), r(2, 1)]],
    ['mul', (a, b) => a.mul(b), () => [r(2, 3), r(2, 3)]],
    ['div', (a, b) => a.div(b), () => [r(2, 3), positive(2, 3)]],
    ['pow(tensor)', (a, b) => a.pow(b), () => [positive(2, 3), r(2, 3)]],
    ['matmul', (a, b) => a.matmul(b), () => [r(2, 3), r(3, 4)]],
    ['maximum', (a, b) => a.maximum(b), () => [S.tensor([1, -2, 3], { dtype: 'float64' }), S.tensor([0, 0, 5], { dtype: 'float64' })]],
    ['where', (a, b) => S.where(a.gt(0), a, b), () => [S.tensor([1, -2, 3], { dtype: 'float64' }), r(3)]],
    ['cat', (a, b) => S.cat([a, b], 0), () => [r(2, 3), r(1, 3)]],
    ['stack', (a, b) => S.stack([a, b], 1), () => [r(2, 3), r(2, 3)]],
    ['linear', (x, w) => S.linear(x, w), () => [r(2, 3), r(4, 3)]],
    ['conv2d', (x, w) => S.conv2d(x, w, undefined, { padding: 1, stride: 2 }), () => [r(1, 2, 5, 5), r(3, 2, 3, 3)]],
    ['conv2d (groups, dilation)', (x, w) => S.conv2d(x, w, undefined, { groups: 2, dilation: 2 }), () => [r(1, 4, 5, 5), r(2, 2, 2, 2)]],
    ['batchNorm(affine)', (x, w) => S.batchNorm(x, { weight: w, bias: w.mul(0.5), training: true }), () => [r(4, 3, 2, 2), r(3)]],
  ];
  for (const [name, f, make] of binary) {
    it(name, () => gradcheck(f, make()));
  }
});

describe('autograd mechanics', () => {
  it('accumulates gradients over several backward passes', () => {
    const w = S.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    w.mul(3).sum().backward();
    w.mul(3).sum().backward();
    assert.deepEqual(w.grad!.toArray(), [6, 6]);
    S.zeroGrads([w]);
    assert.equal(w.grad, undefined);
    S.zeroGrads([w], false);
    w.square().sum().backward();
    assert.deepEqual(w.grad!.toArray(), [2, 4]);
    S.zeroGrads([w], false);
    assert.deepEqual(w.grad!.toArray(), [0, 0]);
  });

  it('backpropagates a given gradient from a non-scalar', () => {
    const x = S.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    x.square().backward(S.tensor([1, 0, 2], { dtype: 'float32' }));
    assert.deepEqual(x.grad!.toArray(), [2, 0, 12]);
  });

  it('computes grad(outputs, inputs) without touching .grad, including second derivatives', () => {
    const x = S.tensor([2], { dtype: 'float64', requiresGrad: true });
    const y = x.pow(3);
    const [dy] = S.grad(y, x, { createGraph: true });
    assertClose(dy!, [12]);
    const [d2y] = S.grad(dy!, x);
    assertClose(d2y!, [12]);
    assert.equal(x.grad, undefined);
    const unused = S.tensor([1], { dtype: 'float64', requiresGrad: true });
    assert.equal(S.grad(x.mul(2), [x, unused], { allowUnused: true })[1], undefined);
  });

  it('records nothing under noGrad, and detach cuts the graph', () => {
    const w = S.ones([2], { requiresGrad: true });
    const y = S.noGrad(() => w.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(S.isGradEnabled(), true);
    assert.equal(S.noGrad(() => S.enableGrad(() => w.mul(2))).requiresGrad, true);
    assert.equal(w.mul(2).detach().requiresGrad, false);
    assert.equal(w.isLeaf, true);
    assert.equal(w.mul(2).isLeaf, false);
  });

  it('restores the gradient mode when fn throws', () => {
    assert.throws(
      () =>
        S.noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(S.isGradEnabled(), true);
  });
});
