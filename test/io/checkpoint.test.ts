/**
 * Reading checkpoints back: the format tag, the training metadata, the
 * tensor names (each refused name checked before any tensor is built),
 * integer epoch and step, the routing of model., optimizer.<i>.<name> and
 * rng_state tensors with the optimizer's scalars merged in; the header-only
 * readers (config, step); non-finite weights found and reported; and
 * restoreCheckpoint's targets (optimizer required, scheduler and generator
 * where both sides have them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import * as S from '../../src/index.js';

const folder = mkdtempSync(join(tmpdir(), 'skipstudio-checkpoint-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** Live native tensors, after a collection has reclaimed any a test dropped. */
function live(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return S.memory().tensors;
}

/** A safetensors file with the given tensors and metadata, as a checkpoint writer (or not) would leave it. */
function craft(name: string, tensors: Record<string, S.Tensor>, metadata: Record<string, string>): string {
  const path = join(folder, name);
  S.saveSafetensors(tensors, path, metadata);
  S.dispose(Object.values(tensors));
  return path;
}
const meta = (training: unknown) => ({ format: S.CHECKPOINT_FORMAT, training: JSON.stringify(training) });
const notCheckpoint = (path: string, problem: string) => (e: Error) => e.message === `${path}: not a skipstudio checkpoint: ${problem}`;

class Two extends S.Module {
  fc1 = new S.Linear(3, 2);
  fc2 = new S.Linear(2, 2);
  forward(x: S.Tensor): S.Tensor {
    return this.fc2.forward(this.fc1.forward(x).relu());
  }
}

/** A model, Adam and a StepLR after one step, saved; and the first draw of the generator the checkpoint holds. */
function trainedCheckpoint(name: string) {
  S.manualSeed(5);
  const model = new Two();
  const optimizer = new S.Adam(model.parameters(), { lr: 0.01 });
  const scheduler = new S.StepLR(optimizer, 1, 0.5);
  S.scope(() => S.crossEntropy(model.forward(S.randn([4, 3])), S.tensor([0, 1, 1, 0])).backward());
  optimizer.step();
  optimizer.zeroGrad();
  scheduler.step();
  const path = join(folder, name);
  const rng = Array.from(S.getRngState().data() as Uint8Array);
  S.saveCheckpoint(path, { model, optimizer, scheduler, epoch: 3, step: 17, config: { model: 'two', lr: 0.01 }, extra: { seed: 9 } });
  const draw = S.randn([4]).toArray();
  return { path, model, optimizer, scheduler, rng, draw };
}

const arrays = (state: Record<string, S.Tensor | number>) =>
  Object.fromEntries(Object.entries(state).map(([k, v]) => [k, typeof v === 'number' ? v : v.toArray()]));

