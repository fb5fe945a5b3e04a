/**
 * A trained run exported to ONNX and one Fashion-MNIST test image classified
 * with ONNX Runtime, as any ONNX consumer would: the skipstudio engine is
 * used only to export.
 *
 *   node dist/examples/onnx-classify.js [--run DIR] [--image N] [--out model.onnx]
 *
 * Without `--run` it first trains Net1 briefly (640 images) in a temporary folder, removed at the end;
 * the model is written to `--out` (default: model.onnx in the working folder).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PlainReporter, exportRunToOnnx, loadFashionMnist, train, type ModelInfo } from 'skipstudio';

/** The value after `flag`, if given. */
function option(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** Image `index` of the test split as the exported graph wants it: pixels / 255, then (x - mean) / std per channel. */
function inputTensor(info: ModelInfo, index: number): { input: ort.Tensor; label: number } {
  const { test } = loadFashionMnist();
  const { channels, height, width } = test.shape;
  const size = channels * height * width;
  const pixels = test.images.subarray(index * size, (index + 1) * size);
  const plane = height * width;
  const data = Float32Array.from(pixels, (p, i) => {
    const c = Math.floor(i / plane);
    return (p / 255 - info.normalization.mean[c]!) / info.normalization.std[c]!;
  });
  return { input: new ort.Tensor('float32', data, [1, channels, height, width]), label: test.labels[index]! };
}

/** Softmax over the logits. */
function probabilities(logits: Float32Array): number[] {
  const top = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

const scratch = option('--run') === undefined ? mkdtempSync(join(tmpdir(), 'skipstudio-example-')) : undefined;
const run = option('--run') ?? join(scratch!, 'net1');
if (scratch !== undefined) {
  await train({ model: 'net1', lr: 0.05, epochs: 1, batchSize: 64, trainSubset: 640, out: run }, { reporter: new PlainReporter() });
}
const exported = exportRunToOnnx(run);
const file = option('--out') ?? 'model.onnx';
writeFileSync(file, exported.bytes);
console.log(`exported ${file}: ${exported.nodes} nodes, opset ${exported.opset}`);

const info = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8')) as ModelInfo;
const { input, label } = inputTensor(info, Number(option('--image') ?? 0));
const session = await ort.InferenceSession.create(file);
const output = await session.run({ input });
const logits = output['logits']!.data as Float32Array;
const ranked = probabilities(logits)
  .map((p, c) => ({ p, c }))
  .sort((a, b) => b.p - a.p)
  .slice(0, 3);
console.log(`true class: ${info.classes[label]}`);
for (const { p, c } of ranked) console.log(`  ${info.classes[c]!.padEnd(12)} ${(100 * p).toFixed(1)}%`);
if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
