/**
 * Training checkpoints: model weights, optimizer state, schedule state,
 * epoch/step, the random generator's state and the run's config, in one
 * safetensors file written atomically. Tensors are stored under
 * `model.<key>`, `optimizer.<param>.<name>` and `rng_state`; everything else
 * travels as JSON in the header's metadata. No pickle, nothing executable.
 */
import { existsSync } from 'node:fs';

import type { Module, StateDict } from '../nn/index.js';
import type { LRScheduler, Optimizer, OptimizerStateDict, ParamState, SchedulerState } from '../optim/index.js';
import { type Tensor, dispose, getRngState, scope, setRngState } from '../tensor/index.js';
import { loadSafetensorsWithMetadata, readSafetensorsHeader, saveSafetensors } from './safetensors.js';

/** The format tag in a checkpoint's metadata; loading refuses a file with any other. */
export const CHECKPOINT_FORMAT = 'skipstudio-checkpoint/1';

/** Where a checkpoint was taken (epoch, step), the run's config, and anything else the trainer stored. */
export interface CheckpointInfo {
  epoch: number;
  step: number;
  config?: unknown;
  /** Anything else a trainer wants back on resume (e.g. the data order's seed). */
  extra?: Record<string, unknown>;
}

/** What saveCheckpoint stores: the model, optionally its optimizer and scheduler, and the checkpoint's info. */
export interface SaveCheckpointOptions extends CheckpointInfo {
  model: Module;
  optimizer?: Optimizer<{ lr: number }>;
  scheduler?: LRScheduler;
}

interface TrainingMetadata extends CheckpointInfo {
  optimizer?: { paramGroups: OptimizerStateDict<{ lr: number }>['paramGroups']; scalars: Record<string, Record<string, number>> };
  scheduler?: SchedulerState;
}

/** A loaded checkpoint: its info, the model's state dict, the optimizer's and scheduler's state where saved, and the random generator's state. */
export interface Checkpoint extends CheckpointInfo {
  modelState: StateDict;
  optimizerState?: OptimizerStateDict<{ lr: number }>;
  schedulerState?: SchedulerState;
  rngState?: Tensor;
  /** Frees the checkpoint's tensors. */
  dispose(): void;
}

/**
 * Saves the model's weights, the optimizer's and scheduler's state (where given), the epoch, step, config and libtorch's RNG state to one
 * safetensors file, written atomically with a SHA-256 checksum of its data.
 */
export function saveCheckpoint(path: string, options: SaveCheckpointOptions): void {
  scope(() => {
    const tensors: Record<string, Tensor> = {};
    for (const [key, t] of Object.entries(options.model.stateDict())) tensors[`model.${key}`] = t;
    const metadata: TrainingMetadata = { epoch: options.epoch, step: options.step, config: options.config, extra: options.extra };
    if (options.optimizer !== undefined) {
      const state = options.optimizer.stateDict();
      const scalars: Record<string, Record<string, number>> = {};
      for (const [index, paramState] of Object.entries(state.state)) {
        for (const [name, value] of Object.entries(paramState)) {
          if (typeof value === 'number') (scalars[index] ??= {})[name] = value;
          else tensors[`optimizer.${index}.${name}`] = value;
        }
      }
      metadata.optimizer = { paramGroups: state.paramGroups, scalars };
    }
    if (options.scheduler !== undefined) metadata.scheduler = options.scheduler.stateDict();
    tensors.rng_state = getRngState();
    saveSafetensors(tensors, path, { format: CHECKPOINT_FORMAT, training: JSON.stringify(metadata) }, { checksum: true });
  });
}

/** A checkpoint header's training metadata, its format checked: what a checkpoint says about itself without its tensors. */
function trainingMetadata(path: string, metadata: Record<string, string>): TrainingMetadata {
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw new Error(`${path}: not a skipstudio checkpoint: format is ${JSON.stringify(metadata.format)}, expected ${CHECKPOINT_FORMAT}`);
  try {
    // Stryker disable next-line StringLiteral: JSON.parse refuses '' and any other non-JSON text alike, and the catch gives one message
    return JSON.parse(metadata.training ?? '') as TrainingMetadata;
  } catch {
    throw new Error(`${path}: not a skipstudio checkpoint: its training metadata is not JSON`);
  }
}

/** The training config a checkpoint was saved with, read from its header alone (undefined when it has none). */
export function readCheckpointConfig(path: string): unknown {
  return trainingMetadata(path, readSafetensorsHeader(path).metadata).config;
}

/**
 * A checkpoint's header at most: a few hundred tensors of a few hundred
 * bytes each, so 16 MB is generous, and a 94 MB header of a million entries
 * is refused before it is parsed.
 */
export const CHECKPOINT_MAX_HEADER_BYTES = 16 * 1024 * 1024;

const CHECKPOINT_TENSOR = /^(model\.[\w.]+|optimizer\.\d+\.\w+|rng_state)$/;

