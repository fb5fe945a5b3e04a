/**
 * The study's comparisons and the report's sentences, on synthetic run
 * records whose numbers are written out here: each sentence is checked
 * word for word, with the numbers it must carry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';
import type { RunData } from '../../src/report/load.js';
import { observations } from '../../src/report/observations.js';
import { rightFirst, run } from './synthetic.js';
import {
  accuracySummary,
  bestAccuracy,
  bestGroups,
  clip,
  compareGroups,
  describeDifference,
  describeTimeToAccuracy,
  finalAccuracy,
  formatPValue,
  groupRuns,
  isSignificant,
  layerGradientMeans,
  SIGNIFICANCE_LEVEL,
  points,
  timeToAccuracyHeader,
} from '../../src/report/study.js';

describe('comparisons between groups of runs', () => {
  it('McNemar on paired predictions for one seed each: the counts, p-value and interval are those of the disagreements', () => {
    // A gets images 0..89 right, B gets 0..79 right: b = 10 (A right, B wrong), c = 0.
    const [a, b] = groupRuns([
      run({ model: 'hw5net', lr: 0.1, right: rightFirst(100, 90) }),
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 80) }),
    ]);
    const comparison = compareGroups(a!, b!)!;
    assert.equal(comparison.meanA, 0.9);
    assert.equal(comparison.meanB, 0.8);
    assert.ok(Math.abs(comparison.difference - 0.1) < 1e-12);
    assert.equal(comparison.pValue, 2 / 1024); // 2 * P(X <= 0), X ~ Binomial(10, 1/2)
    // Wald interval for paired proportions: 0.1 +- 1.959964 * sqrt(10 - 100/100) / 100.
    const half = (1.959963984540054 * Math.sqrt(10 - 1)) / 100;
    assert.ok(Math.abs(comparison.interval95[0] - (0.1 - half)) < 1e-9 && Math.abs(comparison.interval95[1] - (0.1 + half)) < 1e-9);
    assert.equal(comparison.test, "McNemar's exact test on the 100 paired test predictions");
  });

  it('Welch over seeds when both groups have several', () => {
    const groups = groupRuns([
      ...[0.9, 0.92, 0.91].map((accuracy, seed) => run({ model: 'hw5net', lr: 0.1, seed, accuracy })),
      ...[0.8, 0.84].map((accuracy, seed) => run({ model: 'net3', lr: 0.001, seed, accuracy })),
    ]);
    const comparison = compareGroups(groups[0]!, groups[1]!)!;
    // Means 0.91 and 0.82; variances 1e-4 and 8e-4: se^2 = 1e-4/3 + 8e-4/2.
    const se = Math.sqrt(1e-4 / 3 + 8e-4 / 2);
    assert.ok(Math.abs(comparison.difference - 0.09) < 1e-12);
    assert.equal(comparison.test, "Welch's t-test over 3 and 2 seeds");
    // df = se^4 / ((1e-4/3)^2/2 + (8e-4/2)^2/1) = 1.1661...; the interval uses t(0.975, df).
    const df = se ** 4 / ((1e-4 / 3) ** 2 / 2 + (8e-4 / 2) ** 2 / 1);
    assert.ok(Math.abs(df - 1.16955) < 1e-4, `df ${df}`);
    const halfWidth = (comparison.interval95[1] - comparison.interval95[0]) / 2;
    assert.ok(Math.abs(halfWidth / se - S.tQuantile(0.975, df)) < 1e-9);
    assert.ok(comparison.pValue > 0.05, `a 9-point gap over 2 noisy seeds is not significant: p = ${comparison.pValue}`);
  });

  it("picks each model's best learning rate by its mean accuracy", () => {
    const groups = groupRuns([
      run({ model: 'net3', lr: 0.001, seed: 0, accuracy: 0.8 }),
      run({ model: 'net3', lr: 0.001, seed: 1, accuracy: 0.9 }),
      run({ model: 'net3', lr: 0.0001, seed: 0, accuracy: 0.86 }),
      run({ model: 'net3', lr: 0.0001, seed: 1, accuracy: 0.86 }),
    ]);
    assert.deepEqual(
      bestGroups(groups).map((g) => g.lr),
      [0.0001],
    );
  });

  it('formats p-values for sentences', () => {
    assert.equal(formatPValue(0.0123), 'p = 0.012');
    assert.equal(formatPValue(0.00012), 'p = 1.2e-4');
    assert.equal(formatPValue(0), 'p < 1e-300');
  });
});

describe("the report's sentences", () => {
  it('a model clearly better: the difference in its favour, the interval, the test, significant', () => {
    const notes = observations([
      run({ model: 'hw5net', lr: 0.1, right: rightFirst(100, 90) }),
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 80) }),
    ]);
    assert.deepEqual(notes, [
      'hw5net against net3 (the plain deep CNN of HW4, at its own recipe), each at its best learning rate (0.1 and 0.001): 90.00% against 80.00%, ' +
        "10.00 points in favour of hw5net (95% interval 4.12 to 15.88 points; McNemar's exact test on the 100 paired test predictions, p = 0.002): " +
        'significant at 5%.',
    ]);
  });

  it("a model clearly worse: the difference in the other's favour", () => {
    const notes = observations([
      run({ model: 'hw5net', lr: 0.1, right: rightFirst(100, 70) }),
      run({ model: 'hw5net-plain', lr: 0.1, right: rightFirst(100, 90) }),
    ]);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /: 70\.00% against 90\.00%, 20\.00 points in favour of hw5net-plain \(95% interval -27\.84 to -12\.16 points; .*p = 1\.9e-6\): significant at 5%\.$/,
    );
  });

  it('a tie: not significant, and no claim that either is better', () => {
    // A right on 0..84 and 90..91, B right on 0..84 and 95..96: two disagreements each way.
    const a = rightFirst(100, 85).map((r, i) => r || i === 90 || i === 91);
    const b = rightFirst(100, 85).map((r, i) => r || i === 95 || i === 96);
    const notes = observations([run({ model: 'hw5net', lr: 0.1, right: a }), run({ model: 'net3', lr: 0.001, right: b })]);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /87\.00% against 87\.00%, no difference \(95% interval -\d\.\d\d to \d\.\d\d points; .*p = 1\.000\): not significant at 5%: these runs do not show either one better\.$/,
    );
    assert.doesNotMatch(notes[0]!, /in favour/);
  });

  it('the learning rates of one model, with the runner-up and the test', () => {
    const notes = observations([
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 82) }),
      run({ model: 'net3', lr: 0.0001, right: rightFirst(100, 80) }),
    ]);
    assert.deepEqual(notes, [
      'net3: learning rate 0.001 did best (82.00% test accuracy) against learning rate 0.0001 (80.00%): 2.00 points in favour of lr 0.001 ' +
        "(95% interval -0.74 to 4.74 points; McNemar's exact test on the 100 paired test predictions, p = 0.500): not significant at 5%: " +
        'these runs do not show either one better.',
    ]);
  });

  it("several seeds: mean ± standard deviation and Welch's test", () => {
    const notes = observations([
      ...[0.9, 0.92, 0.91].map((accuracy, seed) => run({ model: 'hw5net', lr: 0.1, seed, accuracy })),
      ...[0.8, 0.81, 0.82].map((accuracy, seed) => run({ model: 'net3', lr: 0.001, seed, accuracy })),
    ]);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /: 91\.00% ± 1\.00 against 81\.00% ± 1\.00, 10\.00 points in favour of hw5net \(95% interval 7\.73 to 12\.27 points; Welch's t-test over 3 and 3 seeds, p = 2\.6e-4\): significant at 5%\.$/,
    );
  });

  it('gradients fading 100 times towards the input, and gradients that do not fade', () => {
    const fading = run({ model: 'hw5net-plain', lr: 0.1, accuracy: 0.8, gradients: [0.01, 0.01, 0.1, 0.1, 0.5, 0.5, 1, 1] });
    const flat = run({ model: 'hw5net', lr: 0.1, accuracy: 0.9, gradients: [1, 1, 1, 1, 1, 1, 2, 2] });
    const notes = observations([flat, fading]).filter((n) => n.includes('gradient norm'));
    assert.deepEqual(notes, [
      'hw5net (lr 0.1, seed 0): the mean gradient norm of the quarter of weights nearest the input is 1.00e+0, of the quarter nearest the output ' +
        '2.00e+0 - the gradient reaches the input without fading.',
      'hw5net-plain (lr 0.1, seed 0): the mean gradient norm of the quarter of weights nearest the input is 1.00e-2, of the quarter nearest the output ' +
        '1.00e+0 - 100 times smaller at the input: the gradient fades on its way down.',
    ]);
  });

  it('says when a difference cannot be tested', () => {
    const notes = observations([run({ model: 'hw5net', lr: 0.1, accuracy: 0.9 }), run({ model: 'net3', lr: 0.001, accuracy: 0.8 })]);
    assert.deepEqual(notes, [
      'hw5net against net3 (the plain deep CNN of HW4, at its own recipe), each at its best learning rate (0.1 and 0.001): 90.00% against 80.00%; ' +
        'the runs have no paired predictions, so the difference is not tested.',
    ]);
  });

  it('describes a difference in the direction of its sign', () => {
    const [a, b] = groupRuns([run({ model: 'x', lr: 1, right: rightFirst(10, 3) }), run({ model: 'y', lr: 1, right: rightFirst(10, 8) })]);
    assert.match(describeDifference(compareGroups(a!, b!)!, 'x', 'y'), /^50\.00 points in favour of y /);
  });
});

/** An epoch record with the given test accuracy. */
function epoch(testAccuracy: number, index = 0): RunData['epochs'][number] {
  return {
    type: 'epoch',
    epoch: index,
    step: 10 * (index + 1),
    trainLoss: 1,
    trainAccuracy: 0.5,
    testLoss: 1,
    testAccuracy,
    lr: 0.1,
    seconds: 1,
    imagesPerSecond: 1,
    dataWaitShare: 0,
  };
}

