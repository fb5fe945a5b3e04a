/**
 * `--preset hw5`, the assignment itself: a COCO subset of its five classes
 * built from the project's real COCO fixture (scaled down: 2 training and 1
 * test image per class), then the preset's grid (HW5Net at two learning
 * rates by SGD, Net3 at HW4's Adam recipe) for a few steps, and a report
 * whose confusion matrices name the COCO classes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type * as S from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../../src/cli/main.js');
const fixture = join(here, '../../../test/fixtures/coco-tiny');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-hw5-'));
const CLASSES = ['boat', 'cake', 'couch', 'dog', 'motorcycle'];

function skipstudio(...args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', cwd: root });
}

describe('--preset hw5 on a COCO subset', () => {
  it('refuses to start without a built subset and prints the command that builds one', () => {
    const run = skipstudio('experiment', '--preset', 'hw5', '--threads', '1');
    assert.notEqual(run.status, 0);
    assert.ok(
      run.stderr.includes(`no COCO subset in ${join(root, 'data/coco-hw5')}: build the assignment's subset first`),
      'it says where it looked',
    );
    assert.match(
      run.stderr,
      /skipstudio data coco --annotations COCO\/annotations\/instances_train2017\.json --images COCO\/train2017 --classes boat,cake,couch,dog,motorcycle --train-per-class 1600 --val-per-class 400 --size 64 --out \S*data\/coco-hw5/,
    );
    assert.ok(!existsSync(join(root, 'runs/coco-hw5')), 'nothing trained');
  });

  it("builds the subset, trains the preset's grid and reports it with the COCO classes", () => {
    const subset = join(root, 'data/coco-hw5');
    const build = skipstudio(
      'data',
      'coco',
      '--annotations',
      join(fixture, 'annotations/instances_tiny2017.json'),
      '--images',
      join(fixture, 'tiny2017'),
      '--train-per-class',
      '2',
      '--val-per-class',
      '1',
      '--out',
      subset,
    );
    assert.equal(build.status, 0, build.stderr);
    const run = skipstudio(
      'experiment',
      '--preset',
      'hw5',
      '--epochs',
      '1',
      '--batch-size',
      '5',
      '--threads',
      '1',
      '--log-every',
      '1',
      '--grad-every',
      '1',
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /forecast: 4 runs to train/, 'the forecast is printed before training');
    const out = join(root, 'runs/coco-hw5');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs as S.RunSummary[];
    assert.deepEqual(
      results.map((r) => r.name),
      ['hw5net-lr0.1-s0', 'hw5net-lr0.02-s0', 'net3-lr0.001-s0', 'net3-lr0.0001-s0'],
    );
    const net3 = JSON.parse(readFileSync(join(out, 'net3-lr0.001-s0/config.json'), 'utf8')) as S.TrainConfig;
    assert.deepEqual([net3.dataset, net3.optimizer, net3.betas, net3.schedule], ['coco', 'adam', [0.9, 0.99], 'constant']);
    const model = JSON.parse(readFileSync(join(out, 'hw5net-lr0.1-s0/model.json'), 'utf8'));
    assert.deepEqual(model.inputShape, [3, 64, 64]);
    assert.ok(model.skipBlocks >= 20 && model.learnableLayers >= 40);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.equal([...html.matchAll(/<figcaption>Figure \d+\. Confusion matrix of /g)].length, 4, 'a confusion matrix for every run');
    const svg = readFileSync(join(out, 'figures/confusion-net3-lr0.001-s0.svg'), 'utf8');
    for (const name of CLASSES) assert.ok(svg.includes(`>${name}<`), `the confusion matrix names ${name}`);
    assert.match(html, /hw5net against net3 \(the plain deep CNN of HW4, at its own recipe\)/);
    assert.match(html, /HW5Net \(hw5net\) has 213 learnable layers \(parameters\(\)\.length\)/);
    assert.match(html, /Time: the forecast printed before training/, 'the report sets the forecast against the time taken');
    assert.doesNotMatch(html, /The assignment itself trains on a COCO subset/, 'a COCO report does not tell how to get to COCO');
  });
});
