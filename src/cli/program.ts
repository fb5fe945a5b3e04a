/**
 * The `skipstudio` command's definition: every command and flag (main.ts
 * runs it; docs/cli.md is generated from it). Thin by design: it parses
 * flags, checks them, and calls the library; every piece of real work lives
 * in src/.
 */

import { Command } from 'commander';

import { getRank } from '../distributed/index.js';
import { datasetNames, getDatasetInfo } from '../data/index.js';
import { readJsonObject } from '../io/index.js';
import { getModelSpec, modelSpecs } from '../models/index.js';
import { summary } from '../nn/index.js';
import { formatCount, formatFlops, shellCommand, textTableLines } from '../text/index.js';
import { formatLandscape, formatResultsTable, writeReport } from '../report/index.js';
import { type Setting, type TrainConfig, flagName } from '../runs/index.js';
import {
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
import { registerDataCommands } from './data-commands.js';
import { afterTraining, registerServeExport } from './serve-export.js';
import {
  dataset,
  stopOnInterrupt,
  settingOption,
  optionOf,
  commandOption,
  addTrainingFlags,
  addLaunchFlags,
  type LaunchFlags,
  launchedWorkers,
  type TrainingFlags,
  absolute,
  refuseSettingsWithResume,
  trainingOverrides,
} from './options.js';

export { FLAG_FACTS } from './options.js';

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
  .requiredOption('--run <dir>', 'a run directory (its last checkpoint)')
  .option(
    '--hessian',
    "also measure the Hessian's curvature on the same sample (fp32): its top eigenvalue by power iteration and its trace by Hutchinson's estimator, per batch of 250 images and with a 95% interval over the batches",
  );
for (const [name, setting] of Object.entries(LANDSCAPE_SETTINGS))
  landscape.addOption(optionOf(name, setting as Setting<unknown>, false).default(setting.default));
landscape.action(
  async (flags: {
    run: string;
    hessian?: boolean;
    points: number;
    grid: number;
    sample: number;
    range: number;
    seed: number;
    precision: 'run' | 'fp32' | 'bf16';
  }) => {
    const { run, hessian, ...options } = flags;
    const file = await landscapeOfRun(run, options, {
      onPoint: progressEvery(0.1, (done, total) => console.log(`${done} of ${total} points`)),
      hessian: hessian ? { seed: options.seed } : undefined,
    });
    console.log(formatLandscape(file));
    console.log(`saved in ${run}/landscape.json; \`skipstudio report\` draws it`);
  },
);

registerDataCommands(program);

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
