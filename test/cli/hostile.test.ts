/**
 * Hostile inputs and faults (issue 25): each defect a probe found, reproduced
 * here and held fixed. Outputs that would write over a run's own files,
 * numbers past any sane range, duplicate runs and COCO ids, corrupted and
 * non-finite checkpoints, a run folder missing model.json, links out of the
 * image folder, contradicting flags, unwritable outputs, and the processes
 * that must not outlive their parent. Real processes where the fault is one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-hostile-'));
const data = writeTinyFashionMnist(join(root, 'data'), 128, 32);
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });
const TRAIN = ['--model', 'net1', '--lr', '0.01', '--epochs', '1', '--batch-size', '16', '--threads', '1', '--data-dir', data];

/** A trained tiny run, made once. */
const run = join(root, 'run');
const trained = cli('train', ...TRAIN, '--out', run);
const checkpoint = join(run, 'checkpoints/last.safetensors');

function refused(result: ReturnType<typeof cli>, message: RegExp): void {
  assert.notEqual(result.status, 0, `refused: ${result.stdout}`);
  assert.match(result.stderr, message);
}

describe("no command writes over a run's own files", () => {
  it("export refuses the run's checkpoint and config as --out, and an existing file without --force", () => {
    assert.equal(trained.status, 0, trained.stderr);
    const before = readFileSync(checkpoint);
    refused(
      cli('export', '--run', run, '--out', checkpoint),
      /--out .*last\.safetensors is one of the files of the run in .*run: write to another path/,
    );
    refused(cli('export', '--run', run, '--out', join(run, 'config.json')), /config\.json is one of the files of the run/);
    assert.ok(readFileSync(checkpoint).equals(before), 'the checkpoint is untouched');
    const onnx = join(root, 'model.onnx');
    assert.equal(cli('export', '--run', run, '--out', onnx).status, 0);
    refused(cli('export', '--run', run, '--out', onnx), /model\.onnx exists: give --force to replace it, or another --out/);
    assert.equal(cli('export', '--run', run, '--out', onnx, '--force').status, 0);
  });

  it("report refuses to write into a run's checkpoints folder; eval --run writes only its evaluation", () => {
    refused(cli('report', run, '--out', join(run, 'checkpoints')), /report\.html is one of the files of the run/);
    const config = readFileSync(join(run, 'config.json'));
    const weights = readFileSync(checkpoint);
    assert.equal(cli('eval', '--run', run).status, 0);
    assert.ok(readFileSync(join(run, 'config.json')).equals(config) && readFileSync(checkpoint).equals(weights));
  });
});

