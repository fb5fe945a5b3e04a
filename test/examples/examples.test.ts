/**
 * The programs in examples/ as a user runs them (compiled by the project's
 * build, under `strict`), each for a few steps: they must run to the end and
 * print what they promise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const examples = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-examples-'));
after(() => rmSync(root, { recursive: true, force: true }));

function example(name: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(examples, `${name}.js`), ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, `${name}: ${run.stderr}`);
  return run.stdout;
}

describe('the examples', () => {
  it('custom-skipblocks trains a network of its own SkipBlocks and evaluates it on the 10,000 test images', () => {
    const out = example('custom-skipblocks', '--steps', '3');
    assert.match(out, /^SmallResNet: 59 learnable layers$/m);
    assert.match(out, /^step 3: loss \d+\.\d{4}$/m);
    assert.match(out, /^test accuracy after 3 steps: \d+\.\d\d% of 10000 images$/m);
  });

  it('resume-and-evaluate stops a run part-way, resumes it to its end and evaluates its checkpoint', () => {
    const run = join(root, 'net1');
    const out = example('resume-and-evaluate', '--train-subset', '640', '--out', run);
    assert.match(out, /^first part: stopped \(asked to stop after step 3\)$/m);
    assert.match(out, /\(resuming at step 3\)/);
    assert.match(out, /^resumed: finished, test accuracy \d+\.\d\d%$/m);
    assert.match(out, /^test accuracy \d+\.\d\d% on 10,000 images/m);
    const evaluation = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as { count: number };
    assert.equal(evaluation.count, 10_000);
  });

  it('onnx-classify exports a trained run and classifies a test image with ONNX Runtime', () => {
    const out = example('onnx-classify', '--image', '1', '--out', join(root, 'model.onnx'));
    assert.match(out, /^exported .*model\.onnx: \d+ nodes, opset 17$/m);
    assert.match(out, /^true class: Pullover$/m, 'test image 1 of Fashion-MNIST is a pullover');
    const ranked = [...out.matchAll(/^ {2}(\S[^%]*?) +(\d+\.\d)%$/gm)].map((m) => Number(m[2]));
    assert.equal(ranked.length, 3, 'the three likeliest classes');
    assert.deepEqual(
      ranked,
      [...ranked].sort((a, b) => b - a),
      'likeliest first',
    );
    const file = /^exported (.*model\.onnx):/m.exec(out)![1]!;
    assert.ok(existsSync(file));
  });
});
