/**
 * The loss landscape against a direct computation: on a tiny network every
 * point of the slice and the grid equals the loss of a copy whose weights
 * were moved by hand along the same directions; each direction's filters
 * have the norms of the weights' filters (biases and batch norm stay put);
 * the weights, the training mode and libtorch's generator are as before,
 * bit for bit. Then `skipstudio landscape` on a trained run.
 *
 * Then in-process and exact: every setting's default, parser, rule and message; the axis; directions whose every filter has the norm of the weight's filter; the slice and grid of a one-layer linear network against its cross-entropy worked out in float64; progress; the weights, mode, generator and native memory as they were, also when a forward pass throws; and a run's landscape from its checkpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);

describe('the loss landscape of a tiny network', () => {
  it("filter-normalised directions: each filter has the norm of the weight's filter; biases and batch norm get zeros", () => {
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
    assert.deepEqual(values(S.randn([5])), expectedDraw, "libtorch's generator is where it was");
    assert.deepEqual(bits(model), before, 'weights and buffers bit for bit');
    assert.equal(model.training, true, 'back in training mode');
    assert.deepEqual(landscape.alphas, [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(landscape.surfaceAxis, [-1, 0, 1]);
    const directions = S.landscapeDirections(model, 7, 2);
    landscape.alphas.forEach((a, i) => close(landscape.line[i]!, movedByHand(model, [directions[0]!], a, 0, x, y), `line at ${a}`));
    landscape.surfaceAxis.forEach((b, j) =>
      landscape.surfaceAxis.forEach((a, i) =>
        close(landscape.surface[j]![i]!, movedByHand(model, directions, a, b, x, y), `grid at (${a}, ${b})`),
      ),
    );
    assert.ok(
      landscape.line[0]! > landscape.line[2]! || landscape.line[4]! > landscape.line[2]!,
      'the points differ: the weights did move',
    );
  });

  it('averages over the whole sample when it comes in batches of different sizes', () => {
    const { model, x, y } = tinySetUp();
    const whole = S.lossLandscape(model, { x, y }, { points: 3, grid: 0 });
    const split = S.lossLandscape(
      model,
      [
        { x: x.narrow(0, 0, 4), y: y.narrow(0, 0, 4) },
        { x: x.narrow(0, 4, 2), y: y.narrow(0, 4, 2) },
      ],
      { points: 3, grid: 0 },
    );
    whole.line.forEach((v, i) => close(split.line[i]!, v, `point ${i}`));
    assert.deepEqual(whole.surface, []);
  });

  it('refuses settings it cannot draw, naming each', () => {
    const { model, x, y } = tinySetUp();
    assert.throws(
      () => S.lossLandscape(model, { x, y }, { points: 4, grid: 1, sample: 0 }),
      /landscape points must be an odd integer >= 3, got 4; landscape grid must be 0 \(none\) or an odd integer >= 3, got 1; landscape sample must be a positive integer, got 0/,
    );
  });

  it('refuses a sample of no batches, whose mean loss would be NaN (issue 42, defect 13)', () => {
    const { model } = tinySetUp();
    assert.throws(
      () => S.lossLandscape(model, [], { points: 3, grid: 0 }),
      /^RangeError: lossLandscape: the sample holds no batch: give at least one$/,
    );
  });
});

describe('skipstudio landscape on a trained run', () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-landscape-'));
  const data = writeTinyFashionMnist(join(root, 'data'), 64, 32);
  const runDir = join(root, 'run');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

  it('writes landscape.json beside the run and leaves its checkpoint as it was', () => {
    const trained = cli(
      'train',
      '--model',
      'net1',
      '--data-dir',
      data,
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--threads',
      '1',
      '--out',
      runDir,
    );
    assert.equal(trained.status, 0, trained.stderr);
    const checkpoint = readFileSync(join(runDir, 'checkpoints/last.safetensors'));
    const result = cli('landscape', '--run', runDir, '--points', '5', '--grid', '3', '--sample', '20', '--precision', 'fp32');
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /loss landscape on 20 training images \(5 points on a line, a 3 x 3 grid, fp32, \d+ s\): loss \d+\.\d{3} at the trained weights/,
    );
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
    assert.ok(
      html.includes(
        `run's landscape was taken at step ${file.step - 2}, and the run trained on to step ${file.step}: it is not the trained network's`,
      ),
      html,
    );
    assert.doesNotMatch(html, /Loss landscape of each run/);
    writeFileSync(path, taken);
  });

  it("with --hessian, adds the Hessian's top eigenvalue and trace on the same sample, and the report still reads the file (issue 40)", () => {
    const checkpoint = readFileSync(join(runDir, 'checkpoints/last.safetensors'));
    const result = cli('landscape', '--run', runDir, '--points', '3', '--grid', '0', '--sample', '40', '--precision', 'fp32', '--hessian');
    assert.equal(result.status, 0, result.stderr);
    const file = JSON.parse(readFileSync(join(runDir, 'landscape.json'), 'utf8')) as S.LandscapeFile;
    const h = file.hessian!;
    assert.deepEqual([h.sample, h.batches, h.traceSamples, h.tolerance], [40, 1, 50, 1e-3]);
    assert.equal(h.topEigenvalue.mean, h.topEigenvalue.perBatch[0]);
    assert.deepEqual([h.topEigenvalue.std, h.topEigenvalue.interval, h.trace.interval], [null, null, null], 'one batch: no spread');
    assert.ok(Number.isFinite(h.topEigenvalue.mean) && Number.isFinite(h.trace.mean) && h.topEigenvalue.mean !== 0);
    assert.ok(h.hvps > h.traceSamples, "power iteration and Hutchinson's vectors counted");
    assert.match(
      result.stdout,
      /Hessian on 40 training images in 1 batches \(fp32, \d+ Hessian-vector products, \d+ s\): dominant eigenvalue \(largest in magnitude\) \S+ \(one batch: no interval\), trace \S+/,
    );
    assert.ok(readFileSync(join(runDir, 'checkpoints/last.safetensors')).equals(checkpoint));
    assert.equal(S.loadExperiment(runDir).runs[0]!.landscape!.hessian!.topEigenvalue.mean, h.topEigenvalue.mean);
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

const values64 = (t: S.Tensor) => Array.from(t.to({ dtype: 'float64' }).data() as Float64Array);
const closeWithin = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);
const settings = S.LANDSCAPE_SETTINGS;

describe('the landscape settings', () => {
  it("their defaults are Li et al.'s resolution, with flags and help for the command", () => {
    assert.deepEqual(S.LANDSCAPE_DEFAULTS, { points: 41, grid: 21, sample: 1000, range: 1, seed: 0, precision: 'run' });
    assert.deepEqual(
      Object.entries(settings).map(([name, s]) => [name, s.default, s.flag, s.help, s.choices]),
      [
        ['points', 41, '<n>', 'points of the 1-D slice on [-range, range] (odd)', undefined],
        ['grid', 21, '<n>', 'points a side of the 2-D grid (odd; 0: no grid)', undefined],
        ['sample', 1000, '<n>', 'training images the loss is averaged over', undefined],
        ['range', 1, '<x>', 'how far each direction goes either side, in filter norms', undefined],
        ['seed', 0, '<n>', 'seed of the directions and of the sample', undefined],
        [
          'precision',
          'run',
          '<p>',
          'run (the precision the run trained in), fp32, or bf16 autocast (twice as fast where the CPU has native bf16)',
          ['run', 'fp32', 'bf16'],
        ],
      ],
    );
  });

  it('integers are read from text, whitespace around them allowed; anything else is refused', () => {
    for (const name of ['points', 'grid', 'sample', 'seed'] as const) {
      const parse = settings[name].parse!;
      assert.equal(parse('41'), 41);
      assert.equal(parse(' 7 '), 7);
      assert.equal(parse('-3'), -3);
      for (const bad of ['', '   ', '1.5', 'abc', 'Infinity', 'NaN'])
        assert.throws(() => parse(bad), { message: 'must be an integer' }, `${name} '${bad}'`);
    }
  });

  it('the range is read as any finite number', () => {
    const parse = settings.range.parse!;
    assert.equal(parse('0.25'), 0.25);
    assert.equal(parse(' 2 '), 2);
    assert.equal(parse('1e-3'), 0.001);
    for (const bad of ['', '  ', 'abc', 'Infinity', '-Infinity', 'NaN'])
      assert.throws(() => parse(bad), { message: 'must be a number' }, `'${bad}'`);
  });

  it('points: an odd integer from 3 to 1,001', () => {
    const check = settings.points.check;
    for (const ok of [3, 5, 41, 999, 1001]) assert.equal(check(ok), undefined, `${ok}`);
    for (const bad of [1, -1, 0, 2, 4, 40, 3.5, 5.000001, Number.NaN, Infinity, '5', undefined]) {
      assert.equal(check(bad), `must be an odd integer >= 3, got ${bad}`, `${String(bad)}`);
    }
    assert.equal(check(1003), 'must be at most 1,001, got 1003');
    assert.equal(check(1002), 'must be an odd integer >= 3, got 1002');
  });

  it('grid: 0 or an odd integer from 3 to 201', () => {
    const check = settings.grid.check;
    for (const ok of [0, 3, 21, 201]) assert.equal(check(ok), undefined, `${ok}`);
    for (const bad of [1, 2, 4, -3, 2.5, '21']) assert.equal(check(bad), `must be 0 (none) or an odd integer >= 3, got ${bad}`, `${bad}`);
    assert.equal(check(203), 'must be at most 201, got 203');
  });

  it('sample: a positive integer up to 1,000,000', () => {
    const check = settings.sample.check;
    for (const ok of [1, 2, 1000, 1e6]) assert.equal(check(ok), undefined, `${ok}`);
    for (const bad of [0, -1, 0.5, 2.5, '10']) assert.equal(check(bad), `must be a positive integer, got ${bad}`, `${bad}`);
    assert.equal(check(1e6 + 1), 'must be at most 1,000,000, got 1000001');
  });

  it('range: a positive number up to 100', () => {
    const check = settings.range.check;
    for (const ok of [1e-9, 0.5, 1, 100]) assert.equal(check(ok), undefined, `${ok}`);
    for (const bad of [0, -1, -1e-9, Number.NaN, Infinity, '1'])
      assert.equal(check(bad), `must be a positive number, got ${bad}`, `${bad}`);
    assert.equal(check(100.5), 'must be at most 100, got 100.5');
  });

  it('seed: a non-negative integer below 2^32', () => {
    const check = settings.seed.check;
    for (const ok of [0, 1, 2 ** 32 - 1]) assert.equal(check(ok), undefined, `${ok}`);
    for (const bad of [-1, 0.5, 1.5, '0']) assert.equal(check(bad), `must be a non-negative integer, got ${bad}`, `${bad}`);
    assert.equal(check(2 ** 32), 'must be at most 4,294,967,295, got 4294967296');
  });

  it('precision: run, fp32 or bf16', () => {
    const check = settings.precision.check;
    for (const ok of ['run', 'fp32', 'bf16']) assert.equal(check(ok), undefined, ok);
    assert.equal(check('fp16'), 'must be run, fp32 or bf16, got "fp16"');
    assert.equal(check(''), 'must be run, fp32 or bf16, got ""');
    assert.equal(check(32), 'must be run, fp32 or bf16, got 32');
  });

  it('the problems of a set of settings name each setting, unknown ones first, and pass what is left out', () => {
    assert.deepEqual(S.landscapeProblems({}), []);
    assert.deepEqual(S.landscapeProblems(S.LANDSCAPE_DEFAULTS), []);
    assert.deepEqual(S.landscapeProblems({ points: undefined, grid: 0, precision: 'bf16' }), []);
    assert.deepEqual(S.landscapeProblems({ seed: -1, points: 4, extra: 1, other: 2 } as Partial<S.LandscapeOptions>), [
      "landscape: unknown setting 'extra' (known: points, grid, sample, range, seed, precision)",
      "landscape: unknown setting 'other' (known: points, grid, sample, range, seed, precision)",
      'landscape points must be an odd integer >= 3, got 4',
      'landscape seed must be a non-negative integer, got -1',
    ]);
    assert.deepEqual(S.landscapeProblems({ grid: 1, sample: 0, range: 0, precision: 'x' as 'run' }), [
      'landscape grid must be 0 (none) or an odd integer >= 3, got 1',
      'landscape sample must be a positive integer, got 0',
      'landscape range must be a positive number, got 0',
      'landscape precision must be run, fp32 or bf16, got "x"',
    ]);
  });
});

describe('the landscape axis', () => {
  it('n evenly spaced values on [-range, range], rounded to 12 digits', () => {
    assert.deepEqual(S.landscapeAxis(5, 1), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(S.landscapeAxis(3, 2), [-2, 0, 2]);
    assert.deepEqual(S.landscapeAxis(5, 0.3), [-0.3, -0.15, 0, 0.15, 0.3]);
    const fine = S.landscapeAxis(21, 1);
    assert.equal(fine.length, 21);
    assert.equal(fine[7], -0.3, 'not -0.30000000000000004');
    assert.equal(fine[17], 0.7);
    assert.deepEqual(S.landscapeAxis(1, 5), [0]);
    assert.deepEqual(S.landscapeAxis(0, 1), []);
  });
});

/** A convolution, batch norm and a linear layer: weights of 4 and 2 dimensions, biases and batch-norm parameters of 1. */
function smallNet(): S.Module {
  return new S.Sequential(new S.Conv2d(2, 3, 3), new S.BatchNorm2d(3), new S.Flatten(), new S.Linear(12, 5));
}

