/**
 * What the trainer and the train command do that no other test runs:
 * --config files, --json progress, Ctrl-C and --resume, bf16, augmentation,
 * training subsets and the learning-rate schedule wiring. All on the tiny
 * learnable dataset with net1 and one thread, so each run takes a moment.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { interruptWhen, writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-trainer-'));
const data = writeTinyFashionMnist(join(root, 'data'));
after(() => rmSync(root, { recursive: true, force: true }));

const FAST = ['--data-dir', data, '--model', 'net1', '--optimizer', 'adam', '--lr', '0.001', '--schedule', 'constant', '--weight-decay', '0', '--batch-size', '16', '--threads', '1'];

function skipstudio(...args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read many record shapes and assert on their fields
function readJson<T = any>(dir: string, name: string): T {
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
}

/** A reporter that keeps what it is told. */
class Recorder implements S.TrainingReporter {
  started: S.RunStartInfo[] = [];
  ended: { status: string; detail: string }[] = [];
  runStarted(info: S.RunStartInfo): void { this.started.push(info); }
  step(): void {}
  logged(): void {}
  epochEnded(): void {}
  runEnded(_name: string, status: string, detail: string): void { this.ended.push({ status, detail }); }
  message(): void {}
  close(): void {}
}

const datasets = new Map<string, S.DatasetSplits>();
let runs = 0;

/** Trains in this process (no process start-up): net1, adam, one thread, every iteration logged. */
async function trainHere(settings: Partial<S.TrainConfig>) {
  const out = join(root, `here-${runs++}`);
  const reporter = new Recorder();
  const summary = await S.train({
    model: 'net1', dataDir: data, optimizer: 'adam', lr: 0.001, schedule: 'constant', weightDecay: 0, batchSize: 16, threads: 1,
    logEvery: 1, gradEvery: 1000, epochs: 1, precision: 'fp32', ...settings, out,
  }, { reporter, datasets });
  const records = new S.RunDirectory(out).records();
  return {
    out, reporter, summary,
    iterations: records.filter((r): r is S.IterationRecord => r.type === 'iteration'),
    epochs: records.filter((r): r is S.EpochRecord => r.type === 'epoch'),
    status: readJson<S.StatusFile>(out, 'status.json'),
    config: readJson<S.TrainConfig>(out, 'config.json'),
  };
}

describe('train --config and --json', () => {
  it('reads settings from a JSON file, lets flags override them, and prints progress as JSON lines', () => {
    const file = join(root, 'config.json');
    writeFileSync(file, JSON.stringify({
      model: 'net1', dataDir: data, optimizer: 'adam', lr: 0.002, schedule: 'constant', weightDecay: 0, epochs: 5, batchSize: 32,
      threads: 1, trainSubset: 128, logEvery: 2, seed: 3,
    }));
    const out = join(root, 'from-config');
    const run = skipstudio('train', '--config', file, '--epochs', '1', '--out', out, '--json');
    assert.equal(run.status, 0, run.stderr);
    const config = readJson<S.TrainConfig>(out, 'config.json');
    assert.equal(config.epochs, 1, 'the flag overrides the file');
    assert.deepEqual([config.model, config.optimizer, config.lr, config.batchSize, config.trainSubset, config.logEvery, config.seed],
      ['net1', 'adam', 0.002, 32, 128, 2, 3], 'the rest comes from the file');
    assert.equal(config.momentum, S.DEFAULT_TRAIN_CONFIG.momentum, 'what neither gives keeps its default');

    const lines = run.stdout.split('\n').filter((l) => l.trim());
    const events = lines.map((l) => {
      const value = JSON.parse(l);
      assert.ok(value !== null && typeof value === 'object' && typeof value.event === 'string', `not a JSON event: ${l}`);
      return value;
    });
    const auto = S.resolvePrecision('auto');
    assert.deepEqual(events[0], {
      event: 'runStarted', name: 'from-config', model: 'net1', lr: 0.002, epochs: 1, totalSteps: 4, startStep: 0, precision: `${auto.precision} (${auto.reason})`,
    }, 'precision auto (the default), with what it chose and why');
    const iterations = events.filter((e) => e.event === 'iteration');
    assert.deepEqual(iterations.map((e) => e.step), [2, 4], '128 images in batches of 32, logged every 2 steps');
    assert.ok(iterations.every((e) => e.type === 'iteration' && e.lr === 0.002 && e.loss > 0));
    assert.equal(events.filter((e) => e.event === 'epoch').length, 1);
    assert.deepEqual(events.at(-1)!.event, 'runEnded');
    assert.equal(events.at(-1)!.status, 'finished');
  });

  it('rejects a config file with an unknown setting, naming it, before training', () => {
    const file = join(root, 'bad-config.json');
    writeFileSync(file, JSON.stringify({ model: 'net1', learningRate: 0.1 }));
    const out = join(root, 'bad-config-run');
    const run = skipstudio('train', '--config', file, '--data-dir', data, '--out', out);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /unknown setting 'learningRate'/);
    assert.ok(!existsSync(out), 'nothing was written');
  });
});

