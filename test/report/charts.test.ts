/**
 * The report's charts carry the numbers they are drawn from: the confusion
 * heatmap's cells against an asymmetric matrix, where swapping the true and
 * predicted classes (or reading a row as a column) changes every cell.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import { confusionHeatmap, renderChart } from '../../src/report/charts.js';
import type { RunData } from '../../src/report/load.js';

const CLASSES = ['boat', 'cake', 'dog'];
// Rows: true class; columns: predicted. No two cells alike, and m[i][j] != m[j][i] everywhere off the diagonal.
const MATRIX = [[50, 3, 7], [11, 40, 2], [5, 13, 30]];

function evaluated(): RunData {
  const count = MATRIX.flat().reduce((a, b) => a + b, 0);
  return {
    name: 'net3-lr0.001-s0', dir: '/nowhere', config: { ...S.DEFAULT_TRAIN_CONFIG, model: 'net3', lr: 0.001 },
    status: { status: 'finished', epochsDone: 1, step: 1, totalSteps: 1, wallSeconds: 1, updatedAt: '' }, iterations: [], epochs: [], gradients: [],
    evaluation: { split: 'test', accuracy: 120 / count, perClassAccuracy: [50 / 60, 40 / 53, 30 / 48], confusionMatrix: MATRIX, count, loss: 1, classes: CLASSES },
  } as unknown as RunData;
}

describe('the confusion heatmap', () => {
  const chart = confusionHeatmap(evaluated())!;
  const spec = chart.spec as unknown as {
    data: { values: { actual: string; predicted: string; count: number }[] };
    encoding: { x: { field: string; title: string }; y: { field: string; title: string } };
  };

  it('has one cell per pair of classes, holding the count of that true class predicted as that class', () => {
    assert.equal(spec.data.values.length, 9);
    for (const [i, actual] of CLASSES.entries()) {
      for (const [j, predicted] of CLASSES.entries()) {
        const cells = spec.data.values.filter((v) => v.actual === actual && v.predicted === predicted);
        assert.deepEqual(cells.map((c) => c.count), [MATRIX[i]![j]], `true ${actual}, predicted ${predicted}`);
      }
    }
  });

  it('draws the predicted class across and the true class down, as its caption says', () => {
    assert.deepEqual([spec.encoding.x.field, spec.encoding.x.title], ['predicted', 'predicted class']);
    assert.deepEqual([spec.encoding.y.field, spec.encoding.y.title], ['actual', 'true class']);
    assert.match(chart.caption, /rows: true class, columns: predicted; accuracy 74\.53%/);
  });

  it('prints every count in its SVG', async () => {
    const { svg } = await renderChart(chart);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const count of MATRIX.flat()) assert.ok(texts.includes(String(count)), `the count ${count} is drawn`);
  });
});
