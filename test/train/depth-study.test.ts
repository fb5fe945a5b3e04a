/**
 * A depth study end to end through the command line, small: HW5Net and its
 * plain twin at two depths on tiny Fashion-MNIST, then the loss landscape of
 * the deepest pair, results.json with each run's depth and layer counts,
 * and the report's depth and landscape sections; run again, it keeps what
 * is done.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type * as S from '../../src/index.js';
import { writeTinyFashionMnist } from '../helpers.js';
import { pdfTextLines } from '../report/pdf-text.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-depth-'));
const data = writeTinyFashionMnist(join(root, 'data'), 128, 32);
const out = join(root, 'study');
const config = join(root, 'study.json');
writeFileSync(
  config,
  JSON.stringify({
    models: ['hw5net', 'hw5net-plain'],
    recipes: { hw5net: { lrs: [0.05] }, 'hw5net-plain': { lrs: [0.05] } },
    modelOptions: { hw5net: { width: 2 }, 'hw5net-plain': { width: 2 } },
    landscape: { points: 5, grid: 3, sample: 16 },
  }),
);
const args = [
  'experiment',
  '--config',
  config,
  '--data-dir',
  data,
  '--depths',
  'hw5net:0,1',
  '--depths',
  'hw5net-plain:0,1',
  '--epochs',
  '1',
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--log-every',
  '2',
  '--grad-every',
  '2',
  '--parallel-runs',
  '1',
  '--out',
  out,
];
const first = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('a depth study from the command line', () => {
  it('trains every depth, names each run by its depth, and records its learnable and weight layers', () => {
    assert.equal(first.status, 0, first.stderr);
    const runs = (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: S.RunSummary[] }).runs;
    // Width 2, d blocks a stage: 33 + 30d learnable layers, 8 + 6d weight layers.
    assert.deepEqual(
      runs.map((r) => `${r.name} ${r.depth} ${r.learnableLayers} ${r.weightLayers}`),
      [
        'hw5net-d0-lr0.05-s0 0 33 8',
        'hw5net-d1-lr0.05-s0 1 63 14',
        'hw5net-plain-d0-lr0.05-s0 0 33 8',
        'hw5net-plain-d1-lr0.05-s0 1 63 14',
      ],
    );
    assert.match(first.stdout, /hw5net-d1 +0\.05 +1 +63 /, 'the closing table names the depth');
  });

  it('computes the loss landscape of the deepest skip and plain pair only', () => {
    for (const run of ['hw5net-d1-lr0.05-s0', 'hw5net-plain-d1-lr0.05-s0']) {
      const file = JSON.parse(readFileSync(join(out, run, 'landscape.json'), 'utf8')) as S.LandscapeFile;
      assert.deepEqual([file.line.length, file.surface.length, file.sample], [5, 3, 16], run);
    }
    assert.equal(existsSync(join(out, 'hw5net-d0-lr0.05-s0', 'landscape.json')), false);
  });

  it('writes the depth and landscape sections into the report', () => {
    const text = pdfTextLines(join(out, 'report.pdf')).join(' ');
    for (const expected of [
      'Depth',
      'Final test accuracy against depth',
      'Final training loss',
      'Gradient norm of the weight nearest the input',
      'Loss landscape, 1-D',
      'Loss landscape, 2-D',
      'Depth, hw5net (lr 0.05), from 2 to 5 SkipBlocks (33 to 63 learnable layers)',
      'Loss landscape of hw5net-d1-lr0.05-s0 against hw5net-plain-d1-lr0.05-s0',
    ]) {
      assert.ok(text.includes(expected), `the report says "${expected}"`);
    }
    for (const figure of ['depth-accuracy', 'depth-train-loss', 'depth-input-gradient', 'landscape-line', 'landscape-contours']) {
      assert.ok(existsSync(join(out, 'figures', `${figure}.png`)), figure);
    }
  });

  it('keeps the finished runs and the landscapes when run again', () => {
    const again = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr + again.stdout, /\[hw5net-d1-lr0\.05-s0\] loss landscape already computed; kept/);
  });
});
