import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-train-'));
const data = writeTinyFashionMnist(join(root, 'data'));

function skipstudio(...args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
}

// Small and deterministic: one thread, a small HW5Net, the tiny dataset.
const RUN = [
  '--data-dir',
  data,
  '--model',
  'hw5net',
  '--lr',
  '0.05',
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--log-every',
  '4',
  '--grad-every',
  '4',
];

function lastWeights(dir: string): Record<string, S.Tensor> {
  return S.loadCheckpoint(join(dir, 'checkpoints/last.safetensors')).modelState;
}

describe('skipstudio train', () => {
  it('writes a complete run directory', () => {
    const out = join(root, 'complete');
    const run = skipstudio('train', ...RUN, '--epochs', '2', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    for (const file of ['config.json', 'model.json', 'metrics.jsonl', 'status.json', 'eval.json', 'checkpoints/last.safetensors']) {
      assert.ok(existsSync(join(out, file)), file);
    }
    const records = new S.RunDirectory(out).records();
    const epochs = records.filter((r) => r.type === 'epoch');
    assert.equal(epochs.length, 2);
    assert.ok(records.some((r) => r.type === 'iteration' && r.loss > 0 && r.dataWaitShare >= 0));
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.equal(model.learnableLayers, 213);
    const gradients = records.filter((r) => r.type === 'gradients');
    assert.ok(gradients.length > 0);
    assert.equal((gradients[0] as S.GradientRecord).norms.length, model.gradientLayers.length);
    const evaluation = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    assert.equal(evaluation.confusionMatrix.length, 10);
    assert.equal(
      evaluation.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      64,
    );
    assert.equal(JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')).status, 'finished');
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).memoryFormat, 'contiguous');
    assert.match(run.stdout, /finished: test accuracy/);
    // The run refuses to overwrite itself.
    const again = skipstudio('train', ...RUN, '--epochs', '2', '--out', out);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /already holds a run: continue it with --resume/);
  });

  it('resumes a run killed with SIGKILL mid-epoch to the same weights as an uninterrupted run', async () => {
    const straight = join(root, 'straight');
    const killed = join(root, 'killed');
    // Channels-last, as the full preset trains: the checkpoint stores plain layouts and resuming restores them into channels-last tensors.
    const args = [...RUN, '--epochs', '3', '--memory-format', 'channelsLast'];
    assert.equal(skipstudio('train', ...args, '--out', straight).status, 0);

    const child = spawn(process.execPath, [main, 'train', ...args, '--out', killed], { stdio: 'ignore' });
    // Kill it once the first epoch's checkpoint exists and the second epoch is under way.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const metrics = join(killed, 'metrics.jsonl');
        if (!existsSync(metrics)) return;
        const lines = readFileSync(metrics, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        const epochDone = lines.some((r) => r.type === 'epoch' && r.epoch === 0);
        if (epochDone && lines.some((r) => r.type === 'iteration' && r.epoch === 1)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run ended before it could be killed mid-epoch'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const status = JSON.parse(readFileSync(join(killed, 'status.json'), 'utf8'));
    assert.equal(status.status, 'running', 'a killed run is left as running');

    const resumed = skipstudio('train', '--resume', killed);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming at step/);
    const a = lastWeights(straight);
    const b = lastWeights(killed);
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const key of Object.keys(a)) assert.ok(b[key]!.allclose(a[key]!, 0, 0), `${key} differs after resuming`);
    const epochs = new S.RunDirectory(killed)
      .records()
      .filter((r) => r.type === 'epoch')
      .map((r) => r.epoch);
    assert.deepEqual(epochs, [0, 1, 2], 'no epoch is logged twice');
  });

  it('rejects bad flags before any training starts', () => {
    const cases: [string[], RegExp][] = [
      [['--model', 'resnet9000', '--lr', '0.1'], /unknown model 'resnet9000': choose one of/],
      [['--lr', '-1'], /--lr <rate>' argument '-1' is invalid\. must be a number in \(0, 1e9\], got -1/],
      [['--batch-size', '0'], /--batch-size <n>' argument '0' is invalid\. must be an integer from 1 to 65,536, got 0/],
      [['--data-dir', join(root, 'nowhere')], /Fashion-MNIST file not found/],
      [['--optimizer', 'rmsprop'], /argument 'rmsprop' is invalid\. Allowed choices are sgd, adam, adamw/],
      [['--memory-format', 'nhwc'], /argument 'nhwc' is invalid\. Allowed choices are contiguous, channelsLast/],
    ];
    for (const [flags, pattern] of cases) {
      const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
      const run = skipstudio('train', '--data-dir', data, '--threads', '1', ...flags, '--out', out);
      assert.notEqual(run.status, 0, flags.join(' '));
      assert.match(run.stderr, pattern);
      assert.ok(!existsSync(join(out, 'checkpoints')), 'nothing was trained');
    }
  });
});

describe('skipstudio experiment', () => {
  it('marks a diverging run, keeps its last good checkpoint, and finishes the other runs', () => {
    const out = join(root, 'experiment');
    const run = skipstudio(
      'experiment',
      '--data-dir',
      data,
      '--models',
      'net1',
      '--lrs',
      '1e9,0.05',
      '--schedule',
      'constant',
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--threads',
      '1',
      '--out',
      out,
    );
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs as S.RunSummary[];
    assert.deepEqual(
      results.map((r) => [r.name, r.status]),
      [
        ['net1-lr1000000000-s0', 'diverged'],
        ['net1-lr0.05-s0', 'finished'],
      ],
    );
    assert.ok(results[0]!.divergedAt!.step >= 1);
    const status = JSON.parse(readFileSync(join(out, 'net1-lr1000000000-s0/status.json'), 'utf8'));
    assert.equal(status.status, 'diverged');
    assert.match(run.stdout, /net1\s+1000000000\s+1\s+8\s.*1 diverged \(step \d+\)/);
    assert.match(run.stdout, /net1\s+0\.05\s+1\s+8\s.*\s+no$/m);
    // Running it again keeps the finished and diverged runs.
    const again = skipstudio(
      'experiment',
      '--data-dir',
      data,
      '--models',
      'net1',
      '--lrs',
      '1e9,0.05',
      '--schedule',
      'constant',
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--threads',
      '1',
      '--out',
      out,
    );
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already diverged; kept/);
  });
});

describe('skipstudio eval', () => {
  it('prints and saves accuracy, per-class accuracy and the confusion matrix', () => {
    const out = join(root, 'complete');
    const run = skipstudio('eval', '--run', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /test accuracy \d+\.\d+% on 64 images/);
    assert.match(run.stdout, /confusion matrix \(rows: true class, columns: predicted\)/);
    assert.match(run.stdout, /Ankle boot/);
  });
});

describe('a relative --data-dir', () => {
  it('is saved absolute, so eval from another folder finds the data the run trained on (issue 42, defect 19)', () => {
    const trained = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--data-dir',
        'data',
        '--model',
        'net1',
        '--lr',
        '0.01',
        '--epochs',
        '1',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--out',
        'relative-run',
      ],
      { encoding: 'utf8', cwd: root },
    );
    assert.equal(trained.status, 0, trained.stderr);
    const config = JSON.parse(readFileSync(join(root, 'relative-run/config.json'), 'utf8')) as S.TrainConfig;
    assert.equal(config.dataDir, data);
    const evaluated = spawnSync(process.execPath, [main, 'eval', '--run', join(root, 'relative-run')], { encoding: 'utf8', cwd: tmpdir() });
    assert.equal(evaluated.status, 0, evaluated.stderr);
  });
});
