/**
 * The `skipstudio` command's definition: every command and flag (main.ts
 * runs it; docs/cli.md is generated from it). Thin by design: it parses
 * flags, checks them, and calls the library; every piece of real work lives
 * in src/.
 */
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';

import { Command, InvalidArgumentError, Option } from 'commander';

import { distributedEnvironment, getRank, initProcessGroup } from '../distributed/index.js';
import { checkLaunchOptions, exitWithLauncher, launchWorkers } from '../distributed/launch.js';
import {
  COCO_SIZE_RANGE,
  HW5_CLASSES,
  HW5_SUBSET,
  buildCocoSubset,
  datasetNames,
  describeDataset,
  formatDatasetInfo,
  getDatasetInfo,
  loadDataset,
  sampleGrid,
} from '../data/index.js';
import { readJsonObject, writeFileAtomic } from '../io/index.js';
import { getModelSpec, modelSpecs } from '../models/index.js';
import { summary } from '../nn/index.js';
import { formatCount, formatFlops, shellCommand, textTableLines } from '../text/index.js';
import { formatLandscape, formatResultsTable, writeReport } from '../report/index.js';
import {
  SETTING_NAMES,
  type Setting,
  type SettingName,
  TRAIN_SETTINGS,
  type TrainConfig,
  checkOutputFile,
  flagName,
} from '../runs/index.js';
import {
  type StopFlag,
  checkpointEvalConfig,
  createReporter,
  evaluateCheckpoint,
  evaluateRun,
  experimentFromChoices,
  formatEvaluation,
  readExperimentFile,
  resolveTrainConfig,
  runExperiment,
  train,
  EXPERIMENT_SETTINGS,
  type ExperimentFlags,
  LANDSCAPE_SETTINGS,
  landscapeOfRun,
  progressEvery,
} from '../train/index.js';
import type { FlagFacts } from './reference.js';
import { afterTraining, registerServeExport } from './serve-export.js';

/** What the reference (docs/cli.md) says of a flag beyond commander's own: a setting's default, an integer's range; by option or by parser. */
export const FLAG_FACTS: FlagFacts = new WeakMap();

