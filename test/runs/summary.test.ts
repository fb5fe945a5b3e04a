/** A run's summary row read back from its directory: what results.json and the tables show. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

function epoch(index: number, testAccuracy: number, seconds: number): S.EpochRecord {
  return {
    type: 'epoch',
    epoch: index,
    step: 5 * (index + 1),
    trainLoss: 1,
    trainAccuracy: 0.5,
    testLoss: 1,
    testAccuracy,
    lr: 0.1,
    seconds,
    wallSeconds: 12 * (index + 1),
    imagesPerSecond: 100,
    dataWaitShare: 0,
  };
}

/** A run directory with the given epochs and status, as training leaves it. */
function runWith(epochs: S.EpochRecord[], status: Partial<S.StatusFile>, settings: Partial<S.TrainConfig> = {}) {
  const out = join(mkdtempSync(join(tmpdir(), 'summary-')), 'hw5net-lr0.01');
  const config = S.resolveTrainConfig({ out, model: 'hw5net', lr: 0.01, seed: 4, batchSize: 8, ...settings });
  const dir = new S.RunDirectory(out);
  dir.create();
  dir.writeJson('status.json', {
    status: 'finished',
    epochsDone: epochs.length,
    step: 5 * epochs.length,
    totalSteps: 10,
    wallSeconds: 30,
    updatedAt: '',
    ...status,
  });
  dir.writeJson('model.json', { learnableLayers: 17, weightLayers: 9, parameters: 1234 });
  dir.append({ type: 'iteration', epoch: 0, step: 1, loss: 2, lr: 0.01, imagesPerSecond: 50, dataWaitShare: 0 });
  for (const e of epochs) dir.append(e);
  return { dir, config, out };
}

describe('summarizeRun', () => {
  it("reads the final and best test accuracy, the model's size and the throughput over the epochs' own seconds", () => {
    const { dir, config, out } = runWith(
      [epoch(0, 0.6, 2), epoch(1, 0.8, 3), epoch(2, 0.7, 5)],
      { step: 15, wallSeconds: 40 },
      { modelOptions: { blocksPerStage: 2 } },
    );
    const summary = S.summarizeRun(dir, config);
    assert.deepEqual(summary, {
      name: 'hw5net-lr0.01',
      dir: out,
      model: 'hw5net',
      depth: 2,
      lr: 0.01,
      seed: 4,
      status: 'finished',
      learnableLayers: 17,
      weightLayers: 9,
      parameters: 1234,
      finalTestAccuracy: 0.7,
      bestTestAccuracy: 0.8,
      wallSeconds: 40,
      imagesPerSecond: (15 * 8) / 10,
      timeToAccuracy: undefined,
      divergedAt: undefined,
    });
  });

  it('has no accuracy before the first epoch, and its throughput over the wall time then', () => {
    const { dir, config } = runWith([], { status: 'stopped', step: 3, wallSeconds: 6 });
    const summary = S.summarizeRun(dir, config);
    assert.ok(Number.isNaN(summary.finalTestAccuracy) && Number.isNaN(summary.bestTestAccuracy));
    assert.equal(summary.imagesPerSecond, 4, '3 steps of 8 images in 6 s');
    const { dir: idle, config: idleConfig } = runWith([], { status: 'stopped', step: 0, wallSeconds: 0 });
    assert.ok(Number.isNaN(S.summarizeRun(idle, idleConfig).imagesPerSecond), 'no time spent: no rate');
  });

  it('reports time to accuracy only when the run has a target, and where it diverged', () => {
    const divergedAt = { epoch: 1, step: 7, loss: Number.MAX_VALUE };
    const { dir, config } = runWith([epoch(0, 0.6, 2), epoch(1, 0.8, 3)], { status: 'diverged', divergedAt }, { targetAccuracy: 0.75 });
    const summary = S.summarizeRun(dir, config);
    assert.deepEqual(summary.timeToAccuracy, { target: 0.75, epoch: 2, seconds: 24 });
    assert.deepEqual(summary.divergedAt, divergedAt);
    assert.equal(summary.status, 'diverged');
  });

  it('names the depth option each model has, and none for a model without one', () => {
    assert.equal(S.configuredDepth({ model: 'net3', modelOptions: { chainLength: 6 } }), 6);
    assert.equal(S.configuredDepth({ model: 'bmenet', modelOptions: { depth: 4 } }), 4);
    assert.equal(S.configuredDepth({ model: 'net1', modelOptions: { depth: 4 } }), undefined);
    assert.equal(S.configuredDepth({ model: 'hw5net', modelOptions: {} }), undefined);
  });
});
