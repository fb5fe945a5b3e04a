/**
 * The report's charts carry the numbers they are drawn from: the confusion
 * heatmap's cells against an asymmetric matrix, where swapping the true and
 * predicted classes (or reading a row as a column) changes every cell; and
 * each chart's data, fields and captions, written out for synthetic runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import {
  accuracyPerEpoch,
  confusionHeatmap,
  finalAccuracyChart,
  gradientFlow,
  lineChart,
  lossByLearningRate,
  lossComparison,
  meanSeries,
  renderChart,
} from '../../src/report/charts.js';
import type { RunData } from '../../src/report/load.js';
import { type RunGroup, groupRuns } from '../../src/report/study.js';

const CLASSES = ['boat', 'cake', 'dog'];
// Rows: true class; columns: predicted. No two cells alike, and m[i][j] != m[j][i] everywhere off the diagonal.
const MATRIX = [
  [50, 3, 7],
  [11, 40, 2],
  [5, 13, 30],
];

function evaluated(): RunData {
  const count = MATRIX.flat().reduce((a, b) => a + b, 0);
  return {
    name: 'net3-lr0.001-s0',
    dir: '/nowhere',
    config: { ...S.DEFAULT_TRAIN_CONFIG, model: 'net3', lr: 0.001 },
    status: { status: 'finished', epochsDone: 1, step: 1, totalSteps: 1, wallSeconds: 1, updatedAt: '' },
    iterations: [],
    epochs: [],
    gradients: [],
    evaluation: {
      split: 'test',
      accuracy: 120 / count,
      perClassAccuracy: [50 / 60, 40 / 53, 30 / 48],
      confusionMatrix: MATRIX,
      count,
      loss: 1,
      classes: CLASSES,
    },
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
        assert.deepEqual(
          cells.map((c) => c.count),
          [MATRIX[i]![j]],
          `true ${actual}, predicted ${predicted}`,
        );
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

/** A finished run with the given loss records (step to loss), test accuracy after each epoch and gradient records (one norm per layer). */
function trained(
  model: string,
  lr: number,
  seed: number,
  {
    losses = {},
    accuracies = [],
    layers = [],
    gradients = [],
  }: {
    losses?: Record<number, number>;
    accuracies?: number[];
    layers?: string[];
    gradients?: number[][];
  } = {},
): RunData {
  return {
    name: `${model}-lr${lr}-s${seed}`,
    dir: '/nowhere',
    config: { ...S.DEFAULT_TRAIN_CONFIG, model, lr, seed, logEvery: 4 },
    model: { model, gradientLayers: layers },
    status: { status: 'finished', epochsDone: 1, step: 1, totalSteps: 1, wallSeconds: 1, updatedAt: '' },
    iterations: Object.entries(losses).map(([step, loss]) => ({ type: 'iteration', epoch: 0, step: Number(step), loss })),
    epochs: accuracies.map((testAccuracy, epoch) => ({ type: 'epoch', epoch, step: 10 * (epoch + 1), testAccuracy })),
    gradients: gradients.map((norms, i) => ({ type: 'gradients', epoch: 0, step: i + 1, norms })),
  } as unknown as RunData;
}

/** A group as the charts read it: its label, learning rate, runs and accuracy over seeds, written out. */
function group(
  label: string,
  lr: number,
  runs: RunData[],
  accuracy: RunGroup['accuracy'] = { n: 0, mean: Number.NaN, std: Number.NaN },
): RunGroup {
  return { model: 'net3', label, lr, runs, accuracy };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ run: 'a', x: i, y: i }));
const X = { field: 'x', type: 'ordinal' };
const Y = { field: 'y', type: 'quantitative' };
const COLOR = (title: string) => ({ field: 'run', type: 'nominal', title, sort: null });
const BAND_NOTE = ' Lines are the mean over the seeds; the band is one standard deviation either side.';

