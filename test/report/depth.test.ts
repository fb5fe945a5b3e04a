/**
 * The depth study's sentences and the landscape's numbers on synthetic run
 * records whose numbers are written out here: a series that degrades, one
 * that is flat, one that improves, one whose change is not significant, the
 * premise shown and not shown, and each landscape measure on a surface whose
 * answer is known. Every sentence is checked word for word.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import type { RunData } from '../../src/report/load.js';
import { observations } from '../../src/report/observations.js';
import { bestGroups, describeDifference, groupRuns } from '../../src/report/study.js';
import { bowl, landscapeFile } from './synthetic.js';

interface Synthetic {
  model: string;
  depth: number;
  lr?: number;
  seed?: number;
  /** Test images (labels all 0) the run gets right, of 100: the first `right`. */
  right: number;
  /** The run's logged training losses, one record per 10 steps of 100. */
  losses?: number[];
  /** Gradient norm of the weight nearest the input at each record. */
  inputGradients?: number[];
  landscape?: S.LandscapeFile;
}

const option = (model: string) => (model === 'net3' ? 'chainLength' : 'blocksPerStage');

/** A finished run of a model at a depth, as the report loads it: HW5Net's layer counts for blocksPerStage, Net3's for chainLength. */
function run({ model, depth, lr = 0.1, seed = 0, right, losses = [1, 0.5], inputGradients = [0.1], landscape }: Synthetic): RunData {
  const name = `${model}-d${depth}-lr${lr}-s${seed}`;
  const hw5 = model !== 'net3';
  const acc = right / 100;
  return {
    name,
    dir: `/nowhere/${name}`,
    config: { ...S.DEFAULT_TRAIN_CONFIG, model, lr, seed, modelOptions: { [option(model)]: depth } },
    model: {
      model,
      modelOptions: { [option(model)]: depth },
      learnableLayers: hw5 ? 33 + 30 * depth : 8 + 2 * depth,
      weightLayers: hw5 ? 8 + 6 * depth : 4 + depth,
      parameters: 100,
      skipBlocks: hw5 ? 3 * depth + 2 : 0,
      flops: 1,
      inputShape: [1, 28, 28],
      classes: ['a', 'b'],
      normalization: { mean: [0], std: [1] },
      gradientLayers: ['first.weight', 'last.weight'],
    },
    status: { status: 'finished', epochsDone: 1, step: 100, totalSteps: 100, wallSeconds: 1, updatedAt: '' },
    iterations: losses.map((loss, i) => ({
      type: 'iteration',
      epoch: 0,
      step: (100 * (i + 1)) / losses.length,
      loss,
      lr,
      imagesPerSecond: 1,
      dataWaitShare: 0,
    })),
    epochs: [],
    gradients: inputGradients.map((g, i) => ({ type: 'gradients', epoch: 0, step: 10 * (i + 1), norms: [g, 1] })),
    evaluation: {
      split: 'test',
      accuracy: acc,
      perClassAccuracy: [acc, Number.NaN],
      confusionMatrix: [
        [0, 0],
        [0, 0],
      ],
      count: 100,
      loss: 0.5,
      classes: ['a', 'b'],
    },
    predictions: { split: 'test', labels: Array(100).fill(0), predicted: Array.from({ length: 100 }, (_, i) => (i < right ? 0 : 1)) },
    landscape,
  };
}

const depthSentences = (runs: RunData[]) => S.depthObservations(groupRuns(runs));

