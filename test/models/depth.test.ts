/**
 * A network's depth as He et al. count it, against counts worked out by
 * hand from the model definitions in src/models/:
 *
 * - HW5Net (hw5net.ts): the stem convolution, p same-channel SkipBlocks in
 *   each of three stages (convo1 and convo2: 2 each), two downsampling
 *   SkipBlocks (convo1, convo2 and downsampler2: 3 each) and fc: 1 + 6p + 6 + 1
 *   = 8 + 6p, 44 at the default p = 6. The plain twin has the same layers.
 * - BMEnet (bmenet.ts): conv, 3d blocks of 2, two downsampling blocks of 3,
 *   fc1 and fc2: 9 + 6d.
 * - Net3 (hw4.ts): conv1, conv2, the chain of L convolutions, fc1 and fc2:
 *   4 + L. Net1 and Net2: conv1, conv2, fc1, fc2 = 4.
 *
 * The shortcuts (in2out, downsampler1) are no layers of the main path, and
 * neither batch norm, pooling nor activation counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

describe("weight layers on the main path (He et al.'s depth)", () => {
  it('HW5Net and its plain twin: 8 + 6 per block a stage', () => {
    for (const [blocksPerStage, expected] of [
      [0, 8],
      [1, 14],
      [2, 20],
      [6, 44],
    ] as const) {
      for (const skipConnections of [true, false]) {
        const net = new S.HW5Net({ width: 1, blocksPerStage, skipConnections, imageSize: [4, 4], inChannels: 1, numClasses: 2 });
        assert.equal(S.weightLayers(net), expected, `blocksPerStage ${blocksPerStage}, skipConnections ${skipConnections}`);
        assert.equal(net.numSkipBlocks, 3 * blocksPerStage + 2);
      }
    }
    assert.equal(S.weightLayers(new S.HW5Net({ width: 1, imageSize: [4, 4] })), 44, 'the default: 6 blocks a stage');
  });

  it('the registered models, built as the runs build them', () => {
    const shape = { channels: 1, height: 16, width: 16 };
    assert.equal(S.weightLayers(S.buildModel('hw5net', shape, 3, { width: 1, blocksPerStage: 3 })), 26);
    assert.equal(S.weightLayers(S.buildModel('hw5net-plain', shape, 3, { width: 1, blocksPerStage: 3 })), 26);
    assert.equal(S.weightLayers(S.buildModel('net3', shape, 3, { chainLength: 5 })), 9);
    assert.equal(S.weightLayers(S.buildModel('net1', shape, 3)), 4);
    assert.equal(S.weightLayers(S.buildModel('net2', shape, 3)), 4);
  });

  it('Net3: 4 + the chain of extra convolutions; Net1 and Net2: 4', () => {
    for (const [chainLength, expected] of [
      [0, 4],
      [1, 5],
      [3, 7],
    ] as const) {
      assert.equal(
        S.weightLayers(new S.Net3({ chainLength, imageSize: [8, 8], inChannels: 1, numClasses: 2 })),
        expected,
        `chainLength ${chainLength}`,
      );
    }
    assert.equal(S.weightLayers(new S.Net3({ imageSize: [8, 8], inChannels: 1, numClasses: 2 })), 14, 'the default chain of 10');
    assert.equal(S.weightLayers(new S.Net1({ imageSize: [16, 16], inChannels: 1, numClasses: 2 })), 4);
    assert.equal(S.weightLayers(new S.Net2({ imageSize: [8, 8], inChannels: 1, numClasses: 2 })), 4);
  });

  it('BMEnet and its plain twin: 9 + 6 per block a stage', () => {
    for (const skipConnections of [true, false]) {
      assert.equal(S.weightLayers(new S.BMEnet({ depth: 0, skipConnections, imageSize: [4, 4], inChannels: 1, numClasses: 2 })), 9);
      assert.equal(S.weightLayers(new S.BMEnet({ depth: 1, skipConnections, imageSize: [4, 4], inChannels: 1, numClasses: 2 })), 15);
    }
  });

  it('a SkipBlock alone: 2, and 3 when it downsamples; its shortcuts do not count', () => {
    assert.equal(S.weightLayers(new S.SkipBlock(2, 2)), 2);
    assert.equal(S.weightLayers(new S.SkipBlock(2, 4)), 2, 'in2out is a shortcut');
    assert.equal(S.weightLayers(new S.SkipBlock(2, 4, { downsample: true })), 3, 'downsampler2 is on the main path, downsampler1 is not');
    assert.equal(S.weightLayers(new S.SkipBlock(2, 2, { downsample: true, skipConnections: false })), 3);
  });

  it('any network: each convolution and linear layer outside a block, nothing else', () => {
    const net = new S.Sequential(
      new S.Conv2d(1, 2, 3),
      new S.BatchNorm2d(2),
      new S.ReLU(),
      new S.SkipBlock(2, 2),
      new S.SkipBlock(2, 4, { downsample: true }),
      new S.AdaptiveAvgPool2d(1),
      new S.Flatten(),
      new S.Sequential(new S.Linear(4, 3), new S.Linear(3, 2)),
    );
    assert.equal(S.weightLayers(net), 1 + 2 + 3 + 2);
    assert.equal(S.weightLayers(new S.Sequential(new S.BatchNorm2d(2), new S.ReLU(), new S.Flatten())), 0);
    assert.equal(S.weightLayers(new S.Linear(3, 2)), 1);
    assert.equal(S.weightLayers(new S.Sequential(new S.SkipBlock(2, 2), new S.SkipBlock(2, 2), new S.SkipBlock(2, 2))), 6);
  });
});