describe('loadCheckpoint', () => {
  it('reads back the epoch, step, config, extra, model, optimizer (scalars and tensors), schedule and generator; dispose frees them', () => {
    const { path, model, optimizer, scheduler, rng } = trainedCheckpoint('round-trip.safetensors');
    const saved = optimizer.stateDict();
    const before = live();
    const checkpoint = S.loadCheckpoint(path);
    assert.equal(live(), before + 4 + 8 + 1, 'four weights, two Adam tensors for each, the generator');
    assert.equal(checkpoint.epoch, 3);
    assert.equal(checkpoint.step, 17);
    assert.deepEqual(checkpoint.config, { model: 'two', lr: 0.01 });
    assert.deepEqual(checkpoint.extra, { seed: 9 });
    const weights = model.stateDict();
    assert.deepEqual(Object.keys(checkpoint.modelState), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    for (const [key, t] of Object.entries(weights)) assert.deepEqual(checkpoint.modelState[key]!.toArray(), t.toArray(), key);
    const state = checkpoint.optimizerState!;
    assert.deepEqual(state.paramGroups, saved.paramGroups);
    assert.deepEqual(Object.keys(state.state), ['0', '1', '2', '3']);
    for (const i of [0, 1, 2, 3]) {
      assert.deepEqual(arrays(state.state[i]!), arrays(saved.state[i]!), `parameter ${i}`);
      assert.equal(state.state[i]!.step, 1);
      assert.deepEqual(Object.keys(state.state[i]!).sort(), ['exp_avg', 'exp_avg_sq', 'step']);
    }
    assert.deepEqual(checkpoint.schedulerState, scheduler.stateDict());
    assert.deepEqual(checkpoint.schedulerState, { lastEpoch: 1, baseLrs: [0.01] });
    assert.equal(checkpoint.rngState!.dtype, 'uint8');
    assert.deepEqual(Array.from(checkpoint.rngState!.data() as Uint8Array), rng);
    const held = live();
    checkpoint.dispose();
    assert.equal(live(), held - 13, 'dispose frees every tensor of the checkpoint');
  });

  it('routes dotted model keys, two-digit optimizer indices, scalars without tensors and tensors without scalars', () => {
    const path = craft(
      'routing.safetensors',
      {
        'model.layers.0.weight': S.tensor([1.5, 2.5]),
        'optimizer.10.momentum_buffer': S.tensor([3.5]),
        'optimizer.0.exp_avg': S.tensor([4.5]),
        rng_state: S.tensor([7, 8, 9], { dtype: 'uint8' }),
      },
      meta({
        epoch: 0,
        step: 5,
        optimizer: { paramGroups: [{ lr: 0.1, params: [0, 2, 10] }], scalars: { 0: { step: 7 }, 2: { step: 4 } } },
      }),
    );
    const checkpoint = S.loadCheckpoint(path);
    assert.deepEqual(Object.keys(checkpoint.modelState), ['layers.0.weight']);
    assert.deepEqual(checkpoint.modelState['layers.0.weight']!.toArray(), [1.5, 2.5]);
    const state = checkpoint.optimizerState!;
    assert.deepEqual(Object.keys(state.state).sort(), ['0', '10', '2']);
    assert.deepEqual(arrays(state.state[0]!), { step: 7, exp_avg: [4.5] });
    assert.deepEqual(arrays(state.state[2]!), { step: 4 });
    assert.deepEqual(arrays(state.state[10]!), { momentum_buffer: [3.5] });
    assert.deepEqual(state.paramGroups, [{ lr: 0.1, params: [0, 2, 10] }]);
    assert.deepEqual(checkpoint.rngState!.toArray(), [7, 8, 9]);
    assert.equal(checkpoint.step, 5);
    assert.equal(checkpoint.epoch, 0);
    assert.equal(checkpoint.config, undefined);
    assert.equal(checkpoint.extra, undefined);
    assert.equal(checkpoint.schedulerState, undefined);
    checkpoint.dispose();
  });

  it('has no optimizer or schedule state where none was saved', () => {
    const path = join(folder, 'model-only.safetensors');
    S.saveCheckpoint(path, { model: new S.Linear(2, 1), epoch: 1, step: 2 });
    const checkpoint = S.loadCheckpoint(path);
    assert.equal(checkpoint.optimizerState, undefined);
    assert.equal(checkpoint.schedulerState, undefined);
    assert.deepEqual(Object.keys(checkpoint.modelState), ['weight', 'bias']);
    assert.ok(checkpoint.rngState !== undefined);
    checkpoint.dispose();
  });

  it('refuses a file of another format, or whose training metadata is missing or not JSON', () => {
    const untagged = craft('untagged.safetensors', { 'model.w': S.tensor([1.5]) }, { training: JSON.stringify({ epoch: 0, step: 0 }) });
    const other = craft(
      'other.safetensors',
      { 'model.w': S.tensor([1.5]) },
      { format: 'other/1', training: JSON.stringify({ epoch: 0, step: 0 }) },
    );
    const broken = craft('broken.safetensors', { 'model.w': S.tensor([1.5]) }, { format: S.CHECKPOINT_FORMAT, training: '{"epoch": 0,' });
    const missing = craft('missing.safetensors', { 'model.w': S.tensor([1.5]) }, { format: S.CHECKPOINT_FORMAT });
    const cases: [string, string][] = [
      [untagged, 'format is undefined, expected skipstudio-checkpoint/1'],
      [other, 'format is "other/1", expected skipstudio-checkpoint/1'],
      [broken, 'its training metadata is not JSON'],
      [missing, 'its training metadata is not JSON'],
    ];
    for (const [path, problem] of cases) {
      const before = live();
      assert.throws(() => S.loadCheckpoint(path), notCheckpoint(path, problem), path);
      assert.equal(live(), before, `${path}: no tensor was built`);
      assert.throws(() => S.readCheckpointConfig(path), notCheckpoint(path, problem), path);
      assert.equal(S.readCheckpointStep(path), undefined, path);
    }
  });

  it('refuses a tensor of any other name before building a tensor, naming it', () => {
    const names = [
      'bogus',
      'model.',
      'model.a-b',
      'xmodel.a',
      'xrng_state',
      'rng_state2',
      'rng_state.x',
      'optimizer.x.exp_avg',
      'optimizer.0.a-b',
      'optimizer.0.',
      'optimizer..a',
    ];
    for (const [i, name] of names.entries()) {
      // A valid name first: the error must name the bad one.
      const path = craft(`name-${i}.safetensors`, { 'model.ok': S.tensor([1.5]), [name]: S.tensor([2.5]) }, meta({ epoch: 0, step: 0 }));
      const before = live();
      assert.throws(() => S.loadCheckpoint(path), notCheckpoint(path, `unexpected tensor '${name}'`), name);
      assert.equal(live(), before, `${name}: no tensor was built`);
    }
  });

  it('needs integer epoch and step, and frees the tensors it built when they are not', () => {
    const cases = [{ epoch: 1.5, step: 2 }, { epoch: 1, step: 2.5 }, { epoch: '1', step: 2 }, { step: 2 }, { epoch: 1 }];
    for (const [i, training] of cases.entries()) {
      const path = craft(`counts-${i}.safetensors`, { 'model.w': S.tensor([1.5]) }, meta(training));
      const before = live();
      assert.throws(() => S.loadCheckpoint(path), notCheckpoint(path, 'epoch and step must be integers'), JSON.stringify(training));
      assert.equal(live(), before, `${JSON.stringify(training)}: the tensors are freed`);
    }
  });

  it('refuses a header over 16 MB, which the header-only step reader skips as well', () => {
    assert.equal(S.CHECKPOINT_MAX_HEADER_BYTES, 16 * 1024 * 1024);
    const path = craft(
      'huge-header.safetensors',
      { 'model.w': S.tensor([1.5]) },
      { ...meta({ epoch: 0, step: 9 }), pad: 'x'.repeat(17 * 1024 * 1024) },
    );
    assert.equal(JSON.parse(S.readSafetensorsHeader(path).metadata.training!).step, 9, 'a valid file under the general limit');
    assert.throws(
      () => S.loadCheckpoint(path),
      (e: Error) => e instanceof S.SafetensorsError && e.message.includes('more than the 16777216-byte limit'),
    );
    assert.equal(S.readCheckpointStep(path), undefined);
    rmSync(path);
  });
});

describe('readCheckpointConfig and readCheckpointStep', () => {
  it('read the config and the step from the header', () => {
    const { path } = trainedCheckpoint('header.safetensors');
    assert.deepEqual(S.readCheckpointConfig(path), { model: 'two', lr: 0.01 });
    assert.equal(S.readCheckpointStep(path), 17);
    const bare = join(folder, 'bare.safetensors');
    S.saveCheckpoint(bare, { model: new S.Linear(1, 1), epoch: 0, step: 4 });
    assert.equal(S.readCheckpointConfig(bare), undefined);
    assert.equal(S.readCheckpointStep(bare), 4);
    assert.equal(S.readCheckpointStep(join(folder, 'no-such.safetensors')), undefined);
  });
});

describe('nonFiniteKeys and checkFiniteWeights', () => {
  it('finds NaN and infinities in float and bfloat16 tensors only, skipping empty ones', () => {
    const state: S.StateDict = {
      a: S.tensor([1.5, Number.NaN]),
      b: S.tensor([1.5, 2]),
      c: S.tensor([Number.POSITIVE_INFINITY, 1], { dtype: 'bfloat16' }),
      d: S.tensor([1, -5]),
      e: S.tensor([true, false]),
      f: S.zeros([0, 3]),
      g: S.tensor([0.5, Number.NEGATIVE_INFINITY], { dtype: 'float64' }),
      h: S.tensor([Number.NaN], { dtype: 'float16' }),
      i: S.tensor([1, 2], { dtype: 'bfloat16' }),
      j: S.tensor([3, 4], { dtype: 'uint8' }),
      k: S.zeros([0], { dtype: 'bfloat16' }),
    };
    assert.deepEqual(S.nonFiniteKeys(state), ['a', 'c', 'g', 'h']);
    assert.deepEqual(S.nonFiniteKeys({ b: state.b!, d: state.d!, i: state.i! }), []);
    S.dispose(Object.values(state));
  });

  it('names the first three bad keys and counts the rest', () => {
    const nan = () => S.tensor([Number.NaN]);
    const ok = { w: S.tensor([1.5]) };
    assert.doesNotThrow(() => S.checkFiniteWeights(ok, 'run.safetensors'));
    const tail = ': the run diverged or the file was damaged; use an earlier checkpoint or train again';
    const message = (keys: string[]) => {
      try {
        S.checkFiniteWeights({ ...ok, ...Object.fromEntries(keys.map((k) => [k, nan()])) }, 'run.safetensors');
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    assert.equal(message(['a']), `run.safetensors holds non-finite weights (NaN or infinity) in a${tail}`);
    assert.equal(message(['a', 'b', 'c']), `run.safetensors holds non-finite weights (NaN or infinity) in a, b, c${tail}`);
    assert.equal(message(['a', 'b', 'c', 'd']), `run.safetensors holds non-finite weights (NaN or infinity) in a, b, c and 1 more${tail}`);
    assert.equal(
      message(['a', 'b', 'c', 'd', 'e', 'f']),
      `run.safetensors holds non-finite weights (NaN or infinity) in a, b, c and 3 more${tail}`,
    );
  });
});

describe('restoreCheckpoint', () => {
  const trained = trainedCheckpoint('restore.safetensors');
  /** A fresh model, Adam and StepLR, seeded otherwise than the checkpoint's. */
  function fresh() {
    S.manualSeed(99);
    const model = new Two();
    const optimizer = new S.Adam(model.parameters(), { lr: 0.01 });
    return { model, optimizer, scheduler: new S.StepLR(optimizer, 1, 0.5) };
  }
  const drawAfterSeed = (seed: number) => {
    S.manualSeed(seed);
    return S.randn([4]).toArray();
  };

  it('puts back the weights, the optimizer, the schedule and the generator', () => {
    const targets = fresh();
    const checkpoint = S.loadCheckpoint(trained.path);
    S.restoreCheckpoint(checkpoint, targets);
    checkpoint.dispose();
    assert.deepEqual(S.randn([4]).toArray(), trained.draw, 'the generator continues where the checkpoint was taken');
    const weights = trained.model.stateDict();
    for (const [key, t] of Object.entries(targets.model.stateDict())) assert.deepEqual(t.toArray(), weights[key]!.toArray(), key);
    const saved = trained.optimizer.stateDict();
    const restored = targets.optimizer.stateDict();
    for (const i of [0, 1, 2, 3]) assert.deepEqual(arrays(restored.state[i]!), arrays(saved.state[i]!), `parameter ${i}`);
    assert.equal(targets.scheduler.lastEpoch, 1);
    assert.equal(targets.optimizer.paramGroups[0]!.lr, 0.005);
  });

  it('leaves the generator alone with restoreRng false, and restores the model alone when only it is given', () => {
    const expected = drawAfterSeed(42);
    S.manualSeed(42);
    const targets = fresh();
    S.manualSeed(42);
    const checkpoint = S.loadCheckpoint(trained.path);
    S.restoreCheckpoint(checkpoint, { model: targets.model, restoreRng: false });
    assert.deepEqual(S.randn([4]).toArray(), expected, 'the generator is untouched');
    // The model alone, from a checkpoint that has optimizer and schedule state: nothing else is asked for.
    S.restoreCheckpoint(checkpoint, { model: targets.model });
    assert.deepEqual(S.randn([4]).toArray(), trained.draw, 'restoreRng defaults to true');
    checkpoint.dispose();
    assert.equal(targets.scheduler.lastEpoch, 0);
    assert.equal(targets.optimizer.state.size, 0);
  });

  it('needs optimizer state for an optimizer; a schedule without saved state, or a file without a generator, is left as it is', () => {
    const path = join(folder, 'model-only-restore.safetensors');
    S.manualSeed(1);
    const model = new S.Linear(2, 1);
    S.saveCheckpoint(path, { model, epoch: 0, step: 0 });
    const optimizer = new S.SGD(model.parameters(), { lr: 0.1 });
    const scheduler = new S.StepLR(optimizer, 1, 0.5);
    const checkpoint = S.loadCheckpoint(path);
    assert.throws(
      () => S.restoreCheckpoint(checkpoint, { model, optimizer }),
      (e: Error) => e.message === 'restoreCheckpoint: the checkpoint holds no optimizer state',
    );
    S.restoreCheckpoint(checkpoint, { model, scheduler });
    assert.equal(scheduler.lastEpoch, 0);
    assert.equal(optimizer.paramGroups[0]!.lr, 0.1);
    checkpoint.dispose();

    const noGenerator = craft(
      'no-generator.safetensors',
      { 'model.weight': S.tensor([[0.5, -0.5]]), 'model.bias': S.tensor([0.25]) },
      meta({ epoch: 0, step: 0 }),
    );
    const expected = drawAfterSeed(8);
    S.manualSeed(8);
    const bare = S.loadCheckpoint(noGenerator);
    assert.equal(bare.rngState, undefined);
    S.restoreCheckpoint(bare, { model });
    bare.dispose();
    assert.deepEqual(S.randn([4]).toArray(), expected);
    assert.deepEqual(model.weight.toArray(), [[0.5, -0.5]]);
  });
});
