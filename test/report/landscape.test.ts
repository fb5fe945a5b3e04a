/**
 * What the report reads off a loss landscape, function by function, on
 * slices and surfaces small enough that every answer is worked out by hand
 * here: the interpolated loss and its rise, the non-convex share, the
 * contour lines of d3-contour's marching squares cut at the grid's border,
 * the shared contour levels, the figures' data and specs, the pairing of a
 * SkipBlock run with its plain twin, and every branch of the sentences.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { RunData } from '../../src/report/load.js';
import {
  type ContourPoint,
  type LabelledLandscape,
  contourPaths,
  formatLandscape,
  landscapeContourChart,
  landscapeGroups,
  landscapeLineChart,
  landscapeObservation,
  landscapeRow,
  lineLossAt,
  lossRise,
  nonConvexShare,
  sharedLevels,
  summarizeLandscape,
} from '../../src/report/landscape.js';
import { DEFAULT_TRAIN_CONFIG, LANDSCAPE_SCHEMA, type LandscapeFile, parseRecord } from '../../src/runs/index.js';
import { bowl, landscapeFile } from './synthetic.js';

/** A 5 x 5 surface whose interior points next to the centre along an axis curve down: 4 of the 9 interior points (44.4%). */
const BUMPY = [
  [9, 9, 9, 9, 9],
  [9, 1, 5, 1, 9],
  [9, 5, 0.3, 5, 9],
  [9, 1, 5, 1, 9],
  [9, 9, 9, 9, 9],
];
/** Slices on alphas -1, -0.5, 0, 0.5, 1: a gentle one (rise 0.35 at 0.5, 1.4 at 1) and a steep one (6.2 and 44.7). */
const GENTLE = [1.5, 0.5, 0.2, 0.6, 1.7];
const STEEP = [40, 5, 0.3, 8, 50];

/** A run as the report loads it, with only what the landscape code reads. */
function runOf(
  model: string,
  landscape: LandscapeFile | undefined,
  { seed = 0, modelOptions = {} as Record<string, number> } = {},
): RunData {
  const status = { step: landscape?.step ?? 0 };
  return {
    name: `${model}-s${seed}`,
    dir: `/nowhere/${model}`,
    config: { ...DEFAULT_TRAIN_CONFIG, model, seed, modelOptions },
    status,
    landscape,
  } as unknown as RunData;
}

describe('the loss along the 1-D slice', () => {
  const file = { alphas: [-1, -0.5, 0, 0.5, 1], line: [5, 2, 1, 3, 9] };

  it("is the slice's own value at its points", () => {
    assert.deepEqual(
      file.alphas.map((a) => lineLossAt(file, a)),
      file.line,
    );
  });

  it('interpolates linearly between points, at any fraction of the way', () => {
    assert.equal(lineLossAt(file, 0.25), 2, 'halfway from 1 to 3');
    assert.equal(lineLossAt(file, 0.125), 1.5, 'a quarter of the way from 1 to 3');
    assert.equal(lineLossAt(file, -0.75), 3.5, 'halfway from 5 down to 2');
    assert.equal(lineLossAt(file, 0.875), 7.5, 'three quarters of the way from 3 to 9');
    const uneven = { alphas: [-2, 0, 1], line: [10, 4, 6] };
    assert.equal(lineLossAt(uneven, -1.5), 8.5, 'a quarter of a 2-wide step from 10 to 4');
    assert.equal(lineLossAt(uneven, 0.5), 5, 'half of a 1-wide step from 4 to 6');
  });

  it('holds the end values beyond the slice', () => {
    assert.equal(lineLossAt(file, -3), 5);
    assert.equal(lineLossAt(file, 2), 9);
  });

  it("takes a point's own value even where the next one is infinite", () => {
    const diverging = { alphas: [-1, 0, 1], line: [2, 1, Infinity] };
    assert.equal(lineLossAt(diverging, 0), 1);
    assert.equal(lineLossAt(diverging, -1), 2);
    assert.equal(lineLossAt({ alphas: [-1, 0, 1], line: [2, Infinity, Infinity] }, -1), 2);
    assert.equal(lineLossAt(diverging, 1), Infinity);
  });

  it('rises by the mean of both sides minus the loss at 0', () => {
    assert.equal(lossRise(file, 1), (5 + 9) / 2 - 1);
    assert.equal(lossRise(file, 0.5), (2 + 3) / 2 - 1);
    assert.equal(lossRise(file, 0.25), ((2 + 1) / 2 + 2) / 2 - 1);
    assert.equal(lossRise({ alphas: [-1, 0, 1], line: [3, 2, 7] }, 1), 3);
    assert.equal(lossRise(file, 0), 0);
  });
});

