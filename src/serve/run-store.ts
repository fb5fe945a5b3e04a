/**
 * What the dashboard knows of a folder of runs, kept current while runs
 * train. It finds experiments (folders of run directories) and runs up to two
 * levels below the served folder, follows each run's metrics.jsonl by its
 * appended bytes (MetricsTail), and re-reads the small JSON records
 * (config, model, status, evaluation) only when their modification time
 * changes. File-system events make it look at once; a once-a-second look
 * catches what events miss (and a training process that died). It reads,
 * never writes: nothing under the folder changes because it is served.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, existsSync, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';

import type { RunData } from '../report/load.js';
import {
  DEFAULT_TRAIN_CONFIG,
  EXPERIMENT_FILE,
  type EpochRecord,
  type EvaluationFile,
  type GradientRecord,
  type IterationRecord,
  type MetricRecord,
  type ModelInfo,
  RunDirectory,
  type StatusFile,
  type TrainConfig,
} from '../runs/index.js';
import { MetricsTail } from './metrics-tail.js';

/** A run's series the dashboard keeps at most: more points than a chart has pixels only cost memory and time. */
export const MAX_ITERATION_POINTS = 4000;
export const MAX_GRADIENT_POINTS = 500;
export const MAX_EPOCH_POINTS = 4000;

/** Every other element (the first and last always kept) until at most max remain: the curve's shape, in bounded memory. */
export function thinned<T>(values: T[], max: number): T[] {
  let kept = values;
  while (kept.length > max) kept = kept.filter((_, i) => i % 2 === 0 || i === kept.length - 1);
  return kept;
}

export interface RunState {
  /** Path relative to the served folder, with '/' separators ('.' when the folder is itself a run). */
  id: string;
  experimentId: string;
  name: string;
  dir: RunDirectory;
  config?: TrainConfig;
  model?: ModelInfo;
  status?: StatusFile;
  evaluation?: EvaluationFile;
  iterations: IterationRecord[];
  epochs: EpochRecord[];
  gradients: GradientRecord[];
  /** Problems met reading the run (a bad metrics line, an unreadable record): shown, never fatal. */
  errors: string[];
  tail: MetricsTail;
  mtimes: Map<string, number>;
}

export interface ExperimentState {
  /** Path relative to the served folder ('.' for the folder itself). */
  id: string;
  name: string;
  path: string;
  command?: string;
  /** Run ids in the experiment's order (experiment.json's, else by name). */
  runIds: string[];
  /** Served paths of report.html and report.pdf where they exist. */
  reports: { html?: string; pdf?: string };
}

/** The served-folder-relative id of a path, '/'-separated. */
function idOf(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === '' ? '.' : rel.split(sep).join('/');
}

function mtimeOf(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs;
}

/** Sub-folders of dir that really lie inside root (a symlink out of the served folder is not followed). */
function subfolders(root: string, dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    try {
      if (!statSync(path).isDirectory()) continue;
      const real = realpathSync(path);
      if (real !== root && !real.startsWith(root + sep)) continue;
    } catch {
      continue;
    }
    out.push(path);
  }
  return out;
}

export class RunStore extends EventEmitter {
  /** The served folder, resolved (symlinks included). */
  readonly root: string;
  readonly #runs = new Map<string, RunState>();
  readonly #experiments = new Map<string, ExperimentState>();
  readonly #watchers = new Map<string, FSWatcher>();
  /** Each experiment.json's modification time and run order, so it is read again only when it changes. */
  readonly #experimentFiles = new Map<string, { mtime: number | undefined; order: string[] }>();
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;

  constructor(root: string) {
    super();
    if (!existsSync(root) || !statSync(root).isDirectory())
      throw new Error(`${root} is not a folder: give the folder of runs (train and experiment write theirs under runs/)`);
    this.root = realpathSync(root);
    this.scan();
    this.refresh();
  }