describe("the depth study's sentences", () => {
  // McNemar on nested right answers: going from 90 right to 70 right is 20 discordant pairs all one way, p = 2 / 2^20.
  it('a plain series that degrades: the change, its interval and test, and the word degradation', () => {
    const [sentence] = depthSentences([
      run({ model: 'hw5net-plain', depth: 1, right: 90, losses: [1, 0.4, 0.3], inputGradients: [0.2, 0.4] }),
      run({ model: 'hw5net-plain', depth: 6, right: 70, losses: [1, 0.6, 0.5], inputGradients: [0.001, 0.003] }),
    ]);
    // Wald interval of paired proportions: -0.2 +- 1.959964 * sqrt(20 - 400/100) / 100 = -0.2 +- 0.0784.
    assert.equal(
      sentence,
      'Depth, hw5net-plain (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 90.00% -> 70.00%, ' +
        "a change of -20.00 points (95% interval -27.84 to -12.16 points; McNemar's exact test on the 100 paired test predictions, p = 1.9e-6): " +
        'significant at 5%: degradation, the deeper network is worse. Final training loss 0.300 -> 0.500; gradient norm at the input 3.00e-1 -> 2.00e-3.',
    );
  });

  it('a series that improves, and Net3 counted in weight layers', () => {
    const [sentence] = depthSentences([
      run({ model: 'net3', depth: 0, lr: 0.001, right: 60 }),
      run({ model: 'net3', depth: 20, lr: 0.001, right: 80 }),
    ]);
    assert.equal(
      sentence,
      'Depth, net3 (lr 0.001), from 4 to 24 weight layers (8 to 48 learnable layers): test accuracy 60.00% -> 80.00%, ' +
        "a change of +20.00 points (95% interval 12.16 to 27.84 points; McNemar's exact test on the 100 paired test predictions, p = 1.9e-6): " +
        'significant at 5%: the deeper network is better. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.',
    );
  });

  it('a series counted in learnable layers alone when either end lacks its weight layers (a record from before they were kept)', () => {
    const unweighed = (r: RunData): RunData => ({ ...r, model: { ...r.model, weightLayers: undefined } });
    const range = (shallow: RunData, deep: RunData) => depthSentences([shallow, deep])[0]!.split(':')[0];
    const shallow = run({ model: 'net3', depth: 0, lr: 0.001, right: 60 });
    const deep = run({ model: 'net3', depth: 20, lr: 0.001, right: 80 });
    assert.equal(range(unweighed(shallow), deep), 'Depth, net3 (lr 0.001), from 8 to 48 learnable layers');
    assert.equal(range(shallow, unweighed(deep)), 'Depth, net3 (lr 0.001), from 8 to 48 learnable layers');
  });

  it('a flat series and one whose change is too small to be significant: no change, never degradation', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 88 }),
      run({ model: 'hw5net', depth: 6, right: 88 }),
      // 3 fewer right at depth 6: p = 2 * P(X <= 0 | 3) = 0.25.
      run({ model: 'hw5net-plain', depth: 1, right: 88 }),
      run({ model: 'hw5net-plain', depth: 6, right: 85 }),
    ]);
    assert.equal(
      sentences[0],
      'Depth, hw5net (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 88.00% -> 88.00%, ' +
        "a change of 0.00 points (95% interval 0.00 to 0.00 points; McNemar's exact test on the 100 paired test predictions, p = 1.000): " +
        'not significant at 5%: these runs show no significant change of accuracy with depth. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.',
    );
    assert.equal(
      sentences[1],
      'Depth, hw5net-plain (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 88.00% -> 85.00%, ' +
        "a change of -3.00 points (95% interval -6.34 to 0.34 points; McNemar's exact test on the 100 paired test predictions, p = 0.250): " +
        'not significant at 5%: these runs show no significant change of accuracy with depth. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.',
    );
    assert.equal(
      sentences[2],
      "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is not shown at this budget: " +
        'no plain network lost accuracy significantly from its shallowest to its deepest run.',
    );
  });

  it('the premise shown: plain networks worse at depth, the SkipBlock network not', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 88 }),
      run({ model: 'hw5net', depth: 4, right: 89 }),
      run({ model: 'hw5net', depth: 6, right: 90 }),
      run({ model: 'hw5net-plain', depth: 1, right: 88 }),
      run({ model: 'hw5net-plain', depth: 6, right: 60 }),
      run({ model: 'net3', depth: 0, lr: 0.001, right: 80 }),
      run({ model: 'net3', depth: 20, lr: 0.001, right: 80 }),
    ]);
    assert.equal(sentences.length, 4);
    assert.match(
      sentences[0]!,
      /^Depth, hw5net \(lr 0\.1\), from 5 to 20 SkipBlocks .*not significant at 5%/,
      'the shallowest against the deepest, the middle depth left out',
    );
    assert.equal(
      sentences[3],
      "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is shown at this budget: " +
        'hw5net-plain (lr 0.1) lost accuracy from the shallowest to the deepest run (net3 (lr 0.001) did not); hw5net (lr 0.1) did not.',
    );
  });

  it('the premise not shown when the SkipBlock network degrades too', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 90 }),
      run({ model: 'hw5net', depth: 6, right: 70 }),
      run({ model: 'hw5net-plain', depth: 1, right: 90 }),
      run({ model: 'hw5net-plain', depth: 6, right: 60 }),
    ]);
    assert.equal(
      sentences[2],
      "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is not shown at this budget: " +
        'hw5net (lr 0.1) with skip connections also lost accuracy from its shallowest to its deepest run.',
    );
  });

  it("no depth sentences for runs at one depth, and the report's observations carry them for several", () => {
    assert.deepEqual(
      depthSentences([run({ model: 'hw5net', depth: 6, right: 90 }), run({ model: 'hw5net', depth: 6, lr: 0.02, right: 80 })]),
      [],
    );
    const notes = observations([
      run({ model: 'net3', depth: 0, lr: 0.001, right: 60 }),
      run({ model: 'net3', depth: 20, lr: 0.001, right: 80 }),
    ]);
    assert.ok(notes.some((n) => n.startsWith('Depth, net3 (lr 0.001), from 4 to 24 weight layers')));
  });

  it('groups a depth sweep by depth, labels each depth, and compares models at their deepest', () => {
    const groups = groupRuns([
      run({ model: 'hw5net', depth: 1, right: 95 }),
      run({ model: 'hw5net', depth: 6, right: 90 }),
      run({ model: 'hw5net', depth: 6, lr: 0.02, right: 91 }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.label, g.depth, g.lr]),
      [
        ['hw5net-d1', 1, 0.1],
        ['hw5net-d6', 6, 0.1],
        ['hw5net-d6', 6, 0.02],
      ],
    );
    assert.deepEqual(
      bestGroups(groups).map((g) => [g.label, g.lr]),
      [['hw5net-d6', 0.02]],
      "the best learning rate at the deepest depth, not the shallow run's better accuracy",
    );
  });

  it('calls a change significant only below p = 0.05, on both sides of it', () => {
    // Prefix predictions make every discordant pair go one way: McNemar's exact p = 2 * 0.5^n for n of them.
    const verdict = (right: number) =>
      depthSentences([run({ model: 'hw5net-plain', depth: 1, right: 90 }), run({ model: 'hw5net-plain', depth: 6, right })])[0]!;
    assert.match(
      verdict(85),
      /p = 0\.063\): not significant at 5%: these runs show no significant change/,
      '5 discordant pairs: p = 0.0625',
    );
    assert.match(verdict(84), /p = 0\.031\): significant at 5%: degradation/, '6 discordant pairs: p = 0.03125');
  });

  it('says a difference between two models is significant only below p = 0.05', () => {
    const comparison = (pValue: number) =>
      ({ difference: 0.01, interval95: [0.001, 0.019], pValue, test: 'a test' }) as unknown as Parameters<typeof describeDifference>[0];
    assert.match(describeDifference(comparison(0.049), 'a', 'b'), /p = 0\.049\): significant at 5%$/);
    assert.match(
      describeDifference(comparison(0.05), 'a', 'b'),
      /p = 0\.050\): not significant at 5%: these runs do not show either one better$/,
      'p = 0.05 is not below 5%',
    );
    assert.match(describeDifference(comparison(0.051), 'a', 'b'), /p = 0\.051\): not significant at 5%/);
  });
});