/** The training step a checkpoint was saved at, from its header alone (undefined: no checkpoint there). */
export function readCheckpointStep(path: string): number | undefined {
  // Stryker disable next-line ConditionalExpression: without this check a missing file makes readSafetensorsHeader throw, which the catch turns into the same undefined
  if (!existsSync(path)) return undefined;
  try {
    return trainingMetadata(path, readSafetensorsHeader(path, { maxHeaderBytes: CHECKPOINT_MAX_HEADER_BYTES }).metadata).step;
  } catch {
    // A damaged or foreign file has no step to resume from, like a missing one.
  }
  return undefined;
}

/** Loads a checkpoint written by saveCheckpoint, checking its format, tensor names and checksum before building its tensors; dispose() frees them. */
export function loadCheckpoint(path: string): Checkpoint {
  // The format, the metadata and the names are checked from the header, before any tensor is built.
  let training!: TrainingMetadata;
  const { tensors } = loadSafetensorsWithMetadata(path, {
    maxHeaderBytes: CHECKPOINT_MAX_HEADER_BYTES,
    checkHeader: (header) => {
      training = trainingMetadata(path, header.metadata);
      const unexpected = header.entries.find((e) => !CHECKPOINT_TENSOR.test(e.name));
      if (unexpected !== undefined) throw new Error(`${path}: not a skipstudio checkpoint: unexpected tensor '${unexpected.name}'`);
    },
  });
  const fail = (problem: string): never => {
    dispose(tensors);
    throw new Error(`${path}: not a skipstudio checkpoint: ${problem}`);
  };
  if (!Number.isInteger(training.epoch) || !Number.isInteger(training.step)) fail('epoch and step must be integers');
  const modelState: StateDict = {};
  const optimizerTensors: Record<string, ParamState> = {};
  let rngState: Tensor | undefined;
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith('model.')) modelState[key.slice('model.'.length)] = t;
    else if (key === 'rng_state') rngState = t;
    else {
      // Every name matched CHECKPOINT_TENSOR in the header: the rest are optimizer.<index>.<name>.
      // Stryker disable next-line Regex: the header check above already anchored these names, so the anchors here change no match
      const [, index, name] = /^optimizer\.(\d+)\.(\w+)$/.exec(key)!;
      (optimizerTensors[index!] ??= {})[name!] = t;
    }
  }
  let optimizerState: OptimizerStateDict<{ lr: number }> | undefined;
  if (training.optimizer !== undefined) {
    const state: Record<number, ParamState> = {};
    const indices = new Set([...Object.keys(optimizerTensors), ...Object.keys(training.optimizer.scalars)]);
    for (const index of indices) state[Number(index)] = { ...training.optimizer.scalars[index], ...optimizerTensors[index] };
    optimizerState = { state, paramGroups: training.optimizer.paramGroups };
  }
  return {
    epoch: training.epoch,
    step: training.step,
    config: training.config,
    extra: training.extra,
    modelState,
    optimizerState,
    schedulerState: training.scheduler,
    rngState,
    dispose: () => dispose(tensors),
  };
}

/** The keys of a state dict whose floating tensors hold a NaN or an infinity. */
export function nonFiniteKeys(state: StateDict): string[] {
  // The largest magnitude is NaN or infinite exactly when some element is.
  return Object.entries(state)
    .filter(
      ([, t]) =>
        (t.dtype.startsWith('float') || t.dtype === 'bfloat16') && t.numel > 0 && !Number.isFinite(scope(() => t.abs().max().item())),
    )
    .map(([key]) => key);
}

/** Refuses a checkpoint whose weights are not all finite: a model of NaNs evaluates to chance and exports as garbage. */
export function checkFiniteWeights(state: StateDict, path: string): void {
  const bad = nonFiniteKeys(state);
  if (bad.length > 0) {
    throw new Error(
      `${path} holds non-finite weights (NaN or infinity) in ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}: ` +
        'the run diverged or the file was damaged; use an earlier checkpoint or train again',
    );
  }
}

/** What restoreCheckpoint puts a checkpoint's state back into: the model, and optionally its optimizer, scheduler and the random generator. */
export interface RestoreTargets {
  model: Module;
  optimizer?: Optimizer<{ lr: number }>;
  scheduler?: LRScheduler;
  /** Also restore libtorch's random generator (default true), for an exact continuation. */
  restoreRng?: boolean;
}

/**
 * Puts a checkpoint's state back into a model (keys and shapes must match;
 * the error names each one that does not), its optimizer, scheduler and RNG.
 */
export function restoreCheckpoint(checkpoint: Checkpoint, targets: RestoreTargets): void {
  targets.model.loadStateDict(checkpoint.modelState);
  if (targets.optimizer !== undefined) {
    if (checkpoint.optimizerState === undefined) throw new Error('restoreCheckpoint: the checkpoint holds no optimizer state');
    targets.optimizer.loadStateDict(checkpoint.optimizerState);
  }
  if (targets.scheduler !== undefined && checkpoint.schedulerState !== undefined) {
    targets.scheduler.loadStateDict(checkpoint.schedulerState);
  }
  if ((targets.restoreRng ?? true) && checkpoint.rngState !== undefined) setRngState(checkpoint.rngState);
}