describe('a full disk during the report', () => {
  const disk = join(root, 'small-disk');
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', disk], { encoding: 'utf8' });
  const skip =
    mounted.status === 0 ? false : `no small tmpfs can be mounted here (${(mounted.stderr || mounted.error?.message || '').trim()})`;

  it('names the file it could not write and leaves no torn or empty file', { skip }, () => {
    try {
      const result = cli('report', run, '--out', disk);
      refused(result, /cannot write .*small-disk\/\S+: the disk is full \(ENOSPC\)/);
      const files = spawnSync('find', [disk, '-type', 'f'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      assert.deepEqual(
        files.filter((f) => f.endsWith('.tmp')),
        [],
        'no temporary file left behind',
      );
      for (const file of files) assert.ok(readFileSync(file).length > 0, `${file} is not empty`);
      if (existsSync(join(disk, 'report.html'))) assert.match(readFileSync(join(disk, 'report.html'), 'utf8'), /<\/html>\s*$/);
    } finally {
      spawnSync('umount', [disk]);
    }
  });
});

describe('numbers out of range are refused at the flag, before anything starts', () => {
  const numeric = S.SETTING_NAMES.filter((name) => (S.TRAIN_SETTINGS[name] as S.Setting<unknown>).range !== undefined);

  it('every numeric setting declares its range', () => {
    const numbers = S.SETTING_NAMES.filter((name) => typeof S.DEFAULT_TRAIN_CONFIG[name] === 'number');
    assert.deepEqual(numeric, numbers);
  });

  it('NaN, -1, 0, 1e308 and a fraction where an integer is due: each refused naming the flag, before the command starts', async () => {
    const cases: [string, string][] = [];
    for (const name of numeric) {
      const setting = S.TRAIN_SETTINGS[name] as S.Setting<number>;
      const integer = setting.check(0.5) !== undefined && setting.check(1) === undefined;
      for (const value of ['NaN', '-1', '0', '1e308', ...(integer ? ['2.5'] : [])]) {
        if (setting.check(Number(value)) === undefined) continue; // a value the setting allows (0 images of subset: all)
        cases.push([name, value]);
      }
    }
    assert.ok(cases.length >= 50, `${cases.length} cases`);
    // The program itself, in this process: a flag it accepts reaches the action, which throws instead of training.
    const { program } = await import('../../src/cli/program.js');
    let stderr = '';
    for (const command of [program, ...program.commands]) command.exitOverride().configureOutput({ writeErr: (text) => (stderr += text) });
    program.hook('preAction', () => {
      throw new Error('accepted: the command would start');
    });
    for (const [name, value] of cases) {
      const flag = S.flagName(name);
      stderr = '';
      const out = join(root, `range-${name}-${value}`);
      const args = ['train', ...TRAIN.filter((_, i, a) => a[i] !== flag && a[i - 1] !== flag), flag, value, '--out', out];
      await assert.rejects(
        program.parseAsync(args, { from: 'user' }),
        (e: Error) => e.name === 'CommanderError',
        `${name} ${value} accepted`,
      );
      assert.ok(stderr.includes(flag), `${name} ${value}: the message names the flag: ${stderr}`);
      assert.equal(existsSync(out), false, `${name} ${value}: no run folder`);
    }
  });

  it("from the command line, each kind of bad number exits with the flag's error and makes no run folder", async () => {
    const cases = [
      ['epochs', 'NaN'],
      ['batchSize', '-1'],
      ['lr', '0'],
      ['threads', '1e308'],
      ['epochs', '2.5'],
    ] as const;
    const outcomes = await inBatches(
      cases.map(([name, value]) => async () => {
        const out = join(root, `range-cli-${name}-${value}`);
        const flag = S.flagName(name);
        const result = await runCli(['train', ...TRAIN.filter((_, i, a) => a[i] !== flag && a[i - 1] !== flag), flag, value, '--out', out]);
        return { name, value, ...result, made: existsSync(out) };
      }),
      4,
    );
    for (const o of outcomes) {
      assert.equal(o.code, 1, `${o.name} ${o.value} accepted`);
      assert.ok(o.stderr.includes(S.flagName(o.name)), `${o.name} ${o.value}: the message names the flag: ${o.stderr}`);
      assert.equal(o.made, false, `${o.name} ${o.value}: no run folder`);
    }
  });

  it('process counts and seeds: 1e308 workers or seeds are refused at once, with the bound and why', () => {
    const started = Date.now();
    refused(
      cli('train', ...TRAIN, '--nproc-per-node', '1e308', '--out', join(root, 'nproc')),
      /--nproc-per-node.*must be an integer from 1 to \d+ \(each worker needs one of this machine's \d+ cores\), got 1e308/,
    );
    refused(
      cli('experiment', '--models', 'net1', '--seeds', '1e308', '--data-dir', data, '--out', join(root, 'seeds')),
      /--seeds.*must be an integer from 1 to 1,000, got 1e308/,
    );
    refused(
      cli('train', ...TRAIN, '--dist-timeout', '1e308', '--out', join(root, 'timeout')),
      /--dist-timeout.*must be an integer from 1 to 86,400/,
    );
    assert.ok(Date.now() - started < 60_000, 'no hang');
    assert.equal(existsSync(join(root, 'nproc')), false);
    assert.throws(
      () => S.resolveTrainConfig({ model: 'hw5net', modelOptions: { width: 1e308 } }),
      /modelOptions must be an object of integers from 0 to 4096/,
    );
  });
});

describe('an experiment that names a run twice is refused', () => {
  it('duplicate models, learning rates or recipe learning rates', () => {
    const plan = (o: Partial<S.ExperimentConfig>) => S.planExperiment(S.experimentFromPreset('hw5', '/tmp/x', o));
    assert.throws(
      () => plan({ models: ['net1', 'net1'], lrs: [0.01, 0.01] }),
      /models lists net1 twice: each run would be trained again under the same name.*lrs lists 0\.01 twice/s,
    );
    assert.throws(
      () => plan({ models: ['net3'], recipes: { net3: { lrs: [0.001, 0.001] } } }),
      /net3's recipe lists learning rate 0\.001 twice/,
    );
  });
});

describe('checkpoint integrity', () => {
  it('a flipped byte in the weights is found on load, and --resume refuses the run', () => {
    const copy = join(root, 'flipped');
    assert.equal(cli('train', ...TRAIN, '--epochs', '2', '--out', copy).status, 0);
    const file = join(copy, 'checkpoints/last.safetensors');
    const bytes = readFileSync(file);
    bytes[bytes.length - 100]! ^= 0x10;
    writeFileSync(file, bytes);
    assert.throws(() => S.loadCheckpoint(file), /data does not match the SHA-256 checksum in its header: the file is corrupt/);
    const status = JSON.parse(readFileSync(join(copy, 'status.json'), 'utf8')) as S.StatusFile;
    writeFileSync(join(copy, 'status.json'), JSON.stringify({ ...status, status: 'stopped' }));
    refused(cli('train', '--resume', copy), /checksum/);
  });

  it('non-finite weights: eval and export refuse them, naming the tensor', () => {
    const nan = join(root, 'nan');
    assert.equal(cli('train', ...TRAIN, '--out', nan).status, 0);
    const file = join(nan, 'checkpoints/last.safetensors');
    const ckpt = S.loadCheckpoint(file);
    const model = S.buildModel('net1', { channels: 1, height: 28, width: 28 }, 10);
    model.loadStateDict(ckpt.modelState);
    ckpt.dispose();
    S.noGrad(() => model.parameters()[0]!.fill_(Number.NaN));
    S.saveCheckpoint(file, { model, epoch: 1, step: 8, config: JSON.parse(readFileSync(join(nan, 'config.json'), 'utf8')) });
    refused(cli('eval', '--run', nan), /holds non-finite weights \(NaN or infinity\) in conv1\.weight/);
    refused(cli('export', '--run', nan, '--out', join(root, 'nan.onnx')), /holds non-finite weights/);
  });

  it("a checkpoint header far larger than any model's is refused before it is parsed", () => {
    const file = join(root, 'huge.safetensors');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(S.CHECKPOINT_MAX_HEADER_BYTES + 8));
    writeFileSync(file, Buffer.concat([length, Buffer.alloc(S.CHECKPOINT_MAX_HEADER_BYTES + 8, 0x20)]));
    assert.throws(() => S.loadCheckpoint(file), /the header claims 16777224 bytes, more than the 16777216-byte limit/);
  });

  it('export of a diverged run needs --allow-diverged, and says where it diverged', () => {
    const diverged = join(root, 'diverged');
    const result = cli('train', ...TRAIN.map((v) => (v === '0.01' ? '1e9' : v)), '--schedule', 'constant', '--out', diverged);
    assert.equal(result.status, 2, result.stderr);
    refused(
      cli('export', '--run', diverged, '--out', join(root, 'd.onnx')),
      /diverged at step \d+ \(loss [^)]+\): .*give --allow-diverged to export it anyway/,
    );
  });
});

describe('run folders that lack a file, and contradicting flags', () => {
  it('--resume of a run without model.json remakes it and finishes', () => {
    const partial = join(root, 'no-model-json');
    assert.equal(cli('train', ...TRAIN, '--epochs', '2', '--checkpoint-every', '2', '--out', partial).status, 0);
    rmSync(join(partial, 'model.json'));
    const status = JSON.parse(readFileSync(join(partial, 'status.json'), 'utf8')) as S.StatusFile;
    writeFileSync(join(partial, 'status.json'), JSON.stringify({ ...status, status: 'stopped' }));
    const resumed = cli('train', '--resume', partial);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(existsSync(join(partial, 'model.json')));
    assert.equal((JSON.parse(readFileSync(join(partial, 'status.json'), 'utf8')) as S.StatusFile).status, 'finished');
  });

  it('a run that an error ends says failed, with the error, instead of running', async () => {
    const out = join(root, 'fails');
    const quiet = () => undefined;
    const reporter: S.TrainingReporter = {
      runStarted: quiet,
      step: quiet,
      logged: quiet,
      runEnded: quiet,
      message: quiet,
      close: quiet,
      epochEnded: () => {
        throw new Error('the reporter broke');
      },
    };
    await assert.rejects(
      S.train({ model: 'net1', dataDir: data, epochs: 2, batchSize: 16, threads: 1, out }, { reporter }),
      /the reporter broke/,
    );
    const status = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as S.StatusFile;
    assert.equal(status.status, 'failed');
    assert.match(status.message ?? '', /^the reporter broke; fix the cause and continue with --resume$/);
    assert.equal(status.pid, undefined, 'no writer is claimed');
  });

  it("eval --run refuses --dataset, --model and --data-dir instead of evaluating the run's own data silently", () => {
    refused(
      cli('eval', '--run', run, '--dataset', 'cifar10'),
      /eval --run evaluates the run's model on the dataset it trained on \(its config\.json\); leave out --dataset, or give those with --checkpoint .*last\.safetensors instead of --run/,
    );
  });

  it('commands the CLI suggests quote paths with spaces and other letters, so they paste', () => {
    const odd = join(root, 'ünï cødé run');
    const result = cli('train', ...TRAIN, '--out', odd);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.includes(`Dashboard: skipstudio serve '${odd}'`), result.stdout);
    assert.equal(S.shellCommand(['skipstudio', 'serve', 'runs/plain']), 'skipstudio serve runs/plain');
  });
});

