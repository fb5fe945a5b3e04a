import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { fixturePath, formulaFill, formulaInput, hasPyTorch } from '../helpers.js';

const BUILDERS: Record<string, [() => S.Module, number[]]> = {
  skipblock_same: [() => new S.SkipBlock(4, 4), [2, 4, 6, 6]],
  skipblock_in2out: [() => new S.SkipBlock(4, 8), [2, 4, 6, 6]],
  skipblock_down: [() => new S.SkipBlock(4, 8, { downsample: true }), [2, 4, 6, 6]],
  skipblock_same_down: [() => new S.SkipBlock(4, 4, { downsample: true }), [2, 4, 6, 6]],
  skipblock_plain: [() => new S.SkipBlock(4, 8, { downsample: true, skipConnections: false }), [2, 4, 6, 6]],
  bmenet: [() => new S.BMEnet({ depth: 1, imageSize: [8, 8] }), [2, 3, 8, 8]],
  bmenet_plain: [() => new S.BMEnet({ depth: 1, imageSize: [8, 8], skipConnections: false }), [2, 3, 8, 8]],
  hw5net: [() => new S.HW5Net({ width: 4, blocksPerStage: 1, numClasses: 5, inChannels: 1, imageSize: [12, 12] }), [2, 1, 12, 12]],
  hw5net_plain: [
    () => new S.HW5Net({ width: 4, blocksPerStage: 1, numClasses: 5, inChannels: 1, imageSize: [12, 12], skipConnections: false }),
    [2, 1, 12, 12],
  ],
  net1: [() => new S.Net1({ imageSize: [16, 16], numClasses: 5 }), [2, 3, 16, 16]],
  net2: [() => new S.Net2({ imageSize: [16, 16], numClasses: 5 }), [2, 3, 16, 16]],
  net3: [() => new S.Net3({ imageSize: [16, 16], numClasses: 5 }), [2, 3, 16, 16]],
};

function maxDiff(a: S.Tensor, b: S.Tensor): number {
  return a.to('float64').sub(b.to('float64')).abs().max().item();
}

describe('models equal the PyTorch implementation of the specification', () => {
  const { tensors: reference, metadata } = S.loadSafetensorsWithMetadata(fixturePath('models.safetensors'));
  const keys = JSON.parse(metadata.state_dict_keys!) as Record<string, string[]>;
  for (const [name, [build, shape]] of Object.entries(BUILDERS)) {
    it(name, () => {
      const model = build();
      assert.deepEqual(Object.keys(model.stateDict()), keys[name], 'state-dict keys, in order');
      formulaFill(model);
      const x = formulaInput(shape);
      model.eval();
      const evalOut = model.forward(x);
      assert.ok(
        maxDiff(evalOut, reference[`${name}.eval`]!) <= 1e-4,
        `eval output differs by ${maxDiff(evalOut, reference[`${name}.eval`]!)}`,
      );
      model.train();
      const trainOut = model.forward(x);
      assert.ok(
        maxDiff(trainOut, reference[`${name}.train`]!) <= 1e-4,
        `train output differs by ${maxDiff(trainOut, reference[`${name}.train`]!)}`,
      );
      for (const [key, t] of model.namedBuffers()) {
        if (key.endsWith('num_batches_tracked')) continue;
        assert.ok(maxDiff(t, reference[`${name}.after_train.${key}`]!) <= 1e-5, `running statistics ${key}`);
      }
    });
  }
});

describe('BMEnet', () => {
  it('has exactly 274 parameter tensors and the Python key names at depth 8', () => {
    const net = new S.BMEnet({ depth: 8 });
    assert.equal(net.parameters().length, 274);
    const keys = Object.keys(net.stateDict());
    assert.equal(keys[0], 'conv.weight');
    assert.equal(keys[2], 'skip64_arr.0.convo1.weight');
    assert.ok(keys.includes('skip64to128ds.downsampler1.bias'));
    assert.ok(keys.includes('skip128to256ds.downsampler2.weight'));
    assert.ok(keys.includes('skip256_arr.7.in2out.weight'));
    assert.ok(keys.includes('skip64_arr.0.bn1.running_var'));
    assert.ok(keys.includes('skip64_arr.0.bn1.num_batches_tracked'));
    assert.equal(keys.at(-1), 'fc2.bias');
    assert.deepEqual(net.fc1.weight.shape, [1000, 16384]);
  });
});