  experiments(): ExperimentState[] {
    return [...this.#experiments.values()];
  }

  experiment(id: string): ExperimentState | undefined {
    return this.#experiments.get(id);
  }

  run(id: string): RunState | undefined {
    return this.#runs.get(id);
  }

  runsOf(experiment: ExperimentState): RunState[] {
    return experiment.runIds.map((id) => this.#runs.get(id)).filter((r): r is RunState => r !== undefined);
  }

  /** Finds experiments and runs: the folder itself, its sub-folders and theirs. */
  scan(): void {
    const groups = new Map<string, string[]>();
    const add = (experimentDir: string, runDir: string) => groups.set(experimentDir, [...(groups.get(experimentDir) ?? []), runDir]);
    const isRun = (path: string) => new RunDirectory(path).exists();
    if (isRun(this.root)) {
      add(this.root, this.root);
    } else {
      for (const child of subfolders(this.root, this.root)) {
        if (isRun(child)) {
          add(this.root, child);
          continue;
        }
        for (const grandchild of subfolders(this.root, child)) if (isRun(grandchild)) add(child, grandchild);
      }
    }
    const seen = new Set<string>();
    for (const [experimentDir, runDirs] of groups) {
      const id = idOf(this.root, experimentDir);
      const experiment = this.#experiments.get(id) ?? { id, name: basename(experimentDir), path: experimentDir, runIds: [], reports: {} };
      this.#readExperiment(experiment, runDirs);
      this.#experiments.set(id, experiment);
      seen.add(id);
      this.#watch(experimentDir);
      for (const runDir of runDirs) {
        const runId = idOf(this.root, runDir);
        if (!this.#runs.has(runId)) {
          this.#runs.set(runId, {
            id: runId,
            experimentId: id,
            name: basename(runDir),
            dir: new RunDirectory(runDir),
            iterations: [],
            epochs: [],
            gradients: [],
            errors: [],
            tail: new MetricsTail(join(runDir, 'metrics.jsonl')),
            mtimes: new Map(),
          });
        }
        this.#watch(runDir);
      }
    }
    for (const id of this.#experiments.keys()) if (!seen.has(id)) this.#experiments.delete(id);
    const live = new Set(this.experiments().flatMap((e) => e.runIds));
    for (const id of this.#runs.keys()) if (!live.has(id)) this.#runs.delete(id);
    this.#watch(this.root);
  }

  #readExperiment(experiment: ExperimentState, runDirs: string[]): void {
    const file = join(experiment.path, EXPERIMENT_FILE);
    const mtime = experiment.path === runDirs[0] ? undefined : mtimeOf(file);
    const known = this.#experimentFiles.get(experiment.id);
    if (known === undefined || mtime !== known.mtime) {
      let order: string[] = [];
      if (mtime !== undefined) {
        try {
          const json = new RunDirectory(experiment.path).readJson<{ command?: string; runs?: string[] }>(EXPERIMENT_FILE);
          experiment.command = json.command;
          order = (json.runs ?? []).map((r) => basename(r));
        } catch {
          // Being written this instant: read on the next look.
        }
      }
      this.#experimentFiles.set(experiment.id, { mtime, order });
    }
    const order = this.#experimentFiles.get(experiment.id)!.order;
    const rank = (dir: string) => {
      const i = order.indexOf(basename(dir));
      return i < 0 ? order.length : i;
    };
    experiment.runIds = [...runDirs].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((d) => idOf(this.root, d));
    const reports: ExperimentState['reports'] = {};
    for (const [kind, name] of [
      ['html', 'report.html'],
      ['pdf', 'report.pdf'],
    ] as const) {
      if (existsSync(join(experiment.path, name))) reports[kind] = idOf(this.root, join(experiment.path, name));
    }
    experiment.reports = reports;
  }

  #watch(dir: string): void {
    if (this.#watchers.has(dir) || this.#timer === undefined) return;
    try {
      const watcher = watch(dir, { persistent: false }, () => this.#lookSoon());
      watcher.on('error', () => {
        watcher.close();
        this.#watchers.delete(dir);
      });
      this.#watchers.set(dir, watcher);
    } catch {
      // No events for this folder (e.g. out of inotify watches): the periodic look still sees it.
    }
  }

  /** Reads what changed in every run; returns the ids of the runs that changed. */
  refresh(): Set<string> {
    const changed = new Set<string>();
    for (const run of this.#runs.values()) if (this.#refreshRun(run)) changed.add(run.id);
    return changed;
  }

  /** Whether a small record file changed since it was last read (and remembers its new time). */
  #changedFile(run: RunState, name: string): boolean {
    const mtime = mtimeOf(run.dir.file(name));
    if (mtime === run.mtimes.get(name)) return false;
    if (mtime === undefined) run.mtimes.delete(name);
    else run.mtimes.set(name, mtime);
    return true;
  }

  #readRecord<T>(run: RunState, name: string, read: () => T): T | undefined {
    if (!existsSync(run.dir.file(name))) return undefined;
    try {
      return read();
    } catch (error) {
      this.#error(run, (error as Error).message);
      return undefined;
    }
  }

  #error(run: RunState, message: string): void {
    if (!run.errors.includes(message)) run.errors.push(message);
    if (run.errors.length > 20) run.errors.splice(0, run.errors.length - 20);
  }