describe('the non-convex share of a surface', () => {
  // Positive values throughout, so a second difference with a sign flipped or a term dropped changes the answer.
  const concaveAlong = (axis: 'alpha' | 'beta') =>
    Array.from({ length: 5 }, (_, j) =>
      Array.from({ length: 5 }, (_, i) => {
        const [a, b] = [i - 2, j - 2];
        return axis === 'alpha' ? 20 - a * a + b * b : 20 + a * a - b * b;
      }),
    );

  it('is 0 for a convex bowl and for a plane (no second difference below 0)', () => {
    assert.equal(nonConvexShare(bowl(5)), 0);
    assert.equal(nonConvexShare(bowl(3)), 0);
    assert.equal(nonConvexShare(Array.from({ length: 4 }, (_, j) => Array.from({ length: 4 }, (_, i) => 1 + i + 2 * j))), 0);
  });

  it('is 1 where the surface curves down along one direction only, either one', () => {
    assert.equal(nonConvexShare(concaveAlong('alpha')), 1);
    assert.equal(nonConvexShare(concaveAlong('beta')), 1);
  });

  it('counts a point once when it curves down along both directions', () => {
    assert.equal(
      nonConvexShare(Array.from({ length: 5 }, (_, j) => Array.from({ length: 5 }, (_, i) => 30 - (i - 2) ** 2 - (j - 2) ** 2))),
      1,
    );
  });

  it('is the share of interior points only: the border rows and columns are not counted', () => {
    assert.equal(nonConvexShare(BUMPY), 4 / 9);
    // Concave along beta in the border columns only, convex inside: no interior point bends.
    const edges = bowl(4);
    for (const j of [0, 1, 2, 3]) {
      edges[j]![0] = 10 - (j - 1.5) ** 2;
      edges[j]![3] = 10 - (j - 1.5) ** 2;
    }
    assert.equal(nonConvexShare(edges), 0);
    // A peak at one of the 2 x 2 interior points: it curves down; its interior neighbours curve up towards it.
    const one = bowl(4);
    one[1]![1] = 100;
    assert.equal(nonConvexShare(one), 1 / 4);
  });

  it('has no answer below a 3 x 3 grid', () => {
    assert.equal(nonConvexShare([]), undefined);
    assert.equal(
      nonConvexShare([
        [1, 2],
        [3, 4],
      ]),
      undefined,
    );
    assert.equal(nonConvexShare([[1]]), undefined);
    assert.equal(
      nonConvexShare([
        [1, 2, 3],
        [4, 0, 6],
        [7, 8, 9],
      ]),
      0,
    );
    assert.equal(
      nonConvexShare([
        [1, 2, 3],
        [4, 9, 6],
        [7, 8, 9],
      ]),
      1,
    );
  });
});

