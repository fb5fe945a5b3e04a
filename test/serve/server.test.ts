/**
 * The dashboard's server without a browser: what it exposes and what it
 * refuses (paths out of the folder however written, writes, other Host
 * names), its event stream built from appended records, and the tail that
 * reads only appended bytes and waits for a torn line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { IterationRecord, MetricRecord } from '../../src/runs/index.js';
import { type Dashboard, MetricsTail, RunStore, startDashboard } from '../../src/serve/index.js';
import { MAX_ITERATION_POINTS, thinned } from '../../src/serve/run-store.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-serve-'));
const served = join(root, 'runs');
const runDir = join(served, 'demo', 'net1-lr0.1-s0');
const SECRET = 'not for the dashboard';

const iteration = (step: number, loss: number): IterationRecord => ({
  type: 'iteration',
  epoch: 0,
  step,
  loss,
  lr: 0.1,
  imagesPerSecond: 640,
  dataWaitShare: 0.01,
});

/** A run directory as training writes one (records only: no engine needed to read it). */
function writeRun(dir: string, status: string): void {
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: 'net1', lr: 0.1, seed: 0, epochs: 2, batchSize: 64, out: dir }));
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({
      model: 'net1',
      modelOptions: {},
      learnableLayers: 8,
      parameters: 1000,
      skipBlocks: 0,
      flops: 1,
      inputShape: [1, 28, 28],
      classes: ['a', 'b'],
      normalization: { mean: [0.5], std: [0.25] },
      gradientLayers: ['conv1.weight', 'fc1.weight'],
    }),
  );
  writeFileSync(
    join(dir, 'status.json'),
    JSON.stringify({ status, epochsDone: 0, step: 20, totalSteps: 64, wallSeconds: 3, updatedAt: new Date().toISOString() }),
  );
  writeFileSync(join(dir, 'metrics.jsonl'), [iteration(10, 2.0), iteration(20, 1.5)].map((r) => `${JSON.stringify(r)}\n`).join(''));
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request: the path goes out exactly as written (no client-side normalisation of `..`). */
function get(dashboard: Dashboard, path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: false,
        host: '127.0.0.1',
        port: dashboard.port,
        path,
        method: options.method ?? 'GET',
        headers: options.host ? { Host: options.host } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// The events' payloads are checked field by field, so they are left untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Payload = any;

/** Opens an event stream and hands out its events one by one. */
function events(dashboard: Dashboard, path: string) {
  const queue: { event: string; data: Payload }[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  const req = request({ agent: false, host: '127.0.0.1', port: dashboard.port, path }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) queue.push({ event, data: JSON.parse(data) });
        waiters.splice(0).forEach((w) => w());
      }
    });
  });
  req.end();
  return {
    async next(timeoutMs = 5000): Promise<{ event: string; data: Payload } | undefined> {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, left).unref();
        });
      }
      return queue.shift();
    },
    close: () => req.destroy(),
  };
}

