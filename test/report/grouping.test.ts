/**
 * Which runs the report counts as seeds of one setting (issue 42, defect 7):
 * runs that differ in any setting that changes the result are separate
 * groups, a seed trained twice is never two seeds, and runs on different data
 * are never compared in one table.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import type { RunData } from '../../src/report/load.js';
import { accuracyPerEpoch } from '../../src/report/charts.js';
import { groupRuns } from '../../src/report/study.js';
import { writeTinyFashionMnist, trainTinyRun } from '../helpers.js';
import { run } from './synthetic.js';

/** An epoch record at 50% test accuracy. */
function epochRecord(): RunData['epochs'][number] {
  return {
    type: 'epoch',
    epoch: 0,
    step: 10,
    trainLoss: 1,
    trainAccuracy: 0.5,
    testLoss: 1,
    testAccuracy: 0.5,
    lr: 0.1,
    seconds: 1,
    imagesPerSecond: 1,
    dataWaitShare: 0,
  };
}

/** A synthetic run with some settings changed. */
function withConfig(base: RunData, config: Partial<RunData['config']>, name = base.name): RunData {
  return { ...base, name, config: { ...base.config, ...config } };
}

describe('grouping runs into settings and seeds', () => {
  it('puts the seeds of one setting in one group', () => {
    const groups = groupRuns([0, 1, 2].map((seed) => run({ model: 'net1', lr: 0.01, seed, accuracy: 0.8 + seed / 100 })));
    assert.deepEqual(
      groups.map((g) => [g.label, g.accuracy.n]),
      [['net1', 3]],
    );
  });

  it('keeps runs of other epochs apart, and names the setting that differs', () => {
    const one = withConfig(run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.5 }), { epochs: 1 }, 'short');
    const three = withConfig(run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.7 }), { epochs: 3 }, 'long');
    const groups = groupRuns([one, three]);
    assert.deepEqual(
      groups.map((g) => [g.label, g.accuracy.n]),
      [
        ['net1 (epochs 1)', 1],
        ['net1 (epochs 3)', 1],
      ],
    );
  });

  it('keeps runs of another optimizer, batch size or augmentation apart', () => {
    const base = run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.5 });
    const others = [
      { optimizer: 'adam' as const },
      { batchSize: 7 },
      { augment: true },
      { trainSubset: 100 },
      { precision: 'bf16' as const },
    ];
    const groups = groupRuns([base, ...others.map((c, i) => withConfig({ ...base, config: { ...base.config, seed: 1 } }, c, `other${i}`))]);
    assert.equal(groups.length, 1 + others.length);
    assert.ok(groups.every((g) => g.accuracy.n === 1));
  });

  it('counts a seed trained twice once per group: the second run is a group of its own, named by its run', () => {
    const first = run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.5 });
    const again = { ...run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.7 }), name: 'again' };
    const other = run({ model: 'net1', lr: 0.01, seed: 1, accuracy: 0.6 });
    const groups = groupRuns([first, again, other]);
    assert.deepEqual(
      groups.map((g) => [g.label, g.runs.map((r) => r.config.seed)]),
      [
        ['net1, net1-lr0.01-s0', [0, 1]],
        ['net1, again', [0]],
      ],
    );
  });

  it('lets runs differ in what does not change the result: threads, folders, logging', () => {
    const base = run({ model: 'net1', lr: 0.01, seed: 0, accuracy: 0.5 });
    const other = withConfig(run({ model: 'net1', lr: 0.01, seed: 1, accuracy: 0.6 }), {
      threads: 7,
      out: '/elsewhere',
      logEvery: 3,
      gradEvery: 9,
      checkpointEvery: 11,
    });
    assert.deepEqual(
      groupRuns([base, other]).map((g) => [g.label, g.accuracy.n]),
      [['net1', 2]],
    );
  });
});

describe('the order of groups, in tables and figures', () => {
  it("puts each model's depths shallow first, not by name: d5, d10, d20 (issue 42, defect 23)", () => {
    const atDepth = (depth: number) =>
      withConfig(run({ model: 'net3', lr: 0.01, accuracy: 0.5 }), { modelOptions: { chainLength: depth } }, `net3-d${depth}`);
    const groups = groupRuns([atDepth(10), atDepth(20), atDepth(5), run({ model: 'hw5net', lr: 0.1, accuracy: 0.6 })]);
    assert.deepEqual(
      groups.map((g) => g.label),
      ['net3-d5', 'net3-d10', 'net3-d20', 'hw5net'],
    );
    // The figures keep that order for the legend and the colours (vega-lite would sort a nominal field by name).
    const chart = accuracyPerEpoch(groups.map((g) => ({ ...g, runs: g.runs.map((r) => ({ ...r, epochs: [epochRecord()] })) })));
    const spec = chart.spec as unknown as { data: { values: { run: string }[] }; encoding: { color: { sort: unknown } } };
    assert.deepEqual(
      [...new Set(spec.data.values.map((v) => v.run))],
      ['net3-d5 (lr 0.01)', 'net3-d10 (lr 0.01)', 'net3-d20 (lr 0.01)', 'hw5net (lr 0.1)'],
    );
    assert.equal(spec.encoding.color.sort, null);
  });
});

describe('a folder whose runs trained on different data', () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  const root = mkdtempSync(join(tmpdir(), 'skipstudio-grouping-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("is refused by the report, naming each run's data, and reported side by side from folders of their own", () => {
    const data = writeTinyFashionMnist(join(root, 'data'), 64, 16);
    const experiment = join(root, 'mixed');
    const trained = trainTinyRun(data, join(experiment, 'fashion'));
    assert.equal(trained.status, 0, trained.stderr);
    // The same run, recorded as if it had trained on a two-class COCO subset.
    cpSync(join(experiment, 'fashion'), join(experiment, 'coco'), { recursive: true });
    const edit = (file: string, change: (json: Record<string, unknown>) => void) => {
      const json = JSON.parse(readFileSync(join(experiment, 'coco', file), 'utf8'));
      change(json);
      writeFileSync(join(experiment, 'coco', file), JSON.stringify(json));
    };
    edit('config.json', (c) => {
      c.dataset = 'coco';
    });
    edit('model.json', (m) => {
      m.classes = ['cat', 'dog'];
    });
    assert.throws(
      () => S.loadExperiment(experiment),
      (e: Error) =>
        e.message.includes('runs trained on different data') &&
        e.message.includes('coco: coco, 2 classes (cat, dog)') &&
        e.message.includes('fashion: fashion-mnist, 10 classes'),
    );
    const report = spawnSync(process.execPath, [main, 'report', experiment], { encoding: 'utf8' });
    assert.notEqual(report.status, 0);
    assert.match(report.stderr, /different data/);
    const sideBySide = spawnSync(
      process.execPath,
      [main, 'report', join(experiment, 'fashion'), join(experiment, 'coco'), '--out', join(root, 'both')],
      { encoding: 'utf8' },
    );
    assert.equal(sideBySide.status, 0, sideBySide.stderr);
  });
});
