import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { fixturePath, hasPyTorch } from '../helpers.js';

const folder = mkdtempSync(join(tmpdir(), 'skipstudio-io-'));

/** Builds a safetensors file from a header object and a data buffer. */
function rawFile(name: string, header: unknown, data: Buffer = Buffer.alloc(0), lengthOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const path = join(folder, name);
  writeFileSync(path, Buffer.concat([length, json, data]));
  return path;
}

describe('safetensors', () => {
  it('round-trips every supported dtype with metadata', () => {
    const record = {
      f32: S.randn([2, 3]),
      f64: S.randn([4], { dtype: 'float64' }),
      bf16: S.randn([3, 2]).to('bfloat16'),
      f16: S.randn([5]).to('float16'),
      i64: S.tensor([1, -2, 3]),
      i32: S.tensor([7, 8], { dtype: 'int32' }),
      u8: S.tensor([0, 255], { dtype: 'uint8' }),
      bool: S.tensor([true, false, true]),
      scalar: S.tensor(2.5),
      empty: S.zeros([0, 3]),
    };
    const path = join(folder, 'all.safetensors');
    S.saveSafetensors(record, path, { note: 'hello' });
    const loaded = S.loadSafetensorsWithMetadata(path);
    assert.deepEqual(loaded.metadata, { note: 'hello' });
    assert.deepEqual(Object.keys(loaded.tensors), Object.keys(record));
    for (const [name, t] of Object.entries(record)) {
      const back = loaded.tensors[name]!;
      assert.equal(back.dtype, t.dtype, name);
      assert.deepEqual(back.shape, t.shape, name);
      assert.deepEqual(back.bytes(), t.bytes(), name);
    }
    // The header is 8-byte aligned, as the reference writer pads it.
    const n = Number(readFileSync(path).readBigUInt64LE(0));
    assert.equal(n % 8, 0);
  });

  it('reads files written by PyTorch (the stored reference fixtures)', () => {
    const tensors = S.loadSafetensors(fixturePath('init.safetensors'));
    assert.deepEqual(tensors['conv.weight']!.shape, [4, 3, 3, 3]);
  });

  it('writes files that PyTorch reads back exactly', { skip: !hasPyTorch() && 'python3-torch is not installed' }, () => {
    const record = {
      w: S.tensor(
        [
          [1.5, -2],
          [3, 4],
        ],
        { dtype: 'float32' },
      ),
      idx: S.tensor([5, 6, 7]),
      flag: S.tensor([true, false]),
    };
    const path = join(folder, 'to-python.safetensors');
    S.saveSafetensors(record, path);
    const run = spawnSync('/usr/bin/python3', [fixturePath('pytorch_reference.py'), '--read', path], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      w: [[2, 2], 'torch.float32', 6.5],
      idx: [[3], 'torch.int64', 18],
      flag: [[2], 'torch.bool', 1],
    });
  });

  it('rejects malformed files with a clear error before allocating', () => {
    const cases: [string, () => string, RegExp][] = [
      [
        'tiny',
        () => {
          const p = join(folder, 'tiny');
          writeFileSync(p, Buffer.from([1, 2, 3]));
          return p;
        },
        /fewer than the 8-byte header length/,
      ],
      ['past end', () => rawFile('past-end', { a: 1 }, Buffer.alloc(0), 1000n), /claims 1000 bytes but the file has only/],
      ['huge header', () => rawFile('huge', {}, Buffer.alloc(0), 2n ** 40n), /more than the \d+-byte limit/],
      ['not json', () => rawFile('notjson', '{"a": [1, 2'), /the header is not JSON/],
      ['not an object', () => rawFile('array', '[1,2,3]'), /not a JSON object/],
      [
        'unknown dtype',
        () => rawFile('dtype', { a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)),
        /unknown dtype "F8"/,
      ],
      ['bad shape', () => rawFile('shape', { a: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /invalid shape/],
      [
        'runs past data',
        () => rawFile('past', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)),
        /past the end of the data/,
      ],
      [
        'size mismatch',
        () => rawFile('mismatch', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)),
        /spans 8 bytes but F32 \[3\] needs 12/,
      ],
      [
        'overlap',
        () =>
          rawFile(
            'overlap',
            {
              a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
              b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
            },
            Buffer.alloc(12),
          ),
        /overlaps/,
      ],
      ['gap', () => rawFile('gap', { a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, Buffer.alloc(4)), /belong to no tensor/],
      ['trailing', () => rawFile('trailing', { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, Buffer.alloc(6)), /trailing bytes/],
      [
        'bad offsets',
        () => rawFile('offsets', { a: { dtype: 'U8', shape: [2], data_offsets: [2, 0] } }, Buffer.alloc(2)),
        /invalid data_offsets/,
      ],
      ['bad metadata', () => rawFile('meta', { __metadata__: { a: 1 } }), /__metadata__\.a is not a string/],
    ];
    for (const [label, make, pattern] of cases) {
      const path = make();
      assert.throws(
        () => S.loadSafetensors(path),
        (e: Error) => e instanceof S.SafetensorsError && pattern.test(e.message) && e.message.includes(path),
        label,
      );
    }
  });

  it('checks every span against its dtype and shape, too small and too large, before allocating any tensor', () => {
    // Each file tiles its data exactly, so only the span check can catch it; a valid tensor comes first,
    // so a reader that allocated as it went would leave it behind.
    const ok = { dtype: 'U8', shape: [4], data_offsets: [0, 4] };
    const cases: [string, object, number, RegExp][] = [
      [
        'span-too-large',
        { ok, bad: { dtype: 'F32', shape: [2], data_offsets: [4, 16] } },
        16,
        /entry 'bad' spans 12 bytes but F32 \[2\] needs 8/,
      ],
      [
        'span-too-small',
        { ok, bad: { dtype: 'F32', shape: [3], data_offsets: [4, 12] } },
        12,
        /entry 'bad' spans 8 bytes but F32 \[3\] needs 12/,
      ],
      [
        'span-2d-large',
        { ok, bad: { dtype: 'F64', shape: [2, 2], data_offsets: [4, 44] } },
        44,
        /entry 'bad' spans 40 bytes but F64 \[2, 2\] needs 32/,
      ],
      [
        'span-empty-large',
        { ok, bad: { dtype: 'I64', shape: [0, 3], data_offsets: [4, 12] } },
        12,
        /entry 'bad' spans 8 bytes but I64 \[0, 3\] needs 0/,
      ],
      [
        'span-scalar-small',
        { ok, bad: { dtype: 'BF16', shape: [], data_offsets: [4, 5] } },
        5,
        /entry 'bad' spans 1 bytes but BF16 \[\] needs 2/,
      ],
    ];
    for (const [name, header, bytes, pattern] of cases) {
      const path = rawFile(name, header, Buffer.alloc(bytes, 1));
      // Tensors an earlier test forgot are reclaimed by a collection: let it happen before counting, not between the counts.
      (globalThis as { gc?: () => void }).gc?.();
      const before = S.memory();
      const named = (e: Error) =>
        e instanceof S.SafetensorsError && pattern.test(e.message) && e.message.startsWith(`${path}: not a valid safetensors file`);
      assert.throws(() => S.loadSafetensors(path), named, name);
      assert.throws(() => S.loadSafetensorsWithMetadata(path), named, name);
      assert.throws(() => S.readSafetensorsHeader(path), named, name);
      assert.throws(() => S.loadCheckpoint(path), named, `${name} as a checkpoint`);
      const after = S.memory();
      assert.equal(after.tensors, before.tensors, `${name}: no tensor was allocated`);
      assert.equal(after.bytes, before.bytes, `${name}: no tensor memory was allocated`);
    }
    // The same layout with the right span loads.
    const good = rawFile('span-right', { ok, fine: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12));
    assert.deepEqual(S.loadSafetensors(good).fine!.shape, [2]);
  });

  it('refuses to store what it cannot represent', () => {
    // @ts-expect-error deliberately wrong
    assert.throws(() => S.saveSafetensors({ a: [1, 2] }, join(folder, 'x.safetensors')), /'a' is not a Tensor/);
  });

  it('refuses the tensor names that would not read back, before writing (issue 42, defect 13)', () => {
    const path = join(folder, 'reserved.safetensors');
    assert.throws(
      () => S.saveSafetensors({ __metadata__: S.ones([1]) }, path),
      /^TypeError: saveSafetensors: '__metadata__' cannot name a tensor \(the header keeps its metadata there\): rename it$/,
    );
    const proto = JSON.parse('{"__proto__": null}') as Record<string, S.Tensor>;
    proto.__proto__ = S.ones([1]); // an own key of that name, as JSON.parse makes one
    assert.throws(() => S.saveSafetensors(proto, path), /'__proto__' cannot name a tensor \(it is JavaScript's prototype key\)/);
    assert.equal(readdirSync(folder).includes('reserved.safetensors'), false, 'nothing written');
  });
});

describe('checkpoints', () => {
  class Tiny extends S.Module {
    conv = new S.Conv2d(1, 2, 3);
    bn = new S.BatchNorm2d(2);
    fc = new S.Linear(2, 3);
    forward(x: S.Tensor): S.Tensor {
      return this.fc.forward(S.adaptiveAvgPool2d(this.bn.forward(this.conv.forward(x)), 1).flatten(1));
    }
  }

  function trainSteps(model: Tiny, optimizer: S.Optimizer<{ lr: number }>, scheduler: S.LRScheduler, steps: number) {
    for (let i = 0; i < steps; i++) {
      S.scope(() => {
        const x = S.randn([4, 1, 6, 6]); // draws from the generator the checkpoint restores
        S.crossEntropy(model.forward(x), S.tensor([0, 1, 2, 0])).backward();
        optimizer.step();
        optimizer.zeroGrad();
        scheduler.step();
      });
    }
  }

  it('saves model, optimizer, schedule, counters, RNG and config, and resumes exactly', () => {
    S.manualSeed(11);
    const straight = new Tiny();
    const start = Object.fromEntries(Object.entries(straight.stateDict()).map(([k, v]) => [k, v.clone()]));
    const optS = new S.Adam(straight.parameters(), { lr: 0.01 });
    const schedS = new S.StepLR(optS, 2, 0.5);
    trainSteps(straight, optS, schedS, 6);

    S.manualSeed(11);
    const first = new Tiny();
    first.loadStateDict(start);
    const opt1 = new S.Adam(first.parameters(), { lr: 0.01 });
    const sched1 = new S.StepLR(opt1, 2, 0.5);
    trainSteps(first, opt1, sched1, 3);
    const path = join(folder, 'run', 'checkpoint.safetensors');
    S.saveCheckpoint(path, { model: first, optimizer: opt1, scheduler: sched1, epoch: 1, step: 3, config: { lr: 0.01, model: 'tiny' } });
    S.randn([100]); // disturb the generator: restoring must undo this

    const resumed = new Tiny();
    const opt2 = new S.Adam(resumed.parameters(), { lr: 0.01 });
    const sched2 = new S.StepLR(opt2, 2, 0.5);
    const checkpoint = S.loadCheckpoint(path);
    assert.equal(checkpoint.epoch, 1);
    assert.equal(checkpoint.step, 3);
    assert.deepEqual(checkpoint.config, { lr: 0.01, model: 'tiny' });
    S.restoreCheckpoint(checkpoint, { model: resumed, optimizer: opt2, scheduler: sched2 });
    checkpoint.dispose();
    assert.equal(opt2.paramGroups[0]!.lr, opt1.paramGroups[0]!.lr);
    trainSteps(resumed, opt2, sched2, 3);
    const expected = straight.stateDict();
    for (const [key, value] of Object.entries(resumed.stateDict())) {
      assert.ok(value.allclose(expected[key]!, 0, 1e-6), key);
    }
    assert.deepEqual(readdirSync(join(folder, 'run')), ['checkpoint.safetensors'], 'no temporary files left behind');
  });

  it('says precisely which keys and shapes do not match the model', () => {
    const path = join(folder, 'mismatch.safetensors');
    S.saveCheckpoint(path, { model: new Tiny(), epoch: 0, step: 0 });
    class Other extends S.Module {
      conv = new S.Conv2d(1, 4, 3);
      head = new S.Linear(2, 3);
      forward(x: S.Tensor): S.Tensor {
        return x;
      }
    }
    const checkpoint = S.loadCheckpoint(path);
    assert.throws(
      () => S.restoreCheckpoint(checkpoint, { model: new Other() }),
      (e: Error) =>
        /missing keys: 2 \(head\.weight, head\.bias\)/.test(e.message) &&
        /unexpected keys: 7 \(bn\.weight, bn\.bias, bn\.running_mean, bn\.running_var, bn\.num_batches_tracked, \.\.\. 2 more\)/.test(
          e.message,
        ) &&
        /conv\.weight: shape \[2, 1, 3, 3\] in the state dict, \[4, 1, 3, 3\] in the model/.test(e.message),
    );
  });

  it('rejects a safetensors file that is not a checkpoint', () => {
    const path = join(folder, 'plain.safetensors');
    S.saveSafetensors({ a: S.ones([1]) }, path);
    assert.throws(() => S.loadCheckpoint(path), /not a skipstudio checkpoint: format is undefined/);
  });

  it('never leaves a torn file: a failed write keeps the previous checkpoint intact', () => {
    const path = join(folder, 'atomic.safetensors');
    S.saveCheckpoint(path, { model: new Tiny(), epoch: 4, step: 40 });
    const before = readFileSync(path);
    const broken = new Tiny();
    broken.fc.weight.dispose(); // makes the save fail midway through collecting tensors
    assert.throws(() => S.saveCheckpoint(path, { model: broken, epoch: 5, step: 50 }), /disposed/);
    assert.deepEqual(readFileSync(path), before);
    assert.equal(S.loadCheckpoint(path).epoch, 4);
  });
});