/** smallNet seeded, with a kept batch of three 2 x 4 x 4 images it has run forward once (its BatchNorm's statistics set). */
function warmedNet(seed: number): { model: S.Module; x: S.Tensor; y: S.Tensor } {
  S.manualSeed(seed);
  const model = smallNet();
  const x = S.keep(S.randn([3, 2, 4, 4]));
  const y = S.keep(S.tensor([0, 4, 2], { dtype: 'int64' }));
  S.scope(() => S.noGrad(() => model.forward(x)));
  return { model, x, y };
}

describe('filter-normalised directions', () => {
  const check = (model: S.Module, direction: S.Tensor[], tol: number) => {
    const named = model.namedParameters();
    assert.equal(direction.length, named.length);
    named.forEach(([name, w], k) => {
      const d = direction[k]!;
      assert.deepEqual(d.shape, w.shape, name);
      assert.equal(d.dtype, w.dtype, name);
      if (w.ndim <= 1) {
        assert.ok(
          values64(d).every((v) => v === 0),
          `${name} stays put`,
        );
        return;
      }
      const dims = Array.from({ length: w.ndim - 1 }, (_, i) => i + 1);
      const wanted = values64(w.detach().norm(2, dims));
      const got = values64(d.norm(2, dims));
      assert.equal(got.length, w.shape[0]!);
      got.forEach((n, f) => closeWithin(n, wanted[f]!, tol, `${name} filter ${f}`));
      assert.ok(values64(d).some((v) => v !== 0) && new Set(values64(d)).size > d.shape[0]!, `${name} is random within each filter`);
    });
  };

  it("each filter (output channel or row) has the norm of the weight's filter; biases and batch norm get zeros", () => {
    S.manualSeed(1);
    const model = smallNet();
    check(model, S.filterNormalizedDirection(model), 1e-5);
  });

  it("in the weights' own dtype", () => {
    S.manualSeed(2);
    const model = smallNet().to({ dtype: 'float64' });
    check(model, S.filterNormalizedDirection(model), 1e-9);
  });

  it('a filter of zeros gets a direction of zeros, not NaN', () => {
    S.manualSeed(3);
    const fc = new S.Linear(3, 2);
    S.noGrad(() =>
      fc.weight.copy_(
        S.tensor([
          [0, 0, 0],
          [1, 2, 2],
        ]),
      ),
    );
    const [d] = S.filterNormalizedDirection(fc) as [S.Tensor];
    const [zero, three] = values64(d.norm(2, [1]));
    assert.equal(zero, 0);
    closeWithin(three!, 3, 1e-6, 'the other row');
  });
});

