import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';

import * as S from '../../src/index.js';
import { DocumentBuilder } from '../../src/report/document.js';
import { renderPdf } from '../../src/report/render.js';
import { writeTinyFashionMnist } from '../helpers.js';
import { pdfTextLines } from './pdf-text.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-report-'));
const data = writeTinyFashionMnist(join(root, 'data'));

function experiment(out: string, lrs: string) {
  return spawnSync(
    process.execPath,
    [
      main,
      'experiment',
      '--data-dir',
      data,
      '--models',
      'net1,net2',
      '--lrs',
      lrs,
      '--schedule',
      'constant',
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--threads',
      '1',
      '--grad-every',
      '4',
      '--log-every',
      '4',
      '--out',
      out,
    ],
    { encoding: 'utf8' },
  );
}

function pdfPages(path: string): number {
  return (readFileSync(path, 'latin1').match(/\/Type \/Page\b/g) ?? []).length;
}

describe('the report', () => {
  const out = join(root, 'fixture');
  const run = experiment(out, '0.05,0.01');

  it('is written at the end of an experiment: HTML, PDF and every figure as PNG and SVG', async () => {
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Report: .*report\.pdf \(\d+ pages\)/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // Numbered, captioned figures and tables, in order.
    const figures = [...html.matchAll(/<figcaption>Figure (\d+)\. /g)].map((m) => Number(m[1]));
    const tables = [...html.matchAll(/<caption>Table (\d+)\. /g)].map((m) => Number(m[1]));
    assert.deepEqual(
      figures,
      figures.map((_, i) => i + 1),
    );
    // Set-up, recipes, models, results, the forecast against the time taken, per-class accuracy.
    assert.deepEqual(tables, [1, 2, 3, 4, 5, 6]);
    assert.match(html, /<caption>Table \d+\. Time: the forecast printed before training/);
    // 2 loss figures (one per model), comparison, accuracy per epoch, final accuracy, 4 confusion matrices, gradient flow.
    assert.equal(figures.length, 10);
    assert.match(html, /Training loss of net1 against iterations, one curve per learning rate/);
    assert.match(html, /Confusion matrix of net2 at lr 0\.01, seed 0/);
    assert.match(html, /Gradient flow: the norm of each weight/);
    assert.match(html, /learnable layers/);
    assert.match(html, /<svg/);
    assert.ok(!/src="http|href="http/.test(html), 'the HTML needs nothing from the network');
    assert.ok(pdfPages(join(out, 'report.pdf')) >= 3);
    const files = readdirSync(join(out, 'figures'));
    assert.equal(files.filter((f) => f.endsWith('.png')).length, 10);
    assert.equal(files.filter((f) => f.endsWith('.svg')).length, 10);
    for (const file of files.filter((f) => f.endsWith('.svg'))) {
      const svg = readFileSync(join(out, 'figures', file), 'utf8');
      const [, w, h] = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg)!;
      const png = await sharp(join(out, 'figures', file.replace(/\.svg$/, '.png'))).metadata();
      assert.equal(png.format, 'png');
      assert.equal(png.width, Math.round(Number(w)) * S.PNG_SCALE, file);
      assert.equal(png.height, Math.round(Number(h)) * S.PNG_SCALE, file);
    }
  });

  it('writes observations from the numbers', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // One seed each: the learning rates are compared on their paired predictions, and the sentence says how sure it is.
    assert.match(
      html,
      /net1: learning rate (0\.05|0\.01) did best \(\d+\.\d+% test accuracy\) against learning rate (0\.05|0\.01) \(\d+\.\d+%\): \d+\.\d+ points in favour of lr (0\.05|0\.01) \(95% interval -?\d+\.\d+ to -?\d+\.\d+ points; McNemar's exact test on the 64 paired test predictions, p = [\d.e-]+\): (not )?significant at 5%/,
    );
  });

  it('covers a diverged run and says what is missing', () => {
    const diverged = join(root, 'diverged');
    const result = experiment(diverged, '1e9,0.05');
    assert.equal(result.status, 0, result.stderr);
    const html = readFileSync(join(diverged, 'report.html'), 'utf8');
    assert.match(html, /net1-lr1000000000-s0 diverged: its loss became \S+ at step \d+/);
    assert.match(html, /No confusion matrix for net1-lr1000000000-s0 \(diverged at step \d+\)/);
    assert.match(html, /diverged at step \d+/);
    assert.ok(existsSync(join(diverged, 'report.pdf')));
    assert.ok(!existsSync(join(diverged, 'figures', 'confusion-net1-lr1000000000-s0.png')));
  });

  it('compares experiments side by side', () => {
    const both = join(root, 'both');
    const cli = spawnSync(process.execPath, [main, 'report', out, join(root, 'diverged'), '--out', both], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const html = readFileSync(join(both, 'report.html'), 'utf8');
    assert.match(html, /Final test accuracy of each model \(at its best learning rate, mean over the seeds\) in each experiment/);
    assert.match(html, /Set-up of fixture/);
    assert.match(html, /Set-up of diverged/);
  });

  it("lays out only so much of an edited experiment.json's notes and command (issue 42, defect 16)", () => {
    const file = join(out, 'experiment.json');
    const recorded = readFileSync(file, 'utf8');
    const experiment = JSON.parse(recorded) as Record<string, unknown>;
    writeFileSync(
      file,
      JSON.stringify({
        ...experiment,
        command: 'c'.repeat(3000),
        notes: ['x'.repeat(500_000), 7, ...Array.from({ length: 60 }, (_, i) => `note ${i}`)],
      }),
    );
    try {
      const loaded = S.loadExperiment(out);
      assert.equal(loaded.notes!.length, S.MAX_NOTES, 'at most MAX_NOTES notes, text only');
      assert.equal(loaded.notes![0], `${'x'.repeat(S.MAX_NOTE_LENGTH)}... (498,000 more characters not shown)`);
      assert.equal(loaded.notes![1], 'note 0');
      assert.equal(loaded.command, `${'c'.repeat(S.MAX_NOTE_LENGTH)}... (1,000 more characters not shown)`);
    } finally {
      writeFileSync(file, recorded);
    }
  });

  it('fails clearly on a folder that holds no runs', () => {
    const cli = spawnSync(process.execPath, [main, 'report', data], { encoding: 'utf8' });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /holds no run directories/);
  });
});

describe('the PDF renderer', () => {
  it("repeats a long table's header on every page it runs onto", async () => {
    const builder = new DocumentBuilder().section('Results');
    builder.table(
      'Every run.',
      ['run', 'accuracy'],
      Array.from({ length: 120 }, (_, i) => [`run ${i}`, `${i}%`]),
    );
    const path = join(root, 'long-table.pdf');
    const pages = await renderPdf({ title: 'Long table', subtitle: 'test', sections: builder.sections }, path);
    assert.ok(pages >= 3, `120 rows take at least 3 pages, got ${pages}`);
    const lines = pdfTextLines(path);
    assert.equal(lines.filter((l) => l === 'Table 1 (continued).').length, pages - 1);
    assert.equal(lines.filter((l) => l === 'accuracy').length, pages, 'the header row on every page');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('run ')),
      Array.from({ length: 120 }, (_, i) => `run ${i}`),
      'every row once, in order',
    );
  });
});
