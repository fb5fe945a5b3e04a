/**
 * The experiment's plan: each model's designed recipe, the settings shared
 * by all runs, recipes from a file or the command line, the older one-grid
 * form, and seeds; then a tiny 2-seed experiment whose intervals are checked
 * against values computed here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-experiment-'));

function plan(overrides: Partial<S.ExperimentConfig> = {}) {
  return S.planExperiment(S.experimentFromPreset('default', '/tmp/x', overrides));
}

/** A plan at one depth per model, each at its designed learning rates (the hw5 preset's grid, which sweeps no depth). */
function planOneDepth(overrides: Partial<S.ExperimentConfig> = {}) {
  return S.planExperiment(S.experimentFromPreset('hw5', '/tmp/x', overrides));
}

const describePlan = (plans: S.TrainConfig[]) =>
  plans.map((p) => `${basename(p.out)} ${p.optimizer} ${p.schedule} wd=${p.weightDecay} betas=${p.betas.join('/')}`);

describe('planning an experiment', () => {
  it("trains each model of the default preset by its designed recipe, over depths, one learning rate per recipe and HW5Net's second at its deepest", () => {
    assert.deepEqual(describePlan(plan()), [
      ...[1, 2, 4, 6].map((d) => `hw5net-d${d}-lr0.1-s0 sgd onecycle wd=0.0005 betas=0.9/0.999`),
      'hw5net-d6-lr0.02-s0 sgd onecycle wd=0.0005 betas=0.9/0.999',
      ...[1, 2, 4, 6].map((d) => `hw5net-plain-d${d}-lr0.1-s0 sgd onecycle wd=0.0005 betas=0.9/0.999`),
      ...[0, 5, 10, 20].map((d) => `net3-d${d}-lr0.001-s0 adam constant wd=0 betas=0.9/0.99`),
    ]);
    assert.ok(plan().every((p) => p.epochs === 1 && p.dataset === 'fashion-mnist'));
  });

  it("sets each run's depth option, which builds networks of the depths, learnable layers and weight layers counted here", () => {
    const shape = { channels: 1, height: 28, width: 28 };
    const rows = plan().map((p) => {
      const model = S.buildModel(p.model, shape, 10, p.modelOptions);
      const row = [basename(p.out), JSON.stringify(p.modelOptions), model.parameters().length, S.weightLayers(model)];
      S.dispose(model.parameters());
      return row.join(' ');
    });
    // HW5Net with d blocks a stage: stem conv and batch norm (3), 3d blocks of 10 tensors, two downsampling blocks of 14, fc (2): 33 + 30d;
    // on its main path the stem, two convolutions a block, downsampler2 in each downsampling block and fc: 8 + 6d. Net3 with c extra
    // convolutions: 8 + 2c learnable layers, 4 + c weight layers.
    assert.deepEqual(rows, [
      ...[1, 2, 4, 6].map((d) => `hw5net-d${d}-lr0.1-s0 {"blocksPerStage":${d}} ${33 + 30 * d} ${8 + 6 * d}`),
      'hw5net-d6-lr0.02-s0 {"blocksPerStage":6} 213 44',
      ...[1, 2, 4, 6].map((d) => `hw5net-plain-d${d}-lr0.1-s0 {"blocksPerStage":${d}} ${33 + 30 * d} ${8 + 6 * d}`),
      ...[0, 5, 10, 20].map((c) => `net3-d${c}-lr0.001-s0 {"chainLength":${c}} ${8 + 2 * c} ${4 + c}`),
    ]);
    const deepest = S.buildModel('hw5net', shape, 10, { blocksPerStage: 6 }) as S.HW5Net;
    assert.ok(deepest.numSkipBlocks >= 20, "the deepest pair has the exercise's 20 SkipBlocks");
    S.dispose(deepest.parameters());
  });

  it('sweeps depths as a full grid when asked, keeps width and other options, and names depth-free runs as before', () => {
    const plans = plan({ models: ['hw5net', 'net1'], depths: { hw5net: [0, 3] }, sweep: 'grid', modelOptions: { hw5net: { width: 4 } } });
    assert.deepEqual(
      plans.map((p) => `${basename(p.out)} ${JSON.stringify(p.modelOptions)}`),
      [
        'hw5net-d0-lr0.1-s0 {"width":4,"blocksPerStage":0}',
        'hw5net-d0-lr0.02-s0 {"width":4,"blocksPerStage":0}',
        'hw5net-d3-lr0.1-s0 {"width":4,"blocksPerStage":3}',
        'hw5net-d3-lr0.02-s0 {"width":4,"blocksPerStage":3}',
        'net1-lr0.001-s0 {}',
        'net1-lr0.0001-s0 {}',
      ],
    );
  });

  it("merges a recipe over the preset's setting by setting, a one-grid lrs replaces its learning rates, and its notes go with any change", () => {
    const momentum = S.experimentFromPreset('default', '/tmp/x', { recipes: { 'hw5net-plain': { momentum: 0.8 } } });
    assert.deepEqual(momentum.recipes['hw5net-plain'], { lrs: [0.1], momentum: 0.8 });
    assert.equal(momentum.notes, undefined, "the notes describe the preset's recipes, not this one");
    const grid = S.experimentFromPreset('default', '/tmp/x', { lrs: [0.05] });
    assert.deepEqual(
      S.planExperiment(grid)
        .filter((p) => p.model === 'net3')
        .map((p) => p.lr),
      [0.05, 0.05, 0.05, 0.05],
    );
    assert.ok(S.experimentFromPreset('default', '/tmp/x', {}).notes?.length, 'the preset as it is keeps its notes');
    assert.equal(S.applyToEveryModel(S.experimentFromPreset('default', '/tmp/x'), {}, [0.05]).notes, undefined);
  });

  it('picks the deepest skip and plain pair for the loss landscape', () => {
    assert.deepEqual(
      S.landscapeRuns(plan()).map((p) => basename(p.out)),
      ['hw5net-d6-lr0.1-s0', 'hw5net-plain-d6-lr0.1-s0'],
    );
    assert.deepEqual(
      S.landscapeRuns(plan({ models: ['hw5net', 'net3'] })).map((p) => basename(p.out)),
      [],
      'no plain twin, no pair',
    );
  });

  it('names the model and what to give for every wrong depth', () => {
    assert.throws(
      () =>
        plan({
          models: ['hw5net', 'net1', 'net3'],
          depths: { hw5net: [2, 2], net1: [1], net3: [-1], bmenet: [1] },
          modelOptions: { hw5net: { blocksPerStage: 3 } },
        }),
      (error: Error) => {
        assert.ok(error instanceof S.ConfigError);
        assert.deepEqual(error.problems, [
          "hw5net's depths list a depth twice: 2, 2",
          'hw5net: blocksPerStage is given both in modelOptions and as depths; give it in depths only',
          'net1 has one depth only: depths can be swept for hw5net (blocksPerStage), hw5net-plain (blocksPerStage), bmenet (depth), bmenet-plain (depth), net3 (chainLength)',
          "net3's depths must be a non-empty list of non-negative integers (values of chainLength), got [-1]",
          'depths for a model the experiment does not train: bmenet',
        ]);
        return true;
      },
    );
    assert.throws(() => plan({ sweep: 'diagonal' as S.Sweep }), /sweep must be one of grid, one-at-a-time, got 'diagonal'/);
    assert.throws(() => plan({ landscape: { grid: 2 } }), /landscape grid must be 0 \(none\) or an odd integer >= 3, got 2/);
    assert.deepEqual(S.parseDepths('net3:0,5,10'), ['net3', [0, 5, 10]]);
    assert.throws(
      () => S.parseDepths('net3:0,x'),
      /depths 'net3:0,x' must look like model:d1,d2,\.\.\. with non-negative integers, e\.g\. hw5net:1,2,4,6/,
    );
  });

  it('plans the full preset: 3 seeds, 20 epochs, HW5Net at width 16, flip test-time augmentation and a 94.5% target for every run', () => {
    const plans = S.planExperiment(S.experimentFromPreset('full', '/tmp/x'));
    assert.equal(plans.length, 18);
    assert.ok(plans.every((p) => p.epochs === 20 && p.augment && p.flipTest && p.targetAccuracy === 0.945));
    assert.deepEqual(
      plans.filter((p) => p.model.startsWith('hw5net')).map((p) => p.modelOptions.width),
      Array(12).fill(16),
    );
  });

  it('repeats every model and learning rate once per seed, from the base seed on', () => {
    const plans = planOneDepth({ models: ['net3'], seeds: 3, base: { seed: 5 } });
    assert.deepEqual(
      plans.map((p) => [basename(p.out), p.seed]),
      [
        ['net3-lr0.001-s5', 5],
        ['net3-lr0.001-s6', 6],
        ['net3-lr0.001-s7', 7],
        ['net3-lr0.0001-s5', 5],
        ['net3-lr0.0001-s6', 6],
        ['net3-lr0.0001-s7', 7],
      ],
    );
  });

  it("lets a file's recipe replace parts of a model's designed recipe, and shared settings apply to all", () => {
    const plans = planOneDepth({ models: ['hw5net', 'net3'], recipes: { net3: { lrs: [0.003], betas: [0.8, 0.9] } }, base: { epochs: 3 } });
    assert.deepEqual(describePlan(plans), [
      'hw5net-lr0.1-s0 sgd onecycle wd=0.0005 betas=0.9/0.999',
      'hw5net-lr0.02-s0 sgd onecycle wd=0.0005 betas=0.9/0.999',
      'net3-lr0.003-s0 adam constant wd=0 betas=0.8/0.9',
    ]);
    assert.ok(plans.every((p) => p.epochs === 3));
  });

  it("drops a preset's data folder when another dataset is given without one (issue 42, defect 20)", () => {
    const hw5 = S.experimentFromPreset('hw5', 'runs/x');
    assert.equal(S.applyToEveryModel(hw5, { dataset: 'fashion-mnist' }).base.dataDir, undefined);
    assert.equal(S.applyToEveryModel(hw5, { dataset: 'cifar10', dataDir: 'cifar' }).base.dataDir, 'cifar');
    assert.equal(S.applyToEveryModel(hw5, { dataset: 'coco' }).base.dataDir, S.HW5_SUBSET_DIR, 'the same dataset keeps its folder');
    assert.equal(
      S.experimentFromPreset('hw5', 'runs/x', { base: { dataset: 'fashion-mnist' } }).base.dataDir,
      undefined,
      "a file's dataset too",
    );
  });

  it('keeps the older form: one grid for every model, from the command line', () => {
    const config = S.applyToEveryModel(
      S.experimentFromPreset('hw5', '/tmp/x', { models: ['hw5net', 'net3'], recipes: { net3: { lrs: [0.5], optimizer: 'adam' } } }),
      { optimizer: 'sgd', schedule: 'constant' },
      [0.05],
    );
    assert.deepEqual(describePlan(S.planExperiment(config)), [
      'hw5net-lr0.05-s0 sgd constant wd=0.0005 betas=0.9/0.999',
      'net3-lr0.05-s0 sgd constant wd=0 betas=0.9/0.99',
    ]);
  });

  it('lists every problem of a plan at once, naming the run or the model', () => {
    assert.throws(
      () =>
        planOneDepth({
          models: ['net3', 'hw5net'],
          recipes: { net3: { lrs: [-1], schedul: 'constant' } as S.Recipe, bmenet: {} },
          seeds: 0,
        }),
      (error: Error) => {
        assert.ok(error instanceof S.ConfigError);
        assert.deepEqual(error.problems, [
          'seeds must be an integer from 1 to 1000, got 0',
          'recipes for models the experiment does not train: bmenet',
          "net3's recipe: unknown setting schedul (a recipe sets lrs, optimizer, momentum, betas, weightDecay, schedule)",
        ]);
        return true;
      },
    );
    assert.throws(
      () => planOneDepth({ models: ['net3'], recipes: { net3: { lrs: [-1], schedul: 'constant' } as S.Recipe } }),
      /net3's recipe: unknown setting schedul/,
    );
    assert.throws(
      () => planOneDepth({ models: ['net3'], recipes: { net3: { lrs: [-1] } } }),
      /net3-lr-1-s0: lr must be a number in \(0, 1e9\], got -1/,
    );
    assert.throws(() => planOneDepth({ models: ['resnet50'] }), /no training recipe for model 'resnet50'/);
  });
});