describe('the directions for a seed', () => {
  it("one or two, the same for the same seed, others for another, and libtorch's generator left as it was", () => {
    S.manualSeed(4);
    const model = smallNet();
    S.manualSeed(11);
    const next = values64(S.randn([6]));
    S.manualSeed(11);
    const one = S.landscapeDirections(model, 7, 1);
    const two = S.landscapeDirections(model, 7, 2);
    assert.deepEqual(values64(S.randn([6])), next, 'the generator is where it was');
    assert.equal(one.length, 1);
    assert.equal(two.length, 2);
    const flat = (ds: S.Tensor[]) => ds.flatMap(values);
    assert.deepEqual(flat(two[0]!), flat(one[0]!), 'the first of two is the one');
    assert.notDeepEqual(flat(two[1]!), flat(two[0]!), 'the second differs');
    S.manualSeed(7);
    assert.deepEqual(flat(S.filterNormalizedDirection(model)), flat(one[0]!), 'drawn from the seed');
    assert.notDeepEqual(flat(S.landscapeDirections(model, 8, 1)[0]!), flat(one[0]!), 'another seed, another direction');
  });

  it("hold only the directions' own tensors", () => {
    S.manualSeed(5);
    const model = smallNet();
    globalThis.gc?.();
    const before = S.memory().tensors;
    const directions = S.landscapeDirections(model, 3, 2);
    assert.equal(S.memory().tensors, before + 2 * model.parameters().length);
    S.dispose(directions);
    assert.equal(S.memory().tensors, before);
  });
});

