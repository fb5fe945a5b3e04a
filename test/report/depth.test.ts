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
import { observations } from '../../src/report/report.js';
import { bestGroups, describeDifference, groupRuns } from '../../src/report/study.js';

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
    name, dir: `/nowhere/${name}`,
    config: { ...S.DEFAULT_TRAIN_CONFIG, model, lr, seed, modelOptions: { [option(model)]: depth } },
    model: {
      model, modelOptions: { [option(model)]: depth }, learnableLayers: hw5 ? 33 + 30 * depth : 8 + 2 * depth, weightLayers: hw5 ? 8 + 6 * depth : 4 + depth,
      parameters: 100, skipBlocks: hw5 ? 3 * depth + 2 : 0, flops: 1, inputShape: [1, 28, 28], classes: ['a', 'b'], normalization: { mean: [0], std: [1] },
      gradientLayers: ['first.weight', 'last.weight'],
    },
    status: { status: 'finished', epochsDone: 1, step: 100, totalSteps: 100, wallSeconds: 1, updatedAt: '' },
    iterations: losses.map((loss, i) => ({ type: 'iteration', epoch: 0, step: (100 * (i + 1)) / losses.length, loss, lr, imagesPerSecond: 1, dataWaitShare: 0 })),
    epochs: [],
    gradients: inputGradients.map((g, i) => ({ type: 'gradients', epoch: 0, step: 10 * (i + 1), norms: [g, 1] })),
    evaluation: { split: 'test', accuracy: acc, perClassAccuracy: [acc, Number.NaN], confusionMatrix: [[0, 0], [0, 0]], count: 100, loss: 0.5, classes: ['a', 'b'] },
    predictions: { split: 'test', labels: Array(100).fill(0), predicted: Array.from({ length: 100 }, (_, i) => (i < right ? 0 : 1)) },
    landscape,
  };
}

const depthSentences = (runs: RunData[]) => S.depthObservations(groupRuns(runs));