describe("a run's and a group's numbers", () => {
  it("final accuracy: the evaluation's, else the last epoch's, else none; best accuracy: the highest epoch's", () => {
    const evaluated = { ...run({ model: 'm', lr: 1, accuracy: 0.7 }), epochs: [epoch(0.9, 0), epoch(0.6, 1)] };
    assert.equal(finalAccuracy(evaluated), 0.7);
    assert.equal(bestAccuracy(evaluated), 0.9);
    const unevaluated = { ...evaluated, evaluation: undefined };
    assert.equal(finalAccuracy(unevaluated), 0.6);
    assert.equal(finalAccuracy({ ...unevaluated, epochs: [epoch(0.9, 0), epoch(0.6, 1), epoch(0.5, 2)] }), 0.5, 'the last of three epochs');
    assert.equal(finalAccuracy({ ...unevaluated, epochs: [] }), undefined);
    assert.equal(bestAccuracy({ ...unevaluated, epochs: [] }), undefined);
  });

  it('cuts an interval to what its quantity can take, and only then', () => {
    assert.deepEqual(clip([-0.2, 1.3], 0, 1), [0, 1]);
    assert.deepEqual(clip([0.2, 0.3], 0, 1), [0.2, 0.3]);
    // Two seeds at 0.99 and 0.5: the t-interval (mean 0.745, half-width 12.706 * 0.245) reaches far beyond [0, 1].
    const wide = accuracySummary([0.99, 0.5]);
    assert.deepEqual(wide.interval95, [0, 1]);
    assert.ok(Math.abs(wide.mean - 0.745) < 1e-12);
    const narrow = accuracySummary([0.9, 0.91, 0.92]);
    assert.ok(narrow.interval95![0] > 0.87 && narrow.interval95![1] < 0.95, `${narrow.interval95}`);
    assert.equal(accuracySummary([0.8]).interval95, undefined);
  });

  it("a weight's mean gradient norm ignores records without one, and zeros (a weight that got none)", () => {
    const r = run({ model: 'm', lr: 1, accuracy: 0.5, gradients: [1, 2, 0] });
    r.gradients.push({ type: 'gradients', epoch: 0, step: 9, norms: [3, 0, null as unknown as number] });
    assert.deepEqual(layerGradientMeans(r), [2, 2, undefined]);
  });

  it('groups by model options whatever their order, and labels a model held in several shapes by its options', () => {
    const shaped = (options: Record<string, number>, seed: number) => {
      const r = run({ model: 'custom', lr: 1, seed, accuracy: 0.5 + seed / 10 });
      return { ...r, config: { ...r.config, modelOptions: options } };
    };
    const groups = groupRuns([shaped({ a: 1, b: 2 }, 0), shaped({ b: 2, a: 1 }, 1), shaped({}, 2)]);
    assert.deepEqual(
      groups.map((g) => [g.label, g.runs.length, g.depth]),
      [
        ['custom (a 1, b 2)', 2, undefined],
        ['custom (default options)', 1, undefined],
      ],
    );
    assert.deepEqual(
      groupRuns([shaped({ a: 1 }, 0)]).map((g) => g.label),
      ['custom'],
      'one shape: the model alone',
    );
    assert.deepEqual(
      groupRuns([
        run({ model: 'm', lr: 1, accuracy: 0.5 }),
        run({ model: 'm', lr: 2, accuracy: 0.5 }),
        run({ model: 'm', lr: 1, seed: 1, accuracy: 0.7 }),
      ]).map((g) => [g.lr, g.runs.length, g.accuracy.mean]),
      [
        [1, 2, 0.6],
        [2, 1, 0.5],
      ],
      'the learning rate splits groups, in the order they first appear',
    );
  });

  it('the best group of each model skips groups without a final accuracy', () => {
    const noAccuracy = { ...run({ model: 'm', lr: 1, accuracy: 0.5 }), evaluation: undefined };
    const layers = (r: RunData, learnableLayers: number) => ({ ...r, model: { ...r.model, learnableLayers } });
    const groups = groupRuns([
      layers(noAccuracy, 99),
      run({ model: 'm', lr: 2, accuracy: 0.4 }),
      run({ model: 'm', lr: 3, accuracy: 0.6 }),
    ]);
    assert.deepEqual(
      bestGroups(groups).map((g) => g.lr),
      [3],
      'the deeper group without an accuracy does not hide the others',
    );
    const level = groupRuns([noAccuracy, run({ model: 'm', lr: 2, accuracy: 0.4 })]);
    assert.deepEqual(
      bestGroups(level).map((g) => g.lr),
      [2],
      'nor does one at the same depth listed first',
    );
  });

  it('compares only runs that scored the same test images', () => {
    const [a, b] = groupRuns([run({ model: 'x', lr: 1, right: rightFirst(10, 3) }), run({ model: 'y', lr: 1, right: rightFirst(10, 8) })]);
    const relabelled = {
      ...b!,
      runs: [{ ...b!.runs[0]!, predictions: { ...b!.runs[0]!.predictions!, labels: [1, ...b!.runs[0]!.predictions!.labels.slice(1)] } }],
    };
    assert.equal(compareGroups(a!, relabelled), undefined, 'a different label');
    const shorter = { ...b!, runs: [{ ...b!.runs[0]!, predictions: { split: 'test' as const, labels: [0], predicted: [0] } }] };
    assert.equal(compareGroups(a!, shorter), undefined, 'fewer images');
    assert.equal(compareGroups(shorter, a!), undefined, "fewer images, whose labels begin the other's");
    const none = { ...b!, runs: [{ ...b!.runs[0]!, predictions: undefined }] };
    assert.equal(compareGroups(a!, none), undefined);
    assert.equal(compareGroups(none, a!), undefined);
    // One group with several seeds and the other with one: McNemar on the first run that has predictions.
    const [many] = groupRuns([
      { ...run({ model: 'x', lr: 1, right: rightFirst(10, 3) }), predictions: undefined },
      run({ model: 'x', lr: 1, seed: 1, right: rightFirst(10, 4) }),
    ]);
    const mixed = compareGroups(many!, b!)!;
    assert.equal(mixed.meanA, 0.4);
    assert.match(mixed.test, /^McNemar's exact test on the 10 paired/);
    assert.match(compareGroups(b!, many!)!.test, /^McNemar's exact test on the 10 paired/, 'one seed first, several second');
  });

  it("one seed on either side is McNemar's, never Welch's; a run without a final accuracy is left out of Welch's", () => {
    const [one, other] = groupRuns([
      run({ model: 'x', lr: 1, right: rightFirst(10, 3) }),
      run({ model: 'y', lr: 1, right: rightFirst(10, 8) }),
    ]);
    assert.match(compareGroups(one!, other!)!.test, /^McNemar's exact test on the 10 paired/);
    const groups = groupRuns([
      ...[0.9, 0.92].map((accuracy, seed) => run({ model: 'a', lr: 1, seed, accuracy })),
      { ...run({ model: 'a', lr: 1, seed: 2, accuracy: 0.1 }), evaluation: undefined },
      ...[0.8, 0.84].map((accuracy, seed) => run({ model: 'b', lr: 1, seed, accuracy })),
    ]);
    const welch = compareGroups(groups[0]!, groups[1]!)!;
    assert.equal(welch.test, "Welch's t-test over 2 and 2 seeds");
    assert.ok(Math.abs(welch.difference - 0.09) < 1e-12, `${welch.difference}`);
  });

  it('calls a p-value significant strictly below 5%', () => {
    assert.equal(SIGNIFICANCE_LEVEL, 0.05);
    assert.equal(isSignificant(0.05), false);
    assert.equal(isSignificant(0.0499), true);
    assert.equal(isSignificant(Number.NaN), false);
  });

  it('the best group of a model is at its deepest, the first of a tie at the same mean', () => {
    const layers = (r: RunData, learnableLayers: number) => ({ ...r, model: { ...r.model, learnableLayers } });
    const groups = groupRuns([
      layers(run({ model: 'm', lr: 1, accuracy: 0.95 }), 10),
      layers(run({ model: 'm', lr: 2, accuracy: 0.8 }), 20),
      layers(run({ model: 'm', lr: 3, accuracy: 0.8 }), 20),
    ]);
    assert.deepEqual(
      bestGroups(groups).map((g) => g.lr),
      [2],
    );
  });

  it('formats p-values and points at their boundaries', () => {
    assert.equal(formatPValue(Number.NaN), 'p not defined');
    assert.equal(formatPValue(Number.POSITIVE_INFINITY), 'p not defined');
    assert.equal(formatPValue(0.001), 'p = 0.001');
    assert.equal(formatPValue(0.00099), 'p = 9.9e-4');
    assert.equal(formatPValue(1), 'p = 1.000');
    assert.equal(points(0.12345), '12.35');
    assert.equal(points(-0.005), '-0.50');
  });

  it("a Welch comparison's interval is cut to [-1, 1]", () => {
    const groups = groupRuns([
      ...[0.99, 0.2].map((accuracy, seed) => run({ model: 'a', lr: 1, seed, accuracy })),
      ...[0.1, 0.5].map((accuracy, seed) => run({ model: 'b', lr: 1, seed, accuracy })),
    ]);
    const c = compareGroups(groups[0]!, groups[1]!)!;
    assert.deepEqual(c.interval95, [-1, 1]);
    assert.ok(Math.abs(c.meanA - 0.595) < 1e-12 && Math.abs(c.meanB - 0.3) < 1e-12);
    assert.ok(c.pValue > 0.05 && c.pValue < 1);
  });
});

describe('time to accuracy in the results table', () => {
  const reached = (seconds: number, epoch: number) => ({ target: 0.9, seconds, epoch });
  const missed = { target: 0.9, seconds: null, epoch: null };

  it('the column is headed by the target, and absent without one', () => {
    assert.equal(timeToAccuracyHeader([undefined, reached(1, 1)]), 'time to 90.00%');
    assert.equal(timeToAccuracyHeader([undefined]), undefined);
    assert.equal(timeToAccuracyHeader([]), undefined);
  });

  it('the mean over the runs that reached it, how many did, or that none did', () => {
    assert.equal(describeTimeToAccuracy([reached(1000, 7), reached(1468, 8)]), '1,234 s (epoch 7.5)');
    assert.equal(describeTimeToAccuracy([reached(1000, 7), missed, reached(1468, 8), undefined]), '2 of 3: 1,234 s (epoch 7.5)');
    assert.equal(describeTimeToAccuracy([reached(10, 1), reached(10, 2), reached(10, 2)]), '10 s (epoch 1.7)');
    assert.equal(describeTimeToAccuracy([missed, missed]), 'not reached');
    assert.equal(describeTimeToAccuracy([{ target: 0.9, seconds: 5, epoch: null }]), 'not reached');
    assert.equal(describeTimeToAccuracy([{ target: 0.9, seconds: null, epoch: 3 }]), 'not reached');
    assert.equal(describeTimeToAccuracy([undefined]), '-');
    assert.equal(describeTimeToAccuracy([]), '-');
  });
});