describe('HW5Net', () => {
  it('defaults to at least 20 SkipBlocks and 40 learnable layers, with a plain twin of the same shape', () => {
    const net = new S.HW5Net();
    const plain = new S.HW5Net({ skipConnections: false });
    assert.ok(net.numSkipBlocks >= 20);
    assert.ok(net.parameters().length >= 40);
    assert.equal(net.parameters().length, 213);
    assert.deepEqual(
      plain.namedParameters().map(([k, t]) => [k, t.shape]),
      net.namedParameters().map(([k, t]) => [k, t.shape]),
    );
    assert.ok(
      plain
        .modules()
        .filter((m) => m instanceof S.SkipBlock)
        .every((b) => !(b as S.SkipBlock).skipConnections),
    );
  });

  it('classifies 28x28 grayscale, 32x32 colour and 64x64 colour images', () => {
    for (const [c, s] of [
      [1, 28],
      [3, 32],
      [3, 64],
    ] as const) {
      const net = new S.HW5Net({ inChannels: c, imageSize: [s, s], numClasses: 5, width: 4, blocksPerStage: 1 });
      assert.deepEqual(S.noGrad(() => net.forward(S.randn([2, c, s, s]))).shape, [2, 5]);
    }
  });
});

describe('HW4 baselines', () => {
  it('size fc1 from the image size (6272 for Net1, 8192 for Net2/Net3 on 64x64)', () => {
    assert.equal(new S.Net1().fc1.inFeatures, 6272);
    assert.equal(new S.Net2().fc1.inFeatures, 8192);
    assert.equal(new S.Net3().fc1.inFeatures, 8192);
    assert.equal(new S.Net3().conv_chain.length, 10);
    assert.equal(new S.Net3({ chainLength: 3 }).parameters().length, 14);
  });
});

describe('malformed configurations are rejected when the model is built', () => {
  it('says what to change', () => {
    assert.throws(() => new S.SkipBlock(64, 96, { downsample: true }), /outCh must be 2 \* inCh = 128/);
    assert.throws(() => new S.BMEnet({ imageSize: [30, 30] }), /30x30 must be divisible by 4/);
    assert.throws(() => new S.BMEnet({ numClasses: 0 }), /numClasses must be a positive integer/);
    assert.throws(() => new S.Net1({ imageSize: [5, 5] }), /too small/);
    assert.throws(() => new S.HW5Net({ width: 0 }), /width must be a positive integer/);
    assert.throws(
      () => S.buildModel('resnet9000', { channels: 1, height: 28, width: 28 }, 10),
      /unknown model 'resnet9000': choose one of hw5net, hw5net-plain/,
    );
  });
});

describe('registry', () => {
  it('builds every model for Fashion-MNIST, CIFAR-10 and COCO shapes', () => {
    for (const spec of S.modelSpecs()) {
      if (spec.name.startsWith('bmenet')) continue; // 30M parameters: built once in the BMEnet test
      for (const shape of [
        { channels: 1, height: 28, width: 28 },
        { channels: 3, height: 32, width: 32 },
        { channels: 3, height: 64, width: 64 },
      ]) {
        const model = spec.build(shape, 10);
        const out = S.noGrad(() => model.eval().forward(S.zeros([1, shape.channels, shape.height, shape.width])));
        assert.deepEqual(out.shape, [1, 10], `${spec.name} on ${shape.height}x${shape.width}`);
      }
    }
  });
});

describe('state dicts move between PyTorch and skipstudio', () => {
  const small = () => new S.HW5Net({ width: 4, blocksPerStage: 1, numClasses: 5, inChannels: 1, imageSize: [12, 12] });

  it('loads a state dict saved by PyTorch and reproduces its output', () => {
    const saved = S.loadSafetensors(fixturePath('hw5net_state.safetensors'));
    const { __output__: expected, ...state } = saved;
    const net = small();
    net.loadStateDict(state);
    net.eval();
    assert.ok(maxDiff(net.forward(formulaInput([2, 1, 12, 12])), expected!) <= 1e-5);
    assert.equal(net.stateDict()['stem_bn.num_batches_tracked']!.item(), 1);
  });

  it(
    'saves a state dict that PyTorch loads strictly, with equal outputs',
    { skip: !hasPyTorch() && 'python3-torch is not installed' },
    () => {
      S.manualSeed(5);
      const net = small();
      net.forward(formulaInput([2, 1, 12, 12])); // move the batch-norm buffers away from their defaults
      net.eval();
      const path = join(mkdtempSync(join(tmpdir(), 'skipstudio-state-')), 'hw5net.safetensors');
      S.saveSafetensors(net.stateDict(), path);
      const run = spawnSync('/usr/bin/python3', [fixturePath('pytorch_reference.py'), '--check-state', path], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const theirs = JSON.parse(run.stdout) as number[];
      const ours = Array.from(S.noGrad(() => net.forward(formulaInput([2, 1, 12, 12]))).data() as Float32Array);
      assert.equal(theirs.length, ours.length);
      ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) <= 1e-5, `output ${i}: ${v} vs ${theirs[i]}`));
    },
  );
});
