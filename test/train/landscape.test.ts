/**
 * The loss landscape against a direct computation: on a tiny network every
 * point of the slice and the grid equals the loss of a copy whose weights
 * were moved by hand along the same directions; each direction's filters
 * have the norms of the weights' filters (biases and batch norm stay put);
 * the weights, the training mode and libtorch's generator are as before,
 * bit for bit. Then `skipstudio landscape` on a trained run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

class TinyNet extends S.Module {
  conv = new S.Conv2d(1, 3, 3, { padding: 1 });
  bn = new S.BatchNorm2d(3);
  fc = new S.Linear(3 * 4 * 4, 2);
  forward(x: S.Tensor): S.Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x)).relu().flatten(1));
  }
}

function tinySetUp() {
  S.manualSeed(1);
  const model = new TinyNet();
  const x = S.keep(S.randn([6, 1, 4, 4]));
  const y = S.keep(S.tensor([0, 1, 1, 0, 1, 0], { dtype: 'int64' }));
  // One train-mode pass gives batch norm running statistics of its own, which eval mode then uses.
  S.scope(() => S.noGrad(() => model.forward(x)));
  return { model, x, y };
}

const values = (t: S.Tensor) => Array.from(t.data() as Float32Array);
const bits = (model: S.Module) => [...model.parameters(), ...model.buffers()].map((t) => Buffer.from(t.bytes()).toString('hex'));

/** The loss of a fresh copy of the model whose every weight is set by hand to w + alpha * d1 + beta * d2. */
function movedByHand(model: TinyNet, directions: S.Tensor[][], alpha: number, beta: number, x: S.Tensor, y: S.Tensor): number {
  const copy = new TinyNet();
  copy.loadStateDict(model.stateDict());
  const [d1, d2] = directions as [S.Tensor[], S.Tensor[]];
  model.parameters().forEach((w, k) => {
    const a = values(w);
    const b = values(d1[k]!);
    const c = d2 ? values(d2[k]!) : b.map(() => 0);
    const moved = Float32Array.from(a, (v, i) => v + alpha * b[i]! + beta * c[i]!);
    S.noGrad(() => copy.parameters()[k]!.copy_(S.tensor(moved).reshape(w.shape)));
  });
  copy.eval();
  return S.scope(() => S.noGrad(() => S.crossEntropy(copy.forward(x), y).item()));
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);

