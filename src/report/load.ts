/**
 * Reads what the report shows from run directories only: an experiment
 * directory (experiment.json and one folder per run) or a single run
 * directory. Missing pieces (a diverged run's evaluation, a stopped run's
 * later epochs) are recorded as such, never guessed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import type { z } from 'zod';

import { previewJson } from '../io/json.js';
import {
  DEFAULT_TRAIN_CONFIG,
  ENVIRONMENT_SCHEMA,
  EVALUATION_SCHEMA,
  EXPERIMENT_FILE,
  MAX_NOTES,
  MODEL_INFO_SCHEMA,
  LANDSCAPE_SCHEMA,
  PREDICTIONS_SCHEMA,
  boundedNote,
  type EnvironmentRecord,
  type EpochRecord,
  type EvaluationFile,
  type ExperimentForecast,
  FORECAST_FILE,
  type GradientRecord,
  type IterationRecord,
  type LandscapeFile,
  type ModelInfo,
  type Predictions,
  RunDirectory,
  type StatusFile,
  type TrainConfig,
  settingProblems,
} from '../runs/index.js';

/**
 * A run directory as the report reads it: its configuration, model description, status, metric records, and the evaluation, environment, predictions
 * and landscape where present.
 */
export interface RunData {
  name: string;
  dir: string;
  config: TrainConfig;
  model: ModelInfo;
  status: StatusFile;
  iterations: IterationRecord[];
  epochs: EpochRecord[];
  gradients: GradientRecord[];
  evaluation?: EvaluationFile;
  /** Where the run trained (runs made before it was recorded have none). */
  environment?: EnvironmentRecord;
  /** The final evaluation's per-image predictions (runs made before they were recorded have none). */
  predictions?: Predictions;
  /** The loss landscape around the trained weights, where one was computed (skipstudio landscape, or the depth study). */
  landscape?: LandscapeFile;
}

/** An experiment directory (or a single run) as the report reads it: its name, command, notes, forecast and runs. */
export interface ExperimentData {
  dir: string;
  name: string;
  command?: string;
  /** Why the experiment is set up as it is (experiment.json's notes). */
  notes?: string[];
  /** The forecast printed before training, with the actual times once the experiment ended (forecast.json; older experiments have none). */
  forecast?: ExperimentForecast;
  runs: RunData[];
}

function loadRun(path: string): RunData {
  const dir = new RunDirectory(path);
  const records = dir.records();
  const optional = <T>(name: string, schema: z.ZodType<T, unknown>) =>
    existsSync(dir.file(name)) ? dir.readRecord(name, schema) : undefined;
  return {
    name: basename(path),
    dir: path,
    config: runConfig(dir),
    model: dir.readRecord('model.json', MODEL_INFO_SCHEMA),
    status: existsSync(dir.file('status.json'))
      ? dir.status()
      : { status: 'running', epochsDone: 0, step: 0, totalSteps: 0, wallSeconds: 0, updatedAt: '' },
    iterations: records.filter((r): r is IterationRecord => r.type === 'iteration'),
    epochs: records.filter((r): r is EpochRecord => r.type === 'epoch'),
    gradients: records.filter((r): r is GradientRecord => r.type === 'gradients'),
    evaluation: optional('eval.json', EVALUATION_SCHEMA),
    predictions: optional('predictions.json', PREDICTIONS_SCHEMA),
    environment: optional('environment.json', ENVIRONMENT_SCHEMA),
    landscape: optional('landscape.json', LANDSCAPE_SCHEMA),
  };
}

/**
 * A run's config.json over the defaults (settings added after a run was made take their defaults, so older runs still
 * report), each value checked by the settings table: a config of [] or an edited value is an error naming the file.
 */
function runConfig(dir: RunDirectory): TrainConfig {
  const path = dir.file('config.json');
  const saved = dir.readJson<unknown>('config.json');
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved))
    throw new Error(`${path} must hold a JSON object of settings, not ${previewJson(saved)}`);
  const config = { ...DEFAULT_TRAIN_CONFIG, ...saved } as TrainConfig;
  // Settings a later version dropped are no reason not to report a run.
  const problems = settingProblems(config as unknown as Record<string, unknown>).filter((p) => !p.startsWith('unknown setting'));
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return config;
}

/** Whether a path is a folder; a dangling link or a loop of links (a stray entry, not a run) is not. */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Refuses a folder whose runs trained on different data (another dataset, or other classes): their accuracies are not comparable, so they are
 * never seeds or rows of one table. Each can be reported as an experiment of its own, side by side.
 */
function checkOneDataset(path: string, runs: RunData[]): void {
  const dataOf = (r: RunData) => `${r.config.dataset}, ${r.model.classes.length} classes (${r.model.classes.join(', ')})`;
  const kinds = new Map<string, RunData[]>();
  for (const run of runs) kinds.set(dataOf(run), [...(kinds.get(dataOf(run)) ?? []), run]);
  if (kinds.size <= 1) return;
  const listed = [...kinds.entries()].map(([data, members]) => `${members.map((r) => r.name).join(', ')}: ${data}`).join('; ');
  throw new Error(
    `${path} holds runs trained on different data (${listed}); a report compares runs on one dataset. ` +
      "Move each dataset's runs into a folder of their own, then report the folders side by side: skipstudio report FOLDER1 FOLDER2",
  );
}

/** Loads an experiment directory, or a single run directory as a one-run experiment. */
export function loadExperiment(path: string): ExperimentData {
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  if (new RunDirectory(path).exists()) return { dir: path, name: basename(path), runs: [loadRun(path)] };
  const runDirs = readdirSync(path)
    .map((entry) => join(path, entry))
    .filter((p) => isFolder(p) && new RunDirectory(p).exists());
  if (runDirs.length === 0) throw new Error(`${path} holds no run directories (folders with a config.json written by skipstudio train)`);
  const experimentFile = join(path, EXPERIMENT_FILE);
  let command: string | undefined;
  let notes: string[] | undefined;
  let order: string[] | undefined;
  if (existsSync(experimentFile)) {
    const experiment = new RunDirectory(path).readJson<{ command?: string; notes?: string[]; runs?: string[] }>(EXPERIMENT_FILE);
    // Only text is laid out, and only so much of it: an edited experiment.json cannot make the PDF take minutes.
    command = typeof experiment.command === 'string' ? boundedNote(experiment.command) : undefined;
    notes = Array.isArray(experiment.notes)
      ? experiment.notes
          .filter((n) => typeof n === 'string')
          .slice(0, MAX_NOTES)
          .map(boundedNote)
      : undefined;
    order = experiment.runs?.map((r) => basename(r));
  }
  const runs = runDirs.map(loadRun);
  checkOneDataset(path, runs);
  if (order !== undefined) runs.sort((a, b) => order!.indexOf(a.name) - order!.indexOf(b.name));
  const forecast = existsSync(join(path, FORECAST_FILE)) ? new RunDirectory(path).readJson<ExperimentForecast>(FORECAST_FILE) : undefined;
  return { dir: path, name: basename(path), command, notes, forecast, runs };
}
