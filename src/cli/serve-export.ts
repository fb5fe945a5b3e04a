/**
 * The `serve` and `export` commands, the `--tensorboard` flag of train and
 * experiment, and the closing lines those two print (the serve command that
 * shows what they trained). Thin: the work is in src/serve and src/export.
 */
import { type Command, InvalidArgumentError } from 'commander';

import { writeFileAtomic } from '../io/index.js';
import { shellCommand } from '../text/index.js';
import { checkOutputFile } from '../runs/index.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535 (0: any free port)');
  return n;
}

/** Adds `serve` and `export` to the program, and `--tensorboard` to its train and experiment commands. */
export function registerServeExport(program: Command): void {
  program
    .command('serve')
    .argument('[dir]', 'a folder of runs: runs/, an experiment or a single run', 'runs')
    .description(
      'a live, read-only web dashboard of the runs: tables, loss and accuracy charts updating while runs train, confusion matrices, ' +
        'gradient flow, the reports; try a finished model on your own image',
    )
    .option('--port <n>', 'the port (0: any free one)', port, 6006)
    .option(
      '--host <address>',
      'the address to listen on; the default lets only this machine connect (0.0.0.0: every network this machine is on)',
      '127.0.0.1',
    )
    .action(async (dir: string, flags: { port: number; host: string }) => {
      const { startDashboard } = await import('../serve/index.js');
      const dashboard = await startDashboard({ root: dir, port: flags.port, host: flags.host });
      const experiments = dashboard.store.experiments();
      const runs = experiments.reduce((n, e) => n + e.runIds.length, 0);
      console.log(`skipstudio dashboard of ${dashboard.store.root} (${experiments.length} experiments, ${runs} runs) at ${dashboard.url}`);
      console.log(
        ['127.0.0.1', 'localhost', '::1'].includes(flags.host)
          ? 'Only this machine can connect. Read-only. Ctrl-C stops it.'
          : `Listening on ${flags.host}: anyone who can reach this address can read every file under ${dashboard.store.root}. Read-only. Ctrl-C stops it.`,
      );
      const stop = () => {
        void dashboard.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program
    .command('export')
    .description("write a trained run's model as an ONNX graph (opset 17), with its class names and input normalisation in the metadata")
    .requiredOption('--run <dir>', 'the run directory (its last checkpoint)')
    .option('--format <format>', 'onnx (the only format)', 'onnx')
    .option('--out <file>', "the file to write (default: <run>/model.onnx); never one of a run's own files, nor a device or folder")
    .option('--force', 'replace the output file when it exists')
    .option('--allow-diverged', 'export a run that diverged (its last checkpoint before the divergence)')
    .action(async (flags: { run: string; format: string; out?: string; force?: boolean; allowDiverged?: boolean }) => {
      if (flags.format !== 'onnx') throw new Error(`--format ${flags.format}: only onnx is supported`);
      const out = flags.out ?? `${flags.run.replace(/\/+$/, '')}/model.onnx`;
      checkOutputFile(out, { force: flags.force });
      const { exportRunToOnnx } = await import('../export/index.js');
      const result = exportRunToOnnx(flags.run, { allowDiverged: flags.allowDiverged });
      writeFileAtomic(out, result.bytes);
      const operators = Object.entries(result.operators)
        .map(([op, n]) => `${n} ${op}`)
        .join(', ');
      console.log(
        `wrote ${out} (${(result.bytes.length / 1e6).toFixed(2)} MB, opset ${result.opset}, ${result.nodes} nodes: ${operators}); ` +
          'input "input" [batch, C, H, W]: pixels / 255, then (x - mean) / std per channel (metadata "normalization"); output "logits" (metadata "classes")',
      );
      await sayAgreement(flags.run);
    });

  for (const name of ['train', 'experiment']) {
    program.commands
      .find((c) => c.name() === name)
      ?.option(
        '--tensorboard <dir>',
        "also append each run's loss, accuracy and learning rate to TensorBoard event files under this folder (a sub-folder per run) as the run logs them",
      );
  }
}

/**
 * Where the run's evaluation computed otherwise than the graph (bf16 autocast, flip averaging), says on how many test images
 * their predictions differ, measured now: the graph's exactness is no promise that it reproduces eval.json.
 */
async function sayAgreement(run: string): Promise<void> {
  const { agreementWithSinglePass } = await import('../train/index.js');
  try {
    const agreement = await agreementWithSinglePass(run);
    if (agreement === undefined) return;
    console.log(
      `the graph computes one float32 pass per image; the run's evaluation ran ${agreement.evaluatedAs}: their predictions differ on ` +
        `${agreement.differ.toLocaleString('en-US')} of ${agreement.count.toLocaleString('en-US')} test images (measured now, float32 in skipstudio against predictions.json)`,
    );
  } catch (error) {
    console.log(
      `the graph computes one float32 pass per image, the run's evaluation did not; how often their predictions differ could not be measured: ${(error as Error).message}`,
    );
  }
}

/**
 * What train and experiment print last: the serve command that shows the
 * runs, and with --tensorboard, where their TensorBoard scalars went.
 */
export function afterTraining(out: string, flags: { json?: boolean; tensorboard?: string }): void {
  if (flags.json) return;
  if (flags.tensorboard !== undefined)
    console.log(
      `TensorBoard scalars under ${flags.tensorboard}, appended as the runs logged (${shellCommand(['tensorboard', '--logdir', flags.tensorboard])})`,
    );
  console.log(`Dashboard: ${shellCommand(['skipstudio', 'serve', out])}  (then open http://127.0.0.1:6006/)`);
}