/** A flag's integer in [min, max]: every count has a ceiling, so 1e308 is refused at the flag, not in a loop or a spawn. */
function integerIn(min: number, max: number, why = '', rangeText?: string): (value: string) => number {
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

const nonNegativeInteger = integerIn(0, 1e9);

function dataset(value: string): string {
  try {
    return getDatasetInfo(value).name;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Ctrl-C: finish the current step, save, print how to resume; a second Ctrl-C quits at once. */
function stopOnInterrupt(): StopFlag {
  const stop: StopFlag = { requested: false };
  process.on('SIGINT', () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    console.error('\nstopping after this step (Ctrl-C again to quit without saving)...');
  });
  return stop;
}

/** The command-line option of a training setting of the table (runs/settings.ts): its flag, help, parser or choices. */
function settingOption(name: SettingName): Option {
  return optionOf(name, TRAIN_SETTINGS[name] as Setting<unknown>);
}

/**
 * The option of a setting of any table: its flag, help, parser or choices;
 * the value checked at the flag unless `checkAtFlag` is false (the landscape's
 * library names its own settings' problems).
 */
function optionOf(name: string, setting: Setting<unknown>, checkAtFlag = true): Option {
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
function commandOption(name: string, setting: Setting<unknown>): Option {
  const option = optionOf(name, setting);
  return setting.default === undefined || typeof setting.default === 'boolean' ? option : option.default(setting.default);
}

/** Settings whose flags only some commands take (train names one model, lr and out; experiment has its own). */
const PER_COMMAND = new Set<SettingName>(['model', 'lr', 'out', 'modelOptions']);

/** The settings every training command takes as flags: each one overrides the config file and the defaults. */
const SHARED_SETTINGS = SETTING_NAMES.filter((name) => !PER_COMMAND.has(name));

function addTrainingFlags(command: Command): Command {
  for (const name of SHARED_SETTINGS) command.addOption(settingOption(name));
  return command
    .option('--data-dir <dir>', "folder with the dataset files (default for fashion-mnist: Debian's dataset-fashion-mnist)")
    .option('--json', 'machine-readable progress: one JSON object per line');
}

/** torchrun's flags: start this machine's workers, and where they meet. */
function addLaunchFlags(command: Command): Command {
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

interface LaunchFlags {
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
async function launchedWorkers(flags: LaunchFlags): Promise<boolean> {
  const launched = await launchOrJoin(flags);
  if (launched !== undefined) process.exitCode = launched;
  return launched !== undefined;
}

type TrainingFlags = Partial<TrainConfig> & { json?: boolean; tensorboard?: string };

/** A folder given on the command line, made absolute: worker processes and resumed runs may start elsewhere. */
function absolute(folder: string | undefined): string | undefined {
  return folder === undefined ? undefined : resolve(folder);
}

const TRAINING_FLAGS: readonly string[] = [...SHARED_SETTINGS, 'dataDir'];

/** A resumed run keeps the settings it saved: flags that would change them are refused, not silently ignored. */
function refuseSettingsWithResume(flags: TrainingFlags & { config?: string; model?: string; lr?: number; out?: string }): void {
  const given = [...TRAINING_FLAGS, 'config', 'model', 'lr', 'out'].filter((k) => (flags as Record<string, unknown>)[k] !== undefined);
  if (given.length > 0) {
    const names = given.map(flagName);
    throw new Error(
      `--resume continues a run with the settings it saved; leave out ${names.join(', ')} (to change them, start a new run with --out)`,
    );
  }
}

/** The training settings given on the command line (those left out keep the file's or the default value). */
function trainingOverrides(flags: TrainingFlags): Partial<TrainConfig> {
  const given = flags as Record<string, unknown>;
  return Object.fromEntries(TRAINING_FLAGS.filter((k) => given[k] !== undefined).map((k) => [k, given[k]])) as Partial<TrainConfig>;
}

export const program = new Command()
  .name('skipstudio')
  .description('Train and study deep residual networks (SkipBlocks) in TypeScript over libtorch.')
  .showHelpAfterError();

program
  .command('models')
  .argument('[name]', 'a model to describe layer by layer')
  .description("list the models with their learnable layers, parameters and FLOPs, or print one model's summary table")
  .option('--dataset <name>', `the input shape to build for: ${datasetNames().join(', ')}`, dataset, 'fashion-mnist')
  .action((name: string | undefined, options: { dataset: string }) => {
    const info = getDatasetInfo(options.dataset);
    const input = [info.shape.channels, info.shape.height, info.shape.width];
    if (name !== undefined) {
      const spec = getModelSpec(name);
      console.log(summary(spec.build(info.shape, info.numClasses), input).text);
      return;
    }
    console.log(`Models for ${info.name} (input [${input.join(', ')}], ${info.numClasses} classes):`);
    const rows = modelSpecs().map((spec) => {
      const s = summary(spec.build(info.shape, info.numClasses), input);
      return [spec.name, String(s.parameterTensors), formatCount(s.totalParameters), formatFlops(s.totalFlops), spec.description];
    });
    const table = textTableLines(['model', 'learnable layers', 'parameters', 'FLOPs/image', 'description'], rows, { left: [0, 4] });
    console.log([table.header, ...table.rows].join('\n'));
  });

addTrainingFlags(
  addLaunchFlags(
    program
      .command('train')
      .description('train one model at one learning rate into a run directory')
      .option('--config <file>', 'a JSON file of training settings (flags override it)')
      .addOption(settingOption('model'))
      .addOption(settingOption('lr'))
      .option('--out <dir>', "the run directory (default: the config file's out, else runs/train)")
      .option(
        '--resume <dir>',
        'continue a stopped run from its last checkpoint, with the settings it saved (with any number of processes)',
      ),
  ),
).action(async (flags: TrainingFlags & LaunchFlags & { config?: string; model?: string; lr?: number; out?: string; resume?: string }) => {
  if (flags.resume !== undefined) refuseSettingsWithResume(flags);
  if (await launchedWorkers(flags)) return;
  const reporter = createReporter(flags.json ?? false);
  const stop = stopOnInterrupt();
  const fromFile = flags.config ? readJsonObject(flags.config, 'config file') : {};
  const out = flags.resume ?? flags.out ?? (fromFile.out as string | undefined) ?? 'runs/train';
  const partial = {
    ...fromFile,
    ...trainingOverrides(flags),
    model: flags.model ?? fromFile.model,
    lr: flags.lr ?? fromFile.lr,
    out,
  } as Partial<TrainConfig>;
  if (flags.resume === undefined) resolveTrainConfig(partial); // fail on bad settings before loading any data
  try {
    const result = await train(partial, {
      reporter,
      stop,
      resume: flags.resume !== undefined,
      syncBatchNorm: flags.syncBatchnorm,
      tensorboard: absolute(flags.tensorboard),
    });
    afterTraining(out, flags);
    if (result.status === 'diverged') process.exitCode = 2;
  } finally {
    reporter.close();
  }
});

const experimentCommand = program
  .command('experiment')
  .description(
    'the skip-connection study: models x learning rates x seeds, each model trained by its own recipe, then summarised in a report',
  );
for (const [name, setting] of Object.entries(EXPERIMENT_SETTINGS))
  experimentCommand.addOption(commandOption(name, setting as Setting<unknown>));
addTrainingFlags(addLaunchFlags(experimentCommand)).action(async (flags: TrainingFlags & LaunchFlags & ExperimentFlags) => {
  const config = experimentFromChoices({
    preset: flags.preset,
    file: flags.config ? readExperimentFile(flags.config) : undefined,
    out: flags.out,
    models: flags.models,
    lrs: flags.lrs,
    seeds: flags.seeds,
    recipes: flags.recipe,
    depths: flags.depths,
    sweep: flags.sweep,
    landscape: flags.landscape,
    settings: trainingOverrides(flags),
  });
  if (await launchedWorkers(flags)) return;
  const reporter = createReporter(flags.json ?? false);
  const stop = stopOnInterrupt();
  if (config.seeds === 1 && !flags.json) {
    console.log(
      'One seed per model and learning rate: differences are tested on paired predictions (McNemar); --seeds 3 gives intervals over seeds.',
    );
  }
  try {
    const result = await runExperiment(config, {
      reporter,
      stop,
      command: shellCommand(['skipstudio', ...process.argv.slice(2)]),
      syncBatchNorm: flags.syncBatchnorm,
      parallelRuns: flags.parallelRuns,
      forecast: flags.forecast,
      tensorboard: absolute(flags.tensorboard),
    });
    reporter.close();
    if (getRank() !== 0) return; // rank 0 reports for the data-parallel workers
    if (!flags.json) {
      console.log(`\n${formatResultsTable(result.runs)}\n`);
      console.log(
        result.stopped
          ? `Stopped. Continue with the same command: ${shellCommand(['skipstudio', ...process.argv.slice(2)])}`
          : `Results in ${result.out}/results.json; each run's metrics, checkpoint and evaluation under ${result.out}/<model>[-d<depth>]-lr<lr>-s<seed>/`,
      );
    }
    if (!result.stopped) {
      const report = await writeReport([result.out]);
      if (!flags.json) console.log(`Report: ${report.pdf} (${report.pages} pages), ${report.html}, figures in ${result.out}/figures/`);
    }
    afterTraining(result.out, flags);
  } finally {
    reporter.close();
  }
});

program
  .command('eval')
  .description('evaluate a trained model on the test split: accuracy, per-class accuracy, confusion matrix')
  .option('--run <dir>', 'a run directory (its last checkpoint and config)')
  .option('--checkpoint <file>', 'a checkpoint file, with --model and --dataset')
  .option('--model <name>', "the checkpoint's model (default: the one its saved config names)")
  .option('--dataset <name>', 'the dataset to evaluate on', dataset)
  .option('--data-dir <dir>', 'folder with the dataset files')
  .option('--json', 'print the result as JSON')
  .action(async (flags: { run?: string; checkpoint?: string; model?: string; dataset?: string; dataDir?: string; json?: boolean }) => {
    if ((flags.run === undefined) === (flags.checkpoint === undefined)) throw new Error('give either --run DIR or --checkpoint FILE');
    const contradicting = (['model', 'dataset', 'dataDir'] as const).filter((k) => flags.run !== undefined && flags[k] !== undefined);
    if (contradicting.length > 0) {
      throw new Error(
        `eval --run evaluates the run's model on the dataset it trained on (its config.json); leave out ${contradicting.map(flagName).join(', ')}, ` +
          `or give those with --checkpoint ${shellCommand([`${flags.run!.replace(/\/+$/, '')}/checkpoints/last.safetensors`])} instead of --run`,
      );
    }
    const result =
      flags.run !== undefined
        ? await evaluateRun(flags.run)
        : await evaluateCheckpoint(flags.checkpoint!, checkpointEvalConfig(flags.checkpoint!, flags));
    const { predictions: _predictions, ...printed } = result;
    console.log(flags.json ? JSON.stringify(printed, null, 2) : formatEvaluation(result));
    if (flags.run !== undefined && !flags.json) console.log(`\nsaved in ${flags.run}/eval.json`);
  });

const landscape = program
  .command('landscape')
  .description(
    "the loss landscape around a trained run (Li et al. 2018): training loss along filter-normalised random directions, into the run's landscape.json",
  )
  .requiredOption('--run <dir>', 'a run directory (its last checkpoint)');
for (const [name, setting] of Object.entries(LANDSCAPE_SETTINGS))
  landscape.addOption(optionOf(name, setting as Setting<unknown>, false).default(setting.default));
landscape.action(
  async (flags: {
    run: string;
    points: number;
    grid: number;
    sample: number;
    range: number;
    seed: number;
    precision: 'run' | 'fp32' | 'bf16';
  }) => {
    const { run, ...options } = flags;
    const file = await landscapeOfRun(
      run,
      options,
      progressEvery(0.1, (done, total) => console.log(`${done} of ${total} points`)),
    );
    console.log(formatLandscape(file));
    console.log(`saved in ${run}/landscape.json; \`skipstudio report\` draws it`);
  },
);

const data = program.command('data').description('build and look at datasets');

data
  .command('coco')
  .description("build the exercise's COCO subset from an instances_*.json file and its image folder")
  .requiredOption('--annotations <file>', 'a COCO instances_*.json file (read in bounded memory: the 450 MB train2017 file takes seconds)')
  .requiredOption('--images <dir>', 'the folder of its images (e.g. train2017/)')
  .option(
    '--classes <list>',
    'comma-separated COCO category names',
    (v: string) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    HW5_CLASSES,
  )
  .option('--train-per-class <n>', 'training images per category', nonNegativeInteger, HW5_SUBSET.trainPerClass)
  .option('--val-per-class <n>', 'validation images per category', nonNegativeInteger, HW5_SUBSET.valPerClass)
  .option('--size <n>', 'resize every image to n x n', integerIn(...COCO_SIZE_RANGE), HW5_SUBSET.size)
  .option('--seed <n>', 'seed of the choice of images', integerIn(0, 2 ** 32 - 1), 0)
  .requiredOption(
    '--out <dir>',
    'the folder to build (an existing folder is refused unless it is empty, or --force and it holds a subset built here)',
  )
  .option('--write-images', 'also write the resized images as JPEGs in class folders')
  .option('--force', 'replace an output folder that holds a subset built by data coco (never any other folder)')
  .option('--allow-fewer', 'accept categories with fewer usable images than asked for')
  .option('--follow-symlinks', 'read image files that are links to places outside --images (default: refused, like file_names with ..)')
  .action(
    async (flags: {
      annotations: string;
      images: string;
      classes: string[];
      trainPerClass: number;
      valPerClass: number;
      size: number;
      seed: number;
      out: string;
      writeImages?: boolean;
      force?: boolean;
      allowFewer?: boolean;
      followSymlinks?: boolean;
    }) => {
      const started = performance.now();
      const manifest = await buildCocoSubset({ ...flags, log: (line) => console.log(line) });
      const seconds = (performance.now() - started) / 1000;
      const images = manifest.splits.train.count + manifest.splits.val.count;
      console.log(
        `built ${flags.out}: ${manifest.splits.train.count} train and ${manifest.splits.val.count} val images of ${manifest.classes.length} classes ` +
          `at ${flags.size}x${flags.size} in ${seconds.toFixed(1)} s (${(images / seconds).toFixed(0)} images/s); ` +
          `skipped ${manifest.skipped.missing.length} missing and ${manifest.skipped.corrupt.length} corrupt images` +
          (manifest.skipped.notRegularFile.length > 0 ? `, and ${manifest.skipped.notRegularFile.length} not regular files` : ''),
      );
    },
  );

data
  .command('info')
  .argument('[dataset]', `${datasetNames().join(', ')}`, 'fashion-mnist')
  .option('--data-dir <dir>', 'folder with the dataset files')
  .option('--json', 'print as JSON')
  .description('counts per class and split, image shape, per-channel mean and std')
  .action(async (name: string, flags: { dataDir?: string; json?: boolean }) => {
    const report = describeDataset(await loadDataset(dataset(name), flags.dataDir));
    console.log(flags.json ? JSON.stringify(report, null, 2) : formatDatasetInfo(report));
  });

data
  .command('show')
  .argument('[dataset]', `${datasetNames().join(', ')}`, 'fashion-mnist')
  .option('--data-dir <dir>', 'folder with the dataset files')
  .requiredOption('--out <file>', "the PNG to write, e.g. grid.png; never one of a run's own files, nor a device or folder")
  .option('--force', 'replace the output file when it exists')
  .option('--per-class <n>', 'images per class', integerIn(1, 1000), 8)
  .option('--split <name>', 'train or test', 'train')
  .description('a labelled grid of sample images per class, to see the data before training on it')
  .action(async (name: string, flags: { dataDir?: string; out: string; force?: boolean; perClass: number; split: string }) => {
    if (flags.split !== 'train' && flags.split !== 'test') throw new Error(`--split must be train or test, got '${flags.split}'`);
    checkOutputFile(flags.out, { force: flags.force });
    const splits = await loadDataset(dataset(name), flags.dataDir);
    writeFileAtomic(flags.out, await sampleGrid(splits[flags.split], { perClass: flags.perClass }));
    console.log(`wrote ${flags.out}`);
  });

program
  .command('report')
  .argument('<dirs...>', 'experiment or run directories; several give a side-by-side comparison')
  .description('write report.html, report.pdf and the figures (PNG and SVG) from run directories')
  .option('--out <dir>', 'where to write the report (default: the first directory)')
  .action(async (dirs: string[], flags: { out?: string }) => {
    const report = await writeReport(dirs, flags.out);
    console.log(
      `wrote ${report.pdf} (${report.pages} pages, ${report.figures.length} figures, ${report.tables} tables), ${report.html}, ` +
        `and the figures as PNG and SVG in ${flags.out ?? dirs[0]}/figures/`,
    );
  });

registerServeExport(program);
