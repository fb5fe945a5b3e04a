/**
 * Time to accuracy: the wall seconds to the end of the first epoch whose test
 * accuracy reaches the run's target, in results.json's summaries, the
 * terminal's table and the report's, and in a real run's records.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { describeTimeToAccuracy, timeToAccuracyHeader } from '../../src/report/study.js';
import { writeTinyFashionMnist } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function epoch(index: number, testAccuracy: number, seconds: number, wallSeconds?: number): S.EpochRecord {
  return {
    type: 'epoch',
    epoch: index,
    step: 10 * (index + 1),
    trainLoss: 1,
    trainAccuracy: 0.5,
    testLoss: 1,
    testAccuracy,
    lr: 0.1,
    seconds,
    wallSeconds,
    imagesPerSecond: 100,
    dataWaitShare: 0,
  };
}

describe('time to accuracy', () => {
  it("is the run's wall time at the end of the first epoch at or above the target", () => {
    const epochs = [epoch(0, 0.9, 100, 110), epoch(1, 0.945, 100, 220), epoch(2, 0.94, 100, 330), epoch(3, 0.95, 100, 440)];
    assert.deepEqual(
      S.timeToAccuracy(epochs, 0.945),
      { target: 0.945, epoch: 2, seconds: 220 },
      'reached exactly at epoch 2; the dip after it does not count',
    );
    assert.deepEqual(S.timeToAccuracy(epochs, 0.9), { target: 0.9, epoch: 1, seconds: 110 });
    assert.deepEqual(S.timeToAccuracy(epochs, 0.96), { target: 0.96, epoch: null, seconds: null });
    const older = [epoch(0, 0.5, 100), epoch(1, 0.7, 120)];
    assert.deepEqual(
      S.timeToAccuracy(older, 0.6),
      { target: 0.6, epoch: 2, seconds: 220 },
      "records without wallSeconds: the epochs' times added up",
    );
  });

  it('is described over a group of seeds: the mean over those that reached it, and how many did', () => {
    const t = (epoch: number | null, seconds: number | null): S.TimeToAccuracy => ({ target: 0.945, epoch, seconds });
    assert.equal(timeToAccuracyHeader([undefined, t(null, null)]), 'time to 94.50%');
    assert.equal(timeToAccuracyHeader([undefined, undefined]), undefined, 'no target, no column');
    assert.equal(describeTimeToAccuracy([t(7, 1200), t(8, 1301)]), '1,251 s (epoch 7.5)');
    assert.equal(describeTimeToAccuracy([t(7, 1200), t(null, null), t(9, 1400)]), '2 of 3: 1,300 s (epoch 8)');
    assert.equal(describeTimeToAccuracy([t(null, null)]), 'not reached');
  });

  it('is recorded for a real run with a target, in its summary and the tables', () => {
    const root = mkdtempSync(join(tmpdir(), 'skipstudio-tta-'));
    const data = writeTinyFashionMnist(join(root, 'data'));
    const out = join(root, 'exp');
    const run = spawnSync(
      process.execPath,
      [
        main,
        'experiment',
        '--data-dir',
        data,
        '--models',
        'net1',
        '--lrs',
        '0.002',
        '--epochs',
        '3',
        '--batch-size',
        '16',
        '--precision',
        'fp32',
        '--threads',
        '1',
        '--target-accuracy',
        '0.2',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const [summary] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs as S.RunSummary[];
    const epochs = new S.RunDirectory(join(out, 'net1-lr0.002-s0')).records().filter((r): r is S.EpochRecord => r.type === 'epoch');
    const first = epochs.find((e) => e.testAccuracy >= 0.2)!;
    assert.ok(first !== undefined, 'the tiny dataset is learnable past 20%');
    assert.ok(
      epochs.every((e, i) => e.wallSeconds! > e.seconds && (i === 0 || e.wallSeconds! > epochs[i - 1]!.wallSeconds!)),
      'wall time grows, evaluation included',
    );
    assert.deepEqual(summary!.timeToAccuracy, { target: 0.2, epoch: first.epoch + 1, seconds: first.wallSeconds });
    const cell = `${Math.round(first.wallSeconds!).toLocaleString('en-US')} s (epoch ${first.epoch + 1})`;
    assert.match(run.stdout, /time to 20\.00%/);
    assert.ok(run.stdout.includes(cell), `the terminal's table shows ${cell}`);
    assert.ok(readFileSync(join(out, 'report.html'), 'utf8').includes(`<td>${cell}</td>`), "the report's table too");
  });
});
