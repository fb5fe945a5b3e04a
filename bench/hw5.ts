/**
 * The assignment at full size, rehearsed end to end on a COCO 2017 stand-in
 * of the real size (coco-standin.ts): `skipstudio data coco` builds the
 * assignment's subset from it, then `skipstudio experiment --preset hw5`
 * trains and reports, each in a process of its own, as a user runs them.
 * Printed and written to <out>/rehearsal.json: each stage's wall time, the
 * peak resident memory of every process (the experiment's workers too), the
 * subset build's images per second, each model's seconds per epoch, its RSS
 * and live tensors epoch by epoch, the forecast against the actual time, and
 * the final accuracies, with the labels checked against the stand-in's record.
 *
 *   npm run bench:hw5 [-- --epochs 10 --out runs/hw5-rehearsal --scale 1 --reuse-standin]
 *     --epochs         the preset's epochs (default its own, 10); fewer for a shortened rehearsal
 *     --scale          the stand-in and the subset at this fraction of their size (default 1; 0.05 for a quick try)
 *     --reuse-standin  keep a stand-in already in <out>/coco2017 written with the same seed and scale
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { COCO_2017, type SplitShape, type StandInRecord, writeCocoStandIn } from './coco-standin.js';
import { statusKb } from './peak-rss.js';
import {
  type CocoManifest,
  type EpochRecord,
  type ExperimentForecast,
  HW5_CLASSES,
  HW5_SUBSET,
  PRESETS,
  RunDirectory,
  type RunSummary,
  formatDuration,
  hw5SubsetArgs,
} from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    epochs: { type: 'string', default: String(PRESETS.hw5.base.epochs) },
    out: { type: 'string', default: 'runs/hw5-rehearsal' },
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '2017' },
    'reuse-standin': { type: 'boolean', default: false },
  },
});
const epochs = Number(flags.epochs);
const scale = Number(flags.scale);
const seed = Number(flags.seed);
if (!(Number.isInteger(epochs) && epochs >= 1)) throw new RangeError(`--epochs must be a positive integer, got ${flags.epochs}`);
if (!(scale > 0 && scale <= 1)) throw new RangeError(`--scale must be in (0, 1], got ${flags.scale}`);

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../src/cli/main.js');
const out = resolve(flags.out);
const standIn = join(out, 'coco2017');
const subsetDir = join(out, 'coco-hw5');
const experimentDir = join(out, 'experiment');

/** A split's shape at the rehearsal's scale. */
function scaled(shape: SplitShape): SplitShape {
  const n = (v: number) => Math.max(1, Math.round(v * scale));
  return {
    images: n(shape.images),
    annotations: n(shape.annotations),
    bytes: n(shape.bytes),
    classImages: Object.fromEntries(Object.entries(shape.classImages).map(([k, v]) => [k, n(v)])),
  };
}

interface Stage {
  seconds: number;
  /** Peak resident memory of each process of the stage, in MiB, by its command line. */
  peakMiB: { command: string; peakMiB: number }[];
  output: string;
}

