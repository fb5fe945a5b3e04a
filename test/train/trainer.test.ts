/**
 * What the trainer and the train command do that no other test runs:
 * --config files, --json progress, Ctrl-C and --resume, bf16, augmentation,
 * training subsets and the learning-rate schedule wiring. All on the tiny
 * learnable dataset with net1 and one thread, so each run takes a moment.
 *
 * Then the run directory under stress, with real processes: two writers, a resume while the run still trains, a stale lock, kills in the first epoch (after a mid-epoch checkpoint, and before any checkpoint), a torn or corrupt metrics line, datasets whose splits disagree, flags that --resume would ignore.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { interruptWhen, writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-trainer-'));
const data = writeTinyFashionMnist(join(root, 'data'));
after(() => rmSync(root, { recursive: true, force: true }));

const FAST = [
  '--data-dir',
  data,
  '--model',
  'net1',
  '--optimizer',
  'adam',
  '--lr',
  '0.001',
  '--schedule',
  'constant',
  '--weight-decay',
  '0',
  '--batch-size',
  '16',
  '--threads',
  '1',
];

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
  runStarted(info: S.RunStartInfo): void {
    this.started.push(info);
  }
  step(): void {}
  logged(): void {}
  epochEnded(): void {}
  runEnded(_name: string, status: string, detail: string): void {
    this.ended.push({ status, detail });
  }
  message(): void {}
  close(): void {}
}

const datasets = new Map<string, S.DatasetSplits>();
let runs = 0;

/** Trains in this process (no process start-up): net1, adam, one thread, every iteration logged. */
async function trainHere(settings: Partial<S.TrainConfig>) {
  const out = join(root, `here-${runs++}`);
  const reporter = new Recorder();
  const summary = await S.train(
    {
      model: 'net1',
      dataDir: data,
      optimizer: 'adam',
      lr: 0.001,
      schedule: 'constant',
      weightDecay: 0,
      batchSize: 16,
      threads: 1,
      logEvery: 1,
      gradEvery: 1000,
      epochs: 1,
      precision: 'fp32',
      ...settings,
      out,
    },
    { reporter, datasets },
  );
  const records = new S.RunDirectory(out).records();
  return {
    out,
    reporter,
    summary,
    iterations: records.filter((r): r is S.IterationRecord => r.type === 'iteration'),
    epochs: records.filter((r): r is S.EpochRecord => r.type === 'epoch'),
    status: readJson<S.StatusFile>(out, 'status.json'),
    config: readJson<S.TrainConfig>(out, 'config.json'),
  };
}

