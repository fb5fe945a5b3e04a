/**
 * `skipstudio train --nproc-per-node 2`: the launcher's two workers train
 * HW5Net (per-process batch norm) on their shards; rank 0 alone writes the
 * run, and the sharded evaluation in eval.json is what one process computes
 * from the saved checkpoint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { writeTinyFashionMnist } from '../helpers.js';
import { freePort, runNode } from './helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

describe('skipstudio train --nproc-per-node 2', () => {
  it("writes one run, whose sharded evaluation equals one process's evaluation of its checkpoint", async () => {
    const root = mkdtempSync(join(tmpdir(), 'skipstudio-dp-train-'));
    const data = writeTinyFashionMnist(join(root, 'data'), 256, 61); // 61 test images: the shards need padding
    const out = join(root, 'run');
    const port = await freePort();
    const trained = await runNode(
      [
        main,
        'train',
        '--data-dir',
        data,
        '--model',
        'hw5net',
        '--epochs',
        '1',
        '--batch-size',
        '32',
        '--threads',
        '2',
        '--log-every',
        '1',
        '--out',
        out,
        '--nproc-per-node',
        '2',
        '--master-port',
        String(port),
      ],
      { timeoutMs: 240_000 },
    );
    assert.equal(trained.code, 0, trained.stderr);
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step: number });
    const steps = records.filter((r) => r.type === 'iteration').map((r) => r.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], 'each step logged once, by rank 0');
    const sharded = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as {
      loss: number;
      accuracy: number;
      confusionMatrix: number[][];
    };
    type Predictions = { labels: number[]; predicted: number[] };
    const shardedPredictions = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')) as Predictions;
    // eval --run evaluates the checkpoint in one process and writes its own eval.json and predictions.json over the sharded ones.
    const single = await runNode([main, 'eval', '--run', out, '--json'], { timeoutMs: 120_000 });
    assert.equal(single.code, 0, single.stderr);
    const one = JSON.parse(single.stdout) as { loss: number; accuracy: number; confusionMatrix: number[][] };
    assert.equal(sharded.accuracy, one.accuracy);
    assert.deepEqual(sharded.confusionMatrix, one.confusionMatrix);
    assert.equal(
      sharded.confusionMatrix.flat().reduce((a, b) => a + b, 0),
      61,
    );
    assert.ok(Math.abs(sharded.loss - one.loss) < 1e-6, `loss ${sharded.loss} against ${one.loss}`);
    // Image by image, in the test split's order: McNemar's paired test between runs depends on it, where accuracy does not.
    const onePredictions = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')) as Predictions;
    assert.equal(shardedPredictions.labels.length, 61);
    assert.deepEqual(shardedPredictions.labels, onePredictions.labels, "the labels in the split's order");
    assert.deepEqual(shardedPredictions.predicted, onePredictions.predicted, "each image's prediction where one process puts it");
    assert.notDeepEqual(
      shardedPredictions.labels,
      [...shardedPredictions.labels].sort((x, y) => x - y),
      'labels not already sorted (an order to get wrong)',
    );
  });
});