describe('progress every share of the points', () => {
  const seen = (share: number, total: number) => {
    const calls: [number, number][] = [];
    const report = S.progressEvery(share, (done, all) => calls.push([done, all]));
    for (let done = 1; done <= total; done++) report(done, total);
    return calls.map(([done, all]) => (assert.equal(all, total), done));
  };

  it('passes on every ceil(share * total) points, and the last', () => {
    assert.deepEqual(seen(0.25, 10), [3, 6, 9, 10]);
    assert.deepEqual(seen(0.1, 41), [5, 10, 15, 20, 25, 30, 35, 40, 41]);
    assert.deepEqual(seen(0.5, 4), [2, 4]);
    assert.deepEqual(seen(0, 3), [1, 2, 3]);
    assert.deepEqual(seen(1, 5), [5]);
  });
});

/** A linear layer of 3 inputs and 2 classes on 6 inputs of which 4, then 2 (batches of different sizes). */
function linearSetUp() {
  S.manualSeed(21);
  const model = new S.Linear(3, 2);
  const x = S.keep(
    S.tensor([
      [1, -2, 0.5],
      [0.3, 0.8, -1],
      [2, 1, 1],
      [-1, 0, 0.2],
      [0.5, 0.5, -0.5],
      [-2, 1.5, 1],
    ]),
  );
  const y = S.keep(S.tensor([0, 1, 1, 0, 1, 0], { dtype: 'int64' }));
  return { model, x, y };
}

