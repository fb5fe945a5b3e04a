import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

import * as S from '../../src/index.js';
import { exportOnnx } from '../../src/export/index.js';
import { formulaFill, writeTinyFashionMnist, trainTinyRun } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-onnx-'));
const data = writeTinyFashionMnist(join(root, 'data'));
const splits = S.loadFashionMnist(data);
const normalization = S.computeNormalization(splits.train);
const CLASSES = splits.test.classes;

/** The first n test images, normalised as training feeds them. */
function testImages(n: number): S.Tensor {
  const loader = new S.DataLoader(splits.test, { batchSize: n, shuffle: false, normalization });
  const { x, y } = loader.epoch(0).next().value as S.Batch;
  y.dispose();
  return x;
}

async function onnxLogits(bytes: Uint8Array, x: S.Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const output = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data() as Float32Array), x.shape) });
  const logits = output.logits!;
  return { data: logits.data as Float32Array, dims: logits.dims };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/**
 * Gives a freshly built model's batch norms the state of trained ones, in
 * eval mode: running statistics and scales and shifts away from 0 and 1, so
 * that every one of them counts, while the logits keep a trained model's size.
 */
function trainedLikeState(model: S.Module): void {
  const wave = (n: number, f: (i: number) => number) =>
    S.tensor(
      Float32Array.from({ length: n }, (_, i) => f(i)),
      { shape: [n] },
    );
  S.noGrad(() => {
    for (const m of model.modules()) {
      if (!(m instanceof S.BatchNorm2d)) continue;
      const n = m.numFeatures;
      m.running_mean!.copy_(wave(n, (i) => 0.1 * Math.sin(0.9 * i)));
      m.running_var!.copy_(wave(n, (i) => 0.5 + 0.5 * Math.abs(Math.cos(0.4 * i))));
      m.weight!.copy_(wave(n, (i) => 1 + 0.3 * Math.sin(1.3 * i + 0.2)));
      m.bias!.copy_(wave(n, (i) => 0.2 * Math.cos(0.7 * i)));
    }
  });
  model.eval();
}

function decode(bytes: Uint8Array) {
  return onnxProto.onnx.ModelProto.decode(bytes);
}

after(() => rmSync(root, { recursive: true, force: true }));

