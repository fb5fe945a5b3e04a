/**
 * An experiment folder with stray entries beside its runs (issue 42, defect
 * 14): a dangling link and a loop of links are no runs, and neither stops the
 * report.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';
import { writeTinyFashionMnist, trainTinyRun } from '../helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-stray-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('an experiment folder with stray links', () => {
  it('loads its runs and writes its report past a dangling link and a loop', () => {
    const data = writeTinyFashionMnist(join(root, 'data'), 64, 16);
    const experiment = join(root, 'experiment');
    const trained = trainTinyRun(data, join(experiment, 'net1-run'));
    assert.equal(trained.status, 0, trained.stderr);
    symlinkSync(join(root, 'gone'), join(experiment, 'dangling'));
    symlinkSync(join(experiment, 'loop-b'), join(experiment, 'loop-a'));
    symlinkSync(join(experiment, 'loop-a'), join(experiment, 'loop-b'));
    assert.deepEqual(
      S.loadExperiment(experiment).runs.map((r) => r.name),
      ['net1-run'],
    );
    const report = spawnSync(process.execPath, [main, 'report', experiment], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
  });
});
