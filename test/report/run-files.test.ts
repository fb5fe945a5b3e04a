/**
 * The report reads every file of a run checked (issue 42, defect 18): an
 * edited or damaged file is an error naming the run's file and the field,
 * never an internal error from deep in a computation, and never replaced by
 * defaults in silence.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist, trainTinyRun } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-run-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('a run whose files were edited', () => {
  const data = writeTinyFashionMnist(join(root, 'data'), 64, 16);
  const original = join(root, 'original');
  const trained = trainTinyRun(data, original, '--log-every', '1', '--grad-every', '1');

  /** A copy of the trained run with one file changed, and what the report says of it. */
  function reportOfEdited(name: string, file: string, edit: (text: string) => string): string {
    assert.equal(trained.status, 0, trained.stderr);
    const run = join(root, name);
    cpSync(original, run, { recursive: true });
    writeFileSync(join(run, file), edit(readFileSync(join(run, file), 'utf8')));
    assert.throws(
      () => S.loadExperiment(run),
      (error: Error) => {
        assert.ok(error.message.startsWith(join(run, file)), `names the file: ${error.message}`);
        return true;
      },
    );
    const report = spawnSync(process.execPath, [main, 'report', run], { encoding: 'utf8' });
    assert.equal(report.status, 1);
    return report.stderr;
  }
  const json = (change: (value: Record<string, unknown>) => unknown) => (text: string) =>
    JSON.stringify(change(JSON.parse(text) as Record<string, unknown>));

  it('is reported as it is when nothing was changed', () => {
    assert.equal(trained.status, 0, trained.stderr);
    assert.equal(S.loadExperiment(original).runs.length, 1);
  });

  it('config.json of [] is refused, not replaced by the defaults', () => {
    assert.match(
      reportOfEdited('config-list', 'config.json', () => '[]'),
      /config-list\/config\.json must hold a JSON object of settings, not \[\]/,
    );
  });

  it('a setting out of its range names the setting', () => {
    assert.match(
      reportOfEdited(
        'config-lr',
        'config.json',
        json((c) => ({ ...c, lr: 'fast' })),
      ),
      /config-lr\/config\.json: lr must be a number in \(0, 1e9\], got 'fast'/,
    );
  });

  it('an accuracy written as text names eval.json and the field', () => {
    assert.match(
      reportOfEdited(
        'eval-text',
        'eval.json',
        json((e) => ({ ...e, accuracy: '0.5' })),
      ),
      /eval-text\/eval\.json: accuracy: Invalid input: expected number, received string/,
    );
  });

  it('a model.json without its classes names the field', () => {
    assert.match(
      reportOfEdited(
        'model-classes',
        'model.json',
        json(({ classes: _classes, ...m }) => m),
      ),
      /model-classes\/model\.json: classes: Invalid input: expected array/,
    );
  });

  it('predictions of another length than the labels name predictions.json', () => {
    assert.match(
      reportOfEdited(
        'predictions-short',
        'predictions.json',
        json((p) => ({ ...p, predicted: (p.predicted as number[]).slice(1) })),
      ),
      /predictions-short\/predictions\.json: predicted: labels and predicted must be as long as each other/,
    );
  });

  it('a metrics record with a wrong field names the file, its line and the field', () => {
    assert.match(
      reportOfEdited('metrics-epoch', 'metrics.jsonl', (text) => `${text}{"type":"epoch","epoch":1,"step":8,"testAccuracy":"high"}\n`),
      /metrics-epoch\/metrics\.jsonl:\d+: trainLoss: Invalid input: expected number, received undefined; .*testAccuracy: Invalid input: expected number, received string/,
    );
  });

  it('a status.json with an unknown state names it', () => {
    assert.match(
      reportOfEdited(
        'status-state',
        'status.json',
        json((s) => ({ ...s, status: 'done' })),
      ),
      /status-state\/status\.json: status: Invalid option: expected one of "running"\|"finished"/,
    );
  });

  it('a landscape whose slice and axis differ in length names landscape.json', () => {
    const landscape = spawnSync(
      process.execPath,
      [main, 'landscape', '--run', original, '--points', '3', '--grid', '0', '--sample', '16'],
      { encoding: 'utf8' },
    );
    assert.equal(landscape.status, 0, landscape.stderr);
    assert.match(
      reportOfEdited(
        'landscape-line',
        'landscape.json',
        json((l) => ({ ...l, line: [1] })),
      ),
      /landscape-line\/landscape\.json: line: alphas and line must be as long as each other/,
    );
  });
});