describe('skipstudio serve', () => {
  let dashboard: Dashboard;

  before(async () => {
    writeRun(runDir, 'running');
    writeRun(join(served, 'demo', 'net1-lr0.01-s0'), 'finished');
    writeFileSync(join(served, 'demo', 'report.html'), '<html><body>report</body></html>');
    mkdirSync(join(root, 'outside'));
    writeFileSync(join(root, 'outside', 'secret.txt'), SECRET);
    writeFileSync(join(root, 'secret.txt'), SECRET);
    symlinkSync(join(root, 'outside'), join(served, 'demo', 'link-out'));
    symlinkSync(join(root, 'outside', 'secret.txt'), join(served, 'demo', 'secret-link.txt'));
    symlinkSync(join(served, 'demo', 'report.html'), join(served, 'demo', 'inside-link.html'));
    dashboard = await startDashboard({ root: served, port: 0, intervalMs: 200 });
  });

  after(() => dashboard.close());

  it('listens on 127.0.0.1 by default and finds the experiment and its runs', async () => {
    assert.equal(dashboard.host, '127.0.0.1');
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const state = JSON.parse((await get(dashboard, '/api/state?view=overview')).body);
    assert.deepEqual(
      state.base.experiments.map((e: { id: string }) => e.id),
      ['demo'],
    );
    const rows = state.base.experiments[0].rows;
    assert.deepEqual(rows.map((r: { id: string }) => r.id).sort(), ['demo/net1-lr0.01-s0', 'demo/net1-lr0.1-s0']);
    const running = rows.find((r: { id: string }) => r.id === 'demo/net1-lr0.1-s0');
    assert.equal(running.state, 'running');
    assert.deepEqual([running.step, running.totalSteps, running.epoch, running.epochs], [20, 64, 1, 2]);
    // 44 steps left at 640 images/s with batches of 64: 4.4 s.
    assert.ok(Math.abs(running.secondsLeft - 4.4) < 1e-9, String(running.secondsLeft));
    assert.equal(running.tryable, false);
    assert.equal(state.base.experiments[0].report.html, '/files/demo/report.html');
  });

  it('serves files of the folder, and refuses every way out of it', async () => {
    assert.equal((await get(dashboard, '/files/demo/report.html')).status, 200);
    assert.match((await get(dashboard, '/files/demo/report.html')).headers['content-security-policy'] as string, /default-src 'none'/);
    assert.equal((await get(dashboard, '/files/demo/inside-link.html')).status, 200, 'a link that stays inside is fine');
    const attempts = [
      '/files/../secret.txt',
      '/files/demo/../../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2E%2E%2Fsecret.txt',
      '/files/demo/..%2f..%2fsecret.txt',
      '/files/..%5csecret.txt',
      '/files/demo/%2e%2e%2f%2e%2e%2foutside/secret.txt',
      '/files/%252e%252e/secret.txt',
      '/files/demo/link-out/secret.txt',
      '/files/demo/secret-link.txt',
      '/files//etc/passwd',
      `/files/${encodeURIComponent(join(root, 'secret.txt'))}`,
      '/files/demo%00/report.html',
      '/files/%',
      '/files/demo',
      '/vendor/../../package.json',
      '/vendor/vega/package.json',
    ];
    for (const path of attempts) {
      const answer = await get(dashboard, path);
      assert.ok([400, 403, 404].includes(answer.status), `${path}: ${answer.status}`);
      assert.ok(!answer.body.includes(SECRET) && !answer.body.includes('root:'), `${path} leaked a file`);
    }
    // Refused for leaving the folder, not merely for naming no file: also where the target does not exist.
    for (const path of [
      '/files/../no-such-file',
      '/files/%2e%2e/%2e%2e/no-such-file',
      '/files/demo/..%5c..%5cno-such-file',
      '/files/%2e%2e/secret.txt',
      '/files/demo/link-out/secret.txt',
      '/files/demo/secret-link.txt',
    ]) {
      assert.equal((await get(dashboard, path)).status, 403, path);
    }
    assert.equal((await get(dashboard, '/files/demo%00/report.html')).status, 400);
    assert.equal((await get(dashboard, '/files/%')).status, 400);
    assert.equal((await get(dashboard, '/files/%252e%252e/secret.txt')).status, 404, 'decoded once: a file literally named %2e%2e');
  });

  it('is read-only and answers only requests addressed to it', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await get(dashboard, '/api/state', { method });
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, 'GET, HEAD');
    }
    // A page elsewhere whose DNS name was rebound to 127.0.0.1 sends its own name as Host.
    assert.equal((await get(dashboard, '/', { host: `attacker.example:${dashboard.port}` })).status, 403);
    assert.equal((await get(dashboard, '/', { host: `localhost:${dashboard.port}` })).status, 200);
    assert.equal((await get(dashboard, '/api/model.onnx?path=demo/net1-lr0.1-s0')).status, 409, "only a finished run's model is exported");
  });

  it('serves every script from node_modules and links nothing outside', async () => {
    const page = await get(dashboard, '/experiment?path=demo');
    assert.equal(page.status, 200);
    const links = [...page.body.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(links.length >= 2);
    for (const link of links) assert.match(link, /^\/(?!\/)/, `${link} is served here`);
    const vega = await get(dashboard, '/vendor/vega.min.js');
    assert.equal(vega.status, 200);
    assert.equal(vega.body, readFileSync(join(dist, '../node_modules/vega/build/vega.min.js'), 'utf8'));
    assert.equal((await get(dashboard, '/vendor/ort/ort-wasm-simd-threaded.wasm')).headers['content-type'], 'application/wasm');
    assert.equal((await get(dashboard, '/assets/dashboard.js')).status, 200);
    assert.equal((await get(dashboard, '/experiment?path=nope')).status, 404);
  });

  it('streams appended records as new chart rows, and waits for a torn line', async () => {
    const stream = events(dashboard, '/api/events?view=run&path=demo/net1-lr0.1-s0');
    try {
      const first = await stream.next();
      assert.equal(first?.event, 'state');
      const loss = first!.data.charts.find(
        (c: { kind: string; chart?: { id: string } }) => c.kind === 'chart' && c.chart!.id === 'loss-net1',
      );
      assert.equal(loss.chart.rows.length, 2);
      assert.equal(loss.chart.spec.data[0].name, 'table');
      appendFileSync(join(runDir, 'metrics.jsonl'), `${JSON.stringify(iteration(30, 1.25))}\n`);
      const grown = await stream.next();
      assert.deepEqual(grown?.data.charts, [
        { kind: 'rows', id: 'loss-net1', rows: [{ step: 30, loss: 1.25, lo: 1.25, hi: 1.25, run: 'lr 0.1' }] },
      ]);
      const torn = JSON.stringify(iteration(40, 1.0));
      appendFileSync(join(runDir, 'metrics.jsonl'), torn.slice(0, 20));
      assert.equal(await stream.next(1000), undefined, 'half a line is neither a row nor an error');
      appendFileSync(join(runDir, 'metrics.jsonl'), `${torn.slice(20)}\n`);
      const whole = await stream.next();
      assert.deepEqual(
        whole?.data.charts.map((c: { kind: string; rows: { step: number }[] }) => [c.kind, c.rows.map((r) => r.step)]),
        [['rows', [40]]],
      );
      assert.deepEqual(whole?.data.row.errors, []);
      // A bad line is reported with its file and line, and the stream goes on.
      appendFileSync(join(runDir, 'metrics.jsonl'), 'not json\n');
      const bad = await stream.next();
      assert.match(bad?.data.row.errors[0], /metrics\.jsonl:5: .*the line is skipped/);
    } finally {
      stream.close();
    }
  });

  it('reads the engine-free run records only: no tensor engine is loaded to serve runs', () => {
    const hooks = join(root, 'blocker.mjs');
    writeFileSync(
      hooks,
      `export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      if (/\\/src\\/(tensor|train)\\/|\\.node$/.test(result.url)) throw new Error('blocked for this test: ' + result.url);
      return result;
    }`,
    );
    const register = join(root, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const script = `
      const { startDashboard } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/serve/index.js')).href)});
      const d = await startDashboard({ root: ${JSON.stringify(served)}, port: 0 });
      const res = await fetch(d.url + 'api/state?view=experiment&path=demo');
      const state = await res.json();
      console.log(state.charts.map((c) => c.chart.id).join(','));
      await d.close();`;
    const run = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'loss-net1,accuracy-per-epoch');
  });
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('MetricsTail', () => {
  const file = join(root, 'tail', 'metrics.jsonl');
  const line = (r: MetricRecord) => `${JSON.stringify(r)}\n`;

  it('takes a huge append in bounded reads and skips a line too long to be a record', () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, line(iteration(1, 3)) + 'x'.repeat(6 * 1024 * 1024) + '\n' + line(iteration(2, 2)));
    const tail = new MetricsTail(file);
    const steps: number[] = [];
    const errors: string[] = [];
    let reads = 0;
    while (tail.offset < readFileSync(file).length) {
      const read = tail.read();
      steps.push(...read.records.map((r) => r.step));
      errors.push(...read.errors);
      reads += 1;
    }
    assert.deepEqual(steps, [1, 2]);
    assert.ok(reads >= 2, `${reads} reads of at most 4 MB each`);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /metrics\.jsonl:2: a line longer than 1 MB is no metrics record; it is skipped/);
  });

  it('a served run keeps a bounded, thinned series however much is appended, its last record included', () => {
    const dir = join(root, 'bounded', 'demo', 'net1-lr0.1-s0');
    writeRun(dir, 'running');
    const lines = Array.from({ length: 200_000 }, (_, i) => line(iteration(30 + i, 1 / (i + 1)))).join('');
    appendFileSync(join(dir, 'metrics.jsonl'), lines);
    const rssBefore = process.memoryUsage().rss;
    const store = new RunStore(join(root, 'bounded'));
    try {
      const run = store.run('demo/net1-lr0.1-s0')!;
      while (run.tail.offset < readFileSync(join(dir, 'metrics.jsonl')).length) store.refresh();
      assert.ok(
        run.iterations.length <= MAX_ITERATION_POINTS && run.iterations.length > MAX_ITERATION_POINTS / 2,
        `${run.iterations.length} points`,
      );
      assert.equal(run.iterations.at(-1)!.step, 30 + 199_999, 'the last record is kept');
      const growth = (process.memoryUsage().rss - rssBefore) / 1e6;
      assert.ok(growth < 150, `RSS grew ${growth.toFixed(0)} MB reading ${(lines.length / 1e6).toFixed(0)} MB of records`);
    } finally {
      store.close();
    }
    assert.deepEqual(thinned([1, 2, 3, 4, 5], 3), [1, 3, 5]);
  });

  it('reads only the bytes appended since its last read', () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, line(iteration(1, 3)) + line(iteration(2, 2)));
    const tail = new MetricsTail(file);
    assert.deepEqual(
      tail.read().records.map((r) => r.step),
      [1, 2],
    );
    // Overwrite the first line in place (same file, same length): a reader of the whole file would see garbage now.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('#'.repeat(line(iteration(1, 3)).length - 1)), 0, undefined, 0);
    closeSync(fd);
    appendFileSync(file, line(iteration(3, 1)));
    const read = tail.read();
    assert.deepEqual(
      read.records.map((r) => r.step),
      [3],
    );
    assert.deepEqual(read.errors, []);
    assert.equal(tail.read().records.length, 0);
  });

  it('holds a torn last line back until its newline arrives, and starts over when the file is replaced or shrinks', () => {
    writeFileSync(file, line(iteration(1, 3)));
    const tail = new MetricsTail(file);
    tail.read();
    const torn = line(iteration(2, 2));
    appendFileSync(file, torn.slice(0, 17));
    const partial = tail.read();
    assert.deepEqual([partial.records, partial.errors, partial.reset, tail.waiting], [[], [], false, true]);
    appendFileSync(file, torn.slice(17, 30));
    assert.deepEqual(tail.read().records, []);
    appendFileSync(file, torn.slice(30));
    assert.deepEqual(
      tail.read().records.map((r) => r.step),
      [2],
    );
    assert.equal(tail.waiting, false);
    // A resumed run rewrites the file (a new one renamed over it): read from the top.
    writeFileSync(`${file}.new`, line(iteration(1, 3)) + line(iteration(5, 0.5)));
    renameSync(`${file}.new`, file);
    const replaced = tail.read();
    assert.equal(replaced.reset, true);
    assert.deepEqual(
      replaced.records.map((r) => r.step),
      [1, 5],
    );
    writeFileSync(file, line(iteration(1, 3)));
    const shrunk = tail.read();
    assert.deepEqual([shrunk.reset, shrunk.records.map((r) => r.step)], [true, [1]]);
  });
});
