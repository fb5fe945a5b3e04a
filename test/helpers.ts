/** Shared test helpers: approximate comparison and finite-difference gradient checks. */
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Module, type NestedArray, Tensor, dispose, noGrad, scope, tensor } from '../src/index.js';

/** Asserts that two nested arrays of numbers agree within tol. */
export function assertClose(actual: NestedArray | Tensor, expected: NestedArray, tol = 1e-5, path = ''): void {
  const value = actual instanceof Tensor ? actual.toArray() : actual;
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(value), `${path}: expected an array, got ${JSON.stringify(value)}`);
    assert.equal(value.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose((value as NestedArray[])[i]!, e, tol, `${path}[${i}]`));
    return;
  }
  const a = Number(value);
  const e = Number(expected);
  if (Number.isNaN(e)) {
    assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    return;
  }
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${path}: ${a} differs from ${e} by more than ${tol}`);
}

/**
 * Compares autograd's gradient of sum(f(inputs) * weights) with central finite
 * differences, in float64, for every element of every input.
 */
export function gradcheck(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6, tol = 1e-5): void {
  scope(() => {
    const leaves = inputs.map((t) => t.to({ dtype: 'float64', copy: true }).requiresGrad_(true));
    const out0 = f(...leaves);
    // Random weights make every output element matter to the checked scalar.
    const weights = tensor(
      Array.from({ length: out0.numel }, (_, i) => 0.5 + ((i * 7919) % 13) / 13),
      {
        dtype: 'float64',
        shape: out0.shape,
      },
    );
    out0.mul(weights).sum().backward();
    leaves.forEach((leaf, k) => {
      const analytic = leaf.grad!.data() as Float64Array;
      const values = leaf.detach().data() as Float64Array;
      for (let i = 0; i < values.length; i++) {
        const numeric = noGrad(() => {
          const at = (delta: number) => {
            const shifted = Float64Array.from(values);
            shifted[i]! += delta;
            const args = leaves.map((l, j) => (j === k ? tensor(shifted, { dtype: 'float64', shape: l.shape }) : l.detach()));
            return f(...args)
              .mul(weights)
              .sum()
              .item();
          };
          return (at(eps) - at(-eps)) / (2 * eps);
        });
        const a = analytic[i]!;
        assert.ok(
          Math.abs(a - numeric) <= tol * Math.max(1, Math.abs(numeric)),
          `input ${k} element ${i}: autograd ${a} vs finite difference ${numeric}`,
        );
      }
    });
  });
}

/** A file under test/fixtures (tests run from dist/test/<area>/). */
export function fixturePath(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures', name);
}

/** True when Debian's python3-torch is installed, for the live cross-checks. */
export function hasPyTorch(): boolean {
  const result = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return result.status === 0;
}

/**
 * Fills a model's parameters and buffers with the deterministic formula that
 * test/fixtures/pytorch_reference.py uses, so both sides hold the same weights.
 */
export function formulaFill(model: Module): void {
  const state = model.stateDict();
  const entries = Object.entries(state).filter(([key]) => !key.endsWith('num_batches_tracked'));
  entries.forEach(([key, t], j) => {
    const values = new Float64Array(t.numel);
    const fanIn = t.ndim >= 2 ? t.numel / t.shape[0]! : 1;
    for (let i = 0; i < values.length; i++) {
      const a = Math.sin(0.7 * i + 0.3 * j + 0.1);
      if (key.endsWith('running_var')) values[i] = 1 + 0.5 * Math.abs(a);
      else if (key.endsWith('running_mean')) values[i] = 0.1 * a;
      else if (t.ndim >= 2) values[i] = a / Math.sqrt(fanIn);
      else if (key.endsWith('weight')) values[i] = 1 + 0.1 * a;
      else values[i] = 0.1 * a;
    }
    noGrad(() => t.copy_(tensor(values, { shape: t.shape, dtype: 'float64' })));
  });
  dispose(state);
}

export function formulaInput(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, (_, i) => Math.sin(0.5 * i));
  return tensor(values, { shape, dtype: 'float32' });
}

/**
 * Writes a small Fashion-MNIST-format dataset that a model can learn: the
 * image of class k has a bright horizontal band at rows 2k..2k+2, plus noise.
 */
export function writeTinyFashionMnist(dir: string, trainCount = 256, testCount = 64): string {
  mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const make = (count: number, prefix: string) => {
    const labels = Buffer.from(Array.from({ length: count }, (_, i) => i % 10));
    const pixels = Buffer.alloc(count * 784);
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < 784; p++) {
        const row = Math.floor(p / 28);
        const band = row >= 2 * labels[i]! + 2 && row < 2 * labels[i]! + 5;
        pixels[i * 784 + p] = Math.min(255, Math.floor((band ? 180 : 20) + 60 * random()));
      }
    }
    const imageHeader = Buffer.alloc(16);
    imageHeader.writeUInt32BE(2051, 0);
    imageHeader.writeUInt32BE(count, 4);
    imageHeader.writeUInt32BE(28, 8);
    imageHeader.writeUInt32BE(28, 12);
    const labelHeader = Buffer.alloc(8);
    labelHeader.writeUInt32BE(2049, 0);
    labelHeader.writeUInt32BE(count, 4);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), Buffer.concat([imageHeader, pixels]));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), Buffer.concat([labelHeader, labels]));
  };
  make(trainCount, 'train');
  make(testCount, 't10k');
  return dir;
}

/** Sends SIGINT to a child process once ready() holds (checked every 10 ms); rejects, with its stderr, when it exits first. */
export function interruptWhen(child: ChildProcess, exited: Promise<unknown>, ready: () => boolean, stderr: () => string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        child.kill('SIGINT');
        resolve();
      }
    }, 10);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`the process ended before it could be interrupted:\n${stderr()}`));
    });
  });
}

/** The CLI's entry point, for tests that run skipstudio as a user would. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

/**
 * `skipstudio train` of a tiny run, as many tests need one: net1 at lr 0.01, one epoch of batches of 16, one thread, on
 * the given data into out; `extra` flags follow (--precision bf16, --log-every 1, ...).
 */
export function trainTinyRun(data: string, out: string, ...extra: string[]): SpawnSyncReturns<string> {
  const args = ['train', '--model', 'net1', '--lr', '0.01', '--epochs', '1', '--batch-size', '16', '--threads', '1', '--data-dir', data];
  return spawnSync(process.execPath, [CLI, ...args, '--out', out, ...extra], { encoding: 'utf8' });
}