describe('a line chart', () => {
  it('one line per run, its legend titled; points marked by default only under 40 values', () => {
    assert.deepEqual(lineChart('c', 'A caption.', rows(2), { x: X, y: Y, legend: 'L' }), {
      id: 'c',
      caption: 'A caption.',
      spec: {
        width: 480,
        height: 260,
        data: { values: rows(2) },
        mark: { type: 'line', point: true },
        encoding: { x: X, y: Y, color: COLOR('L') },
      },
    });
    const point = (n: number, points?: boolean) =>
      (lineChart('c', '', rows(n), { x: X, y: Y, legend: 'L', points }).spec as unknown as { mark: { point: boolean } }).mark.point;
    assert.deepEqual([point(39), point(40), point(3, false), point(40, true)], [true, false, false, true]);
  });

  it('a tooltip and a height where asked', () => {
    const chart = lineChart('c', '', rows(1), { x: X, y: Y, legend: 'L', tooltip: [{ field: 'layer' }], height: 123 });
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 123,
      data: { values: rows(1) },
      mark: { type: 'line', point: true },
      encoding: { x: X, y: Y, color: COLOR('L'), tooltip: [{ field: 'layer' }] },
    });
  });

  it('a band from lo to hi under each line where asked and some row has a spread, on a quantitative x', () => {
    const values = [
      { run: 'a', x: 1, y: 1, lo: 1, hi: 1 },
      { run: 'a', x: 2, y: 2, lo: 1, hi: 3 },
    ];
    assert.deepEqual(lineChart('c', '', values, { x: X, y: Y, legend: 'L', band: true }).spec, {
      width: 480,
      height: 260,
      data: { values },
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'lo', type: 'quantitative' },
            y2: { field: 'hi' },
            color: COLOR('L'),
          },
        },
        { mark: { type: 'line', point: true }, encoding: { x: X, y: Y, color: COLOR('L') } },
      ],
    });
    const flat = values.map((v) => ({ ...v, hi: v.lo }));
    const line = { mark: { type: 'line', point: true }, encoding: { x: X, y: Y, color: COLOR('L') } };
    assert.deepEqual(
      lineChart('c', '', flat, { x: X, y: Y, legend: 'L', band: true }).spec,
      { width: 480, height: 260, data: { values: flat }, ...line },
      'no spread: no band',
    );
    assert.deepEqual(
      lineChart('c', '', values, { x: X, y: Y, legend: 'L' }).spec,
      { width: 480, height: 260, data: { values }, ...line },
      'not asked: no band',
    );
  });
});

describe('the mean of series over seeds', () => {
  it("at the x values every series has, in the first series' order, with one standard deviation either side", () => {
    const series = [
      new Map([
        [1, 1],
        [2, 0.5],
        [3, 9],
      ]),
      new Map([
        [2, 0.75],
        [1, 2],
      ]),
      new Map([
        [1, 3],
        [2, 1],
        [4, 0],
      ]),
    ];
    assert.deepEqual(meanSeries(series), [
      { x: 1, mean: 2, lo: 1, hi: 3 },
      { x: 2, mean: 0.75, lo: 0.5, hi: 1 },
    ]);
  });

  it('one series: no spread; none: nothing', () => {
    assert.deepEqual(meanSeries([new Map([[5, 0.5]])]), [{ x: 5, mean: 0.5, lo: 0.5, hi: 0.5 }]);
    assert.deepEqual(meanSeries([]), []);
  });
});