describe('the summary of a landscape', () => {
  it('reads the loss at 0, the rises at 0.5 and 1 and the non-convex share', () => {
    assert.deepEqual(summarizeLandscape(landscapeFile(GENTLE, BUMPY)), {
      origin: 0.2,
      rise05: (0.5 + 0.6) / 2 - 0.2,
      rise1: (1.5 + 1.7) / 2 - 0.2,
      nonConvex: 4 / 9,
    });
    assert.deepEqual(summarizeLandscape(landscapeFile([4, 1, 6])), { origin: 1, rise05: undefined, rise1: 4, nonConvex: undefined });
  });

  it('gives a rise only where the slice measures its distance: at its points, or between points at most half the distance apart', () => {
    const half = summarizeLandscape(landscapeFile([4, 1, 6], [], { range: 0.5 }));
    assert.deepEqual([half.origin, half.rise05, half.rise1], [1, 4, undefined], 'reach 0.5 exactly: the rise at 0.5, none at 1');
    const short = summarizeLandscape(landscapeFile([4, 1, 6], [], { range: 0.25 }));
    assert.deepEqual([short.rise05, short.rise1], [undefined, undefined]);
    // Points at 0, ±0.4, ±0.8, ±1.2: 0.5 lies in a step of 0.4 (more than 0.25), 1 in a step of 0.4 (at most 0.5).
    const seven = summarizeLandscape(landscapeFile([9, 5, 2, 1, 3, 6, 12], [], { range: 1.2 }));
    assert.equal(seven.rise05, undefined);
    assert.ok(
      Math.abs(seven.rise1! - ((5 + 9) / 2 + (6 + 12) / 2) / 2 + 1) < 1e-12,
      `halfway between the points at 0.8 and 1.2 on both sides: ${seven.rise1}`,
    );
    // The probe's coarse slice: 3 points over [-100, 100] say nothing of the loss at 0.5 or 1 (issue 42, defect 9).
    const coarse = summarizeLandscape(landscapeFile([1.6e22, 0.011, 1.6e22], [], { range: 100 }));
    assert.deepEqual([coarse.origin, coarse.rise05, coarse.rise1], [0.011, undefined, undefined]);
    const lopsided = summarizeLandscape({ ...landscapeFile([4, 1, 6]), alphas: [-1, 0, 0.25] });
    assert.equal(lopsided.rise1, undefined, 'past the end on one side: not measured');
  });

  it('reads a loss that was not finite (null in landscape.json) as such, never as 0', () => {
    const nan = parseRecord(
      LANDSCAPE_SCHEMA,
      landscapeFile(
        [null, null, null] as unknown as number[],
        [
          [null, null, null],
          [null, null, null],
          [null, null, null],
        ] as unknown as number[][],
      ),
      'landscape.json',
    );
    const summary = summarizeLandscape(nan);
    assert.ok(Number.isNaN(summary.origin) && Number.isNaN(summary.rise1!), JSON.stringify(summary));
    assert.equal(summary.nonConvex, undefined);
    assert.deepEqual(landscapeRow(runOf('hw5net', nan)).slice(1), ['not finite', '-', 'not finite', '-']);
    assert.match(formatLandscape(nan), /loss not finite at the trained weights, rise - at distance 0\.5 and not finite at 1/);
    assert.deepEqual(
      landscapeLineChart('line', [{ label: 'x', file: nan }])!.spec.data,
      { values: [] },
      'no point of a log-scale chart at a loss of 0',
    );
  });

  it('counts the non-convex share over the points whose neighbours are all finite', () => {
    const edge = BUMPY.map((row) => [...row]);
    edge[0]![2] = Number.NaN; // the top neighbour of interior point (1, 2)
    assert.equal(nonConvexShare(edge), 3 / 8);
  });
});

describe('the 1-D chart', () => {
  it('has no chart without a landscape', () => {
    assert.equal(landscapeLineChart('landscape-line', []), undefined);
  });

  it("plots every point of every run's slice, labelled, with the first run's sample in the caption", () => {
    const landscapes: LabelledLandscape[] = [
      { label: 'skip', file: landscapeFile([3, 1, 2], [], { sample: 12345 }) },
      { label: 'plain', file: landscapeFile([30, 1, 20], [], { sample: 10 }) },
    ];
    const chart = landscapeLineChart('landscape-line', landscapes)!;
    const values = [
      { alpha: -1, loss: 3, run: 'skip' },
      { alpha: 0, loss: 1, run: 'skip' },
      { alpha: 1, loss: 2, run: 'skip' },
      { alpha: -1, loss: 30, run: 'plain' },
      { alpha: 0, loss: 1, run: 'plain' },
      { alpha: 1, loss: 20, run: 'plain' },
    ];
    const x = { field: 'alpha', type: 'quantitative', title: 'distance along the direction (filter norms)' };
    const y = { field: 'loss', type: 'quantitative', title: 'training loss', scale: { type: 'log' } };
    assert.deepEqual(chart, {
      id: 'landscape-line',
      caption:
        'Loss landscape, 1-D: the training loss on 12,345 training images (batch norm in eval mode) as the weights move along one ' +
        'filter-normalised random direction (Li et al. 2018); 0 is the trained network, 1 moves every filter by its own norm. Log scale.',
      spec: {
        width: 480,
        height: 260,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: { x, y, color: { field: 'run', type: 'nominal', title: 'run', sort: null } },
      },
    });
  });

  it('marks the points on slices of fewer than 120 points in all', () => {
    const points = (total: number) => {
      const chart = landscapeLineChart('l', [
        { label: 'a', file: landscapeFile(Array(total - 41).fill(1)) },
        { label: 'b', file: landscapeFile(Array(41).fill(2)) },
      ])!;
      return (chart.spec as unknown as { mark: { point: boolean } }).mark.point;
    };
    assert.equal(points(119), true);
    assert.equal(points(120), false);
    assert.equal(points(161), false);
  });
});

