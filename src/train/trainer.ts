/**
 * The Trainer: one training run from a TrainConfig into a run directory.
 * It logs the loss averaged over every `logEvery` iterations (as the course's
 * loop does), evaluates on the test split after each epoch, records every
 * layer's gradient norm every `gradEvery` iterations (the vanishing-gradient
 * picture), checkpoints atomically every `checkpointEvery` steps, after each
 * epoch and when asked to stop, and resumes from its last checkpoint
 * exactly: the same data order and position, the same random stream, the
 * same running sums, so a killed and resumed run ends with the same weights
 * and records as one never stopped. A non-finite training or test loss stops
 * the run as diverged and keeps its last good checkpoint. One process writes
 * a run directory at a time (its lock). In data-parallel training (a process
 * group initialised) every rank trains on its shard of each global batch
 * through DistributedDataParallel, evaluation is sharded, and rank 0 alone
 * writes the run directory (those parts in data-parallel-run.ts).
 */
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { basename } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import { type Batch, DataLoader, type DatasetSplits } from '../data/index.js';
import { saveCheckpoint } from '../io/index.js';
import { shellCommand } from '../text/index.js';
import { prepareTensorBoardFolder } from '../export/tensorboard.js';
import {
  type EpochRecord,
  type ModelInfo,
  RunDirectory,
  checkOutputFolder,
  type RunStatus,
  type RunSummary,
  type StatusFile,
  type TrainConfig,
  describePrecision,
  summarizeRun,
  trainingMemoryFormat,
} from '../runs/index.js';
import { DistributedDataParallel, barrier, convertSyncBatchNorm, getRank, isInitialized, syncBuffers } from '../distributed/index.js';
import { manualSeed, memory, setNumThreads } from '../tensor/index.js';
import { type DataParallel, agreeOnStart, agreeOnStep, dataParallelShard, namingFailedRanks } from './data-parallel-run.js';
import { EVAL_BATCH_SIZE, type Evaluation, evaluate, evaluateSharded } from './evaluation.js';
import { describeModel, gradientWeights, makeOptimizer, makeScheduler, prepareRun } from './prepare.js';
import type { TrainingReporter } from './progress.js';
import { StepStats } from './stats.js';
import { type Position, begin, restore, runConfig, runDirectory } from './run-start.js';
import { type StepParts, trainingStep } from './step.js';

/** Set `requested` (e.g. from a SIGINT handler) to stop after the current step, with a checkpoint. */
export interface StopFlag {
  requested: boolean;
}

/** How a run is trained: its progress display, stop flag, resumption, shared datasets and parallelism. */
export interface TrainOptions {
  reporter: TrainingReporter;
  stop?: StopFlag;
  /** Continue the run in config.out from its last checkpoint (the saved config wins); without one, start it over. */
  resume?: boolean;
  /** Loaded datasets by name, so an experiment reads its data once. */
  datasets?: Map<string, DatasetSplits>;
  /** Data-parallel training (a process group initialised): batch norm statistics over the global batch (default: per process). */
  syncBatchNorm?: boolean;
  /** Runs training at once on this machine (`experiment --parallel-runs`): the threads are divided between them. */
  concurrentRuns?: number;
  /**
   * A TensorBoard log folder: the run's scalars are appended to `<tensorboard>/<run name>/` as they are logged. An option of
   * this invocation, not a saved setting, so a resumed run writes them where this invocation says.
   */
  tensorboard?: string;
}

/**
 * Trains one run into its folder (`partial.out`): the settings resolved and checked, the folder locked, a checkpoint every
 * `checkpointEvery` steps and each epoch's end, an evaluation after each epoch. With `resume` it continues from the last
 * checkpoint with the settings saved. Returns the run's summary (finished, stopped or diverged).
 */
export async function train(partial: Partial<TrainConfig>, options: TrainOptions): Promise<RunSummary> {
  const config = runConfig(partial, options.resume ?? false);
  const writer = getRank() === 0;
  if (writer) checkOutputFolder(config.out, 'run');
  if (writer && options.tensorboard !== undefined) prepareTensorBoardFolder(options.tensorboard);
  const dir = runDirectory(config, writer, options.tensorboard);
  const lock = writer ? dir.lock() : undefined;
  let run: TrainingRun | undefined;
  try {
    if (writer && !options.resume && dir.exists()) {
      throw new Error(`${config.out} already holds a run: continue it with --resume, or choose another --out`);
    }
    run = await TrainingRun.open(config, dir, options);
    return await run.train();
  } catch (error) {
    // A run that an error ended says so, instead of "running" until its process is found gone.
    try {
      if (writer && run !== undefined)
        run.writeStatus('failed', { message: `${(error as Error).message}; fix the cause and continue with --resume` });
    } catch {
      // The same fault (a full disk, say) may stop this write too: the error that ended the run is the one to report.
    }
    throw isInitialized() ? await namingFailedRanks(error) : error;
  } finally {
    // The Reducer's hooks and buckets belong to this run's model: an experiment's next run makes its own.
    run?.dataParallel?.ddp.release();
    lock?.release();
    dir.close();
  }
}

