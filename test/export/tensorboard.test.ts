import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { MetricRecord } from '../../src/runs/index.js';
import {
  TensorBoardRunDirectory,
  crc32c,
  maskedCrc32c,
  runEventFile,
  tensorboardSink,
  writeTensorBoard,
} from '../../src/export/tensorboard.js';
import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-tensorboard-'));

// ---- an independent reader: bit-by-bit CRC32C and a protobuf wire-format decoder written from the specs ----

function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function referenceMask(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

type Fields = Map<number, (bigint | Buffer)[]>;

/** Protocol buffers' wire format: varints (type 0), 64-bit (1), length-delimited (2) and 32-bit (5) fields by number. */
function wireFields(bytes: Buffer): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = () => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const [number, type] = [key >>> 3, key & 7];
    let value: bigint | Buffer;
    const take = (n: number) => {
      at += n;
      return bytes.subarray(at - n, at);
    };
    if (type === 0) value = varint();
    else if (type === 1) value = take(8);
    else if (type === 5) value = take(4);
    else if (type === 2) value = take(Number(varint()));
    else throw new Error(`wire type ${type}`);
    fields.set(number, [...(fields.get(number) ?? []), value]);
  }
  return fields;
}

interface DecodedEvent {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  scalars: { tag: string; value: number }[];
}

/** tensorflow.Event: wall_time = 1 (double), step = 2 (int64), file_version = 3, summary = 5; Summary.value = 1; Value.tag = 1, simple_value = 2 (float). */
function decodeEvent(bytes: Buffer): DecodedEvent {
  const f = wireFields(bytes);
  const summary = f.get(5)?.[0] as Buffer | undefined;
  const scalars =
    summary === undefined
      ? []
      : (wireFields(summary).get(1) ?? []).map((v) => {
          const value = wireFields(v as Buffer);
          return { tag: (value.get(1)![0] as Buffer).toString('utf8'), value: (value.get(2)![0] as Buffer).readFloatLE(0) };
        });
  const step = f.get(2)?.[0] as bigint | undefined;
  return {
    wallTime: (f.get(1)![0] as Buffer).readDoubleLE(0),
    step: step === undefined ? undefined : Number(step),
    fileVersion: (f.get(3)?.[0] as Buffer | undefined)?.toString('utf8'),
    scalars,
  };
}

/**
 * Reads a TFRecord file, checking each record's length and data against their masked CRC32Cs. A file still being
 * written (`growing`) may end inside a record: that record is not read yet.
 */
function readEventFile(path: string, growing = false): DecodedEvent[] {
  const bytes = readFileSync(path);
  const events: DecodedEvent[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (growing && (at + 12 > bytes.length || at + 16 + Number(bytes.readBigUInt64LE(at)) > bytes.length)) return events;
    const lengthBytes = bytes.subarray(at, at + 8);
    assert.equal(bytes.readUInt32LE(at + 8), referenceMask(referenceCrc32c(lengthBytes)), `length CRC at byte ${at}`);
    const length = Number(bytes.readBigUInt64LE(at));
    const data = bytes.subarray(at + 12, at + 12 + length);
    assert.equal(bytes.readUInt32LE(at + 12 + length), referenceMask(referenceCrc32c(data)), `data CRC at byte ${at}`);
    events.push(decodeEvent(data));
    at += 12 + length + 4;
  }
  assert.equal(at, bytes.length, 'the file ends with a whole record');
  return events;
}

const scalarsOf = (events: DecodedEvent[]) => events.flatMap((e) => e.scalars.map((s) => ({ step: e.step, ...s })));

const RECORDS: MetricRecord[] = [
  { type: 'iteration', epoch: 0, step: 10, loss: 2.25, lr: 0.1, imagesPerSecond: 500, dataWaitShare: 0.01 },
  { type: 'gradients', epoch: 0, step: 10, norms: [0.5, null] },
  { type: 'iteration', epoch: 0, step: 20, loss: 1.7, lr: 0.05, imagesPerSecond: 510, dataWaitShare: 0.01 },
  {
    type: 'epoch',
    epoch: 0,
    step: 20,
    trainLoss: 1.9,
    trainAccuracy: 0.4,
    testLoss: 1.6,
    testAccuracy: 0.55,
    lr: 0.05,
    seconds: 3,
    imagesPerSecond: 505,
    dataWaitShare: 0.01,
  },
];

