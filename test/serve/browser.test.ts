/**
 * The dashboard in a real browser: Debian's Chromium, driven by
 * playwright-core (which downloads no browser of its own). It serves a small
 * trained experiment with `skipstudio serve`, checks the charts drawn (SVG,
 * one mark per point), appends metrics records and watches the charts grow
 * without a reload, keeps a screenshot, and drops a test image on the
 * finished run's page to be classified in the browser by the exported model.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';

import * as S from '../../src/index.js';
import { loadRunModel } from '../../src/export/onnx.js';
import { writeTinyFashionMnist } from '../helpers.js';

const CHROMIUM = process.env.SKIPSTUDIO_CHROMIUM ?? '/usr/bin/chromium';
const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const skip = existsSync(CHROMIUM)
  ? false
  : `no browser at ${CHROMIUM}: install Debian's chromium (npm test does, as root) or set SKIPSTUDIO_CHROMIUM; the real-browser test is skipped`;
// Kept after the test: the screenshots are there to be looked at.
const root = skip ? join(tmpdir(), 'skipstudio-dashboard-skipped') : mkdtempSync(join(tmpdir(), 'skipstudio-dashboard-'));

const experiment = join(root, 'runs', 'demo');
const runName = 'net1-lr0.01-s0';
const runDir = join(experiment, runName);

function records(): S.MetricRecord[] {
  return new S.RunDirectory(runDir).records();
}

/** Waits until fn() holds, polling; fails with what it last saw. */
async function eventually<T>(what: string, fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await fn();
    if (ok(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const points = (page: Page, chart: string) => page.locator(`figure[data-chart="${chart}"] svg g.mark-symbol.role-mark path`).count();

describe('the dashboard in a real browser', { skip }, () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  before(async () => {
    const data = writeTinyFashionMnist(join(root, 'data'));
    const trained = spawnSync(
      process.execPath,
      [
        main,
        'experiment',
        '--data-dir',
        data,
        '--models',
        'net1',
        '--lrs',
        '0.01,0.003',
        '--recipe',
        'net1:optimizer=adam',
        '--epochs',
        '2',
        '--batch-size',
        '16',
        '--log-every',
        '2',
        '--grad-every',
        '4',
        '--threads',
        '1',
        '--out',
        experiment,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    assert.match(trained.stdout, new RegExp(`Dashboard: skipstudio serve ${experiment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    server = spawn(process.execPath, [main, 'serve', join(root, 'runs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (match) resolve(match[1]!);
      });
      server.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root in a container, without the network: no sandbox, no GPU, none of Chromium's own connections.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-dev-shm-usage',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    // The screenshots stay; the runs and data go.
    for (const dir of ['runs', 'data']) rmSync(join(root, dir), { recursive: true, force: true });
  });

  it("shows the experiment: its runs and the report's charts, drawn as SVG with one mark per point", async () => {
    await page.goto(`${url}experiment?path=demo`);
    // Two runs (two learning rates) of 16 logged windows each: a line per run, a point per record.
    const iterations = records().filter((r) => r.type === 'iteration').length;
    assert.equal(iterations, 16);
    await eventually(
      'loss points',
      () => points(page, 'loss-net1'),
      (n) => n === 2 * iterations,
    );
    assert.equal(await page.locator('figure[data-chart="loss-net1"] svg g.mark-line.role-mark path').count(), 2);
    assert.equal(await points(page, 'accuracy-per-epoch'), 4);
    // A confusion matrix per run: a cell per pair of the 10 classes, with its count written in it.
    for (const run of [runName, 'net1-lr0.003-s0']) {
      assert.equal(await page.locator(`figure[data-chart="confusion-${run}"] svg g.mark-rect.role-mark path`).count(), 100);
    }
    // Gradient flow: net1's four weight layers.
    assert.equal(await points(page, 'gradient-flow'), 4);
    const row = page.locator(`tr[data-run="demo/${runName}"]`);
    assert.match(await row.innerText(), /net1\s+adam.*0\.01\s+0\s+finished\s+2 \/ 2\s+32 \/ 32\s+\d+\.\d\d%/);
    assert.equal(await page.locator('a', { hasText: 'report (HTML)' }).getAttribute('href'), '/files/demo/report.html');
    const report = await page.request.get(`${url}files/demo/report.pdf`);
    assert.equal(report.status(), 200);
    assert.equal(report.headers()['content-type'], 'application/pdf');
  });

  it('grows the charts as metrics records are appended, without a reload, and waits for a torn line', async () => {
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    // The run is training again (as when resumed): running, its writer alive, 24 steps to go.
    const finished = readFileSync(join(runDir, 'status.json'));
    writeFileSync(
      join(runDir, 'status.json'),
      JSON.stringify({
        status: 'running',
        epochsDone: 2,
        step: 40,
        totalSteps: 64,
        wallSeconds: 10,
        updatedAt: new Date().toISOString(),
        pid: process.pid,
        host: hostname(),
      }),
    );
    await eventually(
      'the run shown as running',
      () => page.locator(`tr[data-run="demo/${runName}"] td`).nth(5).innerText(),
      (s) => s === 'running',
    );
    // Time left: 24 steps at the last record's speed.
    assert.match(await page.locator(`tr[data-run="demo/${runName}"] td`).nth(10).innerText(), /^(under )?\d+ s$/);
    const last = records()
      .filter((r) => r.type === 'iteration')
      .at(-1) as S.IterationRecord;
    const append = (text: string) => appendFileSync(join(runDir, 'metrics.jsonl'), text);
    const iteration = (k: number) => JSON.stringify({ ...last, step: last.step + 2 * k, loss: last.loss * (1 - 0.1 * k) });
    append(`${iteration(1)}\n${iteration(2)}\n${iteration(3)}\n`);
    await eventually(
      'loss points after 3 appended records',
      () => points(page, 'loss-net1'),
      (n) => n === 35,
    );
    // Half a record, as a writer is caught mid-line: nothing drawn, nothing reported, until its newline comes.
    const torn = iteration(4);
    append(torn.slice(0, 25));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await points(page, 'loss-net1'), 35);
    assert.equal(await page.locator('.errors').count(), 0);
    append(`${torn.slice(25)}\n`);
    await eventually(
      'loss points once the torn line is whole',
      () => points(page, 'loss-net1'),
      (n) => n === 36,
    );
    const epoch = records().find((r) => r.type === 'epoch') as S.EpochRecord;
    append(`${JSON.stringify({ ...epoch, epoch: 2, step: last.step + 8, testAccuracy: epoch.testAccuracy - 0.02 })}\n`);
    await eventually(
      'accuracy points',
      () => points(page, 'accuracy-per-epoch'),
      (n) => n === 5,
    );
    assert.equal(
      await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
      true,
      'the page was not reloaded',
    );
    const screenshot = join(root, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(readFileSync(screenshot).length > 10_000);
    console.log(`dashboard screenshot: ${screenshot}`);
    writeFileSync(join(runDir, 'status.json'), finished);
    await eventually(
      'the run finished again',
      () => page.locator(`tr[data-run="demo/${runName}"] td`).nth(5).innerText(),
      (s) => s === 'finished',
    );
  });

  it("classifies an image dropped on a finished run's page with the exported model, in the browser", async () => {
    await page.goto(`${url}run?path=${encodeURIComponent(`demo/${runName}`)}`);
    await page.locator('#try').waitFor();
    // Test image 3, as a PNG file, dropped on the page.
    const index = 3;
    const splits = S.loadFashionMnist(join(root, 'data'));
    const image = Buffer.from(splits.test.images.subarray(784 * index, 784 * (index + 1)));
    const png = await sharp(image, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    await page.evaluate(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'test-3.png', { type: 'image/png' }));
      document.querySelector('#try')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, png.toString('base64'));
    await page.locator('#try[data-state="done"], #try[data-state="failed"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#try').getAttribute('data-state'), 'done', await page.locator('#try .status').innerText());
    const shown = await page.locator('#try li').evaluateAll((items) =>
      items.map((li) => ({
        index: Number((li as HTMLElement).dataset.index),
        name: (li as HTMLElement).dataset.class,
        p: Number((li as HTMLElement).dataset.probability),
        logit: Number((li as HTMLElement).dataset.logit),
      })),
    );
    assert.equal(shown.length, 5);
    // The same image through skipstudio: the run's model in eval mode, the normalisation it trained with.
    const { model, info } = loadRunModel(runDir);
    const [logits, expected] = S.scope(() =>
      S.noGrad(() => {
        const x = S.tensor(
          Float32Array.from(image, (v) => (v / 255 - info.normalization.mean[0]!) / info.normalization.std[0]!),
          { shape: [1, 1, 28, 28] },
        );
        const out = model.forward(x);
        return [Array.from(out.data() as Float32Array), Array.from(S.softmax(out, 1).data() as Float32Array)];
      }),
    );
    const predictions = JSON.parse(readFileSync(join(runDir, 'predictions.json'), 'utf8')) as S.Predictions;
    assert.equal(shown[0]!.index, predictions.predicted[index], "the top class is the one the run's evaluation predicted");
    assert.equal(shown[0]!.name, info.classes[predictions.predicted[index]!]);
    // The browser's preprocessing and ONNX model against skipstudio's: logits within 1e-4 (a trained model's probabilities are too sure to tell).
    for (const { index: k, p, logit } of shown) {
      assert.ok(Math.abs(logit - logits[k]!) < 1e-4, `class ${k}: logit ${logit} in the browser, ${logits[k]} in skipstudio`);
      assert.ok(Math.abs(p - expected[k]!) < 1e-4, `class ${k}: ${p} in the browser, ${expected[k]} in skipstudio`);
    }
    const sorted = [...expected].sort((a, b) => b - a).slice(0, 5);
    assert.deepEqual(
      shown.map((s) => s.p.toFixed(4)),
      sorted.map((p) => p.toFixed(4)),
    );
    await page.screenshot({ path: join(root, 'try-the-model.png'), fullPage: true });
  });

  it("needed nothing but the dashboard's own server, and hit no error", () => {
    assert.ok(requested.length > 5);
    const elsewhere = requested.filter((r) => !r.startsWith(url) && !r.startsWith('data:') && !r.startsWith('blob:'));
    assert.deepEqual(elsewhere, []);
    assert.ok(requested.some((r) => r.endsWith('/vendor/vega.min.js')));
    assert.ok(requested.some((r) => r.includes('/vendor/ort/')));
    assert.deepEqual(problems, []);
  });
});
