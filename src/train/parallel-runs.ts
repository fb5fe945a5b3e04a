/**
 * `experiment --parallel-runs N`: an experiment's runs trained N at a time
 * in worker processes (run-worker.ts), the threads divided between them.
 * Small networks use two threads poorly, so two one-thread runs side by side
 * finish sooner than the same runs one after another. Each run is the run
 * `train` makes alone (same seed, same data order); its progress reaches this
 * process's reporter; Ctrl-C stops every run after its step with a checkpoint,
 * and running the experiment again resumes them.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { RunSummary, TrainConfig } from '../runs/index.js';
import type { TrainingReporter } from './progress.js';
import type { WorkerReply, WorkerRequest } from './run-worker.js';
import type { StopFlag } from './trainer.js';

/** A run to train on a worker process. */
export interface RunJob {
  plan: TrainConfig;
  /** Continue the run from its checkpoint (an earlier invocation started it). */
  resume: boolean;
  /** A TensorBoard log folder the run appends its scalars to (TrainOptions.tensorboard). */
  tensorboard?: string;
}

/** What the worker pool trained. */
export interface ParallelOutcome {
  /** Each job's summary, in the jobs' order; undefined for a job never started (the experiment was stopped or a run failed). */
  summaries: (RunSummary | undefined)[];
  stopped: boolean;
}

const WORKER = fileURLToPath(new URL('./run-worker.js', import.meta.url));

/** Trains one job on a worker: its reports forwarded, its summary returned; a failure or the worker's death rejects. */
function trainOn(worker: ChildProcess, job: RunJob, concurrentRuns: number, reporter: TrainingReporter): Promise<RunSummary> {
  const name = basename(job.plan.out);
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply) => {
      if (reply.type === 'report') {
        (reporter[reply.method] as ((...args: unknown[]) => void) | undefined)?.apply(reporter, reply.args);
        return;
      }
      cleanUp();
      if (reply.type === 'done') resolve(reply.summary);
      else reject(Object.assign(new Error(`${name}: ${reply.message}`), { stack: reply.stack }));
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanUp();
      reject(
        new Error(`the worker process training ${name} ended (${signal ?? `exit code ${code}`}); run the experiment again to resume it`),
      );
    };
    const cleanUp = () => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
    };
    if (!worker.connected) {
      reject(
        new Error(
          `the worker process for ${name} is gone (exit code ${worker.exitCode}, ${worker.signalCode ?? 'no signal'}); run the experiment again`,
        ),
      );
      return;
    }
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    worker.send({
      type: 'train',
      plan: job.plan,
      resume: job.resume,
      tensorboard: job.tensorboard,
      concurrentRuns,
    } satisfies WorkerRequest);
  });
}

/**
 * Trains the jobs `slots` at a time; stops every worker when asked to
 * (options.stop) or when a run fails, lets each save its checkpoint, then
 * rethrows the first failure.
 */
export async function trainInParallel(
  jobs: RunJob[],
  slots: number,
  options: { reporter: TrainingReporter; stop?: StopFlag; total: number; done: number },
): Promise<ParallelOutcome> {
  const { reporter, stop } = options;
  const summaries: (RunSummary | undefined)[] = new Array(jobs.length).fill(undefined);
  const workerCount = Math.max(1, Math.min(slots, jobs.length));
  const workers = Array.from({ length: workerCount }, () => fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  let next = 0;
  let finished = options.done;
  let stopping = false;
  let failure: Error | undefined;
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies WorkerRequest);
  };
  for (const w of workers)
    w.on('error', (error) => {
      failure ??= error;
      stopAll();
    });
  // The SIGINT handler only sets a flag: pass it on to the workers.
  const poll = setInterval(() => stop?.requested && stopAll(), 200);
  const drive = async (worker: ChildProcess) => {
    while (!(stopping || stop?.requested) && next < jobs.length) {
      const index = next++;
      try {
        summaries[index] = await trainOn(worker, jobs[index]!, workerCount, reporter);
      } catch (error) {
        failure ??= error as Error;
        stopAll();
        return;
      }
      if (summaries[index]!.status === 'stopped') stopAll();
      else reporter.experimentProgress?.(++finished, options.total);
    }
  };
  try {
    await Promise.all(workers.map(drive));
  } finally {
    clearInterval(poll);
    for (const w of workers) if (w.connected) w.disconnect();
  }
  if (failure !== undefined) throw failure;
  return { summaries, stopped: summaries.some((s) => s === undefined || s.status === 'stopped') };
}
