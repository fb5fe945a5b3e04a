/**
 * The weight initialisers against torch.nn.init, three ways: against
 * PyTorch's own numbers from the same seeds (test/fixtures/
 * init_functions.safetensors, written by pytorch_reference.py --init);
 * exactly, by drawing the same numbers from the same seed with the plain
 * uniform_/normal_ at the std or bound torch.nn.init documents; and
 * statistically, on a tensor large enough that the sample std is within 0.2%
 * of the true one, with bounds a few percent wide.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { fixturePath } from '../helpers.js';

const { init } = S;

// A conv weight [out 256, in 128, 3, 3]: fan_in 1152, fan_out 2304, 294,912 values.
const SHAPE = [256, 128, 3, 3];
const FAN_IN = 128 * 9;
const FAN_OUT = 256 * 9;

function stats(t: S.Tensor) {
  return { mean: t.mean().item(), std: t.std().item(), maxAbs: t.abs().max().item() };
}

function assertWithin(actual: number, expected: number, relative: number, label: string) {
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.abs(expected),
    `${label}: ${actual} is not within ${100 * relative}% of ${expected}`,
  );
}

/** Draws with `fill` and with `reference` from the same seed: the values must agree. */
function assertSameDraws(fill: (t: S.Tensor) => void, reference: (t: S.Tensor) => void, label: string, shape = SHAPE) {
  S.manualSeed(1234);
  const a = S.empty(shape);
  fill(a);
  S.manualSeed(1234);
  const b = S.empty(shape);
  reference(b);
  assert.ok(a.allclose(b, 1e-6, 0), `${label}: differs from the reference draw (max difference ${a.sub(b).abs().max().item()})`);
}

describe('init matches PyTorch', () => {
  it('draws the numbers torch.nn.init draws from the same seed', () => {
    const { tensors, metadata } = S.loadSafetensorsWithMetadata(fixturePath('init_functions.safetensors'));
    const cases = JSON.parse(metadata.cases!) as Record<string, [number, number[]]>;
    const fills: Record<string, (t: S.Tensor) => void> = {
      'kaiming_normal.default': (t) => init.kaimingNormal_(t),
      'kaiming_normal.relu_fan_out': (t) => init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu' }),
      'kaiming_normal.leaky_0.2': (t) => init.kaimingNormal_(t, { a: 0.2 }),
      'kaiming_uniform.relu': (t) => init.kaimingUniform_(t, { nonlinearity: 'relu' }),
      'kaiming_uniform.sqrt5': (t) => init.kaimingUniform_(t, { a: Math.sqrt(5) }),
      'xavier_uniform.default': (t) => init.xavierUniform_(t),
      'xavier_uniform.tanh': (t) => init.xavierUniform_(t, init.calculateGain('tanh')),
      'xavier_normal.default': (t) => init.xavierNormal_(t),
      'xavier_normal.gain2': (t) => init.xavierNormal_(t, 2),
    };
    assert.deepEqual(Object.keys(cases).sort(), Object.keys(fills).sort());
    for (const [name, [seed, shape]] of Object.entries(cases)) {
      S.manualSeed(seed);
      const w = S.empty(shape);
      fills[name]!(w);
      const expected = tensors[name]!;
      assert.ok(w.allclose(expected, 1e-6, 0), `${name}: max difference from PyTorch ${w.sub(expected).abs().max().item()}`);
    }
  });
});

describe('init gains and fans', () => {
  it('computes torch.nn.init.calculate_gain', () => {
    assert.equal(init.calculateGain('linear'), 1);
    assert.equal(init.calculateGain('sigmoid'), 1);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.sqrt(2));
    assert.equal(init.calculateGain('leaky_relu'), Math.sqrt(2 / (1 + 0.01 ** 2)), 'leaky_relu defaults to slope 0.01');
    assert.equal(init.calculateGain('leaky_relu', 0), Math.sqrt(2));
    assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
  });

  it('computes fan in and fan out of linear and conv weights', () => {
    assert.deepEqual(init.fans(S.empty([3, 5])), { fanIn: 5, fanOut: 3 });
    assert.deepEqual(init.fans(S.empty(SHAPE)), { fanIn: FAN_IN, fanOut: FAN_OUT });
    assert.deepEqual(init.fans(S.empty([4, 2, 5, 3])), { fanIn: 30, fanOut: 60 });
    assert.throws(() => init.fans(S.empty([7])), /at least 2 dimensions/);
  });
});