describe('the shared contour levels', () => {
  const close = (actual: number[], expected: number[]) => {
    assert.equal(actual.length, expected.length);
    actual.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) <= 1e-12 * expected[k]!, `level ${k}: ${v} against ${expected[k]}`));
  };

  it('are evenly spaced in log loss, at the middles of count equal steps from the least to the greatest value of all surfaces', () => {
    close(sharedLevels([[[1, 2]], [[Math.exp(4), 3]]], 4), [0.5, 1.5, 2.5, 3.5].map(Math.exp));
    close(sharedLevels([[[Math.exp(-1), 1]], [[Math.exp(1)]]], 2), [Math.exp(-0.5), Math.exp(0.5)]);
    close(
      sharedLevels([[[1, Math.exp(12)]]]),
      Array.from({ length: 12 }, (_, k) => Math.exp(k + 0.5)),
    );
  });

  it('leave out values that are not finite or not positive', () => {
    close(sharedLevels([[[1, Number.NaN, 0, -5]], [[Math.exp(2), Infinity, -Infinity]]], 2), [Math.exp(0.5), Math.exp(1.5)]);
  });

  it('are none on a flat surface or one without a usable value', () => {
    assert.deepEqual(
      sharedLevels([
        [
          [2, 2],
          [2, 2],
        ],
      ]),
      [],
    );
    assert.deepEqual(sharedLevels([[[0, Number.NaN, -1, Infinity]]]), []);
    assert.deepEqual(sharedLevels([]), []);
  });
});

describe('the contour lines of a surface', () => {
  const point = (alpha: number, beta: number, level: number, path: string, order: number, run: string): ContourPoint => ({
    alpha,
    beta,
    level,
    path,
    order,
    run,
  });

  it("a pit at the centre of a 3 x 3 grid: a diamond half-way to its neighbours, the grid's border ring left out", () => {
    // d3-contour puts value i at i + 0.5: the centre at (1.5, 1.5), and level 5 half-way between 0 and 10, at 1 and 2: -0.5 and 0.5 on the axis.
    // The region >= 5 is the grid less the diamond: an outer ring of 13 points all on the border (each starts a new path), then the diamond.
    assert.deepEqual(
      contourPaths(
        'a',
        [-1, 0, 1],
        [
          [10, 10, 10],
          [10, 0, 10],
          [10, 10, 10],
        ],
        [5],
      ),
      [
        point(0, 0.5, 5, 'a 14', 0, 'a'),
        point(-0.5, 0, 5, 'a 14', 1, 'a'),
        point(0, -0.5, 5, 'a 14', 2, 'a'),
        point(0.5, 0, 5, 'a 14', 3, 'a'),
        point(0, 0.5, 5, 'a 14', 4, 'a'),
      ],
    );
    assert.deepEqual(
      contourPaths(
        'b',
        [-1, 0, 1],
        [
          [0, 0, 0],
          [0, 10, 0],
          [0, 0, 0],
        ],
        [5],
      ),
      [
        point(0.5, 0, 5, 'b 0', 0, 'b'),
        point(0, -0.5, 5, 'b 0', 1, 'b'),
        point(-0.5, 0, 5, 'b 0', 2, 'b'),
        point(0, 0.5, 5, 'b 0', 3, 'b'),
        point(0.5, 0, 5, 'b 0', 4, 'b'),
      ],
    );
  });

  it('a slope: straight lines across the grid at each level, cut where the ring runs along the border', () => {
    // Columns 10, 5, 0 at x = 0.5, 1.5, 2.5: level 2.5 at x = 2 (alpha 0.5), level 7.5 at x = 1 (alpha -0.5); rows at beta -1, 0, 1.
    // Each ring starts inside, runs along the border (7 and 5 points, each starting a new path) and closes on its first point, alone on its path.
    assert.deepEqual(
      contourPaths(
        'x',
        [-1, 0, 1],
        [
          [10, 5, 0],
          [10, 5, 0],
          [10, 5, 0],
        ],
        [2.5, 7.5],
      ),
      [
        point(0.5, 1, 2.5, 'x 0', 0, 'x'),
        point(0.5, 0, 2.5, 'x 0', 1, 'x'),
        point(0.5, -1, 2.5, 'x 0', 2, 'x'),
        point(0.5, 1, 2.5, 'x 7', 0, 'x'),
        point(-0.5, 1, 7.5, 'x 8', 0, 'x'),
        point(-0.5, 0, 7.5, 'x 8', 1, 'x'),
        point(-0.5, -1, 7.5, 'x 8', 2, 'x'),
        point(-0.5, 1, 7.5, 'x 13', 0, 'x'),
      ],
    );
  });

  it('two corner peaks on an axis of step 2: each cut off by two borders, its pieces on paths of their own', () => {
    // toAxis(c) = -2 + 2 (c - 0.5): c = 0.5, 1, 2, 2.5 -> -2, -1, 1, 2. Level 4 half-way between 8 and 0.
    assert.deepEqual(
      contourPaths(
        'y',
        [-2, 0, 2],
        [
          [8, 0, 0],
          [0, 0, 0],
          [0, 0, 8],
        ],
        [4],
      ),
      [
        point(-1, -2, 4, 'y 0', 0, 'y'),
        point(-2, -1, 4, 'y 2', 0, 'y'),
        point(-1, -2, 4, 'y 2', 1, 'y'),
        point(2, 1, 4, 'y 4', 0, 'y'),
        point(1, 2, 4, 'y 4', 1, 'y'),
      ],
    );
  });

  it('none without levels', () => {
    assert.deepEqual(
      contourPaths(
        'z',
        [-1, 0, 1],
        [
          [0, 0, 0],
          [0, 10, 0],
          [0, 0, 0],
        ],
        [],
      ),
      [],
    );
  });
});