describe("the depth study's numbers", () => {
  const pointsOf = (runs: RunData[]) =>
    S.depthSeries(groupRuns(runs)).map((s) => [s.label, s.skipConnections, s.points.map((p) => p.group.label)]);

  it("the final training loss is the mean over the last tenth of iterations, else the last epoch's", () => {
    const r = run({ model: 'hw5net', depth: 1, right: 90, losses: [9, 9, 9, 9, 9, 9, 9, 9, 3, 1] }); // steps 10..100: steps 90 and 100 count
    assert.equal(S.finalTrainingLoss(r), 2);
    const epochs = [
      {
        type: 'epoch' as const,
        epoch: 0,
        step: 1,
        trainLoss: 0.7,
        trainAccuracy: 0,
        testLoss: 0,
        testAccuracy: 0,
        lr: 0.1,
        seconds: 1,
        imagesPerSecond: 1,
        dataWaitShare: 0,
      },
    ];
    const epochsOf = (...losses: number[]) => losses.map((trainLoss, epoch) => ({ ...epochs[0]!, epoch, trainLoss }));
    assert.equal(S.finalTrainingLoss({ ...r, iterations: [], epochs: epochsOf(0.9, 0.8, 0.7) }), 0.7, 'the last of three epochs');
    assert.equal(S.finalTrainingLoss({ ...r, iterations: [] }), undefined);
    assert.equal(S.inputGradientNorm(run({ model: 'hw5net', depth: 1, right: 90, inputGradients: [0.1, 0.3] })), 0.2);
  });

  it('a series per model and learning rate at two or more depths, shallowest first, in the order the models appear', () => {
    assert.deepEqual(
      pointsOf([
        run({ model: 'net3', depth: 20, lr: 0.001, right: 80 }),
        run({ model: 'hw5net', depth: 6, right: 80 }),
        run({ model: 'net3', depth: 0, lr: 0.001, right: 80 }),
        run({ model: 'hw5net', depth: 1, right: 80 }),
        run({ model: 'hw5net', depth: 6, lr: 0.02, right: 80 }),
        run({ model: 'hw5net', depth: 3, lr: 0.02, right: 80 }),
        run({ model: 'hw5net-plain', depth: 2, right: 80 }),
        run({ model: 'hw5net-plain', depth: 2, seed: 1, right: 80 }),
      ]),
      [
        ['net3 (lr 0.001)', false, ['net3-d0', 'net3-d20']],
        ['hw5net (lr 0.1)', true, ['hw5net-d1', 'hw5net-d6']],
        ['hw5net (lr 0.02)', true, ['hw5net-d3', 'hw5net-d6']],
      ],
    );
    const [series] = S.depthSeries(
      groupRuns([run({ model: 'hw5net', depth: 6, right: 90, losses: [1, 0.2] }), run({ model: 'hw5net', depth: 1, right: 80 })]),
    );
    const deep = series!.points[1]!;
    assert.deepEqual(
      [deep.learnableLayers, deep.weightLayers, deep.skipBlocks, deep.finalTrainLoss, deep.inputGradient],
      [213, 44, 20, 0.2, 0.1],
    );
    assert.equal(series!.model, 'hw5net');
    assert.equal(series!.lr, 0.1);
  });

  it('a series without paired predictions is not tested, and its sentence says so; missing numbers print as "-"', () => {
    const bare = (r: RunData): RunData => ({
      ...r,
      predictions: undefined,
      iterations: [],
      gradients: [],
      model: { ...r.model, weightLayers: undefined },
    });
    const sentences = depthSentences([
      bare(run({ model: 'net3', depth: 0, lr: 0.001, right: 60 })),
      bare(run({ model: 'net3', depth: 20, lr: 0.001, right: 80 })),
    ]);
    assert.deepEqual(sentences, [
      'Depth, net3 (lr 0.001), from 8 to 48 learnable layers: test accuracy 60.00% -> 80.00%: not tested (the runs have no paired predictions). ' +
        'Final training loss - -> -; gradient norm at the input - -> -.',
    ]);
    const change = S.depthChange(
      S.depthSeries(groupRuns([bare(run({ model: 'net3', depth: 0, right: 60 })), bare(run({ model: 'net3', depth: 20, right: 80 }))]))[0]!,
    );
    assert.equal(change.verdict, 'not tested');
    assert.equal(change.comparison, undefined);
  });

  it('the premise needs both kinds of tested series, and names every series in a list', () => {
    const pair = (model: string, shallow: number, deep: number, lr = 0.1) => [
      run({ model, depth: 1, lr, right: shallow }),
      run({ model, depth: 6, lr, right: deep }),
    ];
    assert.equal(depthSentences([...pair('hw5net', 90, 90)]).length, 1, 'no plain series: no premise sentence');
    assert.equal(depthSentences([...pair('hw5net-plain', 90, 60)]).length, 1, 'no SkipBlock series: no premise sentence');
    const untested = [...pair('hw5net', 90, 90)].map((r) => ({ ...r, predictions: undefined }));
    assert.equal(
      depthSentences([...untested, ...pair('hw5net-plain', 90, 60)]).length,
      2,
      'an untested SkipBlock series does not speak to the premise',
    );
    const three = depthSentences([
      ...pair('hw5net-plain', 90, 60),
      ...pair('hw5net-plain', 90, 60, 0.02),
      ...pair('hw5net-plain', 90, 61, 0.5),
      ...pair('hw5net', 90, 90),
      ...pair('hw5net', 90, 91, 0.02),
    ]);
    assert.equal(
      three.at(-1),
      "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is shown at this budget: " +
        'hw5net-plain (lr 0.1), hw5net-plain (lr 0.02) and hw5net-plain (lr 0.5) lost accuracy from the shallowest to the deepest run; hw5net (lr 0.1) and hw5net (lr 0.02) did not.',
    );
    const skipOnly = depthSentences([...pair('hw5net-plain', 90, 90), ...pair('hw5net', 90, 60)]);
    assert.equal(
      skipOnly.at(-1),
      "The exercise's premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is not shown at this budget: " +
        'hw5net (lr 0.1) with skip connections lost accuracy from its shallowest to its deepest run.',
    );
  });
});