describe('the loss landscape of a tiny network', () => {
  it('filter-normalised directions: each filter has the norm of the weight\'s filter; biases and batch norm get zeros', () => {
    const { model } = tinySetUp();
    const [d1, d2] = S.landscapeDirections(model, 7, 2) as [S.Tensor[], S.Tensor[]];
    const named = model.namedParameters();
    assert.equal(d1.length, named.length);
    named.forEach(([name, w], k) => {
      if (w.ndim <= 1) {
        assert.ok(values(d1[k]!).every((v) => v === 0) && values(d2[k]!).every((v) => v === 0), `${name} stays put`);
        return;
      }
      const dims = Array.from({ length: w.ndim - 1 }, (_, i) => i + 1);
      const wanted = values(w.detach().norm(2, dims));
      for (const d of [d1[k]!, d2[k]!]) values(d.norm(2, dims)).forEach((n, f) => close(n, wanted[f]!, `${name} filter ${f}`));
      assert.notDeepEqual(values(d1[k]!), values(d2[k]!), `${name}: two different directions`);
    });
  });

  it('every point of the slice and the grid equals the loss of a copy moved by hand; the weights, mode and generator are unchanged', () => {
    const { model, x, y } = tinySetUp();
    const before = bits(model);
    S.manualSeed(3);
    const expectedDraw = values(S.randn([5]));
    S.manualSeed(3);
    const landscape = S.lossLandscape(model, { x, y }, { points: 5, grid: 3, seed: 7, range: 1 });
    assert.deepEqual(values(S.randn([5])), expectedDraw, 'libtorch\'s generator is where it was');
    assert.deepEqual(bits(model), before, 'weights and buffers bit for bit');
    assert.equal(model.training, true, 'back in training mode');
    assert.deepEqual(landscape.alphas, [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(landscape.surfaceAxis, [-1, 0, 1]);
    const directions = S.landscapeDirections(model, 7, 2);
    landscape.alphas.forEach((a, i) => close(landscape.line[i]!, movedByHand(model, [directions[0]!], a, 0, x, y), `line at ${a}`));
    landscape.surfaceAxis.forEach((b, j) => landscape.surfaceAxis.forEach((a, i) =>
      close(landscape.surface[j]![i]!, movedByHand(model, directions, a, b, x, y), `grid at (${a}, ${b})`)));
    assert.ok(landscape.line[0]! > landscape.line[2]! || landscape.line[4]! > landscape.line[2]!, 'the points differ: the weights did move');
  });

  it('averages over the whole sample when it comes in batches of different sizes', () => {
    const { model, x, y } = tinySetUp();
    const whole = S.lossLandscape(model, { x, y }, { points: 3, grid: 0 });
    const split = S.lossLandscape(model, [{ x: x.narrow(0, 0, 4), y: y.narrow(0, 0, 4) }, { x: x.narrow(0, 4, 2), y: y.narrow(0, 4, 2) }], { points: 3, grid: 0 });
    whole.line.forEach((v, i) => close(split.line[i]!, v, `point ${i}`));
    assert.deepEqual(whole.surface, []);
  });

  it('refuses settings it cannot draw, naming each', () => {
    const { model, x, y } = tinySetUp();
    assert.throws(() => S.lossLandscape(model, { x, y }, { points: 4, grid: 1, sample: 0 }),
      /landscape points must be an odd integer >= 3, got 4; landscape grid must be 0 \(none\) or an odd integer >= 3, got 1; landscape sample must be a positive integer, got 0/);
  });

  it('refuses a sample of no batches, whose mean loss would be NaN (issue 42, defect 13)', () => {
    const { model } = tinySetUp();
    assert.throws(() => S.lossLandscape(model, [], { points: 3, grid: 0 }), /^RangeError: lossLandscape: the sample holds no batch: give at least one$/);
  });
});

describe('skipstudio landscape on a trained run', () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-landscape-'));
  const data = writeTinyFashionMnist(join(root, 'data'), 64, 32);
  const runDir = join(root, 'run');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

  it('writes landscape.json beside the run and leaves its checkpoint as it was', () => {
    const trained = cli('train', '--model', 'net1', '--data-dir', data, '--epochs', '1', '--batch-size', '16', '--threads', '1', '--out', runDir);
    assert.equal(trained.status, 0, trained.stderr);
    const checkpoint = readFileSync(join(runDir, 'checkpoints/last.safetensors'));
    const result = cli('landscape', '--run', runDir, '--points', '5', '--grid', '3', '--sample', '20', '--precision', 'fp32');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /loss landscape on 20 training images \(5 points on a line, a 3 x 3 grid, fp32, \d+ s\): loss \d+\.\d{3} at the trained weights/);
    const file = JSON.parse(readFileSync(join(runDir, 'landscape.json'), 'utf8')) as S.LandscapeFile;
    assert.deepEqual([file.sample, file.line.length, file.surface.length, file.surface[0]!.length, file.precision], [20, 5, 3, 3, 'fp32']);
    assert.equal(file.line[2], file.surface[1]![1], 'the slice and the grid meet at the trained weights');
    assert.ok(readFileSync(join(runDir, 'checkpoints/last.safetensors')).equals(checkpoint));
  });

  it('is reported only while it is of the weights the run ended with: one the run trained past is said to be stale (issue 42, defect 9)', () => {
    const path = join(runDir, 'landscape.json');
    const taken = readFileSync(path, 'utf8');
    const file = JSON.parse(taken) as S.LandscapeFile;
    const report = () => {
      const made = cli('report', runDir, '--out', join(root, 'report'));
      assert.equal(made.status, 0, made.stderr);
      return readFileSync(join(root, 'report', 'report.html'), 'utf8');
    };
    assert.match(report(), /Loss landscape of each run/);
    // As if it had been taken at an earlier checkpoint, before the run was resumed.
    writeFileSync(path, JSON.stringify({ ...file, step: file.step - 2 }));
    const html = report();
    assert.ok(html.includes(`run's landscape was taken at step ${file.step - 2}, and the run trained on to step ${file.step}: it is not the trained network's`), html);
    assert.doesNotMatch(html, /Loss landscape of each run/);
    writeFileSync(path, taken);
  });

  it('names the folder that is not a run, and the flag that is wrong', () => {
    const missing = cli('landscape', '--run', join(root, 'nothing-here'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nothing-here is not a run directory \(no config\.json\)/);
    const even = cli('landscape', '--run', runDir, '--grid', '4');
    assert.equal(even.status, 1);
    assert.match(even.stderr, /landscape grid must be 0 \(none\) or an odd integer >= 3, got 4/);
  });
});
