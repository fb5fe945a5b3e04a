/**
 * The report's observations (report.ts): each sentence word for word on
 * synthetic run records whose numbers are written out here, with every
 * branch a sentence can take: the state of a run and of a group, the
 * learning-rate and model comparisons, the gradient fade at its boundaries
 * (exactly 10 and 0.1 times, fewer than four weights, a quarter of nine
 * weights), and what is said about runs that diverged, failed or are
 * unfinished.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { landscapeObservation } from '../../src/report/landscape.js';
import type { RunData } from '../../src/report/load.js';
import { groupState, interval, meanAndSpread, observations } from '../../src/report/observations.js';
import { models } from '../../src/report/report.js';
import { groupRuns } from '../../src/report/study.js';
import { rightFirst, run } from './synthetic.js';

const summary = (n: number, mean: number, std: number, interval95?: [number, number]) => ({
  n,
  mean,
  std,
  ...(interval95 ? { interval95 } : {}),
});

describe("a group's accuracy in words", () => {
  it('no seed: a dash; one seed: the value; several: mean ± standard deviation in points', () => {
    assert.equal(meanAndSpread(summary(0, Number.NaN, Number.NaN)), '-');
    assert.equal(meanAndSpread(summary(1, 0.8, Number.NaN)), '80.00%');
    assert.equal(meanAndSpread(summary(2, 0.825, 0.0125)), '82.50% ± 1.25');
  });

  it('the 95% interval in percent, or a dash without one', () => {
    assert.equal(interval(summary(3, 0.3, 0.1, [0.1234, 0.5])), '12.34 to 50.00%');
    assert.equal(interval(summary(1, 0.3, Number.NaN)), '-');
  });
});

describe('the state of a group of runs', () => {
  const state = (...runs: RunData[]) => groupRuns(runs).map(groupState);

  it('one run: its state alone, without a count', () => {
    assert.deepEqual(state(run({ model: 'm', lr: 1, accuracy: 0.5 })), ['finished']);
    assert.deepEqual(
      state(run({ model: 'm', lr: 1, status: { status: 'diverged', divergedAt: { epoch: 1, step: 40, loss: Number.NaN } } })),
      ['diverged at step 40'],
    );
    assert.deepEqual(state(run({ model: 'm', lr: 1, status: { status: 'diverged' } })), ['diverged at step ?']);
    assert.deepEqual(state(run({ model: 'm', lr: 1, status: { status: 'failed', epochsDone: 1, message: 'out of memory' } })), [
      'failed after 1 of 3 epochs (out of memory)',
    ]);
    assert.deepEqual(state(run({ model: 'm', lr: 1, status: { status: 'failed', epochsDone: 0 } })), [
      'failed after 0 of 3 epochs (no message)',
    ]);
    assert.deepEqual(state(run({ model: 'm', lr: 1, status: { status: 'running', epochsDone: 2 } })), ['running after 2 of 3 epochs']);
    assert.deepEqual(state(run({ model: 'm', lr: 1, status: { status: 'stopped', epochsDone: 1 } })), ['stopped after 1 of 3 epochs']);
  });

  it('several runs: how many are in each state, in the order the states first appear', () => {
    assert.deepEqual(state(run({ model: 'm', lr: 1, seed: 0, accuracy: 0.5 }), run({ model: 'm', lr: 1, seed: 1, accuracy: 0.6 })), [
      '2 finished',
    ]);
    const diverged = { status: 'diverged' as const, divergedAt: { epoch: 0, step: 40, loss: Number.POSITIVE_INFINITY } };
    assert.deepEqual(
      state(
        run({ model: 'm', lr: 1, seed: 0, accuracy: 0.5 }),
        run({ model: 'm', lr: 1, seed: 1, status: diverged }),
        run({ model: 'm', lr: 1, seed: 2, accuracy: 0.6 }),
      ),
      ['2 finished, 1 diverged at step 40'],
    );
  });

  it('the models of a set of runs, each once, in the order they first appear', () => {
    assert.deepEqual(models([run({ model: 'b', lr: 1 }), run({ model: 'a', lr: 1 }), run({ model: 'b', lr: 2 })]), ['b', 'a']);
    assert.deepEqual(models([]), []);
  });
});

describe('the learning-rate sentences', () => {
  it('the best learning rate against the runner-up, whatever order the runs came in', () => {
    const notes = observations([
      run({ model: 'net3', lr: 0.01, accuracy: 0.85 }),
      run({ model: 'net3', lr: 0.001, accuracy: 0.9 }),
      run({ model: 'net3', lr: 0.1, accuracy: 0.8 }),
    ]);
    assert.deepEqual(notes, [
      'net3: learning rate 0.001 did best (90.00% test accuracy) against learning rate 0.01 (85.00%); the runs have no paired predictions, so the difference is not tested.',
    ]);
  });

  it("one sentence per model, each comparing only that model's learning rates", () => {
    const notes = observations([
      run({ model: 'net3', lr: 0.001, accuracy: 0.8 }),
      run({ model: 'net1', lr: 0.1, accuracy: 0.6 }),
      run({ model: 'net3', lr: 0.0001, accuracy: 0.7 }),
      run({ model: 'net1', lr: 0.01, accuracy: 0.65 }),
    ]);
    assert.deepEqual(notes, [
      'net3: learning rate 0.001 did best (80.00% test accuracy) against learning rate 0.0001 (70.00%); the runs have no paired predictions, so the difference is not tested.',
      'net1: learning rate 0.01 did best (65.00% test accuracy) against learning rate 0.1 (60.00%); the runs have no paired predictions, so the difference is not tested.',
    ]);
  });

  it('tested on paired predictions, with several seeds shown as mean ± standard deviation', () => {
    const notes = observations([
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 82) }),
      run({ model: 'net3', lr: 0.0001, right: rightFirst(100, 80) }),
    ]);
    assert.deepEqual(notes, [
      'net3: learning rate 0.001 did best (82.00% test accuracy) against learning rate 0.0001 (80.00%): 2.00 points in favour of lr 0.001 ' +
        "(95% interval -0.74 to 4.74 points; McNemar's exact test on the 100 paired test predictions, p = 0.500): not significant at 5%: " +
        'these runs do not show either one better.',
    ]);
    const seeds = observations([
      ...[0.81, 0.83].map((accuracy, seed) => run({ model: 'net3', lr: 0.001, seed, accuracy })),
      run({ model: 'net3', lr: 0.0001, accuracy: 0.8 }),
    ]);
    assert.deepEqual(seeds, [
      'net3: learning rate 0.001 did best (82.00% ± 1.41 test accuracy) against learning rate 0.0001 (80.00%); the runs have no paired predictions, so the difference is not tested.',
    ]);
  });

  it('the runner-up can win the paired test: the best mean over seeds against one seed whose predictions were the better', () => {
    // lr 0.001: seeds at 78% (with predictions) and 92% (without), mean 85%; lr 0.0001: one seed at 80%. McNemar pairs the 78% run with the 80% one.
    const best = [
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 78) }),
      run({ model: 'net3', lr: 0.001, seed: 1, accuracy: 0.92 }),
    ];
    const notes = observations([...best, run({ model: 'net3', lr: 0.0001, right: rightFirst(100, 80) })]);
    assert.deepEqual(notes, [
      'net3: learning rate 0.001 did best (85.00% ± 9.90 test accuracy) against learning rate 0.0001 (80.00%): 2.00 points in favour of lr 0.0001 ' +
        "(95% interval -4.74 to 0.74 points; McNemar's exact test on the 100 paired test predictions, p = 0.500): not significant at 5%: " +
        'these runs do not show either one better.',
    ]);
  });

  it('no sentence for a single learning rate, nor against a learning rate whose runs have no accuracy', () => {
    assert.deepEqual(observations([run({ model: 'net3', lr: 0.001, accuracy: 0.8 })]), []);
    assert.deepEqual(observations([run({ model: 'net3', lr: 0.001, accuracy: 0.8 }), run({ model: 'net3', lr: 0.01 })]), [
      'net3-lr0.01-s0 has no final evaluation (eval.json), so it has no confusion matrix.',
    ]);
  });
});

describe('the model sentences', () => {
  it('each pair of the study that both ran, at its best learning rate: tested where the runs have paired predictions', () => {
    const notes = observations([
      run({ model: 'hw5net', lr: 0.1, right: rightFirst(100, 90) }),
      run({ model: 'hw5net', lr: 0.05, right: rightFirst(100, 85) }),
      run({ model: 'hw5net-plain', lr: 0.1, accuracy: 0.7 }),
      run({ model: 'net3', lr: 0.001, right: rightFirst(100, 80) }),
    ]);
    assert.deepEqual(notes, [
      'hw5net: learning rate 0.1 did best (90.00% test accuracy) against learning rate 0.05 (85.00%): 5.00 points in favour of lr 0.1 ' +
        "(95% interval 0.73 to 9.27 points; McNemar's exact test on the 100 paired test predictions, p = 0.063): not significant at 5%: " +
        'these runs do not show either one better.',
      'hw5net against hw5net-plain (the same layers without skip connections), each at its best learning rate (0.1 and 0.1): 90.00% against 70.00%; ' +
        'the runs have no paired predictions, so the difference is not tested.',
      'hw5net against net3 (the plain deep CNN of HW4, at its own recipe), each at its best learning rate (0.1 and 0.001): 90.00% against 80.00%, ' +
        "10.00 points in favour of hw5net (95% interval 4.12 to 15.88 points; McNemar's exact test on the 100 paired test predictions, p = 0.002): " +
        'significant at 5%.',
    ]);
  });

  it('no sentence for a pair of which only one model ran', () => {
    assert.deepEqual(observations([run({ model: 'hw5net', lr: 0.1, accuracy: 0.9 })]), []);
    assert.deepEqual(observations([run({ model: 'net3', lr: 0.1, accuracy: 0.9 })]), []);
  });
});

describe('the gradient sentences', () => {
  const gradientNotes = (...runs: RunData[]) => observations(runs).filter((n) => n.includes('gradient norm'));
  const sentence = (label: string, input: string, output: string, end: string) =>
    `${label} (lr 0.1, seed 0): the mean gradient norm of the quarter of weights nearest the input is ${input}, of the quarter nearest the output ${output} - ${end}`;

  it('a quarter of nine weights is two: the first two against the last two', () => {
    const notes = gradientNotes(run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [0.01, 0.03, 0.5, 0.5, 0.5, 0.5, 0.5, 2, 4] }));
    assert.deepEqual(notes, [sentence('m', '2.00e-2', '3.00e+0', '150 times smaller at the input: the gradient fades on its way down.')]);
  });

  it('exactly 10 times smaller at the input is not yet fading; exactly 10 times larger is not yet larger', () => {
    assert.deepEqual(gradientNotes(run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [1, 5, 5, 10] })), [
      sentence('m', '1.00e+0', '1.00e+1', 'the gradient reaches the input without fading.'),
    ]);
    assert.deepEqual(gradientNotes(run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [10, 5, 5, 1] })), [
      sentence('m', '1.00e+1', '1.00e+0', 'the gradient reaches the input without fading.'),
    ]);
  });

  it('more than 10 times larger at the input', () => {
    assert.deepEqual(gradientNotes(run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [10, 1, 1, 0.5] })), [
      sentence('m', '1.00e+1', '5.00e-1', 'larger at the input.'),
    ]);
  });

  it('weights that never got a gradient are left out before the quarters are taken; fewer than four weights say nothing', () => {
    assert.deepEqual(gradientNotes(run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [0, 2, 3, 4, 5] })), [
      sentence('m', '2.00e+0', '5.00e+0', 'the gradient reaches the input without fading.'),
    ]);
    assert.deepEqual(observations([run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [0, 0.01, 1, 100] })]), []);
    assert.deepEqual(observations([run({ model: 'm', lr: 0.1, accuracy: 0.5, gradients: [0.01, 1, 100] })]), []);
  });

  it('one sentence per model, from the first run of its best group, among the other sentences', () => {
    const notes = observations([
      run({ model: 'a', lr: 0.1, accuracy: 0.5, gradients: [1, 1, 1, 1] }),
      run({ model: 'a', lr: 0.2, accuracy: 0.6, gradients: [0.01, 1, 1, 1] }),
      run({ model: 'b', lr: 0.1, accuracy: 0.5, gradients: [1, 1, 1, 20] }),
    ]);
    assert.deepEqual(notes, [
      'a: learning rate 0.2 did best (60.00% test accuracy) against learning rate 0.1 (50.00%); the runs have no paired predictions, so the difference is not tested.',
      'a (lr 0.2, seed 0): the mean gradient norm of the quarter of weights nearest the input is 1.00e-2, of the quarter nearest the output 1.00e+0 - ' +
        '100 times smaller at the input: the gradient fades on its way down.',
      'b (lr 0.1, seed 0): the mean gradient norm of the quarter of weights nearest the input is 1.00e+0, of the quarter nearest the output 2.00e+1 - ' +
        '20 times smaller at the input: the gradient fades on its way down.',
    ]);
  });
});

describe('what is said about each run', () => {
  it('a run that diverged, failed, or is still running, and one without an evaluation', () => {
    const notes = observations([
      run({ model: 'a', lr: 1, accuracy: 0.5 }),
      run({ model: 'b', lr: 1, status: { status: 'diverged', epochsDone: 1, divergedAt: { epoch: 1, step: 40, loss: Number.NaN } } }),
      run({ model: 'c', lr: 1, accuracy: 0.4, status: { status: 'failed', epochsDone: 1, message: 'out of memory' } }),
      run({ model: 'd', lr: 1, status: { status: 'running', epochsDone: 2 } }),
    ]);
    assert.deepEqual(notes, [
      'b-lr1-s0 diverged: its loss became NaN at step 40; its figures stop there.',
      'b-lr1-s0 has no final evaluation (eval.json), so it has no confusion matrix.',
      'c-lr1-s0 is failed after 1 of 3 epochs (out of memory): its numbers cover only what it trained.',
      'd-lr1-s0 is running after 2 of 3 epochs: its numbers cover only what it trained.',
      'd-lr1-s0 has no final evaluation (eval.json), so it has no confusion matrix.',
    ]);
  });

  it('a diverged status without the step it diverged at still gets its sentence', () => {
    const notes = observations([run({ model: 'b', lr: 1, accuracy: 0.5, status: { status: 'diverged' } })]);
    assert.equal(notes.length, 1);
    assert.deepEqual(notes, ['b-lr1-s0 diverged (its status does not say at which step); its figures stop there.']);
  });
});

describe('the landscape sentence', () => {
  const landscape = (line: number[]): NonNullable<RunData['landscape']> => ({
    points: 5,
    grid: 3,
    sample: 1000,
    sampleAsked: 1000,
    range: 1,
    seed: 0,
    precision: 'fp32',
    step: 30,
    alphas: [-1, -0.5, 0, 0.5, 1],
    line,
    surfaceAxis: [-1, 0, 1],
    surface: [
      [2, 1, 2],
      [1, 0.5, 1],
      [2, 1, 2],
    ],
    seconds: 1,
  });

  it('a skip network against its plain twin, and nothing for a landscape without its twin', () => {
    const skip = run({ model: 'hw5net', lr: 0.1, accuracy: 0.9, landscape: landscape([2, 1, 0.5, 1, 2]) });
    const plain = run({ model: 'hw5net-plain', lr: 0.1, accuracy: 0.9, landscape: landscape([4, 2, 0.5, 2, 4]) });
    const notes = observations([plain, skip]);
    assert.equal(notes.at(-1), landscapeObservation(skip, plain));
    assert.match(notes.at(-1)!, /^Loss landscape of hw5net-lr0\.1-s0 against hw5net-plain-lr0\.1-s0 /);
    assert.equal(notes.filter((n) => n.startsWith('Loss landscape')).length, 1);
    assert.deepEqual(observations([skip]), []);
  });
});
