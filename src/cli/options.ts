/**
 * The flags the CLI's commands share and how they become options: the
 * training settings' flags from their table, the experiment's from its own,
 * torchrun's launch flags, the checks at the flag (a bad value fails before
 * anything starts), and what the reference (docs/cli.md) says beyond
 * commander's own.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

import { type Command, InvalidArgumentError, Option } from 'commander';

import { distributedEnvironment, initProcessGroup } from '../distributed/index.js';
import { checkLaunchOptions, exitWithLauncher, launchWorkers } from '../distributed/launch.js';
import { getDatasetInfo } from '../data/index.js';
import { SETTING_NAMES, type Setting, type SettingName, TRAIN_SETTINGS, type TrainConfig, flagName } from '../runs/index.js';
import type { StopFlag } from '../train/index.js';
import type { FlagFacts } from './reference.js';

/** What the reference (docs/cli.md) says of a flag beyond commander's own: a setting's default, an integer's range; by option or by parser. */
export const FLAG_FACTS: FlagFacts = new WeakMap();

/** A flag's integer in [min, max]: every count has a ceiling, so 1e308 is refused at the flag, not in a loop or a spawn. */
export function integerIn(min: number, max: number, why = '', rangeText?: string): (value: string) => number {
  const parser = (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max.toLocaleString('en-US')}${why}, got ${value}`);
    }
    return n;
  };
  FLAG_FACTS.set(parser, { range: [min, max], rangeText });
  return parser;
}

export const nonNegativeInteger = integerIn(0, 1e9);

export function dataset(value: string): string {
  try {
    return getDatasetInfo(value).name;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Ctrl-C: finish the current step, save, print how to resume; a second Ctrl-C quits at once. */
export function stopOnInterrupt(): StopFlag {
  const stop: StopFlag = { requested: false };
  process.on('SIGINT', () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    console.error('\nstopping after this step (Ctrl-C again to quit without saving)...');
  });
  return stop;
}

/** The command-line option of a training setting of the table (runs/settings.ts): its flag, help, parser or choices. */
export function settingOption(name: SettingName): Option {
  return optionOf(name, TRAIN_SETTINGS[name] as Setting<unknown>);
}

/**
 * The option of a setting of any table: its flag, help, parser or choices;
 * the value checked at the flag unless `checkAtFlag` is false (the landscape's
 * library names its own settings' problems).
 */
export function optionOf(name: string, setting: Setting<unknown>, checkAtFlag = true): Option {
  // A switch that is on unless told otherwise is turned off by its --no- flag.
  const negated = !setting.flag && setting.default === true;
  const option = new Option(
    setting.flag ? `${flagName(name)} ${setting.flag}` : negated ? `--no-${flagName(name).slice(2)}` : flagName(name),
    setting.help,
  );
  // A --no- flag's default is to be on, which its name already says.
  FLAG_FACTS.set(option, { default: negated ? undefined : setting.default, defaultText: setting.defaultText, range: setting.range });
  if (setting.choices) return option.choices(setting.choices);
  const { parse } = setting;
  if (parse === undefined) return option;
  // The value is parsed and checked against the setting's range here, so the error names the flag, before anything starts.
  return option.argParser((value: string, previous: unknown) => {
    let parsed: unknown;
    try {
      parsed = parse(value, previous);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    const problem = checkAtFlag ? setting.check(parsed) : undefined;
    if (problem !== undefined) throw new InvalidArgumentError(problem);
    return parsed;
  });
}

/** The option of a command's own setting (the experiment's table): as optionOf, with the row's default as the flag's when it has one. */
export function commandOption(name: string, setting: Setting<unknown>): Option {
  const option = optionOf(name, setting);
  return setting.default === undefined || typeof setting.default === 'boolean' ? option : option.default(setting.default);
}

/** Settings whose flags only some commands take (train names one model, lr and out; experiment has its own). */
const PER_COMMAND = new Set<SettingName>(['model', 'lr', 'out', 'modelOptions']);

/** The settings every training command takes as flags: each one overrides the config file and the defaults. */
const SHARED_SETTINGS = SETTING_NAMES.filter((name) => !PER_COMMAND.has(name));

export function addTrainingFlags(command: Command): Command {
  for (const name of SHARED_SETTINGS) command.addOption(settingOption(name));
  return command
    .option('--data-dir <dir>', "folder with the dataset files (default for fashion-mnist: Debian's dataset-fashion-mnist)")
    .option('--json', 'machine-readable progress: one JSON object per line');
}

/** torchrun's flags: start this machine's workers, and where they meet. */
export function addLaunchFlags(command: Command): Command {
  return command
    .option(
      '--nproc-per-node <n>',
      'data-parallel training: worker processes on this machine, the threads split between them',
      integerIn(1, availableParallelism(), ` (each worker needs one of this machine's ${availableParallelism()} cores)`, '1 to the cores'),
    )
    .option('--nnodes <n>', 'machines taking part (each runs the same command with its --node-rank)', integerIn(1, 1024), 1)
    .option('--node-rank <r>', "this machine's place, 0 to nnodes - 1 (node 0 hosts the rendezvous)", integerIn(0, 1023), 0)
    .option('--master-addr <host>', 'address of node 0, reachable from every machine (default with one machine: 127.0.0.1)')
    .option('--master-port <port>', 'a free TCP port on node 0 for the rendezvous', integerIn(1, 65535), 29500)
    .option(
      '--dist-timeout <seconds>',
      'how long a rendezvous or a collective waits for the other processes',
      integerIn(1, 86400, ' (a day)'),
      120,
    )
    .option('--sync-batchnorm', 'data-parallel training: batch norm statistics over the global batch (default: per process)');
}

