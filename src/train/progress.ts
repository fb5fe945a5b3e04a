/**
 * How training shows itself: live progress bars on a terminal (one for the
 * run, one for the whole experiment), plain lines when output is not a
 * terminal, or JSON lines (--json) for machines. The trainer only talks to
 * the TrainingReporter interface.
 */
import cliProgress from 'cli-progress';

import type { EpochRecord, IterationRecord } from '../runs/index.js';

export interface RunStartInfo {
  name: string;
  model: string;
  lr: number;
  epochs: number;
  totalSteps: number;
  startStep: number;
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface TrainingReporter {
  runStarted(info: RunStartInfo): void;
  /** Called after every step (cheap: bars throttle themselves). */
  step(info: StepInfo): void;
  logged(record: IterationRecord): void;
  epochEnded(record: EpochRecord): void;
  runEnded(name: string, status: string, detail: string): void;
  message(line: string): void;
  /** For experiments: how many runs there are and which one is starting. */
  experimentProgress?(done: number, total: number): void;
  close(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One line per logged window and per epoch: for logs and pipes. */
export class PlainReporter implements TrainingReporter {
  #name = '';
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}

  runStarted(info: RunStartInfo): void {
    this.#name = info.name;
    this.write(`[${info.name}] ${info.model}, lr ${info.lr}, ${info.epochs} epochs, ${info.totalSteps} steps` +
      (info.startStep > 0 ? ` (resuming at step ${info.startStep})` : ''));
  }

  step(): void {}

  logged(r: IterationRecord): void {
    this.write(`[${this.#name}] epoch ${r.epoch + 1} step ${r.step}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toPrecision(3)}  ` +
      `${r.imagesPerSecond.toFixed(0)} images/s  data wait ${(100 * r.dataWaitShare).toFixed(1)}%`);
  }

  epochEnded(r: EpochRecord): void {
    this.write(`[${this.#name}] epoch ${r.epoch + 1} done in ${r.seconds.toFixed(1)} s: train loss ${r.trainLoss.toFixed(4)} ` +
      `accuracy ${(100 * r.trainAccuracy).toFixed(2)}%, test loss ${r.testLoss.toFixed(4)} accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ` +
      `${r.imagesPerSecond.toFixed(0)} images/s, data wait ${(100 * r.dataWaitShare).toFixed(1)}%`);
  }

  runEnded(name: string, status: string, detail: string): void {
    this.write(`[${name}] ${status}: ${detail}`);
  }

  message(line: string): void {
    this.write(line);
  }

  experimentProgress(done: number, total: number): void {
    if (done < total) this.write(`experiment: run ${done + 1} of ${total}`);
  }

  close(): void {}
}

/** Every event as one JSON line on stdout. */
export class JsonReporter implements TrainingReporter {
  #lastStepLog = 0;
  #emit(event: string, data: object): void {
    console.log(JSON.stringify({ event, ...data }));
  }

  runStarted(info: RunStartInfo): void {
    this.#emit('runStarted', info);
  }

  step(info: StepInfo): void {
    const now = Date.now();
    if (now - this.#lastStepLog < 1000 && info.step !== info.totalSteps) return;
    this.#lastStepLog = now;
    this.#emit('step', info);
  }

  logged(record: IterationRecord): void {
    this.#emit('iteration', record);
  }

  epochEnded(record: EpochRecord): void {
    this.#emit('epoch', record);
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

/** Live bars on a terminal: the current run (epoch, step, loss, accuracy, images/s, ETA) and the experiment. */
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
  #run: cliProgress.SingleBar | undefined;
  #experiment: cliProgress.SingleBar | undefined;
  #name = '';

  runStarted(info: RunStartInfo): void {
    this.#name = info.name;
    this.#run = this.#bars.create(info.totalSteps, info.startStep, { label: info.name.padEnd(24).slice(0, 24), detail: '' });
  }

  step(i: StepInfo): void {
    this.#run?.update(i.step, {
      detail: `epoch ${i.epoch + 1} loss ${i.loss.toFixed(4)} acc ${(100 * i.accuracy).toFixed(1)}% ${i.imagesPerSecond.toFixed(0)} img/s ETA ${formatEta(i.etaSeconds)}`,
    });
  }

  logged(): void {}

  epochEnded(r: EpochRecord): void {
    this.#bars.log(`[${this.#name}] epoch ${r.epoch + 1}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ` +
      `train loss ${r.trainLoss.toFixed(4)}, ${r.imagesPerSecond.toFixed(0)} images/s, data wait ${(100 * r.dataWaitShare).toFixed(1)}%\n`);
  }

  runEnded(name: string, status: string, detail: string): void {
    this.#bars.log(`[${name}] ${status}: ${detail}\n`);
    if (this.#run !== undefined) {
      this.#run.stop();
      this.#bars.remove(this.#run);
      this.#run = undefined;
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

export function createReporter(json: boolean): TrainingReporter {
  if (json) return new JsonReporter();
  return process.stdout.isTTY ? new TtyReporter() : new PlainReporter();
}