describe('the training-loss charts', () => {
  const stepX = { field: 'step', type: 'quantitative', title: 'iteration' };
  const lossY = { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } };
  const threeSeeds = (model: string, lr: number) => [
    trained(model, lr, 0, { losses: { 4: 1, 8: 0.5, 12: 0.25 } }),
    trained(model, lr, 1, { losses: { 4: 2, 8: 0.75 } }),
    trained(model, lr, 2, { losses: { 4: 3, 8: 1 } }),
  ];

  it('by learning rate: the mean loss at each step every seed logged, the band, one line per learning rate', () => {
    const chart = lossByLearningRate(
      'net3',
      groupRuns([...threeSeeds('net3', 0.01), trained('net3', 0.001, 0, { losses: { 4: 2.5, 8: 2 } })]),
    )!;
    assert.equal(chart.id, 'loss-net3');
    assert.equal(
      chart.caption,
      `Training loss of net3 against iterations, one curve per learning rate (each point averages the loss over 4 iterations).${BAND_NOTE}`,
    );
    const values = [
      { step: 4, loss: 2, lo: 1, hi: 3, run: 'lr 0.01' },
      { step: 8, loss: 0.75, lo: 0.5, hi: 1, run: 'lr 0.01' },
      { step: 4, loss: 2.5, lo: 2.5, hi: 2.5, run: 'lr 0.001' },
      { step: 8, loss: 2, lo: 2, hi: 2, run: 'lr 0.001' },
    ];
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 260,
      data: { values },
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x: stepX, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: COLOR('learning rate') },
        },
        { mark: { type: 'line', point: true }, encoding: { x: stepX, y: lossY, color: COLOR('learning rate') } },
      ],
    });
  });

  it('by depth and learning rate where a group is labelled by its depth; one seed each: no band', () => {
    const one = (lr: number, loss: number) => ({
      ...trained('net3', lr, 0, { losses: { 4: loss } }),
      config: { ...S.DEFAULT_TRAIN_CONFIG, model: 'net3', lr, logEvery: 7 },
    });
    const chart = lossByLearningRate('net3', [group('net3', 0.01, [one(0.01, 1)]), group('net3-d2', 0.001, [one(0.001, 2)])])!;
    assert.equal(
      chart.caption,
      'Training loss of net3 against iterations, one curve per depth and learning rate (each point averages the loss over 7 iterations).',
    );
    const values = [
      { step: 4, loss: 1, lo: 1, hi: 1, run: 'lr 0.01' },
      { step: 4, loss: 2, lo: 2, hi: 2, run: 'net3-d2, lr 0.001' },
    ];
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 260,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: { x: stepX, y: lossY, color: COLOR('depth, learning rate') },
    });
  });

  it('no chart without a logged loss; N iterations where the first group has no run', () => {
    assert.equal(lossByLearningRate('net3', []), undefined);
    assert.equal(lossByLearningRate('net3', groupRuns([trained('net3', 0.1, 0)])), undefined);
    assert.equal(lossByLearningRate('net3', [group('net3', 0.1, [])]), undefined);
    const chart = lossByLearningRate('net3', [
      group('net3', 0.1, []),
      group('net3', 0.01, [trained('net3', 0.01, 0, { losses: { 4: 1 } })]),
    ])!;
    assert.equal(
      chart.caption,
      'Training loss of net3 against iterations, one curve per learning rate (each point averages the loss over N iterations).',
    );
  });

  it('each model at its best learning rate, labelled with its seeds', () => {
    const groups = groupRuns([...threeSeeds('hw5net', 0.1), trained('net3', 0.001, 0, { losses: { 4: 2.5 } })]);
    const chart = lossComparison(groups)!;
    assert.equal(chart.id, 'loss-comparison');
    assert.equal(
      chart.caption,
      `Training loss of each model at its best learning rate (the one with the highest mean final test accuracy).${BAND_NOTE}`,
    );
    const values = [
      { step: 4, loss: 2, lo: 1, hi: 3, run: 'hw5net (lr 0.1, 3 seeds)' },
      { step: 8, loss: 0.75, lo: 0.5, hi: 1, run: 'hw5net (lr 0.1, 3 seeds)' },
      { step: 4, loss: 2.5, lo: 2.5, hi: 2.5, run: 'net3 (lr 0.001)' },
    ];
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 260,
      data: { values },
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x: stepX, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: COLOR('model') },
        },
        { mark: { type: 'line', point: true }, encoding: { x: stepX, y: lossY, color: COLOR('model') } },
      ],
    });
    const single = lossComparison(groupRuns([trained('net3', 0.001, 0, { losses: { 4: 2.5 } })]))!;
    assert.equal(
      single.caption,
      'Training loss of each model at its best learning rate (the one with the highest mean final test accuracy).',
    );
    assert.deepEqual((single.spec as unknown as { data: { values: unknown[] } }).data.values, [
      { step: 4, loss: 2.5, lo: 2.5, hi: 2.5, run: 'net3 (lr 0.001)' },
    ]);
    assert.equal(lossComparison([]), undefined);
  });
});

