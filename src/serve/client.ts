/**
 * The dashboard in the browser (compiled by tsc and served as a module
 * script; this file never runs in Node). It opens the page's event stream,
 * draws what each state event carries (the runs table, the report's charts
 * with vega) and keeps it current: new rows are inserted into a chart's
 * data, so a chart grows while its run trains, without a reload. On a
 * finished run's page, an image dropped on the page is classified in the
 * browser by the run's model, exported as ONNX and run by onnxruntime-web.
 */
import type { RunRow } from './views.js'; // a type only: erased, so the browser loads nothing for it

export {};

declare const vega: typeof import('vega');
type Ort = typeof import('onnxruntime-web');
type Session = import('onnxruntime-web').InferenceSession;

interface ExperimentInfo {
  id: string;
  name: string;
  command?: string;
  report: { html?: string; pdf?: string };
}

interface ModelInfo {
  model: string;
  classes: string[];
  normalization: { mean: number[]; std: number[] };
  inputShape: number[];
}

interface ChartMessage {
  id: string;
  caption: string;
  spec: object;
  rows: object[];
}

type ChartUpdate = { kind: 'chart'; chart: ChartMessage } | { kind: 'rows'; id: string; rows: object[] } | { kind: 'remove'; id: string };

interface State {
  view: 'overview' | 'experiment' | 'run';
  missing?: string;
  root?: string;
  experiments?: (ExperimentInfo & { rows: RunRow[] })[];
  experiment?: ExperimentInfo;
  rows?: RunRow[];
  row?: RunRow;
  model?: ModelInfo;
  charts: ChartUpdate[];
  order: string[];
}

const view = document.body.dataset.view as State['view'];
const path = document.body.dataset.path ?? '.';
const main = document.getElementById('main')!;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const link = (href: string, text: string) => element('a', { href }, text);
const runHref = (id: string) => `/run?path=${encodeURIComponent(id)}`;
const experimentHref = (id: string) => `/experiment?path=${encodeURIComponent(id)}`;

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  if (s < 1) return 'under 1 s';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function runsTable(rows: RunRow[]): HTMLElement {
  const header = ['run', 'model', 'recipe', 'lr', 'seed', 'state', 'epoch', 'step', 'test accuracy', 'images/s', 'time left'];
  const table = element(
    'table',
    { class: 'runs' },
    element('thead', {}, element('tr', {}, ...header.map((h, i) => element('th', i <= 2 || i === 5 ? { class: 'text' } : {}, h)))),
  );
  const body = element('tbody');
  for (const r of rows) {
    const cells: (Node | string)[] = [
      link(runHref(r.id), r.name),
      r.model ?? '',
      r.recipe ?? '',
      r.lr === undefined ? '' : String(r.lr),
      r.seed === undefined ? '' : String(r.seed),
      r.state,
      r.epochs === undefined ? '' : `${r.epoch ?? 0} / ${r.epochs}`,
      r.totalSteps === undefined ? String(r.step ?? '') : `${r.step ?? 0} / ${r.totalSteps}`,
      r.accuracy === undefined ? '' : `${(100 * r.accuracy).toFixed(2)}%`,
      r.imagesPerSecond === undefined ? '' : r.imagesPerSecond.toFixed(0),
      duration(r.secondsLeft),
    ];
    const tr = element('tr', { 'data-run': r.id });
    cells.forEach((c, i) => {
      const classes = [i <= 2 || i === 5 ? 'text' : '', i === 5 ? `state-${r.state.split(' ')[0]}` : ''].filter(Boolean).join(' ');
      tr.append(element('td', classes ? { class: classes } : {}, c));
    });
    body.append(tr);
  }
  table.append(body);
  const errors = rows.flatMap((r) => r.errors.map((e) => `${r.name}: ${e}`));
  return element(
    'div',
    {},
    table,
    ...(errors.length ? [element('div', { class: 'errors' }, ...errors.map((e) => element('div', {}, e)))] : []),
  );
}

function reportLinks(info: ExperimentInfo): HTMLElement {
  const links = element('p', { class: 'links' });
  if (info.report.html) links.append(link(info.report.html, 'report (HTML)'));
  if (info.report.pdf) links.append(link(info.report.pdf, 'report (PDF)'));
  if (!info.report.html && !info.report.pdf)
    links.append(element('span', { class: 'muted' }, `no report yet (skipstudio report ${info.name} writes one)`));
  return links;
}

// ---- charts ----------------------------------------------------------------

