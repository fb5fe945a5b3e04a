/**
 * The experiment's forecast: its arithmetic (a run's time from measured
 * speeds, runs packed onto slots, a landscape's images), the lines it prints
 * and, on a small experiment, a forecast within a stated factor of the time
 * the experiment took, with the actual times written beside it and shown in
 * the report's table.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { DocumentBuilder } from '../../src/report/document.js';
import { writeTinyFashionMnist } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'skipstudio-forecast-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** How far a forecast may be from the actual time on a small experiment, either way (measured: 0.7-1.4x on 2 cores). */
const FACTOR = 2.5;

describe("the forecast's arithmetic", () => {
  it("times a run as its set-up plus, each epoch, its training images, the evaluation's warm-up and its test images", () => {
    const speed = { trainImagesPerSecond: 100, evalImagesPerSecond: 400, setUpSeconds: 2, evalWarmUpSeconds: 0.5 };
    assert.equal(S.runSeconds({ epochs: 3, flipTest: false }, { train: 1000, test: 200 }, speed), 2 + 3 * (10 + 0.5 + 0.5));
    assert.equal(
      S.runSeconds({ epochs: 3, flipTest: true }, { train: 1000, test: 200 }, speed),
      2 + 3 * (10 + 0.5 + 1),
      'flip test-time augmentation: each test image twice',
    );
    assert.equal(
      S.runSeconds({ epochs: 3, flipTest: false }, { train: 1000, test: 200 }, speed, 0.25),
      2 + 0.25 * 3 * 11,
      'a resumed run: what is left of it',
    );
  });

  it('counts what is left of a run an earlier invocation stopped', () => {
    const run = join(root, 'stopped');
    mkdirSync(run, { recursive: true });
    assert.equal(S.remainingShare({ out: run }), 1, 'a new run: all of it');
    writeFileSync(
      join(run, 'status.json'),
      JSON.stringify({ status: 'stopped', epochsDone: 0, step: 30, totalSteps: 40, wallSeconds: 9, updatedAt: '' }),
    );
    assert.equal(S.remainingShare({ out: run }), 0.25);
  });

  it('packs runs longest first onto the slots that free first', () => {
    assert.equal(S.packedSeconds([3, 3, 4, 5], 2), 8, '5 | 4, then 3 on the 4 and 3 on the 5');
    assert.equal(S.packedSeconds([1, 1, 1, 1], 1), 4);
    assert.equal(S.packedSeconds([3], 4), 3);
    assert.equal(S.packedSeconds([6, 5, 4, 3, 2], 3), 7);
  });

  it("counts a landscape's images: its line's points and its grid's, each on the sample", () => {
    assert.equal(S.landscapeImages({ points: 21, grid: 11, sample: 1000 }), 142_000);
  });

  it('prints the total, how the runs share the machine, and each run', () => {
    const lines = S.forecastLines({
      parallelRuns: 2,
      threadsPerRun: 1,
      trainingSeconds: 600,
      landscapeSeconds: 65,
      seconds: 665,
      runs: [
        { name: 'hw5net-lr0.1-s0', epochs: 10, seconds: 590 },
        { name: 'net3-lr0.001-s0', epochs: 10, seconds: 95 },
      ],
    });
    assert.match(
      lines[0]!,
      /^forecast: 2 runs to train, 2 at once, 1 thread each: about 11 min 05 s \(training 10 min 00 s, loss landscapes 1 min 05 s\)/,
    );
    assert.deepEqual(lines.slice(1), ['  hw5net-lr0.1-s0  10 epochs  ~9 min 50 s', '  net3-lr0.001-s0  10 epochs  ~1 min 35 s']);
  });
});

describe('the forecast of a small experiment', () => {
  it(`is printed before training, within ${FACTOR}x of the time taken, and shown against it in the report`, async () => {
    const data = writeTinyFashionMnist(join(root, 'data'), 1920, 500);
    const lines: string[] = [];
    const out = join(root, 'experiment');
    const config = S.experimentFromPreset('default', out, {
      models: ['hw5net'],
      lrs: [0.1, 0.02],
      depths: {},
      landscape: undefined,
      modelOptions: { hw5net: { blocksPerStage: 1, width: 8 } },
      base: { dataDir: data, epochs: 2, threads: 1, logEvery: 10, gradEvery: 10 },
    });
    await S.runExperiment(config, { reporter: new S.PlainReporter((line) => lines.push(line)), forecast: true });
    const forecastAt = lines.findIndex((l) => l.startsWith('forecast: 2 runs to train, one at a time: about '));
    assert.ok(forecastAt >= 0, lines.join('\n'));
    assert.ok(forecastAt < lines.findIndex((l) => l.includes('epoch 1 done')), 'the forecast comes before training');
    const forecast = JSON.parse(readFileSync(join(out, S.FORECAST_FILE), 'utf8')) as S.ExperimentForecast;
    assert.deepEqual(
      forecast.runs.map((r) => r.name),
      ['hw5net-lr0.1-s0', 'hw5net-lr0.02-s0'],
    );
    assert.ok(forecast.actual !== undefined);
    assert.deepEqual(Object.keys(forecast.actual.runs), ['hw5net-lr0.1-s0', 'hw5net-lr0.02-s0']);
    const ratio = forecast.actual.trainingSeconds / forecast.trainingSeconds;
    assert.ok(
      ratio > 1 / FACTOR && ratio < FACTOR,
      `actual ${forecast.actual.trainingSeconds.toFixed(1)} s against a forecast of ${forecast.trainingSeconds.toFixed(1)} s`,
    );

    const builder = new DocumentBuilder().section('Results');
    S.forecastTable(S.loadExperiment(out), builder);
    const table = builder.sections[0]!.blocks.find((b) => b.kind === 'table') as { rows: string[][] } | undefined;
    assert.ok(table !== undefined, 'the report has the time table');
    assert.deepEqual(
      table.rows.map((r) => r[0]),
      ['hw5net-lr0.1-s0', 'hw5net-lr0.02-s0', 'training (one run at a time)', 'in all'],
    );
    assert.equal(table.rows[2]![3], `${ratio.toFixed(2)}x`);
  });
});
