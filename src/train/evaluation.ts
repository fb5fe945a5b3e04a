/**
 * `skipstudio eval`: re-evaluates a trained model on the test split from a
 * run directory (or a checkpoint plus model and dataset names) and saves the
 * accuracy, per-class accuracy and confusion matrix.
 */
import { DataLoader } from '../data/index.js';
import { loadCheckpoint } from '../io/index.js';
import { dispose } from '../tensor/index.js';
import { type TrainConfig, resolveTrainConfig, trainingMemoryFormat } from './config.js';
import type { ClassificationReport } from './metrics.js';
import { type Predictions, RunDirectory } from './run-dir.js';
import { evaluate, prepareRun } from './trainer.js';

export interface EvaluationResult extends ClassificationReport {
  split: 'test';
  loss: number;
  classes: string[];
  checkpoint: string;
  predictions: Predictions;
}

/** Evaluates the checkpoint with the given config (model, dataset, normalisation from the training split). */
export async function evaluateCheckpoint(checkpointPath: string, config: TrainConfig): Promise<EvaluationResult> {
  const { splits, normalization, model } = await prepareRun(config);
  const checkpoint = loadCheckpoint(checkpointPath);
  try {
    model.loadStateDict(checkpoint.modelState);
  } finally {
    checkpoint.dispose();
  }
  model.to({ memoryFormat: trainingMemoryFormat(config) });
  const loader = new DataLoader(splits.test, { batchSize: 500, shuffle: false, normalization });
  const { loss, report, predictions } = evaluate(model, loader, config);
  dispose(model.parameters());
  return { split: 'test', loss, classes: splits.test.classes, checkpoint: checkpointPath, ...report, predictions };
}

/** Evaluates a run's last checkpoint and writes eval.json into the run directory. */
export async function evaluateRun(path: string): Promise<EvaluationResult> {
  const dir = new RunDirectory(path);
  const config = resolveTrainConfig({ ...dir.readJson<TrainConfig>('config.json'), out: path });
  const result = await evaluateCheckpoint(dir.checkpointPath, config);
  const { predictions, ...evaluation } = result;
  dir.writeJson('eval.json', evaluation);
  dir.writeJson('predictions.json', predictions);
  return result;
}

/** Accuracy, per-class accuracy and the confusion matrix as text. */
export function formatEvaluation(result: EvaluationResult): string {
  const lines = [`test accuracy ${(100 * result.accuracy).toFixed(2)}% on ${result.count.toLocaleString('en-US')} images (loss ${result.loss.toFixed(4)})`, '', 'per-class accuracy:'];
  const width = Math.max(...result.classes.map((c) => c.length));
  result.classes.forEach((c, i) => lines.push(`  ${c.padEnd(width)}  ${(100 * result.perClassAccuracy[i]!).toFixed(2)}%`));
  lines.push('', 'confusion matrix (rows: true class, columns: predicted):');
  const cell = Math.max(5, ...result.confusionMatrix.flat().map((v) => String(v).length + 1));
  lines.push(`  ${''.padEnd(width)}${result.classes.map((_, j) => String(j).padStart(cell)).join('')}`);
  result.confusionMatrix.forEach((row, i) => lines.push(`  ${result.classes[i]!.padEnd(width)}${row.map((v) => String(v).padStart(cell)).join('')}`));
  return lines.join('\n');
}