describe('the 2-D chart', () => {
  const axis = (field: string, title: string, range: number) => ({
    field,
    type: 'quantitative',
    title,
    scale: { domain: [-range, range] },
  });

  it('has no chart without a surface of at least 3 x 3', () => {
    assert.equal(landscapeContourChart('c', []), undefined);
    assert.equal(landscapeContourChart('c', [{ label: 'a', file: landscapeFile([1, 0, 1]) }]), undefined);
  });

  it("draws each surface at the shared levels beside the others, with the trained weights marked, on the first surface's range", () => {
    const skip = landscapeFile(
      [1, 0, 1],
      [
        [0, 0, 0],
        [0, 10, 0],
        [0, 0, 0],
      ].map((r) => r.map((v) => v + 1)),
      { range: 2, sample: 4321 },
    );
    const plain = landscapeFile(
      [1, 0, 1],
      [
        [10, 5, 1],
        [10, 5, 1],
        [10, 5, 1],
      ],
      { range: 3 },
    );
    const landscapes: LabelledLandscape[] = [
      { label: 'none', file: landscapeFile([1, 0, 1], [], { range: 9, sample: 5 }) },
      { label: 'skip', file: skip },
      { label: 'plain', file: plain },
    ];
    const chart = landscapeContourChart('landscape-contour', landscapes)!;
    const levels = sharedLevels([skip.surface, plain.surface]);
    assert.equal(levels.length, 12);
    const contoursOf = (label: string, file: LandscapeFile) =>
      contourPaths(label, file.surfaceAxis, file.surface, levels).map((v) => ({ ...v, kind: 'contour' }));
    const values = [...contoursOf('skip', skip), ...contoursOf('plain', plain)];
    assert.ok(values.some((v) => v.run === 'skip') && values.some((v) => v.run === 'plain'), 'both panels have lines');
    assert.deepEqual(chart, {
      id: 'landscape-contour',
      caption:
        'Loss landscape, 2-D: contour lines of the training loss on 4,321 training images over a 3 x 3 grid of two filter-normalised random directions ' +
        '(Li et al. 2018), the same 12 levels (evenly spaced in log loss) in every panel; the cross is the trained network.',
      spec: {
        data: {
          values: [...values, { alpha: 0, beta: 0, run: 'skip', kind: 'origin' }, { alpha: 0, beta: 0, run: 'plain', kind: 'origin' }],
        },
        facet: { column: { field: 'run', type: 'nominal', title: null, header: { labelFontSize: 12, labelLimit: 300 } } },
        spec: {
          width: 240,
          height: 240,
          layer: [
            {
              transform: [{ filter: 'datum.kind === "contour"' }],
              mark: { type: 'line', strokeWidth: 1.2 },
              encoding: {
                x: axis('alpha', 'direction 1', 2),
                y: axis('beta', 'direction 2', 2),
                detail: { field: 'path' },
                order: { field: 'order' },
                color: { field: 'level', type: 'quantitative', title: 'training loss', scale: { type: 'log', scheme: 'viridis' } },
              },
            },
            {
              transform: [{ filter: 'datum.kind === "origin"' }],
              mark: { type: 'point', shape: 'cross', size: 120, filled: true, color: 'black' },
              encoding: { x: axis('alpha', 'direction 1', 2), y: axis('beta', 'direction 2', 2) },
            },
          ],
        },
      },
    });
  });
});

