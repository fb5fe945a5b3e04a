/**
 * A worker process of `experiment --parallel-runs`: trains the runs its
 * parent sends, one at a time, each exactly as `train` would alone (same
 * seed, same data order), with its share of the threads. Progress goes to
 * the parent as reporter calls over IPC; the parent asks it to stop (Ctrl-C
 * reaches the parent), so a SIGINT of the terminal's own is ignored here.
 */
import type { DatasetSplits } from '../data/index.js';
import type { RunSummary, TrainConfig } from '../runs/index.js';
import type { StepInfo, TrainingReporter } from './progress.js';
import { type StopFlag, train } from './trainer.js';

/** What the parent sends. */
export type WorkerRequest =
  { type: 'train'; plan: TrainConfig; resume: boolean; tensorboard?: string; concurrentRuns: number } | { type: 'stop' };

/** What the worker sends back. */
export type WorkerReply =
  | { type: 'report'; method: keyof TrainingReporter; args: unknown[] }
  | { type: 'done'; summary: RunSummary }
  | { type: 'failed'; message: string; stack?: string };

/** Sends to the parent while it is there; a parent gone mid-send (EPIPE) is the disconnect below, not an error to print. */
function send(reply: WorkerReply): void {
  if (process.connected) process.send?.(reply, undefined, undefined, () => undefined);
}

/** Steps are reported at most this often: a small network's steps take milliseconds, and each report is an IPC message. */
const STEP_REPORT_MS = 100;
let lastStepReport = 0;

/** A reporter whose calls are forwarded to the parent's reporter (steps throttled, the last one of a run always sent). */
const remoteReporter = new Proxy({} as TrainingReporter, {
  get:
    (_, method: keyof TrainingReporter) =>
    (...args: unknown[]) => {
      if (method === 'close') return;
      if (method === 'step') {
        const { step, totalSteps } = args[0] as StepInfo;
        const now = Date.now();
        if (now - lastStepReport < STEP_REPORT_MS && step !== totalSteps) return;
        lastStepReport = now;
      }
      send({ type: 'report', method, args });
    },
});

const stop: StopFlag = { requested: false };
/** This worker's datasets, loaded once for all the runs it trains. */
const datasets = new Map<string, DatasetSplits>();

/** Whether a run is training: a parent that goes away then gets its checkpoint first. */
let training = false;

async function trainOne(request: Extract<WorkerRequest, { type: 'train' }>): Promise<void> {
  training = true;
  try {
    const summary = await train(request.plan, {
      reporter: remoteReporter,
      stop,
      resume: request.resume,
      tensorboard: request.tensorboard,
      datasets,
      concurrentRuns: request.concurrentRuns,
    });
    send({ type: 'done', summary });
  } catch (error) {
    send({
      type: 'failed',
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
  } finally {
    training = false;
    if (!process.connected) process.exit();
  }
}

process.on('SIGINT', () => {});
// The parent is gone (it quit on a second Ctrl-C, or was killed): the run in training stops after its step with a checkpoint,
// which --resume continues from, and the worker exits quietly.
process.on('disconnect', () => {
  stop.requested = true;
  if (!training) process.exit();
});
process.on('message', (request: WorkerRequest) => {
  if (request.type === 'stop') stop.requested = true;
  else void trainOne(request);
});
