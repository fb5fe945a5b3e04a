/** Classification metrics from predicted and true labels: accuracy, per-class accuracy, confusion matrix. */

import type { ClassificationReport } from '../runs/records.js';

export type { ClassificationReport };

/** Accuracy, per-class accuracy and the confusion matrix (rows: true class, columns: predicted) of a set of predictions. */
export function classificationReport(predicted: ArrayLike<number>, actual: ArrayLike<number>, numClasses: number): ClassificationReport {
  if (predicted.length !== actual.length)
    throw new RangeError(`classificationReport: ${predicted.length} predictions for ${actual.length} labels`);
  const confusionMatrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    const t = Number(actual[i]);
    const p = Number(predicted[i]);
    confusionMatrix[t]![p]! += 1;
    if (t === p) correct += 1;
  }
  const perClassAccuracy = confusionMatrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    // Stryker disable next-line ConditionalExpression: an empty row gives 0 / 0, NaN, either way; the test says so
    return total === 0 ? Number.NaN : row[c]! / total;
  });
  // Stryker disable next-line ConditionalExpression: no predictions give 0 / 0, NaN, either way
  return { accuracy: actual.length === 0 ? Number.NaN : correct / actual.length, perClassAccuracy, confusionMatrix, count: actual.length };
}