/** Runs the CLI in a child process, echoing its output, with every Node process of it reporting its peak RSS. */
function runCli(name: string, args: string[]): Promise<Stage> {
  const peaks = join(out, 'peak-rss', name);
  rmSync(peaks, { recursive: true, force: true });
  mkdirSync(peaks, { recursive: true });
  const env = {
    ...process.env,
    SKIPSTUDIO_PEAK_RSS_DIR: peaks,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${join(here, 'peak-rss.js')}`.trim(),
  };
  console.log(`\n$ skipstudio ${args.join(' ')}`);
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const echo = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    output += chunk.toString();
    stream.write(chunk);
  };
  child.stdout.on('data', echo(process.stdout));
  child.stderr.on('data', echo(process.stderr));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`skipstudio ${args.slice(0, 2).join(' ')} exited with ${code}`));
      const peakMiB = readdirSync(peaks)
        .map((f) => JSON.parse(readFileSync(join(peaks, f), 'utf8')) as { argv: string[]; peakMiB: number })
        .map((p) => ({ command: p.argv.length > 0 ? p.argv.slice(0, 2).join(' ') : '(worker)', peakMiB: Math.round(p.peakMiB) }));
      done({ seconds: (performance.now() - started) / 1000, peakMiB, output });
    });
  });
}

/** The stand-in: written, or kept from an earlier rehearsal with the same seed and scale. */
async function standInStage(): Promise<{ seconds: number; peakMiB: number; record: StandInRecord; reused: boolean }> {
  const splits = { train2017: scaled(COCO_2017.train2017), val2017: scaled(COCO_2017.val2017) };
  const recordFile = join(standIn, 'standin.json');
  if (flags['reuse-standin'] && existsSync(recordFile)) {
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as StandInRecord;
    if (record.seed === seed && record.splits.train2017?.images === splits.train2017.images)
      return { seconds: 0, peakMiB: 0, record, reused: true };
  }
  rmSync(standIn, { recursive: true, force: true });
  const started = performance.now();
  const record = await writeCocoStandIn({ out: standIn, seed, splits, log: (line) => console.log(`[stand-in] ${line}`) });
  return { seconds: (performance.now() - started) / 1000, peakMiB: Math.round(statusKb('VmHWM') / 1024), record, reused: false };
}

/** How many of the subset's images carry the class the stand-in drew as their largest: all of them, or the builder mislabels. */
function labelCheck(record: StandInRecord): { checked: number; wrong: number } {
  const manifest = JSON.parse(readFileSync(join(subsetDir, 'manifest.json'), 'utf8')) as CocoManifest;
  const labels = record.splits.train2017!.labels;
  const images = [...manifest.splits.train.images, ...manifest.splits.val.images];
  return { checked: images.length, wrong: images.filter((image) => labels[String(image.id)] !== image.class).length };
}

/** Per run: seconds of each epoch, RSS and live tensors at each epoch's end, final accuracy. */
function runFigures(runs: RunSummary[]) {
  return runs.map((run) => {
    const records = new RunDirectory(run.dir).records().filter((r): r is EpochRecord => r.type === 'epoch');
    const rss = records.map((r) => r.rssMiB ?? Number.NaN);
    return {
      name: run.name,
      model: run.model,
      lr: run.lr,
      finalTestAccuracy: run.finalTestAccuracy,
      bestTestAccuracy: run.bestTestAccuracy,
      wallSeconds: run.wallSeconds,
      epochSeconds: records.map((r) => Math.round(r.seconds * 10) / 10),
      rssMiB: rss,
      liveTensors: records.map((r) => r.liveTensors ?? Number.NaN),
      // Flat memory: the range after the first epoch (which allocates what training keeps). RSS swings by the addon's cache
      // of freed blocks, returned to the system after 4 s unused; a leak shows as a maximum that climbs epoch after epoch.
      rssAfterFirstMiB: rss.length >= 2 ? [Math.min(...rss.slice(1)), Math.max(...rss.slice(1))] : [],
    };
  });
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const machine = {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    avx512bf16: readFileSync('/proc/cpuinfo', 'utf8').includes('avx512_bf16'),
  };
  const generated = await standInStage();
  const subsetCounts = {
    trainPerClass: Math.max(1, Math.round(HW5_SUBSET.trainPerClass * scale)),
    valPerClass: Math.max(1, Math.round(HW5_SUBSET.valPerClass * scale)),
    size: HW5_SUBSET.size,
  };
  const build = await runCli('subset', [...hw5SubsetArgs(standIn, subsetDir, subsetCounts), '--force']);
  const built = subsetCounts.trainPerClass + subsetCounts.valPerClass;
  const decoded = /decoded and resized [\d,]+ images in [\d.]+ s \((\d+) images\/s\)/.exec(build.output);
  const labels = labelCheck(generated.record);
  // A rehearsal measures a whole experiment: runs kept from an earlier one would be reported as if trained now.
  rmSync(experimentDir, { recursive: true, force: true });
  const experiment = await runCli('experiment', [
    'experiment',
    '--preset',
    'hw5',
    '--data-dir',
    subsetDir,
    '--out',
    experimentDir,
    '--epochs',
    String(epochs),
  ]);
  const results = JSON.parse(readFileSync(join(experimentDir, 'results.json'), 'utf8')) as { runs: RunSummary[] };
  const forecast = JSON.parse(readFileSync(join(experimentDir, 'forecast.json'), 'utf8')) as ExperimentForecast;
  const rehearsal = {
    date: new Date().toISOString(),
    machine,
    epochs,
    scale,
    standIn: {
      seconds: generated.seconds,
      peakMiB: generated.peakMiB,
      reused: generated.reused,
      splits: generated.record.splits.train2017 && {
        images: generated.record.splits.train2017.images,
        annotations: generated.record.splits.train2017.annotations,
        bytes: generated.record.splits.train2017.bytes,
      },
    },
    subset: {
      seconds: build.seconds,
      peakMiB: build.peakMiB,
      images: built * HW5_CLASSES.length,
      imagesPerSecond: (built * HW5_CLASSES.length) / build.seconds,
      decodeImagesPerSecond: decoded ? Number(decoded[1]) : null,
      labels,
    },
    experiment: {
      seconds: experiment.seconds,
      peakMiB: experiment.peakMiB,
      forecastSeconds: forecast.seconds,
      actualSeconds: forecast.actual?.seconds ?? null,
      runs: runFigures(results.runs),
    },
  };
  writeFileSync(join(out, 'rehearsal.json'), `${JSON.stringify(rehearsal, null, 2)}\n`);
  printSummary(rehearsal);
}

function printSummary(r: {
  machine: { cores: number; avx512bf16: boolean };
  standIn: { seconds: number; peakMiB: number; reused: boolean };
  subset: { seconds: number; peakMiB: { peakMiB: number }[]; imagesPerSecond: number; labels: { checked: number; wrong: number } };
  experiment: {
    seconds: number;
    peakMiB: { command: string; peakMiB: number }[];
    forecastSeconds: number;
    actualSeconds: number | null;
    runs: ReturnType<typeof runFigures>;
  };
}): void {
  const peak = (list: { peakMiB: number }[]) => `${Math.max(...list.map((p) => p.peakMiB))} MiB`;
  console.log(
    `\nRehearsal of --preset hw5 (${r.machine.cores} cores, ${r.machine.avx512bf16 ? 'avx512_bf16' : 'AVX2'}): ${join(out, 'rehearsal.json')}`,
  );
  console.log(`  stand-in    ${r.standIn.reused ? 'reused' : `${formatDuration(r.standIn.seconds)}, peak ${r.standIn.peakMiB} MiB`}`);
  console.log(
    `  subset      ${formatDuration(r.subset.seconds)}, peak ${peak(r.subset.peakMiB)}, ${r.subset.imagesPerSecond.toFixed(0)} images/s overall; ` +
      `labels: ${r.subset.labels.wrong} wrong of ${r.subset.labels.checked}`,
  );
  console.log(
    `  experiment  ${formatDuration(r.experiment.seconds)} in all; training and landscapes ${formatDuration(r.experiment.actualSeconds ?? Number.NaN)} against a forecast of ` +
      `${formatDuration(r.experiment.forecastSeconds)}; peak ${peak(r.experiment.peakMiB)} over ${r.experiment.peakMiB.length} processes`,
  );
  for (const run of r.experiment.runs) {
    const mean = run.epochSeconds.reduce((a, b) => a + b, 0) / Math.max(1, run.epochSeconds.length);
    const tensors = [...new Set(run.liveTensors)].join(', ');
    console.log(
      `    ${run.name.padEnd(18)} ${(100 * run.finalTestAccuracy).toFixed(2)}%  ${mean.toFixed(1)} s/epoch  RSS ${run.rssMiB.join(' ')} MiB ` +
        `(after epoch 1: ${run.rssAfterFirstMiB.join(' to ')} MiB), live tensors ${tensors}`,
    );
  }
}

await main();