describe('kaiming', () => {
  it('kaimingNormal_ draws N(0, gain / sqrt(fan)) with gain sqrt(2) for relu and by default', () => {
    const relu = Math.sqrt(2 / FAN_IN);
    assertSameDraws(
      (t) => init.kaimingNormal_(t),
      (t) => init.normal_(t, 0, relu),
      'default (leaky_relu, a = 0)',
    );
    assertSameDraws(
      (t) => init.kaimingNormal_(t, { nonlinearity: 'relu' }),
      (t) => init.normal_(t, 0, relu),
      'relu',
    );
    assertSameDraws(
      (t) => init.kaimingNormal_(t, { nonlinearity: 'relu', mode: 'fanOut' }),
      (t) => init.normal_(t, 0, Math.sqrt(2 / FAN_OUT)),
      'fanOut',
    );
    assertSameDraws(
      (t) => init.kaimingNormal_(t, { nonlinearity: 'linear' }),
      (t) => init.normal_(t, 0, 1 / Math.sqrt(FAN_IN)),
      'linear',
    );
    assertSameDraws(
      (t) => init.kaimingNormal_(t, { a: 0.2 }),
      (t) => init.normal_(t, 0, Math.sqrt(2 / (1.04 * FAN_IN))),
      'leaky_relu 0.2',
    );

    S.manualSeed(5);
    const w = init.kaimingNormal_(S.empty(SHAPE));
    const s = stats(w);
    assertWithin(s.std, relu, 0.02, 'std');
    assert.ok(Math.abs(s.mean) < 0.02 * relu, `mean ${s.mean}`);
    assert.ok(s.maxAbs > 4 * relu, 'a normal draw of this size reaches past 4 std');
    S.manualSeed(5);
    const out = init.kaimingNormal_(S.empty(SHAPE), { mode: 'fanOut', nonlinearity: 'relu' });
    assertWithin(out.std().item(), Math.sqrt(2 / FAN_OUT), 0.02, 'fanOut std');
  });

  it("kaimingUniform_ draws U(-sqrt(3) gain / sqrt(fan), +) (PyTorch's layer default: a = sqrt(5), bound 1 / sqrt(fan_in))", () => {
    const bound = 1 / Math.sqrt(FAN_IN);
    assertSameDraws(
      (t) => init.kaimingUniform_(t, { a: Math.sqrt(5) }),
      (t) => init.uniform_(t, -bound, bound),
      'a = sqrt(5)',
    );
    const reluBound = Math.sqrt(6 / FAN_IN);
    assertSameDraws(
      (t) => init.kaimingUniform_(t, { nonlinearity: 'relu' }),
      (t) => init.uniform_(t, -reluBound, reluBound),
      'relu',
    );

    S.manualSeed(6);
    const s = stats(init.kaimingUniform_(S.empty(SHAPE), { nonlinearity: 'relu' }));
    assert.ok(s.maxAbs <= reluBound * (1 + 1e-6) && s.maxAbs >= 0.999 * reluBound, `max |w| ${s.maxAbs}, bound ${reluBound}`);
    assertWithin(s.std, reluBound / Math.sqrt(3), 0.02, 'std');
  });
});

describe('xavier', () => {
  it('xavierUniform_ draws U(-gain sqrt(6 / (fan_in + fan_out)), +)', () => {
    const bound = Math.sqrt(6 / (FAN_IN + FAN_OUT));
    assertSameDraws(
      (t) => init.xavierUniform_(t),
      (t) => init.uniform_(t, -bound, bound),
      'gain 1',
    );
    assertSameDraws(
      (t) => init.xavierUniform_(t, 5 / 3),
      (t) => init.uniform_(t, (-5 / 3) * bound, (5 / 3) * bound),
      'gain 5/3',
    );
    const linearBound = Math.sqrt(6 / (40 + 30));
    assertSameDraws(
      (t) => init.xavierUniform_(t),
      (t) => init.uniform_(t, -linearBound, linearBound),
      'linear [30, 40]',
      [30, 40],
    );

    S.manualSeed(7);
    const s = stats(init.xavierUniform_(S.empty(SHAPE)));
    assert.ok(s.maxAbs <= bound * (1 + 1e-6), `max |w| ${s.maxAbs} exceeds the bound ${bound}`);
    assert.ok(s.maxAbs >= 0.999 * bound, `max |w| ${s.maxAbs} falls short of the bound ${bound}`);
    assertWithin(s.std, bound / Math.sqrt(3), 0.02, 'std');
    assert.ok(Math.abs(s.mean) < 0.02 * bound, `mean ${s.mean}`);
  });

  it('xavierNormal_ draws N(0, gain sqrt(2 / (fan_in + fan_out)))', () => {
    const std = Math.sqrt(2 / (FAN_IN + FAN_OUT));
    assertSameDraws(
      (t) => init.xavierNormal_(t),
      (t) => init.normal_(t, 0, std),
      'gain 1',
    );
    assertSameDraws(
      (t) => init.xavierNormal_(t, 2),
      (t) => init.normal_(t, 0, 2 * std),
      'gain 2',
    );
    S.manualSeed(8);
    assertWithin(init.xavierNormal_(S.empty(SHAPE)).std().item(), std, 0.02, 'std');
  });
});

describe('defaultLayerInit_', () => {
  it("gives Conv2d and Linear PyTorch's default: weight and bias both U(-1 / sqrt(fan_in), +)", () => {
    S.manualSeed(9);
    const conv = new S.Conv2d(128, 256, 3);
    const bound = 1 / Math.sqrt(FAN_IN);
    const w = stats(conv.weight);
    assert.ok(w.maxAbs <= bound * (1 + 1e-6) && w.maxAbs >= 0.999 * bound, `weight max |w| ${w.maxAbs}, bound ${bound}`);
    assertWithin(w.std, bound / Math.sqrt(3), 0.02, 'weight std');
    assert.ok(conv.bias!.abs().max().item() <= bound * (1 + 1e-6));
    // The bias is drawn right after the weight, from the same generator.
    assertSameDraws(
      (t) => init.defaultLayerInit_(S.empty(SHAPE), t),
      (t) => {
        init.uniform_(S.empty(SHAPE), -bound, bound);
        init.uniform_(t, -bound, bound);
      },
      'bias',
      [256],
    );
  });

  it('leaves the bias at 0 when the weight has no inputs (fan_in 0), as PyTorch', () => {
    const bias = S.ones([3]);
    init.defaultLayerInit_(S.empty([3, 0]), bias);
    assert.deepEqual([...bias.data()], [0, 0, 0]);
  });
});
