/**
 * How training shows itself: live progress bars on a terminal (one for the
 * run, one for the whole experiment), plain lines when output is not a
 * terminal, or JSON lines (--json) for machines. The trainer only talks to
 * the TrainingReporter interface.
 */
import cliProgress from 'cli-progress';

import type { EpochRecord, IterationRecord } from '../runs/index.js';

/** What a run says when it starts: its name, model, learning rate, length, and where a resumed run picks up. */
export interface RunStartInfo {
  name: string;
  model: string;
  lr: number;
  epochs: number;
  totalSteps: number;
  /** The step a resumed run continues from (0 for a new run). */
  startStep: number;
  /** The precision trained in and why, e.g. "bf16 (auto: the CPU computes bf16 natively (avx512_bf16), so bf16 autocast, channels-last)". */
  precision: string;
}

/** One training step as the progress display sees it: position, loss, the epoch's running accuracy, speed and time left. */
export interface StepInfo {
  /** The run's name (an experiment may train several at once). */
  run: string;
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

/** How the trainer shows its progress; it talks to nothing else. */
export interface TrainingReporter {
  /** A run starts (or resumes). */
  runStarted(info: RunStartInfo): void;
  /** Called after every step (bars and JSON lines throttle themselves; a parallel run's worker sends at most ten a second). */
  step(info: StepInfo): void;
  /** A window of `logEvery` steps was written to metrics.jsonl. */
  logged(run: string, record: IterationRecord): void;
  /** An epoch ended and was evaluated. */
  epochEnded(run: string, record: EpochRecord): void;
  /** A run ended: finished, stopped or diverged, with a line saying what next. */
  runEnded(name: string, status: string, detail: string): void;
  /** A line for the user (a capped thread count, a choice made). */
  message(line: string): void;
  /** For experiments: how many runs there are and how many are done. */
  experimentProgress?(done: number, total: number): void;
  /** Stops the display (bars are cleared from the terminal). */
  close(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One line per logged window and per epoch: for logs and pipes. */
export class PlainReporter implements TrainingReporter {
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}

  runStarted(info: RunStartInfo): void {
    this.write(
      `[${info.name}] ${info.model}, lr ${info.lr}, ${info.epochs} epochs, ${info.totalSteps} steps, ${info.precision}` +
        (info.startStep > 0 ? ` (resuming at step ${info.startStep})` : ''),
    );
  }

  step(): void {}

  logged(run: string, r: IterationRecord): void {
    this.write(
      `[${run}] epoch ${r.epoch + 1} step ${r.step}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toPrecision(3)}  ` +
        `${r.imagesPerSecond.toFixed(0)} images/s  data wait ${(100 * r.dataWaitShare).toFixed(1)}%`,
    );
  }

  epochEnded(run: string, r: EpochRecord): void {
    this.write(
      `[${run}] epoch ${r.epoch + 1} done in ${r.seconds.toFixed(1)} s: train loss ${r.trainLoss.toFixed(4)} ` +
        `accuracy ${(100 * r.trainAccuracy).toFixed(2)}%, test loss ${r.testLoss.toFixed(4)} accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ` +
        `${r.imagesPerSecond.toFixed(0)} images/s, data wait ${(100 * r.dataWaitShare).toFixed(1)}%`,
    );
  }

  runEnded(name: string, status: string, detail: string): void {
    this.write(`[${name}] ${status}: ${detail}`);
  }

  message(line: string): void {
    this.write(line);
  }

  experimentProgress(done: number, total: number): void {
    this.write(`experiment: ${done} of ${total} runs done`);
  }

  close(): void {}
}

/** Every event as one JSON line on stdout. */
export class JsonReporter implements TrainingReporter {
  readonly #lastStepLog = new Map<string, number>();
  #emit(event: string, data: object): void {
    console.log(JSON.stringify({ event, ...data }));
  }

  runStarted(info: RunStartInfo): void {
    this.#emit('runStarted', info);
  }

  step(info: StepInfo): void {
    const now = Date.now();
    if (now - (this.#lastStepLog.get(info.run) ?? 0) < 1000 && info.step !== info.totalSteps) return;
    this.#lastStepLog.set(info.run, now);
    this.#emit('step', info);
  }

  logged(run: string, record: IterationRecord): void {
    this.#emit('iteration', { run, ...record });
  }

  epochEnded(run: string, record: EpochRecord): void {
    this.#emit('epoch', { run, ...record });
  }

  runEnded(name: string, status: string, detail: string): void {
    this.#emit('runEnded', { name, status, detail });
  }

  message(line: string): void {
    this.#emit('message', { line });
  }

  experimentProgress(done: number, total: number): void {
    this.#emit('experiment', { done, total });
  }

  close(): void {}
}

/** Live bars on a terminal: one per run in progress (epoch, step, loss, accuracy, images/s, ETA) and one for the experiment. */
export class TtyReporter implements TrainingReporter {
  readonly #bars = new cliProgress.MultiBar(
    {
      format: '{label} |{bar}| {percentage}% {value}/{total} {detail}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  readonly #runs = new Map<string, cliProgress.SingleBar>();
  #experiment: cliProgress.SingleBar | undefined;

  runStarted(info: RunStartInfo): void {
    this.#bars.log(`[${info.name}] ${info.model}, lr ${info.lr}, ${info.epochs} epochs, ${info.precision}\n`);
    this.#runs.set(info.name, this.#bars.create(info.totalSteps, info.startStep, { label: info.name.padEnd(24).slice(0, 24), detail: '' }));
  }

  step(i: StepInfo): void {
    this.#runs.get(i.run)?.update(i.step, {
      detail: `epoch ${i.epoch + 1} loss ${i.loss.toFixed(4)} acc ${(100 * i.accuracy).toFixed(1)}% ${i.imagesPerSecond.toFixed(0)} img/s ETA ${formatEta(i.etaSeconds)}`,
    });
  }

  logged(): void {}

  epochEnded(run: string, r: EpochRecord): void {
    this.#bars.log(
      `[${run}] epoch ${r.epoch + 1}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ` +
        `train loss ${r.trainLoss.toFixed(4)}, ${r.imagesPerSecond.toFixed(0)} images/s, data wait ${(100 * r.dataWaitShare).toFixed(1)}%\n`,
    );
  }

  runEnded(name: string, status: string, detail: string): void {
    this.#bars.log(`[${name}] ${status}: ${detail}\n`);
    const bar = this.#runs.get(name);
    if (bar !== undefined) {
      bar.stop();
      this.#bars.remove(bar);
      this.#runs.delete(name);
    }
  }

  message(line: string): void {
    this.#bars.log(`${line}\n`);
  }

  experimentProgress(done: number, total: number): void {
    if (this.#experiment === undefined) {
      this.#experiment = this.#bars.create(total, done, { label: 'experiment'.padEnd(24), detail: 'runs' });
    }
    this.#experiment.update(done);
  }

  close(): void {
    this.#bars.stop();
  }
}

/** JSON lines with `json`; else live bars on a terminal and plain lines elsewhere. */
export function createReporter(json: boolean): TrainingReporter {
  if (json) return new JsonReporter();
  return process.stdout.isTTY ? new TtyReporter() : new PlainReporter();
}
