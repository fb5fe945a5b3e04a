/**
 * The run directory: everything a training run writes and the report reads.
 *
 *   config.json        the resolved configuration
 *   model.json         model name, learnable layers, parameters, FLOPs, gradient-flow layer names
 *   metrics.jsonl      one JSON record per line: iteration windows, epochs, gradient norms, divergence
 *   status.json        running | finished | stopped | diverged, with counters and timings
 *   eval.json          accuracy, per-class accuracy, confusion matrix on the test split
 *   predictions.json   every test image's true and predicted class (for paired tests between runs)
 *   checkpoints/last.safetensors   the last good checkpoint (atomic)
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../io/index.js';

export type RunStatus = 'running' | 'finished' | 'stopped' | 'diverged';

export interface StatusFile {
  status: RunStatus;
  epochsDone: number;
  step: number;
  totalSteps: number;
  wallSeconds: number;
  divergedAt?: { epoch: number; step: number; loss: number };
  message?: string;
  updatedAt: string;
}

export interface IterationRecord {
  type: 'iteration';
  epoch: number;
  step: number;
  /** Training loss averaged over the window of iterations ending at this step. */
  loss: number;
  lr: number;
  imagesPerSecond: number;
  dataWaitShare: number;
}

export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  dataWaitShare: number;
}

export interface GradientRecord {
  type: 'gradients';
  epoch: number;
  step: number;
  /** Norm of each weight's gradient, in the order of model.json's gradientLayers (null: the weight got no gradient). */
  norms: (number | null)[];
}

export interface DivergedRecord {
  type: 'diverged';
  epoch: number;
  step: number;
  loss: number;
}

/** The final evaluation's prediction for every test image, in the test split's order. */
export interface Predictions {
  split: 'test';
  labels: number[];
  predicted: number[];
}

export type MetricRecord = IterationRecord | EpochRecord | GradientRecord | DivergedRecord;

export class RunDirectory {
  constructor(readonly path: string) {}

  file(name: string): string {
    return join(this.path, name);
  }

  get checkpointPath(): string {
    return this.file('checkpoints/last.safetensors');
  }

  exists(): boolean {
    return existsSync(this.file('config.json'));
  }

  create(): void {
    mkdirSync(this.file('checkpoints'), { recursive: true });
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.file(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  readJson<T>(name: string): T {
    const path = this.file(name);
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (error) {
      throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
    }
  }

  append(record: MetricRecord): void {
    appendFileSync(this.file('metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  records(): MetricRecord[] {
    const path = this.file('metrics.jsonl');
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricRecord);
  }

  /** Drops records written after a checkpoint's step, so a resumed run does not log them twice. */
  truncateRecords(step: number): void {
    const kept = this.records().filter((r) => r.step <= step && r.type !== 'diverged');
    writeFileAtomic(this.file('metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