describe('the depth figures', () => {
  const sweep = () =>
    groupRuns([
      run({ model: 'hw5net', depth: 1, right: 90, losses: [1, 0.3], inputGradients: [0.2] }),
      run({ model: 'hw5net', depth: 6, right: 80, losses: [1, 0.4], inputGradients: [0.02] }),
      run({ model: 'hw5net', depth: 6, seed: 1, right: 82, losses: [1, 0.6], inputGradients: [0.04] }),
    ]);
  type Spec = {
    data: { values: Record<string, number | string>[] };
    layer?: unknown[];
    encoding?: { x: { field: string; title: string }; y: { field: string; title: string; scale: unknown } };
  };
  const specOf = (measure: S.Measure) => S.depthChart(S.depthSeries(sweep()), measure)!.spec as unknown as Spec;
  const lineOf = (spec: Spec) => (spec.layer ? spec.layer[1] : spec) as Spec;

  it('accuracy against learnable layers, with the 95% interval over seeds as its band', () => {
    const chart = S.depthChart(S.depthSeries(sweep()), 'accuracy')!;
    assert.equal(chart.id, 'depth-accuracy');
    assert.match(chart.caption, /^Final test accuracy against depth/);
    const spec = chart.spec as unknown as Spec;
    const [shallow, deep] = spec.data.values;
    assert.deepEqual(shallow, { layers: 63, value: 90, lo: 90, hi: 90, run: 'hw5net (lr 0.1)', depth: 'hw5net-d1' });
    assert.equal(deep!.layers, 213);
    assert.ok(Math.abs((deep!.value as number) - 81) < 1e-9);
    const half = (S.tQuantile(0.975, 1) * Math.sqrt(2)) / Math.sqrt(2); // sd of 80 and 82 is sqrt(2)
    assert.ok(
      Math.abs((deep!.lo as number) - (81 - half)) < 1e-9 && Math.abs((deep!.hi as number) - (81 + half)) < 1e-9,
      `${deep!.lo} to ${deep!.hi}`,
    );
    assert.ok(spec.layer, 'a band where the seeds differ');
    assert.deepEqual(lineOf(spec), {
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'layers', type: 'quantitative', title: 'learnable layers (parameters().length)' },
        y: { field: 'value', type: 'quantitative', title: 'final test accuracy (%)', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: 'model', sort: null },
        tooltip: [{ field: 'depth' }, { field: 'value' }],
      },
    });
  });

  it('training loss and the input gradient (log scale), with no band', () => {
    const loss = specOf('trainLoss');
    assert.deepEqual(
      loss.data.values.map((v) => [v.layers, v.value, v.lo, v.hi]),
      [
        [63, 0.3, 0.3, 0.3],
        [213, 0.5, 0.5, 0.5],
      ],
    );
    assert.equal(loss.layer, undefined);
    assert.deepEqual(lineOf(loss).encoding!.y, {
      field: 'value',
      type: 'quantitative',
      title: 'final training loss',
      scale: { zero: false },
    });
    const lossChart = S.depthChart(S.depthSeries(sweep()), 'trainLoss')!;
    assert.equal(lossChart.id, 'depth-train-loss');
    assert.equal(
      lossChart.caption,
      "Final training loss (the mean over each run's last tenth of iterations) against depth: " +
        'He et al. (2016) found that the deeper plain network trains worse, not only tests worse.',
    );
    const gradient = specOf('inputGradient');
    assert.deepEqual(
      gradient.data.values.map((v) => [v.layers, v.value]),
      [
        [63, 0.2],
        [213, 0.03],
      ],
    );
    assert.deepEqual(lineOf(gradient).encoding!.y.scale, { type: 'log' });
    assert.equal(lineOf(gradient).encoding!.y.title, 'gradient norm at the input');
    const gradientChart = S.depthChart(S.depthSeries(sweep()), 'inputGradient')!;
    assert.equal(gradientChart.id, 'depth-input-gradient');
    assert.equal(
      gradientChart.caption,
      'Gradient norm of the weight nearest the input (the mean over the recorded iterations, log scale) against depth: ' +
        'a vanishing gradient falls as the network deepens.',
    );
  });

  it('no figure when no point has the measure, and points without it left out', () => {
    const bare = groupRuns([
      run({ model: 'hw5net', depth: 1, right: 90, inputGradients: [] }),
      run({ model: 'hw5net', depth: 6, right: 80, inputGradients: [] }),
    ]);
    assert.equal(S.depthChart(S.depthSeries(bare), 'inputGradient'), undefined);
    assert.equal(S.depthChart([], 'accuracy'), undefined);
    const half = groupRuns([
      run({ model: 'hw5net', depth: 1, right: 90, inputGradients: [] }),
      run({ model: 'hw5net', depth: 6, right: 80, inputGradients: [0.5] }),
    ]);
    assert.deepEqual(
      (S.depthChart(S.depthSeries(half), 'inputGradient')!.spec as unknown as Spec).data.values.map((v) => v.layers),
      [213],
    );
  });
});