/** The mean cross-entropy of logits = x (W + alpha D1 + beta D2)^T + b, in float64 from the tensors' values. */
function linearLoss(model: S.Linear, directions: S.Tensor[][], alpha: number, beta: number, x: S.Tensor, y: S.Tensor): number {
  const [w, b] = model.parameters().map(values) as [number[], number[]];
  const d1 = values64(directions[0]![0]!);
  const d2 = directions[1] ? values64(directions[1][0]!) : d1.map(() => 0);
  const weight = w.map((v, i) => v + alpha * d1[i]! + beta * d2[i]!);
  const inputs = values64(x);
  const labels = values64(y);
  let total = 0;
  for (let n = 0; n < labels.length; n++) {
    const logits = [0, 1].map((k) => b[k]! + [0, 1, 2].reduce((s, j) => s + inputs[3 * n + j]! * weight[3 * k + j]!, 0));
    total += Math.log(Math.exp(logits[0]!) + Math.exp(logits[1]!)) - logits[labels[n]!]!;
  }
  return total / labels.length;
}

describe('the loss landscape of a linear layer', () => {
  it('every point of the slice and the grid is the cross-entropy at the moved weights, worked out by hand', () => {
    const { model, x, y } = linearSetUp();
    const landscape = S.lossLandscape(model, { x, y }, { points: 5, grid: 3, seed: 9, range: 2, precision: 'fp32' });
    assert.deepEqual(landscape.alphas, [-2, -1, 0, 1, 2]);
    assert.deepEqual(landscape.surfaceAxis, [-2, 0, 2]);
    const directions = S.landscapeDirections(model, 9, 2);
    assert.ok(
      values64(directions[0]![1]!).every((v) => v === 0) && values64(directions[1]![1]!).every((v) => v === 0),
      'the bias stays put',
    );
    landscape.alphas.forEach((a, i) =>
      closeWithin(landscape.line[i]!, linearLoss(model, [directions[0]!], a, 0, x, y), 1e-5, `line at ${a}`),
    );
    assert.equal(landscape.surface.length, 3);
    landscape.surfaceAxis.forEach((b, j) => {
      assert.equal(landscape.surface[j]!.length, 3);
      landscape.surfaceAxis.forEach((a, i) =>
        closeWithin(landscape.surface[j]![i]!, linearLoss(model, directions, a, b, x, y), 1e-5, `grid at (${a}, ${b})`),
      );
    });
    assert.ok(landscape.line[0]! !== landscape.line[4]! && landscape.surface[0]![0]! !== landscape.surface[2]![2]!, 'the points differ');
  });

  it("at alpha 0 the loss is the model's own, and the slice and grid meet there", () => {
    const { model, x, y } = linearSetUp();
    const own = S.scope(() => S.noGrad(() => S.crossEntropy(model.forward(x), y).item()));
    const landscape = S.lossLandscape(model, { x, y }, { points: 3, grid: 3 });
    closeWithin(landscape.line[1]!, own, 1e-6, 'line at 0');
    assert.equal(landscape.surface[1]![1], landscape.line[1], "the grid's centre is the slice's");
    assert.equal(landscape.surface[1]![0], landscape.line[0], "the grid's row at beta 0 is the slice");
    assert.equal(landscape.surface[1]![2], landscape.line[2]);
  });

  it('a model with biases only has a flat landscape at its own loss', () => {
    S.manualSeed(6);
    const bn = new S.Sequential(new S.BatchNorm2d(2), new S.Flatten());
    const x = S.randn([4, 2, 1, 1]);
    const y = S.tensor([0, 1, 1, 0], { dtype: 'int64' });
    bn.eval();
    const own = S.scope(() => S.noGrad(() => S.crossEntropy(bn.forward(x), y).item()));
    const landscape = S.lossLandscape(bn, { x, y }, { points: 3, grid: 3 });
    for (const v of [...landscape.line, ...landscape.surface.flat()]) closeWithin(v, own, 1e-6, 'flat');
    assert.equal(bn.training, false, 'left in eval mode, as it was');
  });

  it('averages over every image of the sample, whatever its batches', () => {
    const { model, x, y } = linearSetUp();
    const whole = S.lossLandscape(model, { x, y }, { points: 3, grid: 0 });
    const split = S.lossLandscape(
      model,
      [
        { x: x.narrow(0, 0, 4), y: y.narrow(0, 0, 4) },
        { x: x.narrow(0, 4, 2), y: y.narrow(0, 4, 2) },
      ],
      { points: 3, grid: 0 },
    );
    whole.line.forEach((v, i) => closeWithin(split.line[i]!, v, 1e-6, `point ${i}`));
    assert.deepEqual(whole.surfaceAxis, []);
    assert.deepEqual(whole.surface, []);
  });

  it("Li et al.'s resolution by default: 41 points on [-1, 1] and a 21 x 21 grid", () => {
    const { model, x, y } = linearSetUp();
    const calls: number[] = [];
    const landscape = S.lossLandscape(model, { x, y }, {}, (done, total) => {
      assert.equal(total, 41 + 21 * 21);
      calls.push(done);
    });
    assert.deepEqual(landscape.alphas, S.landscapeAxis(41, 1));
    assert.deepEqual(landscape.surfaceAxis, S.landscapeAxis(21, 1));
    assert.deepEqual(
      landscape.surface.map((row) => row.length),
      Array(21).fill(21),
    );
    assert.deepEqual(
      calls,
      Array.from({ length: 482 }, (_, i) => i + 1),
    );
    const directions = S.landscapeDirections(model, 0, 2);
    closeWithin(landscape.surface[20]![0]!, linearLoss(model, directions, -1, 1, x, y), 1e-5, 'seed 0 by default');
  });

  it('reports each point as done of total', () => {
    const { model, x, y } = linearSetUp();
    const calls: [number, number][] = [];
    S.lossLandscape(model, { x, y }, { points: 3, grid: 3 }, (done, total) => calls.push([done, total]));
    assert.deepEqual(
      calls,
      Array.from({ length: 12 }, (_, i) => [i + 1, 12]),
    );
    const lineOnly: [number, number][] = [];
    S.lossLandscape(model, { x, y }, { points: 5, grid: 0 }, (done, total) => lineOnly.push([done, total]));
    assert.deepEqual(
      lineOnly,
      Array.from({ length: 5 }, (_, i) => [i + 1, 5]),
    );
  });

  it("in bf16 autocast the points move a little; in fp32 and the run's precision not at all", () => {
    const { model, x, y } = linearSetUp();
    const fp32 = S.lossLandscape(model, { x, y }, { points: 3, grid: 0, precision: 'fp32' });
    const run = S.lossLandscape(model, { x, y }, { points: 3, grid: 0, precision: 'run' });
    const bf16 = S.lossLandscape(model, { x, y }, { points: 3, grid: 0, precision: 'bf16' });
    assert.deepEqual(run.line, fp32.line);
    bf16.line.forEach((v, i) => closeWithin(v, fp32.line[i]!, 0.05, `bf16 point ${i}`));
    assert.ok(
      bf16.line.some((v, i) => v !== fp32.line[i]),
      `bf16 rounds: ${bf16.line} against ${fp32.line}`,
    );
  });

  it("takes the memory format of the run's images, with the same losses", () => {
    const { model, x, y } = warmedNet(8);
    const plain = S.lossLandscape(model, { x, y }, { points: 3, grid: 0 });
    const last = S.lossLandscape(model, { x, y }, { points: 3, grid: 0, memoryFormat: 'channelsLast' });
    last.line.forEach((v, i) => closeWithin(v, plain.line[i]!, 1e-5, `point ${i}`));
  });

  it('leaves the weights, the mode, the generator and native memory as they were', () => {
    const { model, x, y } = warmedNet(10);
    const before = bits(model);
    S.manualSeed(12);
    const next = values64(S.randn([4]));
    S.manualSeed(12);
    globalThis.gc?.();
    const tensors = S.memory().tensors;
    const landscape = S.scope(() => S.lossLandscape(model, { x, y }, { points: 3, grid: 3 }));
    assert.equal(S.memory().tensors, tensors, 'the copy of the weights and the directions are freed');
    assert.deepEqual(values64(S.randn([4])), next);
    assert.deepEqual(bits(model), before);
    assert.equal(model.training, true);
    // Batch norm in eval mode: the running statistics, not the batch's, so the loss at 0 is the eval-mode loss.
    model.eval();
    const own = S.scope(() => S.noGrad(() => S.crossEntropy(model.forward(x), y).item()));
    closeWithin(landscape.line[1]!, own, 1e-6, 'eval-mode loss at 0');
    S.lossLandscape(model, { x, y }, { points: 3, grid: 0 });
    assert.equal(model.training, false, 'eval mode stays eval mode');
  });

  it('restores the weights and the mode when a forward pass throws', () => {
    class Failing extends S.Module {
      fc = new S.Linear(3, 2);
      calls = 0;
      forward(input: S.Tensor): S.Tensor {
        if (++this.calls === 3) throw new Error('broken forward');
        return this.fc.forward(input);
      }
    }
    S.manualSeed(13);
    const model = new Failing();
    const { x, y } = linearSetUp();
    const before = bits(model);
    assert.throws(() => S.lossLandscape(model, { x, y }, { points: 5, grid: 0 }), { message: 'broken forward' });
    assert.deepEqual(bits(model), before);
    assert.equal(model.training, true);
  });

  it('refuses settings it cannot draw, naming each, and takes the memory format as no landscape setting', () => {
    const { model, x, y } = linearSetUp();
    assert.throws(() => S.lossLandscape(model, { x, y }, { points: 4, range: -1 }), {
      name: 'RangeError',
      message: 'landscape points must be an odd integer >= 3, got 4; landscape range must be a positive number, got -1',
    });
    assert.throws(() => S.lossLandscape(model, { x, y }, { grid: 2 }), {
      name: 'RangeError',
      message: 'landscape grid must be 0 (none) or an odd integer >= 3, got 2',
    });
    assert.equal(S.lossLandscape(model, { x, y }, { points: 3, grid: 0, memoryFormat: 'contiguous' }).line.length, 3);
  });
});