/** A run being trained: its parts, its position, and the handlers for each way a run ends. */
class TrainingRun {
  readonly name: string;
  readonly #started = performance.now();
  readonly #wallBefore: number;
  #runStart = performance.now();
  #stepsAtStart: number;

  private constructor(
    readonly config: TrainConfig,
    readonly dir: RunDirectory,
    readonly options: TrainOptions,
    readonly parts: StepParts & { trainLoader: DataLoader; testLoader: DataLoader; totalSteps: number },
    readonly position: Position,
    readonly dataParallel: DataParallel | undefined,
  ) {
    this.name = basename(config.out);
    this.#wallBefore = position.wallSeconds;
    this.#stepsAtStart = position.step;
  }

  /** Builds model, data, optimizer and schedule, then restores the checkpoint or writes the run's description. */
  static async open(config: TrainConfig, dir: RunDirectory, options: TrainOptions): Promise<TrainingRun> {
    // More threads than cores only make the threads wait on each other (1000 threads: a step 1000 times slower).
    const threads = Math.min(config.threads, availableParallelism());
    if (threads < config.threads)
      options.reporter.message(
        `[${basename(config.out)}] ${config.threads} threads asked for, ${threads} cores here: training with ${threads}`,
      );
    // The processes of one machine share its cores (LOCAL_WORLD_SIZE: set by the launcher, as torchrun does).
    const local = Number(process.env.LOCAL_WORLD_SIZE) || 1;
    const threadsUsed = Math.max(1, Math.floor(threads / (local * (options.concurrentRuns ?? 1))));
    setNumThreads(threadsUsed);
    manualSeed(config.seed);
    const { splits, trainSplit, normalization, model } = await prepareRun(config, options.datasets);
    const shard = dataParallelShard(config.batchSize);
    if (shard && options.syncBatchNorm) convertSyncBatchNorm(model);
    const memoryFormat = trainingMemoryFormat(config);
    model.to({ memoryFormat });
    // config.batchSize is the global batch: each process takes its share of it.
    const trainLoader = new DataLoader(trainSplit, {
      batchSize: config.batchSize / (shard?.worldSize ?? 1),
      shuffle: true,
      dropLast: true,
      seed: config.seed,
      normalization,
      augment: config.augment,
      shard,
    });
    const testLoader = new DataLoader(splits.test, { batchSize: EVAL_BATCH_SIZE, shuffle: false, normalization, shard });
    if (trainLoader.length === 0)
      throw new Error(`the training split (${trainSplit.labels.length} images) holds no full batch of ${config.batchSize}`);
    const totalSteps = trainLoader.length * config.epochs;
    const optimizer = makeOptimizer(config, model.parameters());
    const scheduler = makeScheduler(config, optimizer, totalSteps);
    const parts: TrainingRun['parts'] = {
      model,
      optimizer,
      scheduler,
      config,
      memoryFormat,
      gradientWeights: gradientWeights(model).map(([, t]) => t),
      trainLoader,
      testLoader,
      totalSteps,
    };
    // describeModel traces a forward pass: made only where model.json is to be written.
    const described = () => describeModel(model, config, splits, normalization);
    // Every file a resumed run needs at its end is there before it trains: model.json is remade from the model it describes.
    if (options.resume && !existsSync(dir.file('model.json'))) dir.writeJson('model.json', described());
    const position =
      options.resume && existsSync(dir.checkpointPath)
        ? restore(dir, model, optimizer, scheduler)
        : begin(dir, config, described(), { threads: threadsUsed, concurrentRuns: options.concurrentRuns ?? 1 });
    let dataParallel: DataParallel | undefined;
    if (shard) {
      await agreeOnStart(position.step, config.precision);
      // Rank 0's weights and buffers everywhere, then gradients averaged during backward.
      const ddp = await DistributedDataParallel.create(model);
      dataParallel = { ...shard, ddp };
      parts.forward = (x) => ddp.forward(x);
    }
    return new TrainingRun(config, dir, options, parts, position, dataParallel);
  }