const EXPECTED = [
  { step: 10, tag: 'loss/train', value: 2.25 },
  { step: 10, tag: 'learning_rate', value: 0.1 },
  { step: 20, tag: 'loss/train', value: 1.7 },
  { step: 20, tag: 'learning_rate', value: 0.05 },
  { step: 20, tag: 'loss/train_epoch', value: 1.9 },
  { step: 20, tag: 'loss/test', value: 1.6 },
  { step: 20, tag: 'accuracy/train', value: 0.4 },
  { step: 20, tag: 'accuracy/test', value: 0.55 },
  { step: 20, tag: 'learning_rate', value: 0.05 },
].map((s) => ({ ...s, value: Math.fround(s.value) }));

after(() => rmSync(root, { recursive: true, force: true }));

describe('TensorBoard scalars', () => {
  it('CRC32C and its mask match the standard check value and a bit-by-bit implementation', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    for (const text of ['', 'a', 'skipstudio', 'x'.repeat(1000)]) {
      const bytes = Buffer.from(text);
      assert.equal(crc32c(bytes), referenceCrc32c(bytes));
      assert.equal(maskedCrc32c(bytes), referenceMask(referenceCrc32c(bytes)));
    }
  });

  it('the trainer sink writes each record as it comes: framed, checksummed events with the loss, accuracy and learning rate', () => {
    const dir = join(root, 'sink');
    const sink = tensorboardSink(dir);
    for (const record of RECORDS) sink(record);
    sink.close();
    const [file] = readdirSync(dir);
    assert.match(file!, /^events\.out\.tfevents\.\d+\./);
    const events = readEventFile(join(dir, file!));
    assert.equal(events[0]!.fileVersion, 'brain.Event:2');
    assert.ok(Math.abs(events[0]!.wallTime - Date.now() / 1000) < 60);
    assert.deepEqual(scalarsOf(events.slice(1)), EXPECTED);
  });

  it("converts an experiment's runs, one TensorBoard run each, and converting again replaces rather than doubles", () => {
    const experiment = join(root, 'experiment');
    for (const name of ['net1-lr0.1-s0', 'net1-lr0.01-s0']) {
      const run = join(experiment, name);
      mkdirSync(run, { recursive: true });
      writeFileSync(join(run, 'config.json'), JSON.stringify({ model: 'net1', lr: 0.1, out: run }));
      writeFileSync(
        join(run, 'status.json'),
        JSON.stringify({ status: 'finished', epochsDone: 1, step: 20, totalSteps: 20, wallSeconds: 30, updatedAt: '2026-01-01T00:00:30Z' }),
      );
      writeFileSync(join(run, 'metrics.jsonl'), RECORDS.map((r) => `${JSON.stringify(r)}\n`).join(''));
      appendFileSync(join(run, 'metrics.jsonl'), '{"type":"iteration","epoch":0,"st'); // torn by a kill: skipped
    }
    const logdir = join(root, 'logdir');
    for (let pass = 0; pass < 2; pass++) {
      const files = writeTensorBoard(experiment, logdir);
      assert.equal(files.length, 2);
    }
    for (const name of ['net1-lr0.1-s0', 'net1-lr0.01-s0']) {
      const files = readdirSync(join(logdir, name));
      assert.equal(files.length, 1, 'one event file per run, however often converted');
      const events = readEventFile(join(logdir, name, files[0]!));
      assert.deepEqual(scalarsOf(events), EXPECTED);
      // Wall times spread over the run's 30 s, ending when its status was last written.
      assert.equal(events.at(-1)!.wallTime, Date.parse('2026-01-01T00:00:30Z') / 1000);
      assert.equal(events[0]!.wallTime, Date.parse('2026-01-01T00:00:00Z') / 1000 + 30 * (10 / 20));
    }
  });

  it('a run directory with a TensorBoard log folder rewrites the events from the records kept when a run resumes, then appends', () => {
    const run = join(root, 'resumed', 'net1-lr0.1-s0');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'metrics.jsonl'), RECORDS.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const logdir = join(root, 'resumed-tb');
    const dir = new TensorBoardRunDirectory(run, logdir);
    dir.truncateRecords(10); // as a resume from the checkpoint at step 10 does: the records after it go
    const file = runEventFile(logdir, 'net1-lr0.1-s0');
    assert.deepEqual(
      scalarsOf(readEventFile(file)),
      EXPECTED.filter((s) => s.step <= 10),
    );
    dir.append(RECORDS[2]!);
    assert.deepEqual(scalarsOf(readEventFile(file)), EXPECTED.slice(0, 4), 'an appended record is in the file at once');
    dir.close();
  });

  it('skipstudio train --tensorboard DIR appends the scalars while the run trains, the same as its metrics', async () => {
    const data = writeTinyFashionMnist(join(root, 'data'));
    const run = join(root, 'runs', 'tiny');
    const logdir = join(root, 'tb');
    // 1,000 epochs of 4 steps: a run that is still training when the test looks, then stopped by Ctrl-C.
    const child = spawn(
      process.execPath,
      [
        main,
        'train',
        '--data-dir',
        data,
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--epochs',
        '1000',
        '--batch-size',
        '64',
        '--log-every',
        '1',
        '--threads',
        '1',
        '--out',
        run,
        '--tensorboard',
        logdir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const file = runEventFile(logdir, 'tiny');
    const scalarsSoFar = () => (existsSync(file) ? scalarsOf(readEventFile(file, true)) : []);
    const trainingLosses = () => scalarsSoFar().filter((s) => s.tag === 'loss/train');
    try {
      const deadline = Date.now() + 60_000;
      while (trainingLosses().length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(trainingLosses().length >= 8, 'eight logged losses in the event file within a minute');
      assert.ok(
        scalarsSoFar().some((s) => s.tag === 'accuracy/test'),
        "an epoch's test accuracy too",
      );
      assert.equal(child.exitCode, null, 'read while the run was still training');
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL'); // a failed assertion leaves no 1,000-epoch run behind
    }
    assert.match(stdout, /TensorBoard scalars under .*tb, appended as the runs logged \(tensorboard --logdir /);
    const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MetricRecord);
    const losses = records
      .filter((r) => r.type === 'iteration')
      .map((r) => ({ step: r.step, value: Math.fround((r as { loss: number }).loss) }));
    assert.deepEqual(
      trainingLosses().map(({ step, value }) => ({ step, value })),
      losses,
      'every logged loss, once',
    );
    const epochs = records.filter((r) => r.type === 'epoch') as { testAccuracy: number }[];
    assert.deepEqual(
      scalarsOf(readEventFile(file))
        .filter((s) => s.tag === 'accuracy/test')
        .map((s) => s.value),
      epochs.map((e) => Math.fround(e.testAccuracy)),
    );
  });

  it('a --tensorboard folder that cannot be made stops train and experiment at once, naming the flag; no run is left without a status (issue 42, defect 20)', () => {
    const data = writeTinyFashionMnist(join(root, 'data-unwritable'), 32, 16);
    // Under /proc/sys no folder can be made: Node's recursive mkdir loops there forever, the folder-by-folder one fails at once.
    const logdir = '/proc/sys/skipstudio-tensorboard';
    for (const command of ['train', 'experiment']) {
      const out = join(root, `unwritable-${command}`);
      const args = command === 'train' ? ['--model', 'net1', '--lr', '0.01'] : ['--models', 'net1', '--no-forecast'];
      const result = spawnSync(
        process.execPath,
        [
          main,
          command,
          '--data-dir',
          data,
          ...args,
          '--epochs',
          '1',
          '--batch-size',
          '16',
          '--threads',
          '1',
          '--out',
          out,
          '--tensorboard',
          logdir,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(result.status, 1, `${command}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /--tensorboard \/proc\/sys\/skipstudio-tensorboard: cannot create the folder \/proc\/sys\/skipstudio-tensorboard: .*\(ENOENT\)/,
      );
      assert.ok(!existsSync(out), `${command}: nothing written`);
    }
  });
});
