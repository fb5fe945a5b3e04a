/**
 * `skipstudio serve`: a read-only web dashboard over a folder of runs. An
 * HTTP server (node:http, no framework) answers GET and HEAD only: the page,
 * its script, vega and onnxruntime-web from node_modules, JSON and
 * server-sent events built from the run store, the files under the folder
 * (reports, figures) through the path guard, and a finished run's model as
 * ONNX, exported on demand in memory (nothing is written to the folder).
 * It binds to 127.0.0.1 unless told otherwise, and answers only requests
 * addressed to the host it serves (a web page elsewhere cannot reach it by
 * rebinding a DNS name to 127.0.0.1).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type ViewKind, dashboardPage } from './page.js';
import { type ExperimentState, type RunState, RunStore } from './run-store.js';
import { PathRefused, resolveServedFile } from './safe-path.js';
import { type ChartUpdate, ChartStream, type RunRow, experimentCharts, runCharts, runRow } from './views.js';

export interface DashboardOptions {
  /** The folder of runs: an experiment, a run, or a folder of them (e.g. runs/). */
  root: string;
  /** 0 picks a free port. Default 6006. */
  port?: number;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** How often the folder is looked at besides file-system events (default 1000 ms). */
  intervalMs?: number;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  store: RunStore;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.pdf': 'application/pdf',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.jsonl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.css': 'text/css',
};

/** The folder of an installed package (found through Node's resolution paths, so package "exports" do not hide its files). */
function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
  }
  throw new Error(`the package ${name} is not installed (npm ci installs it)`);
}

/** The only files served from node_modules: URL name -> [package, file]. */
const VENDOR: Record<string, [string, string]> = {
  'vega.min.js': ['vega', 'build/vega.min.js'],
  'ort/ort.wasm.bundle.min.mjs': ['onnxruntime-web', 'dist/ort.wasm.bundle.min.mjs'],
  'ort/ort-wasm-simd-threaded.wasm': ['onnxruntime-web', 'dist/ort-wasm-simd-threaded.wasm'],
  'ort/ort-wasm-simd-threaded.mjs': ['onnxruntime-web', 'dist/ort-wasm-simd-threaded.mjs'],
};

const CLIENT_SCRIPT = fileURLToPath(new URL('./client.js', import.meta.url));

// vega compiles its expressions with Function(); onnxruntime-web compiles WebAssembly.
const PAGE_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
// Files of the folder (a report, an SVG figure) may style themselves but run no script.
const FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'";

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, JSON.stringify(value), 'application/json', { 'Cache-Control': 'no-store' });
}