describe('Ctrl-C', () => {
  it('stops a real train process with a checkpoint and status stopped, prints the resume command, and --resume finishes it', async () => {
    const out = join(root, 'interrupted');
    const child = spawn(process.execPath, [main, 'train', ...FAST, '--epochs', '10', '--log-every', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Send SIGINT once the first iteration is logged (the handler is installed by then).
    const metrics = join(out, 'metrics.jsonl');
    await interruptWhen(child, exited, () => existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"type":"iteration"'), () => stderr);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /stopping after this step/);
    const status = readJson<S.StatusFile>(out, 'status.json');
    assert.equal(status.status, 'stopped');
    assert.ok(status.step >= 1 && status.step < status.totalSteps, `stopped at step ${status.step} of ${status.totalSteps}`);
    assert.match(stdout, new RegExp(`stopped: checkpoint saved at step ${status.step}; continue with: skipstudio train --resume ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const checkpoint = S.loadCheckpoint(join(out, 'checkpoints/last.safetensors'));
    assert.equal(checkpoint.step, status.step);
    checkpoint.dispose();
    assert.ok(!existsSync(join(out, 'eval.json')), 'a stopped run has no final evaluation');

    const resumed = skipstudio('train', '--resume', out);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming at step ${status.step}\\)`));
    const final = readJson<S.StatusFile>(out, 'status.json');
    assert.equal(final.status, 'finished');
    assert.equal(final.step, 160);
    const records = new S.RunDirectory(out).records();
    assert.deepEqual(records.filter((r) => r.type === 'epoch').map((r) => r.epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(records.filter((r) => r.type === 'iteration').map((r) => r.step), Array.from({ length: 160 }, (_, i) => i + 1),
      'every step logged once');
    assert.ok(readJson(out, 'eval.json').accuracy >= 0.9);
  });
});

describe('train --precision bf16', () => {
  it('trains end to end under bf16 autocast, and its numbers differ from fp32', async () => {
    const out = join(root, 'bf16');
    const run = skipstudio('train', ...FAST, '--epochs', '2', '--precision', 'bf16', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(readJson<S.TrainConfig>(out, 'config.json').precision, 'bf16');
    assert.equal(readJson<S.StatusFile>(out, 'status.json').status, 'finished');
    const evaluation = readJson(out, 'eval.json');
    assert.ok(evaluation.accuracy >= 0.9, `bf16 test accuracy ${evaluation.accuracy}`);
    assert.equal(evaluation.count, 64);
    const bf16 = new S.RunDirectory(out).records().filter((r): r is S.EpochRecord => r.type === 'epoch');
    const fp32 = await trainHere({ epochs: 2, logEvery: 50 });
    assert.ok(bf16.every((r) => Number.isFinite(r.trainLoss) && Number.isFinite(r.testLoss)));
    assert.notEqual(bf16[0]!.trainLoss, fp32.epochs[0]!.trainLoss, 'the same run in fp32 computes other losses: autocast was on');
    assert.ok(Math.abs(bf16[0]!.trainLoss - fp32.epochs[0]!.trainLoss) < 0.1, 'but close ones');
  });
});

describe('the trainer', () => {
  it('trains on --train-subset images: trainSubset / batchSize steps an epoch', async () => {
    const run = await trainHere({ trainSubset: 64, epochs: 2 });
    assert.equal(run.status.totalSteps, 8);
    assert.equal(run.reporter.started[0]!.totalSteps, 8);
    assert.deepEqual(run.iterations.map((r) => [r.epoch, r.step]), [[0, 1], [0, 2], [0, 3], [0, 4], [1, 5], [1, 6], [1, 7], [1, 8]]);
    assert.deepEqual(run.epochs.map((r) => r.step), [4, 8]);
    assert.equal(run.summary.status, 'finished');
    // A subset larger than the split is the whole split (256 images: 16 steps); one smaller than a batch is refused.
    assert.equal((await trainHere({ trainSubset: 1000 })).status.totalSteps, 16);
    await assert.rejects(trainHere({ trainSubset: 8 }), /the training split \(8 images\) holds no full batch of 16/);
  });

  it('augments the training batches with --augment', async () => {
    const plain = await trainHere({ trainSubset: 64, augment: false });
    const augmented = await trainHere({ trainSubset: 64, augment: true });
    assert.equal(augmented.config.augment, true);
    assert.equal(augmented.status.status, 'finished');
    // Same seed, same weights, same order: only the augmentation changes the first batch's loss.
    assert.notEqual(augmented.iterations[0]!.loss, plain.iterations[0]!.loss);
    const again = await trainHere({ trainSubset: 64, augment: true });
    assert.deepEqual(again.iterations.map((r) => r.loss), augmented.iterations.map((r) => r.loss), 'augmentation is seeded');
  });

  it('steps the learning-rate schedule every iteration', async () => {
    const lr = 0.001;
    // 64 images in batches of 8 for 2 epochs: 16 steps. Record s holds the lr after s scheduler steps.
    const lrs = async (schedule: S.ScheduleName) => {
      const run = await trainHere({ schedule, lr, trainSubset: 64, batchSize: 8, epochs: 2 });
      assert.equal(run.iterations.length, 16);
      for (const e of run.epochs) assert.equal(e.lr, run.iterations[e.step - 1]!.lr, `epoch ${e.epoch} lr`);
      return run.iterations.map((r) => r.lr);
    };
    const close = (actual: number[], expected: number[], label: string) =>
      expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= 1e-12 + 1e-9 * e, `${label} step ${i + 1}: lr ${actual[i]}, expected ${e}`));
    const steps = Array.from({ length: 16 }, (_, i) => i + 1);

    assert.deepEqual(await lrs('constant'), steps.map(() => lr));
    // x0.1 at 50% (step 8) and again at 75% (step 12).
    close(await lrs('step'), steps.map((s) => (s < 8 ? lr : s < 12 ? lr * 0.1 : lr * 0.01)), 'step');
    close(await lrs('cosine'), steps.map((s) => (lr * (1 + Math.cos((Math.PI * s) / 16))) / 2), 'cosine');

    const onecycle = await lrs('onecycle');
    const peak = onecycle.indexOf(Math.max(...onecycle));
    assert.ok(peak >= 1 && peak <= 8, `the peak comes in the first part of training (step ${peak + 1})`);
    for (let i = 1; i <= peak; i++) assert.ok(onecycle[i]! > onecycle[i - 1]!, `onecycle rises to its peak (step ${i + 1})`);
    for (let i = peak + 1; i < 16; i++) assert.ok(onecycle[i]! < onecycle[i - 1]!, `onecycle falls after its peak (step ${i + 1})`);
    assert.ok(onecycle[peak]! <= lr && onecycle[peak]! > 0.95 * lr, `the peak ${onecycle[peak]} is close to --lr`);
    assert.ok(onecycle[0]! < 0.5 * lr, 'it starts well below --lr');
    assert.ok(Math.abs(onecycle[15]! - lr / 25 / 1e4) < 1e-15, `it ends at lr / (25 * 1e4), got ${onecycle[15]}`);
  });
});