describe('the depth study\'s sentences', () => {
  // McNemar on nested right answers: going from 90 right to 70 right is 20 discordant pairs all one way, p = 2 / 2^20.
  it('a plain series that degrades: the change, its interval and test, and the word degradation', () => {
    const [sentence] = depthSentences([
      run({ model: 'hw5net-plain', depth: 1, right: 90, losses: [1, 0.4, 0.3], inputGradients: [0.2, 0.4] }),
      run({ model: 'hw5net-plain', depth: 6, right: 70, losses: [1, 0.6, 0.5], inputGradients: [0.001, 0.003] }),
    ]);
    // Wald interval of paired proportions: -0.2 +- 1.959964 * sqrt(20 - 400/100) / 100 = -0.2 +- 0.0784.
    assert.equal(sentence, 'Depth, hw5net-plain (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 90.00% -> 70.00%, ' +
      'a change of -20.00 points (95% interval -27.84 to -12.16 points; McNemar\'s exact test on the 100 paired test predictions, p = 1.9e-6): ' +
      'significant at 5%: degradation, the deeper network is worse. Final training loss 0.300 -> 0.500; gradient norm at the input 3.00e-1 -> 2.00e-3.');
  });

  it('a series that improves, and Net3 counted in weight layers', () => {
    const [sentence] = depthSentences([run({ model: 'net3', depth: 0, lr: 0.001, right: 60 }), run({ model: 'net3', depth: 20, lr: 0.001, right: 80 })]);
    assert.equal(sentence, 'Depth, net3 (lr 0.001), from 4 to 24 weight layers (8 to 48 learnable layers): test accuracy 60.00% -> 80.00%, ' +
      'a change of +20.00 points (95% interval 12.16 to 27.84 points; McNemar\'s exact test on the 100 paired test predictions, p = 1.9e-6): ' +
      'significant at 5%: the deeper network is better. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.');
  });

  it('a flat series and one whose change is too small to be significant: no change, never degradation', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 88 }), run({ model: 'hw5net', depth: 6, right: 88 }),
      // 3 fewer right at depth 6: p = 2 * P(X <= 0 | 3) = 0.25.
      run({ model: 'hw5net-plain', depth: 1, right: 88 }), run({ model: 'hw5net-plain', depth: 6, right: 85 }),
    ]);
    assert.equal(sentences[0], 'Depth, hw5net (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 88.00% -> 88.00%, ' +
      'a change of 0.00 points (95% interval 0.00 to 0.00 points; McNemar\'s exact test on the 100 paired test predictions, p = 1.000): ' +
      'not significant at 5%: these runs show no significant change of accuracy with depth. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.');
    assert.equal(sentences[1], 'Depth, hw5net-plain (lr 0.1), from 5 to 20 SkipBlocks (63 to 213 learnable layers): test accuracy 88.00% -> 85.00%, ' +
      'a change of -3.00 points (95% interval -6.34 to 0.34 points; McNemar\'s exact test on the 100 paired test predictions, p = 0.250): ' +
      'not significant at 5%: these runs show no significant change of accuracy with depth. Final training loss 0.500 -> 0.500; gradient norm at the input 1.00e-1 -> 1.00e-1.');
    assert.equal(sentences[2], 'The exercise\'s premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is not shown at this budget: ' +
      'no plain network lost accuracy significantly from its shallowest to its deepest run.');
  });

  it('the premise shown: plain networks worse at depth, the SkipBlock network not', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 88 }), run({ model: 'hw5net', depth: 4, right: 89 }), run({ model: 'hw5net', depth: 6, right: 90 }),
      run({ model: 'hw5net-plain', depth: 1, right: 88 }), run({ model: 'hw5net-plain', depth: 6, right: 60 }),
      run({ model: 'net3', depth: 0, lr: 0.001, right: 80 }), run({ model: 'net3', depth: 20, lr: 0.001, right: 80 }),
    ]);
    assert.equal(sentences.length, 4);
    assert.match(sentences[0]!, /^Depth, hw5net \(lr 0\.1\), from 5 to 20 SkipBlocks .*not significant at 5%/, 'the shallowest against the deepest, the middle depth left out');
    assert.equal(sentences[3], 'The exercise\'s premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is shown at this budget: ' +
      'hw5net-plain (lr 0.1) lost accuracy from the shallowest to the deepest run (net3 (lr 0.001) did not); hw5net (lr 0.1) did not.');
  });

  it('the premise not shown when the SkipBlock network degrades too', () => {
    const sentences = depthSentences([
      run({ model: 'hw5net', depth: 1, right: 90 }), run({ model: 'hw5net', depth: 6, right: 70 }),
      run({ model: 'hw5net-plain', depth: 1, right: 90 }), run({ model: 'hw5net-plain', depth: 6, right: 60 }),
    ]);
    assert.equal(sentences[2], 'The exercise\'s premise, that plain networks stop improving as they deepen and SkipBlock networks do not, is not shown at this budget: ' +
      'hw5net (lr 0.1) with skip connections also lost accuracy from its shallowest to its deepest run.');
  });

  it('no depth sentences for runs at one depth, and the report\'s observations carry them for several', () => {
    assert.deepEqual(depthSentences([run({ model: 'hw5net', depth: 6, right: 90 }), run({ model: 'hw5net', depth: 6, lr: 0.02, right: 80 })]), []);
    const notes = observations([run({ model: 'net3', depth: 0, lr: 0.001, right: 60 }), run({ model: 'net3', depth: 20, lr: 0.001, right: 80 })]);
    assert.ok(notes.some((n) => n.startsWith('Depth, net3 (lr 0.001), from 4 to 24 weight layers')));
  });

  it('groups a depth sweep by depth, labels each depth, and compares models at their deepest', () => {
    const groups = groupRuns([
      run({ model: 'hw5net', depth: 1, right: 95 }), run({ model: 'hw5net', depth: 6, right: 90 }), run({ model: 'hw5net', depth: 6, lr: 0.02, right: 91 }),
    ]);
    assert.deepEqual(groups.map((g) => [g.label, g.depth, g.lr]), [['hw5net-d1', 1, 0.1], ['hw5net-d6', 6, 0.1], ['hw5net-d6', 6, 0.02]]);
    assert.deepEqual(bestGroups(groups).map((g) => [g.label, g.lr]), [['hw5net-d6', 0.02]], 'the best learning rate at the deepest depth, not the shallow run\'s better accuracy');
  });

  it('calls a change significant only below p = 0.05, on both sides of it', () => {
    // Prefix predictions make every discordant pair go one way: McNemar's exact p = 2 * 0.5^n for n of them.
    const verdict = (right: number) => depthSentences([run({ model: 'hw5net-plain', depth: 1, right: 90 }), run({ model: 'hw5net-plain', depth: 6, right })])[0]!;
    assert.match(verdict(85), /p = 0\.063\): not significant at 5%: these runs show no significant change/, '5 discordant pairs: p = 0.0625');
    assert.match(verdict(84), /p = 0\.031\): significant at 5%: degradation/, '6 discordant pairs: p = 0.03125');
  });

  it('says a difference between two models is significant only below p = 0.05', () => {
    const comparison = (pValue: number) => ({ difference: 0.01, interval95: [0.001, 0.019], pValue, test: 'a test' }) as unknown as Parameters<typeof describeDifference>[0];
    assert.match(describeDifference(comparison(0.049), 'a', 'b'), /p = 0\.049\): significant at 5%$/);
    assert.match(describeDifference(comparison(0.05), 'a', 'b'), /p = 0\.050\): not significant at 5%: these runs do not show either one better$/, 'p = 0.05 is not below 5%');
    assert.match(describeDifference(comparison(0.051), 'a', 'b'), /p = 0\.051\): not significant at 5%/);
  });
});