describe('the accuracy charts', () => {
  it('test accuracy in percent after each epoch, counted from 1: the mean over seeds and its band', () => {
    const groups = groupRuns([
      trained('m', 0.1, 0, { accuracies: [0.25, 0.5] }),
      trained('m', 0.1, 1, { accuracies: [0.5, 0.5] }),
      trained('m', 0.1, 2, { accuracies: [0.75, 0.5] }),
      trained('m', 0.01, 0, { accuracies: [0.125, 0.375] }),
    ]);
    const chart = accuracyPerEpoch(groups);
    assert.equal(chart.id, 'accuracy-per-epoch');
    assert.equal(chart.caption, `Test accuracy after each epoch, for every model and learning rate.${BAND_NOTE}`);
    const values = [
      { epoch: 1, accuracy: 50, lo: 25, hi: 75, run: 'm (lr 0.1, 3 seeds)' },
      { epoch: 2, accuracy: 50, lo: 50, hi: 50, run: 'm (lr 0.1, 3 seeds)' },
      { epoch: 1, accuracy: 12.5, lo: 12.5, hi: 12.5, run: 'm (lr 0.01)' },
      { epoch: 2, accuracy: 37.5, lo: 37.5, hi: 37.5, run: 'm (lr 0.01)' },
    ];
    const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } };
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 260,
      data: { values },
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: COLOR('run') },
        },
        {
          mark: { type: 'line', point: true },
          encoding: {
            x,
            y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
            color: COLOR('run'),
          },
        },
      ],
    });
    const single = accuracyPerEpoch(groupRuns([trained('m', 0.01, 0, { accuracies: [0.125] })]));
    assert.equal(single.caption, 'Test accuracy after each epoch, for every model and learning rate.');
  });

  it('final accuracy: mean, one standard deviation either side and the 95% interval, in percent; groups without an accuracy left out', () => {
    const runs = [trained('m', 0.1, 0), trained('m', 0.1, 1)];
    const chart = finalAccuracyChart([
      group('m', 0.1, runs, { n: 2, mean: 0.5, std: 0.125, interval95: [0.25, 0.75] }),
      group('m', 0.01, runs.slice(0, 1), { n: 1, mean: 0.75, std: Number.NaN }),
      group('m', 0.001, runs.slice(0, 1)),
    ])!;
    assert.equal(chart.id, 'final-accuracy');
    assert.equal(
      chart.caption,
      'Final test accuracy of every model and learning rate: the mean over the seeds (point), one standard deviation either side ' +
        '(thick bar) and the 95% interval of the mean, cut to 0-100% (thin line); a single seed shows only its point.',
    );
    const y = { field: 'run', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } };
    const x = (field: string) => ({ field, type: 'quantitative', title: 'final test accuracy (%)', scale: { zero: false } });
    assert.deepEqual(chart.spec, {
      width: 420,
      height: 68,
      data: {
        values: [
          { run: 'm (lr 0.1, 2 seeds)', mean: 50, sdLo: 37.5, sdHi: 62.5, ciLo: 25, ciHi: 75, seeds: 2 },
          { run: 'm (lr 0.01)', mean: 75, sdLo: 75, sdHi: 75, ciLo: 75, ciHi: 75, seeds: 1 },
        ],
      },
      layer: [
        { mark: { type: 'rule', strokeWidth: 1 }, encoding: { y, x: x('ciLo'), x2: { field: 'ciHi' } } },
        { mark: { type: 'rule', strokeWidth: 5, opacity: 0.5 }, encoding: { y, x: x('sdLo'), x2: { field: 'sdHi' } } },
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: { y, x: x('mean'), tooltip: [{ field: 'mean', format: '.2f' }, { field: 'seeds' }] },
        },
      ],
    });
    assert.equal(finalAccuracyChart([group('m', 0.001, runs)]), undefined);
    assert.equal(finalAccuracyChart([]), undefined);
  });
});