describe('train --config and --json', () => {
  it('reads settings from a JSON file, lets flags override them, and prints progress as JSON lines', () => {
    const file = join(root, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        model: 'net1',
        dataDir: data,
        optimizer: 'adam',
        lr: 0.002,
        schedule: 'constant',
        weightDecay: 0,
        epochs: 5,
        batchSize: 32,
        threads: 1,
        trainSubset: 128,
        logEvery: 2,
        seed: 3,
      }),
    );
    const out = join(root, 'from-config');
    const run = skipstudio('train', '--config', file, '--epochs', '1', '--out', out, '--json');
    assert.equal(run.status, 0, run.stderr);
    const config = readJson<S.TrainConfig>(out, 'config.json');
    assert.equal(config.epochs, 1, 'the flag overrides the file');
    assert.deepEqual(
      [config.model, config.optimizer, config.lr, config.batchSize, config.trainSubset, config.logEvery, config.seed],
      ['net1', 'adam', 0.002, 32, 128, 2, 3],
      'the rest comes from the file',
    );
    assert.equal(config.momentum, S.DEFAULT_TRAIN_CONFIG.momentum, 'what neither gives keeps its default');

    const lines = run.stdout.split('\n').filter((l) => l.trim());
    const events = lines.map((l) => {
      const value = JSON.parse(l);
      assert.ok(value !== null && typeof value === 'object' && typeof value.event === 'string', `not a JSON event: ${l}`);
      return value;
    });
    const auto = S.resolvePrecision('auto');
    assert.deepEqual(
      events[0],
      {
        event: 'runStarted',
        name: 'from-config',
        model: 'net1',
        lr: 0.002,
        epochs: 1,
        totalSteps: 4,
        startStep: 0,
        precision: `${auto.precision} (${auto.reason})`,
      },
      'precision auto (the default), with what it chose and why',
    );
    const iterations = events.filter((e) => e.event === 'iteration');
    assert.deepEqual(
      iterations.map((e) => e.step),
      [2, 4],
      '128 images in batches of 32, logged every 2 steps',
    );
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
    const child = spawn(process.execPath, [main, 'train', ...FAST, '--epochs', '10', '--log-every', '1', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Send SIGINT once the first iteration is logged (the handler is installed by then).
    const metrics = join(out, 'metrics.jsonl');
    await interruptWhen(
      child,
      exited,
      () => existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"type":"iteration"'),
      () => stderr,
    );
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /stopping after this step/);
    const status = readJson<S.StatusFile>(out, 'status.json');
    assert.equal(status.status, 'stopped');
    assert.ok(status.step >= 1 && status.step < status.totalSteps, `stopped at step ${status.step} of ${status.totalSteps}`);
    assert.match(
      stdout,
      new RegExp(
        `stopped: checkpoint saved at step ${status.step}; continue with: skipstudio train --resume ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
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
    assert.deepEqual(
      records.filter((r) => r.type === 'epoch').map((r) => r.epoch),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(
      records.filter((r) => r.type === 'iteration').map((r) => r.step),
      Array.from({ length: 160 }, (_, i) => i + 1),
      'every step logged once',
    );
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
    assert.deepEqual(
      run.iterations.map((r) => [r.epoch, r.step]),
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
        [1, 5],
        [1, 6],
        [1, 7],
        [1, 8],
      ],
    );
    assert.deepEqual(
      run.epochs.map((r) => r.step),
      [4, 8],
    );
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
    assert.deepEqual(
      again.iterations.map((r) => r.loss),
      augmented.iterations.map((r) => r.loss),
      'augmentation is seeded',
    );
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
      expected.forEach((e, i) =>
        assert.ok(Math.abs(actual[i]! - e) <= 1e-12 + 1e-9 * e, `${label} step ${i + 1}: lr ${actual[i]}, expected ${e}`),
      );
    const steps = Array.from({ length: 16 }, (_, i) => i + 1);

    assert.deepEqual(
      await lrs('constant'),
      steps.map(() => lr),
    );
    // x0.1 at 50% (step 8) and again at 75% (step 12).
    close(
      await lrs('step'),
      steps.map((s) => (s < 8 ? lr : s < 12 ? lr * 0.1 : lr * 0.01)),
      'step',
    );
    close(
      await lrs('cosine'),
      steps.map((s) => (lr * (1 + Math.cos((Math.PI * s) / 16))) / 2),
      'cosine',
    );

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

describe('the run directory under stress, with real processes', () => {
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-hardening-'));
  // 1,024 training images: 64 steps an epoch at batch 16, time enough to kill a run inside its first epoch.
  const data = writeTinyFashionMnist(join(root, 'data'), 1024, 64);
  const RUN = [
    '--data-dir',
    data,
    '--model',
    'net1',
    '--lr',
    '0.01',
    '--batch-size',
    '16',
    '--threads',
    '1',
    '--log-every',
    '4',
    '--grad-every',
    '4',
  ];

  function startTrain(...args: string[]): ChildProcess {
    return spawn(process.execPath, [main, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  function exited(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.stdout?.resume();
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  }

  /** Polls until `ready()` holds, then SIGKILLs the child; fails if it ends first. */
  async function killWhen(child: ChildProcess, ready: () => boolean): Promise<void> {
    const ended = exited(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (!ready()) return;
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }, 5);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run ended before it could be killed'));
      });
    });
    await ended;
  }

  function weights(dir: string): Record<string, S.Tensor> {
    return S.loadCheckpoint(join(dir, 'checkpoints/last.safetensors')).modelState;
  }

  /** The records without their timings: what must be equal between an interrupted and an uninterrupted run. */
  function recordsWithoutTimings(dir: string): unknown[] {
    return new S.RunDirectory(dir).records().map((r) => {
      if (r.type === 'iteration') return { type: r.type, epoch: r.epoch, step: r.step, loss: r.loss, lr: r.lr };
      if (r.type === 'epoch') {
        return {
          type: r.type,
          epoch: r.epoch,
          step: r.step,
          trainLoss: r.trainLoss,
          trainAccuracy: r.trainAccuracy,
          testLoss: r.testLoss,
          testAccuracy: r.testAccuracy,
          lr: r.lr,
        };
      }
      return r;
    });
  }

  function assertSameRun(killed: string, straight: string): void {
    const a = weights(straight);
    const b = weights(killed);
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const key of Object.keys(a)) assert.ok(b[key]!.allclose(a[key]!, 0, 0), `${key} differs after resuming`);
    const records = recordsWithoutTimings(killed);
    assert.deepEqual(records, recordsWithoutTimings(straight), 'the same records, none twice, none missing');
    for (const type of ['iteration', 'epoch', 'gradients']) {
      const steps = records.filter((r) => (r as { type: string }).type === type).map((r) => (r as { step: number }).step);
      assert.ok(
        steps.every((s, i) => i === 0 || s > steps[i - 1]!),
        `${type} records strictly increasing`,
      );
    }
  }

  describe('one writer per run directory', () => {
    it('lets one of two processes training into the same folder run, and tells the other who holds it', async () => {
      const out = join(root, 'two-writers');
      const first = exited(startTrain(...RUN, '--model', 'net1', '--epochs', '1', '--out', out));
      const second = exited(startTrain(...RUN, '--model', 'net2', '--epochs', '1', '--out', out));
      const results = await Promise.all([first, second]);
      assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], results.map((r) => r.stderr).join('\n'));
      const loser = results.find((r) => r.code === 1)!;
      assert.match(loser.stderr, new RegExp(`(is in use by process \\d+ on ${hostname()}|already holds a run)`));
      const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).model;
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model;
      assert.equal(model, config, 'config and model come from the same writer');
      assert.ok(!existsSync(join(out, 'lock')), 'the lock is released at the end');
    });

    it('refuses --resume while the run still trains, and takes over a lock whose process is gone', async () => {
      const out = join(root, 'busy');
      const child = startTrain(...RUN, '--model', 'hw5net', '--epochs', '5', '--out', out); // about 10 s: still training when --resume comes
      const done = exited(child);
      while (!existsSync(join(out, 'metrics.jsonl'))) await new Promise((r) => setTimeout(r, 10));
      const resume = skipstudio('train', '--resume', out);
      assert.equal(resume.status, 1);
      assert.match(
        resume.stderr,
        new RegExp(`${out} is in use by process ${child.pid} on ${hostname()} \\(since .*\\): wait for it to finish or stop it`),
      );
      child.kill('SIGKILL');
      await done;
      assert.ok(existsSync(join(out, 'lock')), 'a killed process leaves its lock behind');
      assert.equal(new S.RunDirectory(out).status().status, 'stopped', 'a running status whose process is gone reads as stopped');
      const again = skipstudio('train', '--resume', out);
      assert.equal(again.status, 0, again.stderr);
    });
  });

  describe('resuming from a kill at any moment', () => {
    const straight = join(root, 'straight');
    const args = [...RUN, '--epochs', '2', '--augment', '--checkpoint-every', '4'];
    const baseline = skipstudio('train', ...args, '--out', straight);

    it('continues a run killed in its first epoch from its last mid-epoch checkpoint, to the same weights and records', async () => {
      assert.equal(baseline.status, 0, baseline.stderr);
      const killed = join(root, 'killed-first-epoch');
      await killWhen(startTrain(...args, '--out', killed), () => existsSync(join(killed, 'checkpoints/last.safetensors')));
      const saved = S.loadCheckpoint(join(killed, 'checkpoints/last.safetensors'));
      assert.equal(saved.epoch, 0, 'killed in the first epoch');
      assert.ok(saved.step > 0 && saved.step % 4 === 0);
      saved.dispose();
      const resumed = skipstudio('train', '--resume', killed);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stdout, /resuming at step \d+/);
      assertSameRun(killed, straight);
    });

    it('starts over a run killed before its first checkpoint', async () => {
      const killed = join(root, 'killed-before-checkpoint');
      const noCheckpoint = [...RUN, '--epochs', '2', '--augment', '--checkpoint-every', '1000'];
      await killWhen(
        startTrain(...noCheckpoint, '--out', killed),
        () => existsSync(join(killed, 'metrics.jsonl')) && readFileSync(join(killed, 'metrics.jsonl'), 'utf8').includes('"iteration"'),
      );
      assert.ok(!existsSync(join(killed, 'checkpoints/last.safetensors')));
      const resumed = skipstudio('train', '--resume', killed);
      assert.equal(resumed.status, 0, resumed.stderr);
      const reference = join(root, 'reference-no-checkpoint');
      assert.equal(skipstudio('train', ...noCheckpoint, '--out', reference).status, 0);
      assertSameRun(killed, reference);
    });

    it('refuses settings that --resume would ignore', () => {
      const run = skipstudio('train', '--resume', straight, '--epochs', '5', '--lr', '0.1');
      assert.equal(run.status, 1);
      assert.match(run.stderr, /--resume continues a run with the settings it saved; leave out --epochs, --lr/);
    });
  });

  describe('damaged and inconsistent inputs', () => {
    it('skips a torn last metrics line, and names the file and line of any other bad line', () => {
      const out = join(root, 'torn');
      assert.equal(skipstudio('train', ...RUN, '--epochs', '1', '--train-subset', '256', '--out', out).status, 0);
      const metrics = join(out, 'metrics.jsonl');
      const intact = readFileSync(metrics, 'utf8');
      appendFileSync(metrics, '{"type":"it');
      const report = skipstudio('report', out);
      assert.equal(report.status, 0, report.stderr);
      assert.equal(new S.RunDirectory(out).records().length, intact.trim().split('\n').length);
      const lines = intact.split('\n');
      writeFileSync(metrics, [...lines.slice(0, 2), 'not json', ...lines.slice(2)].join('\n'));
      const broken = skipstudio('report', out);
      assert.equal(broken.status, 1);
      assert.match(broken.stderr, new RegExp(`${metrics}:3: not a JSON record .*repair or delete that line`));
    });

    it('finds training and test images of different sizes before training', () => {
      const dir = join(root, 'mismatch');
      mkdirSync(dir, { recursive: true });
      writeTinyFashionMnist(dir, 64, 16);
      // The test images 14x14: the same count, a quarter of the pixels.
      const header = Buffer.alloc(16);
      header.writeUInt32BE(2051, 0);
      header.writeUInt32BE(16, 4);
      header.writeUInt32BE(14, 8);
      header.writeUInt32BE(14, 12);
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(16 * 196, 7)]));
      const out = join(root, 'mismatch-run');
      const run = skipstudio(
        'train',
        '--data-dir',
        dir,
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--out',
        out,
      );
      assert.equal(run.status, 1);
      assert.match(run.stderr, /fashion-mnist in .*mismatch: the training images are 1x28x28 but the test images 1x14x14/);
      assert.ok(!existsSync(join(out, 'metrics.jsonl')), 'nothing trained');
    });

    it("writes a run where the config file's out says", () => {
      const out = join(root, 'from-config-file');
      const file = join(root, 'train.json');
      writeFileSync(
        file,
        JSON.stringify({ model: 'net1', lr: 0.01, epochs: 1, batchSize: 16, trainSubset: 64, threads: 1, dataDir: data, out }),
      );
      const run = skipstudio('train', '--config', file);
      assert.equal(run.status, 0, run.stderr);
      assert.ok(existsSync(join(out, 'eval.json')));
    });
  });

  describe('settings and paths', () => {
    const tiny = [...RUN, '--epochs', '1', '--train-subset', '64'];

    it('caps --threads at the cores and says so', () => {
      const out = join(root, 'threads');
      const run = skipstudio(
        'train',
        ...tiny.filter((a, i, all) => a !== '--threads' && all[i - 1] !== '--threads'),
        '--threads',
        '1000',
        '--out',
        out,
      );
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /1000 threads asked for, \d+ cores here: training with \d+/);
      assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).threads, 1000, 'the config keeps what was asked');
    });

    it('fails at once, naming the path, where a run folder cannot be made', () => {
      const file = join(root, 'a-file');
      writeFileSync(file, 'x');
      const cases: [string, RegExp][] = [
        ['/proc/skipstudio-x', /cannot create the folder \/proc\/skipstudio-x: /],
        [join(file, 'run'), new RegExp(`cannot create the folder ${file}/run: a part of the path is a file, not a folder \\(ENOTDIR\\)`)],
      ];
      for (const [out, pattern] of cases) {
        const run = spawnSync(process.execPath, [main, 'train', ...tiny, '--out', out], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(run.status, 1, `${out}: ${run.stderr}`);
        assert.match(run.stderr, pattern);
      }
    });

    it('says what is wrong with a config file that is not an object of settings', () => {
      const nullFile = join(root, 'null.json');
      writeFileSync(nullFile, 'null');
      const run = skipstudio('train', '--config', nullFile);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /config file .*null\.json must hold a JSON object \(\{ \.\.\. \}\), not null/);
      const wrongTypes = join(root, 'types.json');
      writeFileSync(wrongTypes, JSON.stringify({ model: 'net1', lr: '0.1', epochs: 1.5, optimizer: 'rmsprop', betas: [0.9] }));
      const typed = skipstudio('train', '--config', wrongTypes, '--out', join(root, 'types-run'));
      assert.equal(typed.status, 1);
      for (const problem of [
        /lr must be a number in \(0, 1e9\], got '0\.1'/,
        /epochs must be an integer from 1 to 100,000, got 1\.5/,
        /optimizer must be one of sgd, adam, adamw, got 'rmsprop'/,
        /betas must be two numbers in \[0, 1\), got \[0\.9\]/,
      ]) {
        assert.match(typed.stderr, problem);
      }
    });

    it('names the path and the reason of a failed write', () => {
      const error = S.fileError(
        'write',
        '/data/run/status.json',
        Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
      );
      assert.equal(error.message, 'cannot write /data/run/status.json: the disk is full (ENOSPC)');
      assert.equal(
        S.fileError('write', '/ro/x', Object.assign(new Error('x'), { code: 'EROFS' })).message,
        'cannot write /ro/x: the file system is read-only (EROFS)',
      );
    });
  });
});
