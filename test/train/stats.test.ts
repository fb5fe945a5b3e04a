/** The running sums of a logging window and an epoch: loss, accuracy, throughput, data wait, and their round trip through a checkpoint. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StepStats } from '../../src/train/stats.js';

describe('StepStats', () => {
  it('adds up steps and reports means and rates over them', () => {
    const stats = new StepStats();
    stats.add({ loss: 2, correct: 3, images: 4, dataMs: 100, computeMs: 300 });
    stats.add({ loss: 1, correct: 4, images: 4, dataMs: 200, computeMs: 1400 });
    assert.deepEqual(stats.toJSON(), { steps: 2, lossSum: 3, correct: 7, images: 8, dataMs: 300, computeMs: 1700 });
    assert.equal(stats.meanLoss, 1.5);
    assert.equal(stats.accuracy, 7 / 8);
    assert.equal(stats.seconds, 2);
    assert.equal(stats.imagesPerSecond, 4);
    assert.equal(stats.dataWaitShare, 0.15);
  });

  it('is 0, not NaN, before any step', () => {
    const empty = new StepStats();
    assert.deepEqual([empty.meanLoss, empty.accuracy, empty.seconds, empty.imagesPerSecond, empty.dataWaitShare], [0, 0, 0, 0, 0]);
  });

  it('divides by the steps and images even when there is only a fraction of one second', () => {
    const stats = StepStats.from({ steps: 4, lossSum: 2, correct: 1, images: 2, dataMs: 0.5, computeMs: 0.5 });
    assert.equal(stats.meanLoss, 0.5);
    assert.equal(stats.accuracy, 0.5);
    assert.equal(stats.imagesPerSecond, 2000);
    assert.equal(stats.dataWaitShare, 0.5);
  });

  it('comes back from its JSON as it was, and from nothing as empty', () => {
    const stats = new StepStats();
    stats.add({ loss: 0.7, correct: 5, images: 8, dataMs: 3, computeMs: 9 });
    const restored = StepStats.from(JSON.parse(JSON.stringify(stats)) as Partial<StepStats>);
    assert.ok(restored instanceof StepStats);
    assert.deepEqual(restored.toJSON(), stats.toJSON());
    assert.deepEqual(StepStats.from(undefined).toJSON(), new StepStats().toJSON());
  });
});