  get wallSeconds(): number {
    return this.#wallBefore + (performance.now() - this.#started) / 1000;
  }

  writeStatus(status: RunStatus, extra: Partial<StatusFile> = {}): void {
    const { epoch, step } = this.position;
    const owner = status === 'running' ? { pid: process.pid, host: hostname() } : {};
    this.dir.writeJson('status.json', {
      status,
      epochsDone: epoch,
      step,
      totalSteps: this.parts.totalSteps,
      wallSeconds: this.wallSeconds,
      updatedAt: new Date().toISOString(),
      ...owner,
      ...extra,
    } satisfies StatusFile);
  }

  checkpoint(): void {
    if (this.dataParallel && this.dataParallel.rank !== 0) return;
    const { model, optimizer, scheduler } = this.parts;
    const { epoch, step, batchInEpoch, window, epochStats } = this.position;
    saveCheckpoint(this.dir.checkpointPath, {
      model,
      optimizer,
      scheduler,
      epoch,
      step,
      config: this.config,
      extra: { batchInEpoch, wallSeconds: this.wallSeconds, window: window.toJSON(), epochStats: epochStats.toJSON() },
    });
  }

  async train(): Promise<RunSummary> {
    const { config, parts, position } = this;
    this.options.reporter.runStarted({
      name: this.name,
      model: config.model,
      lr: config.lr,
      epochs: config.epochs,
      totalSteps: parts.totalSteps,
      startStep: position.step,
      precision: describePrecision(config),
    });
    this.writeStatus('running');
    parts.model.train();
    this.#runStart = performance.now();
    let last: Evaluation | undefined;
    while (position.epoch < config.epochs) {
      const ended = await this.trainEpoch();
      if (ended !== undefined) return ended;
      last = await this.evaluate();
      if (!Number.isFinite(last.loss)) {
        // A run can blow up without a non-finite training loss (train loss 1e17, test loss NaN): that is divergence too.
        return this.diverged(last.loss, `test loss became ${last.loss} after epoch ${position.epoch + 1}`);
      }
      this.endEpoch(last);
    }
    return this.finished(last ?? (await this.evaluate()));
  }

  /** The test split's evaluation; sharded over the processes in data-parallel training. */
  async evaluate(): Promise<Evaluation> {
    const { parts, config } = this;
    if (!this.dataParallel) return evaluate(parts.model, parts.testLoader, config);
    // Per-process batch norm leaves each rank its own running statistics: evaluate with rank 0's, which its checkpoint saves.
    await syncBuffers(parts.model);
    return evaluateSharded(parts.model, parts.testLoader, config);
  }

  /** Trains the rest of the current epoch; returns the summary when the run ends inside it (stopped or diverged). */
  async trainEpoch(): Promise<RunSummary | undefined> {
    const { parts, position } = this;
    const batches = parts.trainLoader.prefetchingEpoch(position.epoch, position.batchInEpoch);
    try {
      for (;;) {
        const t0 = performance.now();
        const next = await batches.next();
        if (next.done) return undefined;
        const ended = await this.trainStep(next.value, performance.now() - t0);
        if (ended !== undefined) return ended;
      }
    } finally {
      await batches.return(undefined);
    }
  }

  async trainStep(batch: Batch, dataMs: number): Promise<RunSummary | undefined> {
    const { config, parts, position, dir, dataParallel, options } = this;
    const t1 = performance.now();
    const result = trainingStep(parts, batch, (position.step + 1) % config.gradEvery === 0);
    batch.x.dispose();
    batch.y.dispose();
    // In data-parallel training the ranks agree on the global batch's loss and correct count, and on stopping after the same step.
    const stopRequested = dataParallel
      ? await agreeOnStep(result, dataParallel.worldSize, options.stop?.requested)
      : (options.stop?.requested ?? false);
    if (!Number.isFinite(result.loss)) {
      return this.diverged(
        result.loss,
        `loss became ${result.loss} at step ${position.step + 1} (epoch ${position.epoch + 1})`,
        position.step + 1,
      );
    }
    if (result.gradientNorms)
      dir.append({ type: 'gradients', epoch: position.epoch, step: position.step + 1, norms: result.gradientNorms });
    position.step += 1;
    position.batchInEpoch += 1;
    const sample = { loss: result.loss, correct: result.correct, images: config.batchSize, dataMs, computeMs: performance.now() - t1 };
    position.window.add(sample);
    position.epochStats.add(sample);
    this.reportStep(result.loss);
    if (position.step % config.logEvery === 0) this.logWindow();
    if (position.step % config.checkpointEvery === 0 && position.batchInEpoch < parts.trainLoader.length) this.checkpoint();
    // Let signal handlers run between steps, so Ctrl-C can stop the run cleanly.
    await yieldToEventLoop();
    return stopRequested || this.options.stop?.requested ? this.stopped() : undefined;
  }