describe("the loss landscape's measures", () => {
  it('the rise at a distance is the mean of both sides minus the loss at 0, interpolated between points', () => {
    const file = landscapeFile([5, 2, 1, 3, 9]); // alphas -1, -0.5, 0, 0.5, 1
    assert.equal(S.lossRise(file, 1), (5 + 9) / 2 - 1);
    assert.equal(S.lossRise(file, 0.5), (2 + 3) / 2 - 1);
    assert.equal(S.lossRise(file, 0.75), ((2 + 5) / 2 + (3 + 9) / 2) / 2 - 1);
  });

  it('a convex bowl has no non-convex point; a saddle along one axis is non-convex everywhere inside', () => {
    assert.equal(S.nonConvexShare(bowl(5)), 0);
    const saddle = Array.from({ length: 5 }, (_, j) => Array.from({ length: 5 }, (_, i) => (i - 2) ** 2 - (j - 2) ** 2));
    assert.equal(S.nonConvexShare(saddle), 1);
    // A pit at the centre of the bowl: the pit curves up, its four neighbours along the axes now curve down towards it; the corners stay convex.
    const pitted = bowl(5);
    pitted[2]![2] = -1;
    assert.equal(S.nonConvexShare(pitted), 4 / 9);
  });

  it('says which surface is the smoother only when both measures agree, with every number', () => {
    const skip = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([1.5, 0.5, 0.2, 0.6, 1.7], bowl(5)) });
    const plain = run({
      model: 'hw5net-plain',
      depth: 6,
      right: 80,
      landscape: landscapeFile(
        [40, 5, 0.3, 8, 50],
        [
          [9, 9, 9, 9, 9],
          [9, 1, 5, 1, 9],
          [9, 5, 0.3, 5, 9],
          [9, 1, 5, 1, 9],
          [9, 9, 9, 9, 9],
        ],
      ),
    });
    assert.equal(
      S.landscapeObservation(skip, plain),
      'Loss landscape of hw5net-d6-lr0.1-s0 against hw5net-plain-d6-lr0.1-s0 (Li et al. 2018; 1,000 training images, ' +
        'one pair of filter-normalised random directions, so no interval): training loss 0.200 and 0.300 at the trained weights, rising by 0.350 and 6.200 at distance 0.5 ' +
        "and by 1.400 and 44.700 at distance 1; 0.0% and 44.4% of the surface's interior points curve downward along a direction (not convex): " +
        "hw5net's surface is the smoother: it rises more slowly and is no less convex.",
    );
    const bumpy = run({
      model: 'hw5net',
      depth: 6,
      right: 90,
      landscape: landscapeFile([1.5, 0.5, 0.2, 0.6, 1.7], plain.landscape!.surface),
    });
    const smooth = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([40, 5, 0.3, 8, 50], bowl(5)) });
    assert.match(
      S.landscapeObservation(bumpy, smooth),
      /\(not convex\): hw5net-plain's surface is the more nearly convex, hw5net's rises more slowly: the measures do not agree on which surface is the smoother\.$/,
    );
    const steep = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([40, 5, 0.3, 8, 50], plain.landscape!.surface) });
    const gentle = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([1.5, 0.5, 0.2, 0.6, 1.7], bowl(5)) });
    assert.match(
      S.landscapeObservation(steep, gentle),
      /: hw5net-plain's surface is the smoother: it rises more slowly and is no less convex\.$/,
    );
  });

  it("pairs each SkipBlock run's landscape with its plain twin's", () => {
    const a = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([1, 0, 1]) });
    const b = run({ model: 'net3', depth: 10, right: 80, landscape: landscapeFile([1, 0, 1]) });
    const c = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([1, 0, 1]) });
    assert.deepEqual(
      S.landscapeGroups([a, b, c, run({ model: 'hw5net', depth: 1, right: 1 })]).map((g) => g.map((r) => r.name)),
      [['hw5net-d6-lr0.1-s0', 'hw5net-plain-d6-lr0.1-s0'], ['net3-d10-lr0.1-s0']],
    );
    assert.deepEqual(
      S.landscapeGroups([c, a]).map((g) => g.map((r) => r.name)),
      [['hw5net-d6-lr0.1-s0', 'hw5net-plain-d6-lr0.1-s0']],
      'the plain run first',
    );
    const other = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: { ...landscapeFile([1, 0, 1]), seed: 3 } });
    assert.deepEqual(
      S.landscapeGroups([a, other]).map((g) => g.length),
      [1, 1],
      'landscapes computed differently are not compared',
    );
  });
});
