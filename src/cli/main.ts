#!/usr/bin/env node
/**
 * The `skipstudio` command. Thin by design: it parses flags, checks them,
 * and calls the library; every piece of real work lives in src/.
 */
import { Command, InvalidArgumentError } from 'commander';

import { datasetNames, getDatasetInfo } from '../data/index.js';
import { getModelSpec, modelSpecs } from '../models/index.js';
import { formatCount, formatFlops, summary } from '../nn/index.js';
import { quickTrain } from '../train/index.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function dataset(value: string): string {
  try {
    return getDatasetInfo(value).name;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command()
  .name('skipstudio')
  .description('Train and study deep residual networks (SkipBlocks) in TypeScript over libtorch.')
  .showHelpAfterError();

program
  .command('demo')
  .description('train a small residual network on Fashion-MNIST for a few hundred steps (what `npm start` runs)')
  .option('--steps <n>', 'training steps', positiveInteger, 300)
  .option('--batch-size <n>', 'images per step', positiveInteger, 64)
  .option('--lr <rate>', 'Adam learning rate', positiveNumber, 2e-3)
  .option('--seed <n>', 'random seed', (v) => Number(v), 0)
  .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX files (default: Debian\'s dataset-fashion-mnist)')
  .action((options: { steps: number; batchSize: number; lr: number; seed: number; dataDir?: string }) => {
    quickTrain({ ...options, logEvery: 25, log: (line) => console.log(line) });
  });

program
  .command('models')
  .argument('[name]', 'a model to describe layer by layer')
  .description('list the models with their learnable layers, parameters and FLOPs, or print one model\'s summary table')
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
    const header = ['model', 'learnable layers', 'parameters', 'FLOPs/image', 'description'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) {
      console.log(row.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`skipstudio: ${(error as Error).message}`);
  process.exit(1);
}