describe('the pairs of landscapes', () => {
  const names = (groups: RunData[][]) => groups.map((g) => g.map((r) => r.name));
  const file = landscapeFile([1, 0, 1]);

  it('puts each SkipBlock run beside its plain twin, whatever order they come in', () => {
    const skip = runOf('hw5net', file);
    const plain = runOf('hw5net-plain', file);
    assert.deepEqual(names(landscapeGroups([plain, skip])), [['hw5net-s0', 'hw5net-plain-s0']]);
    assert.deepEqual(names(landscapeGroups([skip, plain])), [['hw5net-s0', 'hw5net-plain-s0']]);
    const net3 = runOf('net3', file);
    assert.deepEqual(names(landscapeGroups([plain, net3, skip])), [['hw5net-s0', 'hw5net-plain-s0'], ['net3-s0']]);
    assert.deepEqual(names(landscapeGroups([net3, plain, skip])), [['hw5net-s0', 'hw5net-plain-s0'], ['net3-s0']]);
    const bme = runOf('bmenet', file);
    const bmePlain = runOf('bmenet-plain', file);
    assert.deepEqual(names(landscapeGroups([bmePlain, plain, net3, bme, skip])), [
      ['bmenet-s0', 'bmenet-plain-s0'],
      ['hw5net-s0', 'hw5net-plain-s0'],
      ['net3-s0'],
    ]);
  });

  it('leaves out runs without a landscape', () => {
    assert.deepEqual(names(landscapeGroups([runOf('hw5net', undefined), runOf('hw5net-plain', file)])), [['hw5net-plain-s0']]);
    assert.deepEqual(landscapeGroups([runOf('net3', undefined)]), []);
    assert.deepEqual(landscapeGroups([]), []);
  });

  it('pairs only landscapes computed alike: each setting and the depth must match', () => {
    const differ: [string, Partial<LandscapeFile>][] = [
      ['range', { range: 2 }],
      ['seed', { seed: 1 }],
      ['sample', { sample: 999 }],
      ['grid', { grid: 3 }],
      ['points', { points: 5 }],
      ['precision', { precision: 'bf16' }],
    ];
    for (const [key, change] of differ) {
      const groups = landscapeGroups([runOf('hw5net', file), runOf('hw5net-plain', { ...file, ...change })]);
      assert.deepEqual(names(groups), [['hw5net-s0'], ['hw5net-plain-s0']], `${key} differs`);
    }
    const deep = runOf('hw5net', file, { modelOptions: { blocksPerStage: 6 } });
    assert.deepEqual(
      names(landscapeGroups([deep, runOf('hw5net-plain', file, { modelOptions: { blocksPerStage: 1 } })])),
      [['hw5net-s0'], ['hw5net-plain-s0']],
      'depths differ',
    );
    assert.deepEqual(
      names(landscapeGroups([deep, runOf('hw5net-plain', file, { modelOptions: { blocksPerStage: 6 } })])),
      [['hw5net-s0', 'hw5net-plain-s0']],
      'same depth',
    );
    assert.deepEqual(
      names(landscapeGroups([runOf('hw5net', file), runOf('hw5net-plain', { ...file, step: 7, seconds: 9, sampleAsked: 5 })])),
      [['hw5net-s0', 'hw5net-plain-s0']],
      'the step, time and sample asked for do not matter',
    );
  });

  it('gives each plain run to one SkipBlock run only, and pairs a run only with its own twin', () => {
    const groups = landscapeGroups([runOf('hw5net', file, { seed: 1 }), runOf('hw5net', file, { seed: 2 }), runOf('hw5net-plain', file)]);
    assert.deepEqual(names(groups), [['hw5net-s1', 'hw5net-plain-s0'], ['hw5net-s2']]);
    assert.deepEqual(names(landscapeGroups([runOf('hw5net', file), runOf('net3', file), runOf('bmenet-plain', file)])), [
      ['hw5net-s0'],
      ['net3-s0'],
      ['bmenet-plain-s0'],
    ]);
  });

  it('keeps a model the catalog does not know, alone', () => {
    assert.deepEqual(names(landscapeGroups([runOf('custom', file), runOf('hw5net-plain', file), runOf('hw5net', file)])), [
      ['hw5net-s0', 'hw5net-plain-s0'],
      ['custom-s0'],
    ]);
  });
});