const charts = new Map<string, { figure: HTMLElement; view: import('vega').View; rows: number }>();
let chartArea: HTMLElement | undefined;

async function applyChart(update: ChartUpdate): Promise<void> {
  if (chartArea === undefined) return;
  if (update.kind === 'remove') {
    charts.get(update.id)?.view.finalize();
    charts.get(update.id)?.figure.remove();
    charts.delete(update.id);
    return;
  }
  if (update.kind === 'rows') {
    const chart = charts.get(update.id);
    if (chart === undefined) return;
    chart.rows += update.rows.length;
    chart.figure.dataset.rows = String(chart.rows);
    // resize(): new rows can widen the axis labels, and the chart's padding must follow them.
    await chart.view.insert('table', update.rows).resize().runAsync();
    return;
  }
  const { id, caption, spec, rows } = update.chart;
  const old = charts.get(id);
  const container = element('div', { class: 'vega' });
  const figure = element(
    'figure',
    { class: 'chart', id: `chart-${id}`, 'data-chart': id, 'data-rows': String(rows.length) },
    container,
    element('figcaption', {}, caption),
  );
  if (old !== undefined) {
    old.view.finalize();
    old.figure.replaceWith(figure);
  } else {
    chartArea.append(figure);
  }
  const chartView = new vega.View(vega.parse(spec as import('vega').Spec), { renderer: 'svg', container, hover: true });
  chartView.insert('table', rows);
  charts.set(id, { figure, view: chartView, rows: rows.length });
  await chartView.runAsync();
}

function orderCharts(order: string[]): void {
  if (chartArea === undefined) return;
  for (const id of order) {
    const chart = charts.get(id);
    if (chart !== undefined) chartArea.append(chart.figure);
  }
}

// ---- try the model -----------------------------------------------------------

let ortModule: Promise<Ort> | undefined;
let session: Promise<Session> | undefined;

function loadOrt(): Promise<Ort> {
  // A variable, so the compiler leaves this URL to the browser.
  const url = '/vendor/ort/ort.wasm.bundle.min.mjs';
  ortModule ??= (import(url) as Promise<Ort>).then((ort) => {
    ort.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page; one thread is plenty for one image
    ort.env.wasm.wasmPaths = '/vendor/ort/';
    return ort;
  });
  return ortModule;
}

/** The image as the model's input: resized to its size, grey if it takes one channel, scaled and normalised as in training. */
function preprocess(image: ImageBitmap, model: ModelInfo, canvas: HTMLCanvasElement): Float32Array {
  const [channels, height, width] = model.inputShape as [number, number, number];
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.imageSmoothingQuality = 'high';
  context.drawImage(image, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height).data;
  const input = new Float32Array(channels * height * width);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    const [r, g, b] = [pixels[4 * i]!, pixels[4 * i + 1]!, pixels[4 * i + 2]!];
    for (let c = 0; c < channels; c++) {
      const value = channels === 1 ? (r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b) : [r, g, b][c]!;
      input[c * plane + i] = (value / 255 - model.normalization.mean[c]!) / model.normalization.std[c]!;
    }
  }
  return input;
}

async function classify(file: File, model: ModelInfo, panel: HTMLElement): Promise<void> {
  const status = panel.querySelector<HTMLElement>('.status')!;
  const list = panel.querySelector<HTMLOListElement>('ol')!;
  const canvas = panel.querySelector<HTMLCanvasElement>('canvas')!;
  list.replaceChildren();
  panel.dataset.state = 'working';
  try {
    status.textContent = 'loading the model (exported to ONNX by the server, run here by onnxruntime-web)...';
    const ort = await loadOrt();
    session ??= ort.InferenceSession.create(`/api/model.onnx?path=${encodeURIComponent(path)}`, { executionProviders: ['wasm'] });
    const model_ = await session;
    const image = await createImageBitmap(file);
    const input = preprocess(image, model, canvas);
    const started = performance.now();
    const output = await model_.run({ input: new ort.Tensor('float32', input, [1, ...model.inputShape]) });
    const ms = performance.now() - started;
    const logits = Array.from(output.logits!.data as Float32Array);
    const top = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - top));
    const total = exp.reduce((a, b) => a + b, 0);
    const ranked = exp
      .map((e, i) => ({ i, p: e / total }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 5);
    for (const { i, p } of ranked) {
      list.append(
        element(
          'li',
          { 'data-class': model.classes[i]!, 'data-index': String(i), 'data-probability': String(p), 'data-logit': String(logits[i]) },
          `${model.classes[i]} `,
          element('span', { class: 'muted' }, `${(100 * p).toFixed(1)}%`),
        ),
      );
    }
    status.textContent = `${file.name}: classified in ${ms.toFixed(1)} ms by ${model.model} in this browser.`;
    panel.dataset.state = 'done';
  } catch (error) {
    status.textContent = `could not classify it: ${(error as Error).message}`;
    panel.dataset.state = 'failed';
  }
}