describe('COCO inputs that would give wrong labels or read outside the folder', () => {
  const tiny = join(here, '../../../test/fixtures/coco-tiny');
  const annotations = join(tiny, 'annotations/instances_tiny2017.json');
  const images = join(tiny, 'tiny2017');

  it('two images with one id are an error naming both files', async () => {
    const file = join(root, 'duplicate-ids.json');
    writeFileSync(
      file,
      JSON.stringify({
        images: [
          { id: 7, file_name: 'a.jpg' },
          { id: 7, file_name: 'b.jpg' },
        ],
        annotations: [{ id: 1, image_id: 7, category_id: 1, area: 10 }],
        categories: [{ id: 1, name: 'dog' }],
      }),
    );
    await assert.rejects(
      S.readCocoAnnotations(file),
      /image id 7 is given twice, to "a\.jpg" and to "b\.jpg".*each image needs its own id/,
    );
  });

  it('an image that is a link out of --images is refused, unless --follow-symlinks', async () => {
    const folder = join(root, 'linked-images');
    mkdirSync(folder);
    const outside = join(root, 'outside-images');
    mkdirSync(outside);
    for (const name of spawnSync('ls', [images], { encoding: 'utf8' }).stdout.trim().split('\n')) {
      writeFileSync(join(outside, name), readFileSync(join(images, name)));
      symlinkSync(join(outside, name), join(folder, name));
    }
    const options = { annotations, images: folder, classes: ['person'], trainPerClass: 1, valPerClass: 1, size: 16, seed: 0 };
    await assert.rejects(
      S.buildCocoSubset({ ...options, out: join(root, 'linked-out') }),
      /is a link to .*outside-images.*outside --images .*pass --follow-symlinks/,
    );
    const manifest = await S.buildCocoSubset({ ...options, out: join(root, 'linked-allowed'), followSymlinks: true });
    assert.equal(manifest.splits.train.count, 1);
  });

  it('an output that cannot be written is refused before any image is decoded', async () => {
    const started = Date.now();
    await assert.rejects(
      S.buildCocoSubset({
        annotations,
        images,
        classes: ['person'],
        trainPerClass: 1,
        valPerClass: 1,
        size: 16,
        seed: 0,
        out: '/proc/skipstudio-subset',
      }),
      /--out \/proc\/skipstudio-subset: cannot write in \/proc/,
    );
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('processes that must not outlive their parent', () => {
  it('the workers of a launch exit when the launcher is SIGKILLed', async () => {
    const child = spawn(
      process.execPath,
      [main, 'train', ...TRAIN, '--epochs', '200', '--nproc-per-node', '2', '--master-port', '29731', '--out', join(root, 'orphans')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pids = await workerPids(child);
    child.kill('SIGKILL');
    await eventually(() => pids.every((pid) => !alive(pid)), 15_000);
    assert.deepEqual(pids.filter(alive), [], 'no worker alive after its launcher died');
  });

  it('parallel-run workers whose experiment is SIGKILLed stop with a checkpoint, quietly', async () => {
    const out = join(root, 'parallel-killed');
    const child = spawn(
      process.execPath,
      [
        main,
        'experiment',
        '--models',
        'net1,net2',
        '--lrs',
        '0.01',
        '--epochs',
        '200',
        '--batch-size',
        '16',
        '--parallel-runs',
        '2',
        '--data-dir',
        data,
        '--json',
        '--out',
        out,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const closed = new Promise<void>((resolve) => child.stderr.on('close', () => resolve()));
    await eventually(() => ['net1', 'net2'].every((m) => stdout.includes(`"run":"${m}-lr0.01-s0"`)), 60_000);
    child.kill('SIGKILL');
    // stderr closes when every process that holds it is gone: the workers too.
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('workers still alive after 30 s')), 30_000))]);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event/);
    for (const name of ['net1-lr0.01-s0', 'net2-lr0.01-s0']) {
      const status = JSON.parse(readFileSync(join(out, name, 'status.json'), 'utf8')) as S.StatusFile;
      assert.equal(status.status, 'stopped', name);
      assert.ok(existsSync(join(out, name, 'checkpoints/last.safetensors')), `${name} saved a checkpoint`);
    }
  });
});

describe('the measured choice of parallel runs', () => {
  it('discards a prediction that more runs at once than there are could not give', () => {
    const kinds = [
      {
        label: 'net1',
        images: 1000,
        rates: new Map([
          [2, 10],
          [1, 400],
        ]),
      },
    ];
    const choice = S.chooseParallelRuns(kinds, 2, 4);
    assert.equal(choice.runs, 1);
    assert.match(choice.reason, /^1 at once: the measurement predicted 80\.00x for 2 at once, more than 2 runs sharing the cores can give/);
  });
});

/** Runs the CLI without blocking the event loop. */
function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function inBatches<T>(jobs: (() => Promise<T>)[], size: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < jobs.length; i += size) results.push(...(await Promise.all(jobs.slice(i, i + size).map((job) => job()))));
  return results;
}

/** Whether a process of this machine still runs (the run lock's test). */
const alive = (pid: number) => S.processAlive(pid, hostname());

async function eventually(ok: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The launcher's workers' pids, from its "[launch] rank r of n: pid p" lines, once both train. */
async function workerPids(child: ChildProcess): Promise<number[]> {
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  await eventually(() => (text.match(/\[launch\] rank \d+ of 2: pid \d+/g) ?? []).length === 2 && /epoch \d+ done/.test(text), 90_000);
  return [...text.matchAll(/\[launch\] rank \d+ of 2: pid (\d+)/g)].map((m) => Number(m[1]));
}