describe('the landscape table row', () => {
  it('gives the loss at 0 and the rises to 3 decimals and the non-convex share in percent', () => {
    assert.deepEqual(landscapeRow(runOf('hw5net', landscapeFile(GENTLE, BUMPY))), ['hw5net-s0', '0.200', '0.350', '1.400', '44.4%']);
    assert.deepEqual(landscapeRow(runOf('hw5net', landscapeFile(STEEP, bowl(5)))), ['hw5net-s0', '0.300', '6.200', '44.700', '0.0%']);
  });

  it('a dash for what the landscape does not reach', () => {
    assert.deepEqual(landscapeRow(runOf('net3', landscapeFile([4, 1, 6], [], { range: 0.25 }))), ['net3-s0', '1.000', '-', '-', '-']);
  });
});

describe("the sentence on a skip network's landscape against its plain twin's", () => {
  const head = (rise05: string, rise1: string, sample = '12,345') =>
    `Loss landscape of hw5net-s0 against hw5net-plain-s0 (Li et al. 2018; ${sample} training images, ` +
    `one pair of filter-normalised random directions, so no interval): training loss 0.200 and 0.300 at the trained weights, rising by ${rise05} at distance 0.5 and by ${rise1} at distance 1`;
  const gentleSteep = head('0.350 and 6.200', '1.400 and 44.700');
  const steepGentle =
    'Loss landscape of hw5net-s0 against hw5net-plain-s0 (Li et al. 2018; 12,345 training images, one pair of filter-normalised random directions, so no interval): ' +
    'training loss 0.300 and 0.200 at the trained weights, rising by 6.200 and 0.350 at distance 0.5 and by 44.700 and 1.400 at distance 1';
  const observe = (skip: [number[], number[][]?, Partial<LandscapeFile>?], plain: [number[], number[][]?, Partial<LandscapeFile>?]) =>
    landscapeObservation(
      runOf('hw5net', landscapeFile(skip[0], skip[1], { sample: 12345, ...skip[2] })),
      runOf('hw5net-plain', landscapeFile(plain[0], plain[1], plain[2])),
    );
  const convex = (a: string, b: string) => `; ${a} and ${b} of the surface's interior points curve downward along a direction (not convex)`;

  it("the skip network's surface the smoother by both measures", () => {
    assert.equal(
      observe([GENTLE, bowl(5)], [STEEP, BUMPY]),
      `${gentleSteep}${convex('0.0%', '44.4%')}: hw5net's surface is the smoother: it rises more slowly and is no less convex.`,
    );
    assert.equal(
      observe([GENTLE, BUMPY], [STEEP, BUMPY]),
      `${gentleSteep}${convex('44.4%', '44.4%')}: hw5net's surface is the smoother: it rises more slowly and is no less convex.`,
      'equally convex is no less convex',
    );
  });

  it("the plain network's surface the smoother by both measures", () => {
    assert.equal(
      observe([STEEP, BUMPY], [GENTLE, bowl(5)]),
      `${steepGentle}${convex('44.4%', '0.0%')}: hw5net-plain's surface is the smoother: it rises more slowly and is no less convex.`,
    );
    assert.equal(
      observe([STEEP, bowl(5)], [GENTLE, bowl(5)]),
      `${steepGentle}${convex('0.0%', '0.0%')}: hw5net-plain's surface is the smoother: it rises more slowly and is no less convex.`,
    );
  });

  it('without surfaces, the rise alone decides, and the sentence leaves convexity out', () => {
    assert.equal(observe([GENTLE], [STEEP]), `${gentleSteep}: hw5net's surface is the smoother: it rises more slowly.`);
    assert.equal(observe([STEEP], [GENTLE]), `${steepGentle}: hw5net-plain's surface is the smoother: it rises more slowly.`);
  });

  it('with one surface only, the rise alone decides, whichever run lacks it', () => {
    assert.equal(observe([GENTLE, BUMPY], [STEEP]), `${gentleSteep}: hw5net's surface is the smoother: it rises more slowly.`);
    assert.equal(observe([GENTLE], [STEEP, bowl(5)]), `${gentleSteep}: hw5net's surface is the smoother: it rises more slowly.`);
    assert.equal(observe([STEEP, bowl(5)], [GENTLE]), `${steepGentle}: hw5net-plain's surface is the smoother: it rises more slowly.`);
    assert.equal(observe([STEEP], [GENTLE, BUMPY]), `${steepGentle}: hw5net-plain's surface is the smoother: it rises more slowly.`);
  });

  it('the measures disagree: each run named for the measure it wins', () => {
    assert.equal(
      observe([GENTLE, BUMPY], [STEEP, bowl(5)]),
      `${gentleSteep}${convex('44.4%', '0.0%')}: hw5net-plain's surface is the more nearly convex, hw5net's rises more slowly: ` +
        'the measures do not agree on which surface is the smoother.',
    );
    assert.equal(
      observe([STEEP, bowl(5)], [GENTLE, BUMPY]),
      `${steepGentle}${convex('0.0%', '44.4%')}: hw5net's surface is the more nearly convex, hw5net-plain's rises more slowly: ` +
        'the measures do not agree on which surface is the smoother.',
    );
  });

  it('a tie on the rise: neither is the smoother, whatever the convexity', () => {
    const tie =
      'Loss landscape of hw5net-s0 against hw5net-plain-s0 (Li et al. 2018; 12,345 training images, one pair of filter-normalised random directions, so no interval): ' +
      'training loss 0.200 and 0.200 at the trained weights, rising by 0.350 and 0.350 at distance 0.5 and by 1.400 and 1.400 at distance 1';
    assert.equal(
      observe([GENTLE, bowl(5)], [GENTLE, BUMPY]),
      `${tie}${convex('0.0%', '44.4%')}: neither surface is the smoother by both measures (they tie on one).`,
    );
    assert.equal(
      observe([GENTLE, BUMPY], [GENTLE, bowl(5)]),
      `${tie}${convex('44.4%', '0.0%')}: neither surface is the smoother by both measures (they tie on one).`,
    );
    assert.equal(
      observe([GENTLE, BUMPY], [GENTLE, BUMPY]),
      `${tie}${convex('44.4%', '44.4%')}: neither surface is the smoother by both measures (they tie on one).`,
    );
    assert.equal(observe([GENTLE], [GENTLE]), `${tie}: neither surface is the smoother by both measures (they tie on one).`);
  });

  it('a slice that does not reach distance 1, on either side: no comparison, and dashes for what is missing', () => {
    const short = [0.5, 0.2, 0.6];
    assert.equal(
      observe([short, bowl(5), { range: 0.5 }], [STEEP, BUMPY]),
      `${head('0.350 and 6.200', '- and 44.700')}${convex('0.0%', '44.4%')}: ` +
        'the slice does not measure distance 1 (it ends before it, or its points are too far apart), so the surfaces are not compared.',
    );
    assert.equal(
      observe([GENTLE, bowl(5)], [[5, 0.3, 8], BUMPY, { range: 0.25 }]),
      `${head('0.350 and -', '1.400 and -')}${convex('0.0%', '44.4%')}: ` +
        'the slice does not measure distance 1 (it ends before it, or its points are too far apart), so the surfaces are not compared.',
    );
  });
});

describe("the command's summary of a landscape", () => {
  it('with a grid: the sample, points, grid, precision, seconds, loss, rises and the non-convex share', () => {
    assert.equal(
      formatLandscape(landscapeFile(GENTLE, BUMPY, { sample: 12345, seconds: 2.6 })),
      'loss landscape on 12,345 training images (5 points on a line, a 5 x 5 grid, fp32, 3 s): loss 0.200 at the trained weights, ' +
        'rise 0.350 at distance 0.5 and 1.400 at 1; 44.4% of the grid not convex',
    );
  });

  it('without a grid, and with rises the slice does not reach', () => {
    assert.equal(
      formatLandscape(landscapeFile(STEEP, [], { precision: 'bf16', seconds: 12.4 })),
      'loss landscape on 1,000 training images (5 points on a line, bf16, 12 s): loss 0.300 at the trained weights, rise 6.200 at distance 0.5 and 44.700 at 1',
    );
    assert.equal(
      formatLandscape(landscapeFile([4, 1, 6], [], { range: 0.25, seconds: 0.2 })),
      'loss landscape on 1,000 training images (3 points on a line, fp32, 0 s): loss 1.000 at the trained weights, rise - at distance 0.5 and - at 1',
    );
  });
});