/** A landscape file with the given slice and surface on [-1, 1]. */
function landscapeFile(line: number[], surface: number[][] = []): S.LandscapeFile {
  const axis = (n: number) => Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
  return {
    points: line.length, grid: surface.length, sample: 1000, sampleAsked: 1000, range: 1, seed: 0, precision: 'fp32', step: 100,
    alphas: axis(line.length), line, surfaceAxis: surface.length ? axis(surface.length) : [], surface, seconds: 1,
  };
}

describe('the loss landscape\'s measures', () => {
  const bowl = (n: number) => Array.from({ length: n }, (_, j) => Array.from({ length: n }, (_, i) => {
    const [a, b] = [-1 + (2 * i) / (n - 1), -1 + (2 * j) / (n - 1)];
    return 1 + a * a + 2 * b * b;
  }));

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
    const plain = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([40, 5, 0.3, 8, 50], [[9, 9, 9, 9, 9], [9, 1, 5, 1, 9], [9, 5, 0.3, 5, 9], [9, 1, 5, 1, 9], [9, 9, 9, 9, 9]]) });
    assert.equal(S.landscapeObservation(skip, plain), 'Loss landscape of hw5net-d6-lr0.1-s0 against hw5net-plain-d6-lr0.1-s0 (Li et al. 2018; 1,000 training images, ' +
      'one pair of filter-normalised random directions, so no interval): training loss 0.200 and 0.300 at the trained weights, rising by 0.350 and 6.200 at distance 0.5 ' +
      'and by 1.400 and 44.700 at distance 1; 0.0% and 44.4% of the surface\'s interior points curve downward along a direction (not convex): ' +
      'hw5net\'s surface is the smoother: it rises more slowly and is no less convex.');
    const bumpy = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([1.5, 0.5, 0.2, 0.6, 1.7], plain.landscape!.surface) });
    const smooth = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([40, 5, 0.3, 8, 50], bowl(5)) });
    assert.match(S.landscapeObservation(bumpy, smooth), /\(not convex\): hw5net-plain's surface is the more nearly convex, hw5net's rises more slowly: the measures do not agree on which surface is the smoother\.$/);
    const steep = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([40, 5, 0.3, 8, 50], plain.landscape!.surface) });
    const gentle = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([1.5, 0.5, 0.2, 0.6, 1.7], bowl(5)) });
    assert.match(S.landscapeObservation(steep, gentle), /: hw5net-plain's surface is the smoother: it rises more slowly and is no less convex\.$/);
  });

  it('pairs each SkipBlock run\'s landscape with its plain twin\'s', () => {
    const a = run({ model: 'hw5net', depth: 6, right: 90, landscape: landscapeFile([1, 0, 1]) });
    const b = run({ model: 'net3', depth: 10, right: 80, landscape: landscapeFile([1, 0, 1]) });
    const c = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: landscapeFile([1, 0, 1]) });
    assert.deepEqual(S.landscapeGroups([a, b, c, run({ model: 'hw5net', depth: 1, right: 1 })]).map((g) => g.map((r) => r.name)),
      [['hw5net-d6-lr0.1-s0', 'hw5net-plain-d6-lr0.1-s0'], ['net3-d10-lr0.1-s0']]);
    assert.deepEqual(S.landscapeGroups([c, a]).map((g) => g.map((r) => r.name)), [['hw5net-d6-lr0.1-s0', 'hw5net-plain-d6-lr0.1-s0']], 'the plain run first');
    const other = run({ model: 'hw5net-plain', depth: 6, right: 80, landscape: { ...landscapeFile([1, 0, 1]), seed: 3 } });
    assert.deepEqual(S.landscapeGroups([a, other]).map((g) => g.length), [1, 1], 'landscapes computed differently are not compared');
  });
});