  #refreshRun(run: RunState): boolean {
    let changed = false;
    if (this.#changedFile(run, 'config.json')) {
      const config = this.#readRecord(run, 'config.json', () => run.dir.readJson<Partial<TrainConfig>>('config.json'));
      // Settings added after a run was made take their defaults, as the report reads them.
      run.config = config === undefined ? undefined : { ...DEFAULT_TRAIN_CONFIG, ...config };
      changed = true;
    }
    if (this.#changedFile(run, 'model.json')) {
      run.model = this.#readRecord(run, 'model.json', () => run.dir.readJson<ModelInfo>('model.json'));
      changed = true;
    }
    if (this.#changedFile(run, 'eval.json')) {
      run.evaluation = this.#readRecord(run, 'eval.json', () => run.dir.readJson<EvaluationFile>('eval.json'));
      changed = true;
    }
    // While a run is running, status() is asked on every look: it also notices a writer that died, which changes no file.
    if (this.#changedFile(run, 'status.json') || run.status?.status === 'running') {
      const before = run.status === undefined ? '' : `${run.status.status}:${run.status.updatedAt}`;
      run.status = this.#readRecord(run, 'status.json', () => run.dir.status());
      if ((run.status === undefined ? '' : `${run.status.status}:${run.status.updatedAt}`) !== before) changed = true;
    }
    let read;
    try {
      read = run.tail.read();
    } catch (error) {
      this.#error(run, `${run.tail.path}: ${(error as Error).message}`);
      return true;
    }
    if (read.reset) {
      run.iterations = [];
      run.epochs = [];
      run.gradients = [];
      changed = true;
    }
    for (const error of read.errors) {
      this.#error(run, error);
      changed = true;
    }
    if (read.records.length > 0) {
      this.#add(run, read.records);
      changed = true;
    }
    return changed;
  }

  #add(run: RunState, records: MetricRecord[]): void {
    for (const record of records) {
      if (record.type === 'iteration') run.iterations.push(record);
      else if (record.type === 'epoch') run.epochs.push(record);
      else if (record.type === 'gradients') run.gradients.push(record);
    }
    run.iterations = thinned(run.iterations, MAX_ITERATION_POINTS);
    run.gradients = thinned(run.gradients, MAX_GRADIENT_POINTS);
    run.epochs = thinned(run.epochs, MAX_EPOCH_POINTS);
  }

  /**
   * The run as the report's charts take it, once it has its config and
   * model description (a run that has only just started has not).
   */
  runData(run: RunState): RunData | undefined {
    if (run.config === undefined || run.model === undefined) return undefined;
    return {
      name: run.name,
      dir: run.dir.path,
      config: run.config,
      model: run.model,
      status: run.status ?? { status: 'running', epochsDone: 0, step: 0, totalSteps: 0, wallSeconds: 0, updatedAt: '' },
      iterations: run.iterations,
      epochs: run.epochs,
      gradients: run.gradients,
      evaluation: run.evaluation,
    };
  }

  /** Looks at the folder now and then every `intervalMs`, and on file-system events; emits 'change' with the changed run ids. */
  start(intervalMs = 1000): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#look(), intervalMs);
    this.#timer.unref();
    this.scan();
  }

  #lookSoon(): void {
    if (this.#soon !== undefined) return;
    // Events come in bursts (an append, a status rename): one look for the burst.
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#look();
    }, 50);
    this.#soon.unref();
  }

  #look(): void {
    const experimentsBefore = JSON.stringify(this.experiments().map((e) => [e.id, e.runIds, e.reports]));
    this.scan();
    const changed = this.refresh();
    const layoutChanged = JSON.stringify(this.experiments().map((e) => [e.id, e.runIds, e.reports])) !== experimentsBefore;
    if (changed.size > 0 || layoutChanged) this.emit('change', changed);
  }

  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    this.#timer = undefined;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