describe('ONNX export', () => {
  it('gives the same logits in ONNX Runtime as skipstudio in eval mode, for every model in the registry', async () => {
    const x = testImages(8);
    const figures: string[] = [];
    for (const spec of S.modelSpecs()) {
      S.manualSeed(0);
      // BMEnet at depth 2 rather than 8: the same stages and block cases, a quarter of the blocks (depth 8 takes seconds per forward here).
      const options: Record<string, number> = spec.name.startsWith('bmenet') ? { depth: 2 } : {};
      const model = S.buildModel(spec.name, { channels: 1, height: 28, width: 28 }, CLASSES.length, options);
      S.scope(() => trainedLikeState(model));
      const expected = S.scope(() => S.noGrad(() => Float32Array.from(model.forward(x).data() as Float32Array)));
      const exported = exportOnnx(model, { model: spec.name, inputShape: [1, 28, 28], classes: CLASSES, normalization });
      const { data: actual, dims } = await onnxLogits(exported.bytes, x);
      assert.deepEqual(dims, [8, CLASSES.length]);
      const difference = maxDifference(actual, expected);
      const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      figures.push(`${spec.name}: max |difference| ${difference.toExponential(2)} (logits up to ${scale.toFixed(2)})`);
      assert.ok(difference <= 1e-4, `${spec.name}: ONNX Runtime's logits differ from skipstudio's by ${difference}`);
      assert.ok(scale > 1e-3, `${spec.name}: logits too small to tell anything`);

      const decoded = decode(exported.bytes);
      assert.ok(Number(decoded.opsetImport[0]!.version) >= 13);
      assert.equal(decoded.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam, 'batch');
      const ops = new Set(decoded.graph!.node!.map((n) => n.opType));
      const skip = spec.name.startsWith('hw5net') || spec.name.startsWith('bmenet');
      for (const op of skip ? ['Conv', 'BatchNormalization', 'Relu', 'Flatten', 'Gemm'] : ['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm']) {
        assert.ok(ops.has(op), `${spec.name} has ${op}`);
      }
      // Skip connections are additions and, across a downsampling block, a concatenation; the plain twins have neither.
      assert.equal(ops.has('Add'), skip && !spec.name.endsWith('-plain'), `${spec.name}: Add`);
      assert.equal(ops.has('Concat'), skip && !spec.name.endsWith('-plain'), `${spec.name}: Concat`);
      // Every parameter and running statistic is in the graph, under its state-dict key.
      const initializers = new Set(decoded.graph!.initializer!.map((t) => t.name));
      const used = S.scope(() => Object.keys(model.stateDict()).filter((k) => !k.endsWith('num_batches_tracked') && !k.includes('in2out')));
      for (const key of used) assert.ok(initializers.has(key), `${spec.name}: initializer ${key}`);
      S.dispose([...model.parameters(), ...model.buffers()]);
    }
    x.dispose();
    console.log(`ONNX parity on 8 test images:\n  ${figures.join('\n  ')}`);
  });

  it('takes any batch size and writes every SkipBlock case faithfully', async () => {
    // The shortcut cases the registry's networks do not reach: a 1x1 convolution between channel counts, and a
    // same-channel downsampling block that adds nothing.
    S.manualSeed(1);
    const blocks = [
      new S.SkipBlock(1, 4),
      new S.SkipBlock(4, 4, { downsample: true }),
      new S.SkipBlock(4, 8, { downsample: true }),
      new S.SkipBlock(8, 8),
    ];
    const model = new S.Sequential(
      ...blocks,
      new S.MaxPool2d(2, { stride: 2, ceilMode: true }),
      new S.AdaptiveAvgPool2d(1),
      new S.Flatten(),
      new S.Linear(8, 10),
    );
    // Far from initial values, and variances near batch norm's epsilon, so that epsilon itself shows in the output.
    formulaFill(model);
    S.noGrad(() => {
      for (const bn of model.modules().filter((m): m is S.BatchNorm2d => m instanceof S.BatchNorm2d)) bn.running_var!.mul_(2e-5);
    });
    model.eval();
    const exported = exportOnnx(model, { model: 'blocks', inputShape: [1, 28, 28], classes: CLASSES, normalization });
    for (const n of [1, 5]) {
      const x = testImages(n);
      const expected = S.scope(() => S.noGrad(() => Float32Array.from(model.forward(x).data() as Float32Array)));
      const { data: actual } = await onnxLogits(exported.bytes, x);
      const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(
        maxDifference(actual, expected) <= 1e-5 * scale,
        `batch ${n}: differs by ${maxDifference(actual, expected)} on logits up to ${scale}`,
      );
      x.dispose();
    }
    const adds = decode(exported.bytes).graph!.node!.filter((node) => node.opType === 'Add').length;
    assert.equal(adds, 3, 'the same-channel downsampling block adds no shortcut');
  });

  it('refuses a module it does not know, by name', () => {
    class Doubler extends S.Module {
      forward(x: S.Tensor): S.Tensor {
        return x.mul(2);
      }
    }
    const model = new S.Sequential(new S.Flatten(), new Doubler(), new S.Linear(784, 10));
    assert.throws(
      () => exportOnnx(model, { model: 'custom', inputShape: [1, 28, 28], classes: CLASSES, normalization }),
      /1 is a Doubler, which the exporter does not know/,
    );
  });

  it('skipstudio export writes a trained run with its classes and normalisation, agreeing with its evaluation', async () => {
    const run = join(root, 'runs', 'net2-run');
    const trained = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--data-dir',
        data,
        '--model',
        'net2',
        '--lr',
        '0.01',
        '--optimizer',
        'adam',
        '--epochs',
        '1',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--precision',
        'fp32',
        '--out',
        run,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    const out = join(root, 'net2.onnx');
    const result = spawnSync(process.execPath, [main, 'export', '--run', run, '--out', out], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /wrote .*net2\.onnx \(\d+\.\d+ MB, opset 17, \d+ nodes: .*Conv/);
    const bytes = readFileSync(out);
    const metadata = Object.fromEntries(decode(bytes).metadataProps.map((p) => [p.key, p.value]));
    const info = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8')) as S.ModelInfo;
    assert.deepEqual(JSON.parse(metadata.classes!), info.classes);
    assert.deepEqual(JSON.parse(metadata.normalization!), info.normalization);
    assert.equal(metadata['skipstudio.model'], 'net2');
    assert.doesNotMatch(result.stdout, /predictions differ/, 'an fp32 run is evaluated as the graph computes');
    // The exported model of an fp32 run predicts every test image as the run's own evaluation did.
    const predictions = JSON.parse(readFileSync(join(run, 'predictions.json'), 'utf8')) as S.Predictions;
    const testNormalization = info.normalization;
    const loader = new S.DataLoader(splits.test, { batchSize: 64, shuffle: false, normalization: testNormalization });
    const { x, y } = loader.epoch(0).next().value as S.Batch;
    const { data: logits } = await onnxLogits(bytes, x);
    const predicted = Array.from({ length: 64 }, (_, i) => {
      const row = Array.from(logits.subarray(10 * i, 10 * i + 10));
      return row.indexOf(Math.max(...row));
    });
    assert.deepEqual(predicted, predictions.predicted);
    x.dispose();
    y.dispose();
    const refused = spawnSync(process.execPath, [main, 'export', '--run', run, '--format', 'tflite'], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /only onnx/);
  });

  it("says on how many test images the graph predicts otherwise than a bf16, flip-test run's evaluation, as counted here (issue 42, defect 10)", async () => {
    const run = join(root, 'runs', 'net1-bf16');
    const trained = trainTinyRun(data, run, '--precision', 'bf16', '--flip-test');
    assert.equal(trained.status, 0, trained.stderr);
    const out = join(root, 'net1-bf16.onnx');
    const result = spawnSync(process.execPath, [main, 'export', '--run', run, '--out', out], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const recorded = (JSON.parse(readFileSync(join(run, 'predictions.json'), 'utf8')) as S.Predictions).predicted;
    const info = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8')) as S.ModelInfo;
    const loader = new S.DataLoader(splits.test, { batchSize: recorded.length, shuffle: false, normalization: info.normalization });
    const { x, y } = loader.epoch(0).next().value as S.Batch;
    const { data: logits } = await onnxLogits(readFileSync(out), x);
    x.dispose();
    y.dispose();
    const differ = recorded.filter((p, i) => {
      const row = Array.from(logits.subarray(10 * i, 10 * i + 10));
      return row.indexOf(Math.max(...row)) !== p;
    }).length;
    assert.ok(
      result.stdout.includes(
        "the run's evaluation ran under bf16 autocast, averaging each image's logits with its mirror image's: their predictions " +
          `differ on ${differ} of ${recorded.length} test images`,
      ),
      result.stdout,
    );
  });
});