export interface LaunchFlags {
  nprocPerNode?: number;
  nnodes: number;
  nodeRank: number;
  masterAddr?: string;
  masterPort: number;
  distTimeout: number;
  syncBatchnorm?: boolean;
}

/**
 * Data-parallel runs: the launcher (with --nproc-per-node) starts the workers
 * and returns their exit code; a worker (RANK/WORLD_SIZE set, by the launcher
 * or torchrun) joins the process group and returns undefined to go on.
 */
async function launchOrJoin(flags: LaunchFlags): Promise<number | undefined> {
  const env = distributedEnvironment();
  const timeoutMs = Number(process.env.SKIPSTUDIO_DIST_TIMEOUT_MS) || flags.distTimeout * 1000;
  if (env !== undefined) {
    exitWithLauncher();
    if (env.worldSize > 1) await initProcessGroup({ timeoutMs });
    return undefined;
  }
  if (flags.nprocPerNode === undefined && flags.nnodes === 1) return undefined;
  if (flags.nnodes > 1 && flags.masterAddr === undefined) {
    throw new Error('--nnodes above 1 needs --master-addr: the address of node 0, reachable from every machine');
  }
  const options = {
    nprocPerNode: flags.nprocPerNode ?? 1,
    nnodes: flags.nnodes,
    nodeRank: flags.nodeRank,
    masterAddr: flags.masterAddr ?? '127.0.0.1',
    masterPort: flags.masterPort,
    timeoutMs,
  };
  checkLaunchOptions(options);
  return launchWorkers(options, process.argv[1]!, process.argv.slice(2));
}

/** Whether this process launched the data-parallel workers (its exit code is theirs, set here) rather than training itself. */
export async function launchedWorkers(flags: LaunchFlags): Promise<boolean> {
  const launched = await launchOrJoin(flags);
  if (launched !== undefined) process.exitCode = launched;
  return launched !== undefined;
}

export type TrainingFlags = Partial<TrainConfig> & { json?: boolean; tensorboard?: string };

/** A folder given on the command line, made absolute: worker processes and resumed runs may start elsewhere. */
export function absolute(folder: string | undefined): string | undefined {
  return folder === undefined ? undefined : resolve(folder);
}

const TRAINING_FLAGS: readonly string[] = [...SHARED_SETTINGS, 'dataDir'];

/** A resumed run keeps the settings it saved: flags that would change them are refused, not silently ignored. */
export function refuseSettingsWithResume(flags: TrainingFlags & { config?: string; model?: string; lr?: number; out?: string }): void {
  const given = [...TRAINING_FLAGS, 'config', 'model', 'lr', 'out'].filter((k) => (flags as Record<string, unknown>)[k] !== undefined);
  if (given.length > 0) {
    const names = given.map(flagName);
    throw new Error(
      `--resume continues a run with the settings it saved; leave out ${names.join(', ')} (to change them, start a new run with --out)`,
    );
  }
}

/** The training settings given on the command line (those left out keep the file's or the default value). */
export function trainingOverrides(flags: TrainingFlags): Partial<TrainConfig> {
  const given = flags as Record<string, unknown>;
  return Object.fromEntries(TRAINING_FLAGS.filter((k) => given[k] !== undefined).map((k) => [k, given[k]])) as Partial<TrainConfig>;
}
