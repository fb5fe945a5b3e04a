import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function skipstudio(...args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
}

describe('skipstudio models', () => {
  it('lists every model with learnable layers, parameters and FLOPs for a dataset shape', () => {
    const run = skipstudio('models', '--dataset', 'cifar10');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Models for cifar10 \(input \[3, 32, 32\], 10 classes\)/);
    assert.match(run.stdout, /^hw5net\s+213\s+167,346\s/m);
    assert.match(run.stdout, /^bmenet\s+274\s+30,195,330\s/m);
    assert.match(run.stdout, /^net3\s+28\s/m);
  });

  it("prints one model's summary table", () => {
    const run = skipstudio('models', 'net1', '--dataset', 'coco');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /fc1 \(Linear\)\s+\[1, 64\]\s+401,472/);
    assert.match(run.stdout, /Parameter tensors \(learnable layers\): 8/);
  });

  it('fails with a message that says what to fix', () => {
    const unknown = skipstudio('models', 'resnet');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown model 'resnet': choose one of hw5net/);
    const badDataset = skipstudio('models', '--dataset', 'imagenet');
    assert.notEqual(badDataset.status, 0);
    assert.match(badDataset.stderr, /unknown dataset 'imagenet': choose one of fashion-mnist, cifar10, coco/);
  });
});
