/**
 * A run stopped part-way, resumed to its end from its checkpoint, and its
 * last checkpoint evaluated: what `skipstudio train`, `train --resume` and
 * `eval --run` do, through the library.
 *
 *   node dist/examples/resume-and-evaluate.js [--out DIR] [--train-subset N]
 *
 * It trains Net1 for one epoch on `--train-subset` images (default 6,400),
 * stops after a third of its steps as Ctrl-C would (with a checkpoint), then resumes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IterationRecord, PlainReporter, type StopFlag, evaluateRun, formatEvaluation, train } from 'skipstudio';

/** The value after `flag`, if given. */
function option(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** The library's plain progress lines, and a stop request once a logged step reaches `stopAt`. */
class StoppingReporter extends PlainReporter {
  constructor(
    readonly stop: StopFlag,
    readonly stopAt: number,
  ) {
    super();
  }

  override logged(run: string, record: IterationRecord): void {
    super.logged(run, record);
    if (record.step >= this.stopAt) this.stop.requested = true;
  }
}

const out = option('--out') ?? join(mkdtempSync(join(tmpdir(), 'skipstudio-example-')), 'net1');
const trainSubset = Number(option('--train-subset') ?? 6400);
const stopAt = Math.max(1, Math.floor(trainSubset / 64 / 3));
const config = { model: 'net1', lr: 0.05, epochs: 1, batchSize: 64, trainSubset, logEvery: stopAt, out };

const stop: StopFlag = { requested: false };
const first = await train(config, { reporter: new StoppingReporter(stop, stopAt), stop });
console.log(`first part: ${first.status} (asked to stop after step ${stopAt})`);

const resumed = await train({ out }, { reporter: new PlainReporter(), resume: true });
console.log(`resumed: ${resumed.status}, test accuracy ${(100 * resumed.finalTestAccuracy).toFixed(2)}%`);

const evaluation = await evaluateRun(out);
console.log(formatEvaluation(evaluation));
console.log(`written: ${join(out, 'eval.json')} and predictions.json`);