  reportStep(loss: number): void {
    const { config, parts, position } = this;
    const rate = ((position.step - this.#stepsAtStart) * config.batchSize) / ((performance.now() - this.#runStart) / 1000);
    this.options.reporter.step({
      run: this.name,
      step: position.step,
      totalSteps: parts.totalSteps,
      epoch: position.epoch,
      loss,
      accuracy: position.epochStats.accuracy,
      imagesPerSecond: rate,
      etaSeconds: ((parts.totalSteps - position.step) * config.batchSize) / rate,
    });
  }

  logWindow(): void {
    const { position } = this;
    const { window } = position;
    const record = {
      type: 'iteration' as const,
      epoch: position.epoch,
      step: position.step,
      loss: window.meanLoss,
      lr: this.parts.optimizer.paramGroups[0]!.lr,
      imagesPerSecond: window.imagesPerSecond,
      dataWaitShare: window.dataWaitShare,
    };
    this.dir.append(record);
    this.options.reporter.logged(this.name, record);
    position.window = new StepStats();
  }

  endEpoch(evaluation: Evaluation): void {
    const { position } = this;
    const stats = position.epochStats;
    const record: EpochRecord = {
      type: 'epoch',
      epoch: position.epoch,
      step: position.step,
      trainLoss: stats.meanLoss,
      trainAccuracy: stats.accuracy,
      testLoss: evaluation.loss,
      testAccuracy: evaluation.report.accuracy,
      lr: this.parts.optimizer.paramGroups[0]!.lr,
      seconds: stats.seconds,
      wallSeconds: this.wallSeconds,
      imagesPerSecond: stats.imagesPerSecond,
      dataWaitShare: stats.dataWaitShare,
      rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
      liveTensors: memory().tensors,
    };
    this.dir.append(record);
    this.options.reporter.epochEnded(this.name, record);
    position.epoch += 1;
    position.batchInEpoch = 0;
    position.epochStats = new StepStats();
    this.checkpoint();
    this.writeStatus('running');
  }

  /** The run's summary, read from the run directory once rank 0 has written it. */
  async summary(): Promise<RunSummary> {
    if (this.dataParallel) await barrier();
    return summarizeRun(this.dir, this.config);
  }

  async diverged(loss: number, why: string, step = this.position.step): Promise<RunSummary> {
    const divergedAt = { epoch: this.position.epoch, step, loss };
    this.dir.append({ type: 'diverged', ...divergedAt });
    this.writeStatus('diverged', { divergedAt, message: `${why}; the last good checkpoint is kept` });
    this.options.reporter.runEnded(this.name, 'diverged', why);
    return this.summary();
  }

  async stopped(): Promise<RunSummary> {
    this.checkpoint();
    this.writeStatus('stopped', { message: 'stopped by the user; resume with --resume' });
    this.options.reporter.runEnded(
      this.name,
      'stopped',
      `checkpoint saved at step ${this.position.step}; continue with: ${shellCommand(['skipstudio', 'train', '--resume', this.config.out])}`,
    );
    return this.summary();
  }

  async finished(final: Evaluation): Promise<RunSummary> {
    const { dir } = this;
    dir.writeJson('eval.json', {
      split: 'test',
      loss: final.loss,
      classes: dir.readJson<ModelInfo>('model.json').classes,
      ...final.report,
    });
    dir.writeJson('predictions.json', final.predictions);
    this.writeStatus('finished');
    const result = await this.summary();
    this.options.reporter.runEnded(
      this.name,
      'finished',
      `test accuracy ${(100 * result.finalTestAccuracy).toFixed(2)}% ` +
        `(best ${(100 * result.bestTestAccuracy).toFixed(2)}%) in ${result.wallSeconds.toFixed(0)} s`,
    );
    return result;
  }
}