describe("the confusion heatmap's specification", () => {
  it('its id, caption, size, class order and the threshold for white text, from the evaluation', () => {
    const r = evaluated();
    const chart = confusionHeatmap({
      ...r,
      name: 'net3-seed3',
      config: { ...r.config, seed: 3 },
      evaluation: { ...r.evaluation!, count: 1234 },
    })!;
    assert.equal(chart.id, 'confusion-net3-seed3');
    assert.equal(chart.pdfWidthShare, 0.6);
    assert.equal(
      chart.caption,
      'Confusion matrix of net3 at lr 0.001, seed 3, on the 1,234 test images (rows: true class, columns: predicted; accuracy 74.53%).',
    );
    assert.deepEqual(chart.spec, {
      width: 138,
      height: 138,
      data: { values: MATRIX.flatMap((row, t) => row.map((count, p) => ({ actual: CLASSES[t], predicted: CLASSES[p], count }))) },
      encoding: {
        x: { field: 'predicted', type: 'ordinal', sort: CLASSES, title: 'predicted class', axis: { labelAngle: -45 } },
        y: { field: 'actual', type: 'ordinal', sort: CLASSES, title: 'true class' },
      },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
        {
          mark: { type: 'text', fontSize: 9 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: 'datum.count > 25', value: 'white' }, value: 'black' },
          },
        },
      ],
    });
    assert.deepEqual((chart.spec as unknown as { data: { values: unknown[] } }).data.values.slice(0, 2), [
      { actual: 'boat', predicted: 'boat', count: 50 },
      { actual: 'boat', predicted: 'cake', count: 3 },
    ]);
  });

  it('none without an evaluation', () => {
    assert.equal(confusionHeatmap({ ...evaluated(), evaluation: undefined }), undefined);
  });
});

describe('the gradient-flow chart', () => {
  it("each weight's mean gradient norm against its depth, weights without a gradient left out and the rest numbered from 1", () => {
    const chart = gradientFlow([
      trained('hw5net', 0.1, 0, {
        layers: ['a.weight', 'b.weight', 'c.weight'],
        gradients: [
          [1, 0, 3],
          [3, 0, 5],
        ],
      }),
      trained('net3', 0.001, 0, { layers: ['x.weight'] }),
      trained('net3', 0.01, 0, { layers: ['p.weight', 'q.weight'], gradients: [[0.5, 0.25]] }),
    ])!;
    assert.equal(chart.id, 'gradient-flow');
    assert.equal(
      chart.caption,
      "Gradient flow: the norm of each weight's gradient (mean over the recorded iterations, log scale) against its depth, input side first. " +
        'Without skip connections the gradients fade towards the input.',
    );
    assert.deepEqual(chart.spec, {
      width: 480,
      height: 280,
      data: {
        values: [
          { depth: 1, layer: 'a.weight', norm: 2, run: 'hw5net (lr 0.1)' },
          { depth: 2, layer: 'c.weight', norm: 4, run: 'hw5net (lr 0.1)' },
          { depth: 1, layer: 'p.weight', norm: 0.5, run: 'net3 (lr 0.01)' },
          { depth: 2, layer: 'q.weight', norm: 0.25, run: 'net3 (lr 0.01)' },
        ],
      },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'depth', type: 'quantitative', title: 'weight layer (1 = nearest the input)' },
        y: { field: 'norm', type: 'quantitative', title: 'gradient norm', scale: { type: 'log' } },
        color: COLOR('model'),
        tooltip: [{ field: 'layer' }],
      },
    });
  });

  it('none when no run recorded a gradient', () => {
    assert.equal(gradientFlow([trained('net3', 0.001, 0, { layers: ['x.weight'] })]), undefined);
    assert.equal(gradientFlow([]), undefined);
  });
});