function tryPanel(model: ModelInfo): HTMLElement {
  const input = element('input', { type: 'file', accept: 'image/*', id: 'try-file' });
  const panel = element(
    'section',
    { id: 'try' },
    element('h2', {}, 'Try the model'),
    element(
      'p',
      { class: 'muted' },
      `Drop an image here (or choose one): it is resized to ${model.inputShape[2]}x${model.inputShape[1]}` +
        `${model.inputShape[0] === 1 ? ', made grey' : ''} and classified in this browser. Classes: ${model.classes.join(', ')}.`,
    ),
    input,
    element('p', { class: 'status muted' }),
    element('div', {}, element('canvas', { width: '28', height: '28' }), element('ol')),
  );
  input.addEventListener('change', () => {
    if (input.files?.[0]) void classify(input.files[0], model, panel);
  });
  // The whole page takes the drop, so the image need not land exactly on the panel.
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    panel.classList.add('over');
  });
  document.addEventListener('dragleave', () => panel.classList.remove('over'));
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    panel.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void classify(file, model, panel);
  });
  return panel;
}

// ---- views -------------------------------------------------------------------

const info = element('div', { id: 'info' });
const table = element('div', { id: 'table' });
let tryArea: HTMLElement | undefined;
let rendered = false;

function layout(state: State): void {
  main.replaceChildren(info, table);
  if (state.view !== 'overview') {
    if (state.view === 'run') {
      tryArea = element('div', { id: 'try-area' });
      main.append(tryArea);
    }
    main.append(element('h2', {}, 'Charts'));
    chartArea = element('div', { class: 'charts', id: 'charts' });
    main.append(chartArea);
  }
  rendered = true;
}

async function render(state: State): Promise<void> {
  if (!rendered) layout(state);
  const where = document.getElementById('where')!;
  if (state.missing !== undefined) {
    info.replaceChildren(element('h1', {}, `${state.missing}: not found under the served folder`), link('/', 'all runs'));
    table.replaceChildren();
  } else if (state.view === 'overview') {
    where.textContent = state.root ?? '';
    info.replaceChildren(element('h1', {}, 'Experiments and runs'));
    if (state.experiments!.length === 0)
      info.append(element('p', { class: 'muted' }, 'No runs here yet: runs appear as soon as training starts writing them.'));
    table.replaceChildren(
      ...state.experiments!.flatMap((e) => [element('h2', {}, link(experimentHref(e.id), e.name)), reportLinks(e), runsTable(e.rows)]),
    );
  } else if (state.view === 'experiment') {
    const e = state.experiment!;
    where.textContent = e.name;
    info.replaceChildren(
      element('h1', {}, e.name),
      ...(e.command ? [element('p', { class: 'muted' }, element('code', {}, e.command))] : []),
      reportLinks(e),
    );
    table.replaceChildren(runsTable(state.rows!));
  } else {
    const row = state.row!;
    where.textContent = row.name;
    info.replaceChildren(
      element('h1', {}, row.name),
      element('p', {}, ...(state.experiment ? [link(experimentHref(state.experiment.id), `experiment ${state.experiment.name}`)] : [])),
    );
    table.replaceChildren(runsTable([row]));
    if (tryArea !== undefined && row.tryable && state.model !== undefined && tryArea.childElementCount === 0)
      tryArea.append(tryPanel(state.model));
  }
  for (const update of state.charts) await applyChart(update);
  orderCharts(state.order);
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
}

// State events are drawn one after another, so a chart's rows never arrive before the chart.
let queue = Promise.resolve();
const live = document.getElementById('live')!;
const events = new EventSource(`/api/events?view=${view}&path=${encodeURIComponent(path)}`);
events.addEventListener('state', (event) => {
  const state = JSON.parse((event as MessageEvent<string>).data) as State;
  queue = queue
    .then(() => render(state))
    .catch((error: unknown) => {
      live.textContent = `error: ${(error as Error).message}`;
    });
});
events.addEventListener('open', () => {
  live.textContent = 'live';
  live.classList.remove('off');
});
events.addEventListener('error', () => {
  live.textContent = 'disconnected (retrying)';
  live.classList.add('off');
});