function sendFile(res: ServerResponse, path: string, headers: Record<string, string> = {}): void {
  const size = statSync(path).size;
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(size),
    ...headers,
  });
  if (res.req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

function experimentInfo(experiment: ExperimentState) {
  const link = (id: string | undefined) => (id === undefined ? undefined : `/files/${id.split('/').map(encodeURIComponent).join('/')}`);
  return {
    id: experiment.id,
    name: experiment.name,
    command: experiment.command,
    report: { html: link(experiment.reports.html), pdf: link(experiment.reports.pdf) },
  };
}

/** One open page: its view and what it was sent. */
class Subscriber {
  readonly charts = new ChartStream();
  lastBase = '';

  constructor(
    readonly res: ServerResponse,
    readonly view: ViewKind,
    readonly path: string,
  ) {}
}

export class DashboardServer {
  readonly store: RunStore;
  readonly server: Server;
  readonly #subscribers = new Set<Subscriber>();
  readonly #models = new Map<string, { key: string; bytes: Uint8Array }>();
  #allowedHosts: Set<string> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(root: string) {
    this.store = new RunStore(root);
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : error instanceof PathRefused ? error.status : 500;
        if (!res.headersSent) send(res, status, `${(error as Error).message}\n`, 'text/plain; charset=utf-8');
        else res.destroy();
      });
    });
    this.store.on('change', () => this.#publish());
  }

  async listen(port: number, host: string, intervalMs: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    // Bound to every interface, the names it is reached by are not known: no Host check then.
    const wildcard = host === '0.0.0.0' || host === '::';
    if (!wildcard) {
      const names = new Set([host, ...(isLoopback(host) ? ['localhost', '127.0.0.1', '[::1]'] : [])]);
      this.#allowedHosts = new Set(
        [...names].flatMap((n) => {
          const name = n.includes(':') && !n.startsWith('[') ? `[${n}]` : n;
          return [`${name}:${address.port}`.toLowerCase(), ...(address.port === 80 ? [name.toLowerCase()] : [])];
        }),
      );
    }
    this.store.start(intervalMs);
    this.#heartbeat = setInterval(() => {
      for (const s of this.#subscribers) s.res.write(': keep-alive\n\n');
    }, 15_000);
    this.#heartbeat.unref();
    return address;
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.store.close();
    for (const s of this.#subscribers) s.res.end();
    this.#subscribers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (this.#allowedHosts !== undefined && !this.#allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      throw new HttpError(
        403,
        `this dashboard answers requests for ${[...this.#allowedHosts].join(', ')}, not for Host ${req.headers.host ?? '(none)'}`,
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, 'the dashboard is read-only: GET and HEAD only');
    }
    // The raw path: URL parsing would resolve `..` and %2e%2e before the guard could refuse them.
    const raw = req.url ?? '/';
    const query = raw.indexOf('?');
    const rawPath = query < 0 ? raw : raw.slice(0, query);
    const params = new URLSearchParams(query < 0 ? '' : raw.slice(query + 1));
    const path = params.get('path') ?? '.';

    if (rawPath.startsWith('/files/')) {
      const file = resolveServedFile(this.store.root, rawPath.slice('/files/'.length));
      const ext = extname(file).toLowerCase();
      sendFile(res, file, ext === '.html' || ext === '.svg' ? { 'Content-Security-Policy': FILE_POLICY } : {});
      return;
    }
    if (rawPath.startsWith('/vendor/')) {
      const entry = VENDOR[rawPath.slice('/vendor/'.length)];
      if (entry === undefined) throw new HttpError(404, 'not a served script');
      sendFile(res, join(packageDir(entry[0]), entry[1]), { 'Cache-Control': 'max-age=3600' });
      return;
    }
    switch (rawPath) {
      case '/':
        return this.#page(res, 'overview', '.', 'skipstudio dashboard');
      case '/experiment': {
        const experiment = this.store.experiment(path);
        if (experiment === undefined) throw new HttpError(404, `no experiment ${path} under the served folder`);
        return this.#page(res, 'experiment', path, `${experiment.name} - skipstudio`);
      }
      case '/run': {
        const run = this.store.run(path);
        if (run === undefined) throw new HttpError(404, `no run ${path} under the served folder`);
        return this.#page(res, 'run', path, `${run.name} - skipstudio`);
      }
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      case '/assets/dashboard.js':
        return sendFile(res, CLIENT_SCRIPT, { 'Cache-Control': 'no-cache' });
      case '/api/state':
        return sendJson(res, this.#state(this.#viewOf(params), path, new ChartStream()));
      case '/api/events':
        return this.#subscribe(res, this.#viewOf(params), path);
      case '/api/model.onnx':
        return send(res, 200, await this.#onnx(path), 'application/octet-stream', { 'Cache-Control': 'no-store' });
      default:
        throw new HttpError(404, 'not found');
    }
  }

  #viewOf(params: URLSearchParams): ViewKind {
    const view = params.get('view') ?? 'overview';
    if (view !== 'overview' && view !== 'experiment' && view !== 'run') throw new HttpError(400, `unknown view ${view}`);
    return view;
  }

  #page(res: ServerResponse, view: ViewKind, path: string, title: string): void {
    send(res, 200, dashboardPage(view, path, title), 'text/html; charset=utf-8', {
      'Content-Security-Policy': PAGE_POLICY,
      'Cache-Control': 'no-store',
    });
  }

  /** What a view shows now: its rows and details (`base`) and the chart updates since what `charts` last sent. */
  #state(view: ViewKind, path: string, charts: ChartStream): { base: object; charts: ChartUpdate[]; order: string[] } {
    const store = this.store;
    if (view === 'overview') {
      const experiments = store.experiments().map((e) => ({ ...experimentInfo(e), rows: store.runsOf(e).map(runRow) }));
      return { base: { view, root: store.root, experiments }, charts: [], order: [] };
    }
    if (view === 'experiment') {
      const experiment = store.experiment(path);
      if (experiment === undefined) return { base: { view, missing: path }, charts: charts.update([]), order: [] };
      const list = experimentCharts(store, experiment);
      return {
        base: { view, experiment: experimentInfo(experiment), rows: store.runsOf(experiment).map(runRow) },
        charts: charts.update(list),
        order: list.map((c) => c.id),
      };
    }
    const run = store.run(path);
    if (run === undefined) return { base: { view, missing: path }, charts: charts.update([]), order: [] };
    const experiment = store.experiment(run.experimentId);
    const list = runCharts(store, run);
    const row: RunRow = runRow(run);
    const model =
      run.model === undefined
        ? undefined
        : { model: run.model.model, classes: run.model.classes, normalization: run.model.normalization, inputShape: run.model.inputShape };
    return {
      base: { view, experiment: experiment === undefined ? undefined : experimentInfo(experiment), row, model },
      charts: charts.update(list),
      order: list.map((c) => c.id),
    };
  }

  #subscribe(res: ServerResponse, view: ViewKind, path: string): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    const subscriber = new Subscriber(res, view, path);
    this.#subscribers.add(subscriber);
    res.req.on('close', () => this.#subscribers.delete(subscriber));
    this.#push(subscriber);
  }

  #push(subscriber: Subscriber): void {
    const { base, charts, order } = this.#state(subscriber.view, subscriber.path, subscriber.charts);
    const baseJson = JSON.stringify(base);
    if (baseJson === subscriber.lastBase && charts.length === 0) return;
    subscriber.lastBase = baseJson;
    subscriber.res.write(`event: state\ndata: ${JSON.stringify({ ...base, charts, order })}\n\n`);
  }

  #publish(): void {
    for (const subscriber of this.#subscribers) {
      try {
        this.#push(subscriber);
      } catch (error) {
        subscriber.res.write(`event: failure\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
      }
    }
  }

  /** A finished run's model as ONNX, exported in memory on first request and kept while its checkpoint is unchanged. */
  async #onnx(path: string): Promise<Uint8Array> {
    const run: RunState | undefined = this.store.run(path);
    if (run === undefined) throw new HttpError(404, `no run ${path} under the served folder`);
    if (run.status?.status !== 'finished')
      throw new HttpError(409, `${run.name} is ${run.status?.status ?? 'starting'}: only a finished run's model can be tried`);
    const checkpoint = run.dir.checkpointPath;
    if (!existsSync(checkpoint)) throw new HttpError(404, `${run.name} has no checkpoint`);
    const key = `${statSync(checkpoint).mtimeMs}`;
    const cached = this.#models.get(run.id);
    if (cached?.key === key) return cached.bytes;
    // The engine (libtorch) is loaded only when a model is asked for: browsing runs needs none.
    const { exportRunToOnnx } = await import('../export/onnx.js');
    const bytes = exportRunToOnnx(run.dir.path).bytes;
    // A few models at most (BMEnet's is 100 MB): the oldest asked for goes first.
    this.#models.delete(run.id);
    if (this.#models.size >= 4) this.#models.delete(this.#models.keys().next().value!);
    this.#models.set(run.id, { key, bytes });
    return bytes;
  }
}

/** Starts the dashboard; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const server = new DashboardServer(options.root);
  let address: AddressInfo;
  try {
    address = await server.listen(options.port ?? 6006, host, options.intervalMs ?? 1000);
  } catch (error) {
    server.store.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${options.port ?? 6006} on ${host} is in use (another dashboard?): choose another with --port, or --port 0 for any free one`,
      );
    }
    throw error;
  }
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}/`;
  return { url, host, port: address.port, store: server.store, close: () => server.close() };
}