describe('recipes from the command line and files', () => {
  it('parses a recipe flag', () => {
    assert.deepEqual(S.parseRecipe('net3:optimizer=adam,lrs=0.001/0.0001,betas=0.9/0.99,schedule=constant,weightDecay=0'), [
      'net3',
      { optimizer: 'adam', lrs: [0.001, 0.0001], betas: [0.9, 0.99], schedule: 'constant', weightDecay: 0 },
    ]);
    assert.throws(() => S.parseRecipe('optimizer=adam'), /must look like model:key=value/);
    assert.throws(() => S.parseRecipe('net3:lr=0.1'), /unknown key 'lr'/);
    assert.throws(() => S.parseRecipe('net3:lrs=0.1,,x'), /'x' is not key=value/);
  });

  it('reads an experiment file and names the file and field of every mistake', () => {
    const write = (name: string, text: string) => {
      const path = join(root, name);
      writeFileSync(path, text);
      return path;
    };
    assert.deepEqual(S.readExperimentFile(write('good.json', '{"models":["net3"],"recipes":{"net3":{"lrs":[0.001]}},"seeds":2}')), {
      models: ['net3'],
      recipes: { net3: { lrs: [0.001] } },
      seeds: 2,
    });
    assert.throws(
      () => S.readExperimentFile(write('null.json', 'null')),
      /experiment file .*null\.json must hold a JSON object \(\{ \.\.\. \}\), not null/,
    );
    // Issue 42, defect 21: a byte-order mark is taken; a folder is named, with the reason.
    assert.deepEqual(S.readExperimentFile(write('bom.json', '\uFEFF{"seeds":2}')), { seeds: 2 });
    assert.throws(
      () => S.readExperimentFile(root),
      new RegExp(`^Error: cannot read the experiment file ${root}: it is a folder, not a file \\(EISDIR\\)$`),
    );
    assert.throws(
      () => S.readExperimentFile(write('string.json', '{"models":"net1","seeds":1.5,"colour":1}')),
      (error: Error) => {
        assert.match(error.message, /string\.json: unknown field 'colour'/);
        assert.match(error.message, /string\.json: 'models' must be a list of model names, e.g\. \["hw5net", "net3"\], got "net1"/);
        assert.match(error.message, /string\.json: 'seeds' must be an integer from 1 to 1000, got 1\.5/);
        return true;
      },
    );
    assert.throws(() => S.readExperimentFile(write('broken.json', '{"models":')), /broken\.json is not valid JSON/);
    // A list nested 200,000 deep and a 500 KB note are named in a line, not a stack overflow or a PDF that takes minutes (issue 42, defects 16 and 21).
    const deep = `{"notes":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    assert.throws(
      () => S.readExperimentFile(write('deep.json', deep)),
      /deep\.json: 'notes' must be a list of at most 50 sentences, each at most 2,000 characters .*, got \[\[\[\[\.\.\.\]\]\]\]$/,
    );
    assert.throws(
      () => S.readExperimentFile(write('long.json', JSON.stringify({ notes: ['x'.repeat(500_000)] }))),
      (error: Error) => /long\.json: 'notes' must be a list of at most 50 sentences/.test(error.message) && error.message.length < 400,
    );
    assert.throws(
      () => S.resolveTrainConfig({ lr: JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) }),
      /lr must be a number in \(0, 1e9\], got \[\[\[\[\.\.\.\]\]\]\]/,
    );
  });
});

describe('a 2-seed experiment', () => {
  const data = writeTinyFashionMnist(join(root, 'data'));
  const out = join(root, 'two-seeds');
  /** The 2-seed experiment of net1 into out, at the given epochs and threads, with more flags after. */
  const twoSeeds = (epochs: string, threads: string, ...more: string[]) =>
    spawnSync(
      process.execPath,
      [
        main,
        'experiment',
        '--data-dir',
        data,
        '--models',
        'net1',
        '--seeds',
        '2',
        '--epochs',
        epochs,
        '--batch-size',
        '16',
        '--threads',
        threads,
        ...more,
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
  const run = twoSeeds('1', '1');

  it("trains each learning rate of net1's recipe with two seeds", () => {
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs as S.RunSummary[];
    assert.deepEqual(
      results.map((r) => r.name),
      ['net1-lr0.001-s0', 'net1-lr0.001-s1', 'net1-lr0.0001-s0', 'net1-lr0.0001-s1'],
    );
    const config = JSON.parse(readFileSync(join(out, 'net1-lr0.001-s1/config.json'), 'utf8')) as S.TrainConfig;
    assert.deepEqual([config.optimizer, config.betas, config.schedule, config.seed], ['adam', [0.9, 0.99], 'constant', 1]);
    const auto = S.resolvePrecision('auto');
    assert.deepEqual(
      [config.precision, config.precisionReason],
      [auto.precision, auto.reason],
      'precision auto, resolved for the run with its reason',
    );
    const predictions = JSON.parse(readFileSync(join(out, 'net1-lr0.001-s0/predictions.json'), 'utf8')) as S.Predictions;
    assert.equal(predictions.labels.length, 64);
    assert.equal(predictions.predicted.length, 64);
  });

  it("reports mean ± sample standard deviation and the t-interval, as computed here from each run's eval.json", () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const lr of ['0.001', '0.0001']) {
      const accuracies = [0, 1].map(
        (seed) => JSON.parse(readFileSync(join(out, `net1-lr${lr}-s${seed}/eval.json`), 'utf8')).accuracy as number,
      );
      const mean = (accuracies[0]! + accuracies[1]!) / 2;
      const std = Math.abs(accuracies[0]! - accuracies[1]!) / Math.SQRT2; // sample std of two values
      const half = (12.706204736174698 * std) / Math.SQRT2; // t(0.975, 1 df) * std / sqrt(n)
      // The interval of an accuracy is cut to what an accuracy can be, 0-100%.
      const [lo, hi] = [Math.max(0, mean - half), Math.min(1, mean + half)];
      const cells =
        `<td>net1</td><td>${lr}</td><td>2</td><td>${(100 * mean).toFixed(2)}% ± ${(100 * std).toFixed(2)}</td>` +
        `<td>${(100 * lo).toFixed(2)} to ${(100 * hi).toFixed(2)}%</td>`;
      assert.ok(html.includes(cells), `the results row of lr ${lr}: ${cells}`);
      assert.match(
        run.stdout,
        new RegExp(
          `net1\\s+${lr.replace('.', '\\.')}\\s+2\\s+.*${(100 * mean).toFixed(2)}% ± ${(100 * std).toFixed(2)}\\s+` +
            `${(100 * lo).toFixed(2)}-${(100 * hi).toFixed(2)}%`,
        ),
      );
    }
    assert.match(html, /net1: learning rate \S+ did best \(\d+\.\d\d% ± \d+\.\d\d test accuracy\) .*Welch's t-test over 2 and 2 seeds/);
  });

  it('run again with other settings, is refused, naming each run and setting, and leaves experiment.json as it was (issue 42, defect 8)', () => {
    assert.equal(run.status, 0, run.stderr);
    const recorded = readFileSync(join(out, 'experiment.json'), 'utf8');
    const again = twoSeeds('2', '1');
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /holds runs made with other settings than this command asks for/);
    for (const name of ['net1-lr0.001-s0', 'net1-lr0.001-s1', 'net1-lr0.0001-s0', 'net1-lr0.0001-s1']) {
      assert.match(again.stderr, new RegExp(`${name.replace(/\./g, '\\.')} has epochs 1 \\(this command: 2\\)`));
    }
    assert.match(
      again.stderr,
      /repeat the command that made them \(recorded in .*experiment\.json\); to train with the new settings, give another --out/,
    );
    assert.equal(readFileSync(join(out, 'experiment.json'), 'utf8'), recorded);
    const same = twoSeeds('1', '2', '--no-forecast');
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout + same.stderr, /\[net1-lr0\.001-s0\] already finished; kept/);
  });
});