describe("a run's landscape", () => {
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-landscape-answers-'));
  const dataDir = writeTinyFashionMnist(join(root, 'data'), 40, 10);

  /** A run of net1 on the tiny dataset: its config.json and a checkpoint of freshly initialised weights at `step`. */
  function makeRun(
    name: string,
    step: number,
    config: Partial<S.TrainConfig> = {},
  ): { path: string; model: S.Module; config: S.TrainConfig } {
    const path = join(root, name);
    const dir = new S.RunDirectory(path);
    dir.create();
    const resolved = S.resolveTrainConfig({ model: 'net1', dataDir, precision: 'fp32', threads: 1, out: path, ...config });
    dir.writeJson('config.json', resolved);
    S.manualSeed(step);
    const model = S.buildModel('net1', { channels: 1, height: 28, width: 28 }, 10);
    S.saveCheckpoint(dir.checkpointPath, { model, epoch: 1, step, config: resolved });
    return { path, model, config: resolved };
  }

  /** The sample landscapeOfRun should take: the run's training subset, then `sample` of it for the seed, normalised as the run's images, in one batch. */
  async function expectedSample(config: S.TrainConfig, sample: number, seed: number): Promise<S.Batch[]> {
    const splits = await S.loadDataset('fashion-mnist', dataDir);
    const images = S.subset(S.subset(splits.train, config.trainSubset, config.seed), sample, seed);
    const loader = new S.DataLoader(images, { batchSize: 250, shuffle: false, normalization: S.computeNormalization(splits.train) });
    return [...loader.epoch(0)];
  }

  it('computes the landscape of the last checkpoint on the sample, writes landscape.json and leaves the run as it was', async () => {
    const { path, model, config } = makeRun('fp32', 5);
    const checkpoint = readFileSync(join(path, 'checkpoints/last.safetensors'));
    const options = { points: 3, grid: 3, sample: 12, seed: 2, range: 0.5, precision: 'fp32' as const };
    const calls: number[] = [];
    const started = performance.now();
    const file = await S.landscapeOfRun(path, options, { onPoint: (done) => calls.push(done) });
    const wall = (performance.now() - started) / 1000;
    assert.deepEqual(
      calls,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const expected = S.lossLandscape(model, await expectedSample(config, 12, 2), options);
    assert.deepEqual(
      Object.keys(file).sort(),
      [
        'alphas',
        'grid',
        'line',
        'points',
        'precision',
        'range',
        'sample',
        'sampleAsked',
        'seconds',
        'seed',
        'step',
        'surface',
        'surfaceAxis',
      ].sort(),
    );
    assert.deepEqual(
      [file.points, file.grid, file.sample, file.sampleAsked, file.seed, file.range, file.precision, file.step],
      [3, 3, 12, 12, 2, 0.5, 'fp32', 5],
    );
    assert.deepEqual(file.alphas, [-0.5, 0, 0.5]);
    assert.deepEqual(file.surfaceAxis, [-0.5, 0, 0.5]);
    // The same images in the same order through the same weights: the same losses, bit for bit.
    assert.deepEqual(file.line, expected.line);
    assert.deepEqual(file.surface, expected.surface);
    assert.ok(file.seconds > 0 && file.seconds <= wall, `${file.seconds} s within the call's ${wall} s`);
    assert.deepEqual(JSON.parse(readFileSync(join(path, 'landscape.json'), 'utf8')), file);
    assert.ok(readFileSync(join(path, 'checkpoints/last.safetensors')).equals(checkpoint), 'the checkpoint is untouched');
    assert.equal(existsSync(join(path, 'lock')), false, 'the lock is released');
    assert.equal(S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, ...options }), true);
  });

  it("takes the run's precision for 'run', the whole split when the sample asks for more, and the defaults", async () => {
    const { path, model, config } = makeRun('defaults', 3);
    const file = await S.landscapeOfRun(path, { points: 3, grid: 0, sample: 5000, precision: 'run' });
    assert.deepEqual([file.sample, file.sampleAsked, file.precision, file.seed, file.range, file.step], [40, 5000, 'fp32', 0, 1, 3]);
    assert.deepEqual(file.surface, []);
    const expected = S.lossLandscape(model, await expectedSample(config, 5000, 0), { points: 3, grid: 0, precision: 'fp32' });
    file.line.forEach((v, i) => closeWithin(v, expected.line[i]!, 1e-5, `line ${i}`));
    assert.equal(
      S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, points: 3, grid: 0, sample: 5000 }),
      true,
      'the sample asked for, not the one taken',
    );
    assert.equal(S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, points: 3, grid: 0, sample: 40 }), false);
  });

  it('in bf16 when asked, on a run that trained in fp32', async () => {
    const { path, model, config } = makeRun('bf16', 4);
    const file = await S.landscapeOfRun(path, { points: 3, grid: 0, sample: 8, precision: 'bf16' });
    assert.equal(file.precision, 'bf16');
    // bf16 autocast runs channels-last, the model's weights and the images alike (trainingMemoryFormat), as the run trained.
    model.to({ memoryFormat: 'channelsLast' });
    const expected = S.lossLandscape(model, await expectedSample(config, 8, 0), {
      points: 3,
      grid: 0,
      precision: 'bf16',
      memoryFormat: 'channelsLast',
    });
    assert.deepEqual(file.line, expected.line);
    assert.equal(S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, points: 3, grid: 0, sample: 8, precision: 'bf16' }), true);
    assert.equal(
      S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, points: 3, grid: 0, sample: 8, precision: 'run' }),
      false,
      'the run trained in fp32',
    );
    assert.equal(S.hasLandscape(path, { ...S.LANDSCAPE_DEFAULTS, points: 3, grid: 0, sample: 8, precision: 'fp32' }), false);
  });

  it('holds no tensor after it returns: the checkpoint, the sample and the model are freed', async () => {
    const { path } = makeRun('memory', 2);
    const options = { points: 3, grid: 0, sample: 8 };
    await S.landscapeOfRun(path, options); // the first call reads the dataset; this one reads what is read once
    globalThis.gc?.();
    const tensors = S.memory().tensors;
    await S.landscapeOfRun(path, options);
    // No collection here: each tensor is disposed when done with, not left to the garbage collector.
    assert.equal(S.memory().tensors, tensors);
  });

  it('refuses a folder that is not a run, and bad settings, before touching anything', async () => {
    await assert.rejects(S.landscapeOfRun(join(root, 'nothing-here')), {
      message: `${join(root, 'nothing-here')} is not a run directory (no config.json): give a folder written by skipstudio train or experiment`,
    });
    assert.equal(existsSync(join(root, 'nothing-here')), false);
    await assert.rejects(S.landscapeOfRun(join(root, 'nothing-here'), { points: 2, sample: -1 }), {
      name: 'RangeError',
      message: 'landscape points must be an odd integer >= 3, got 2; landscape sample must be a positive integer, got -1',
    });
  });

  it("holds a landscape only when every setting and the checkpoint's step match", () => {
    const { path, config } = makeRun('held', 7);
    const options: S.LandscapeOptions = { points: 5, grid: 3, sample: 100, range: 1, seed: 4, precision: 'run' };
    assert.equal(S.hasLandscape(path, options), false, 'no landscape.json');
    const file: S.LandscapeFile = {
      points: 5,
      grid: 3,
      sample: 40,
      sampleAsked: 100,
      range: 1,
      seed: 4,
      precision: 'fp32',
      step: 7,
      alphas: [],
      line: [],
      surfaceAxis: [],
      surface: [],
      seconds: 1,
    };
    writeFileSync(join(path, 'landscape.json'), JSON.stringify(file));
    assert.equal(config.precision, 'fp32');
    assert.equal(S.hasLandscape(path, options), true);
    assert.equal(S.hasLandscape(path, { ...options, precision: 'fp32' }), true);
    for (const change of [{ points: 7 }, { grid: 0 }, { sample: 40 }, { range: 2 }, { seed: 5 }, { precision: 'bf16' as const }]) {
      assert.equal(S.hasLandscape(path, { ...options, ...change }), false, JSON.stringify(change));
    }
    writeFileSync(join(path, 'landscape.json'), JSON.stringify({ ...file, step: 6 }));
    assert.equal(S.hasLandscape(path, options), false, 'computed from an older checkpoint');
  });
});
