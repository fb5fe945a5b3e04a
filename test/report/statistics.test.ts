import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { describeSample, mcnemarExact, mcnemarFromCounts, meanOf, tQuantile, welchTest } from '../../src/report/statistics.js';

/** |actual - expected| <= tol · max(1, |expected|): relative for large values, absolute near 0. */
function close(actual: number, expected: number, tol = 1e-9, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} expected ${expected}, got ${actual}`);
}

/** Relative closeness, for p-values far below 1. */
function rel(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.abs(expected), `${what} expected ${expected}, got ${actual}`);
}

// Reference values below come from printed t tables and from Python
// (scipy.stats 1.17: t.ppf, ttest_ind(equal_var=False) and its
// confidence_interval, binomtest), and for McNemar from exact integer sums
// with fractions.Fraction and math.comb.

describe('tQuantile', () => {
  it('matches the t table at p = 0.975', () => {
    const table: [number, number][] = [
      [1, 12.706204736],
      [2, 4.30265273],
      [4, 2.776445105],
      [9, 2.262157163],
      [29, 2.045229642],
    ];
    for (const [df, q] of table) close(tQuantile(0.975, df), q, 1e-9, `df=${df}`);
  });

  it('handles fractional df, lower tails and infinite df', () => {
    close(tQuantile(0.975, 7.3), 2.345066736547703, 1e-10, 'df=7.3'); // scipy t.ppf(0.975, 7.3)
    close(tQuantile(0.9, 3.5), 1.5765766051364052, 1e-10, 'p=0.9 df=3.5');
    close(tQuantile(0.01, 12), -2.680997993120915, 1e-10, 'p=0.01 df=12');
    close(tQuantile(0.025, 4), -2.776445105, 1e-9, 'symmetry');
    assert.equal(tQuantile(0.5, 3), 0);
    close(tQuantile(0.975, Infinity), 1.959963984540054, 1e-12, 'normal limit');
    assert.ok(Number.isNaN(tQuantile(1.5, 3)));
    assert.ok(Number.isNaN(tQuantile(0.5, 0)));
  });
});

describe('describeSample', () => {
  it('computes mean, n-1 std and the t interval by hand', () => {
    // [1,2,3,4,5]: mean 3, squared deviations 4+1+0+1+4 = 10, s² = 10/4 = 2.5,
    // s/√n = √(2.5/5) = √0.5, half width = t(0.975,4)·√0.5 = 2.776445105·0.707106781.
    const s = describeSample([1, 2, 3, 4, 5]);
    assert.equal(s.n, 5);
    assert.equal(s.mean, 3);
    close(s.std, Math.sqrt(2.5), 1e-14, 'std');
    const half = 2.776445105 * Math.sqrt(0.5);
    assert.ok(s.interval95);
    close(s.interval95[0], 3 - half, 1e-9, 'lo');
    close(s.interval95[1], 3 + half, 1e-9, 'hi');
  });

  it('matches scipy on accuracies over seeds', () => {
    const s = describeSample([0.912, 0.918, 0.915, 0.921, 0.909]);
    close(s.mean, 0.915, 1e-14, 'mean');
    close(s.std, 0.004743416490252573, 1e-12, 'std');
    close(s.interval95![0], 0.9091102705155674, 1e-12, 'lo');
    close(s.interval95![1], 0.9208897294844327, 1e-12, 'hi');
  });

  it('gives no std or interval below two values, and a point interval for a constant sample', () => {
    const one = describeSample([0.7]);
    assert.equal(one.n, 1);
    assert.equal(one.mean, 0.7);
    assert.ok(Number.isNaN(one.std));
    assert.equal(one.interval95, undefined);
    const none = describeSample([]);
    assert.equal(none.n, 0);
    assert.ok(Number.isNaN(none.mean));
    assert.equal(none.interval95, undefined);
    const flat = describeSample([0.1, 0.1, 0.1]);
    assert.equal(flat.mean, 0.1);
    assert.equal(flat.std, 0);
    assert.deepEqual(flat.interval95, [0.1, 0.1]);
  });

  it('rejects non-finite values', () => {
    assert.throws(() => describeSample([0.9, NaN]), RangeError);
    assert.throws(() => describeSample([Infinity, 1]), {
      name: 'RangeError',
      message: 'describeSample: value 0 is Infinity, not a finite number',
    });
  });
});

describe('welchTest', () => {
  it('matches a hand computation', () => {
    // a = [1,2,3,4,5]: mean 3, s² = 10/4 = 2.5, s²/n = 0.5
    // b = [3,5,7,9]:   mean 6, s² = (9+1+1+9)/3 = 20/3, s²/n = 5/3
    // difference = -3, se² = 0.5 + 5/3 = 13/6, t = -3/√(13/6) = -2.03809866...
    // df = (13/6)² / (0.5²/4 + (5/3)²/3) = (169/36) / (1/16 + 25/27) = 4.74941451...
    const r = welchTest([1, 2, 3, 4, 5], [3, 5, 7, 9]);
    assert.equal(r.difference, -3);
    close(r.t, -3 / Math.sqrt(13 / 6), 1e-14, 't');
    close(r.df, 169 / 36 / (1 / 16 + 25 / 27), 1e-12, 'df');
    // scipy: pvalue 0.10008380903500758, CI (-6.84463638394009, 0.8446363839400899)
    close(r.pValue, 0.10008380903500758, 1e-10, 'p');
    close(r.interval95[0], -6.84463638394009, 1e-10, 'lo');
    close(r.interval95[1], 0.8446363839400899, 1e-10, 'hi');
  });

  it('matches scipy on accuracies over seeds with unequal n', () => {
    const r = welchTest([0.912, 0.918, 0.915, 0.921, 0.909], [0.905, 0.899, 0.911, 0.902, 0.907, 0.903]);
    close(r.t, 3.855537386581279, 1e-9, 't');
    close(r.df, 8.132443531827516, 1e-9, 'df');
    rel(r.pValue, 0.004690683150433377, 1e-8, 'p');
    close(r.interval95[0], 0.004237688392494106, 1e-10, 'lo');
    close(r.interval95[1], 0.016762311607506023, 1e-10, 'hi');
  });

  it('is antisymmetric in its arguments', () => {
    const ab = welchTest([1, 2, 3, 4, 5], [3, 5, 7, 9]);
    const ba = welchTest([3, 5, 7, 9], [1, 2, 3, 4, 5]);
    assert.equal(ba.difference, -ab.difference);
    assert.equal(ba.t, -ab.t);
    assert.equal(ba.pValue, ab.pValue);
    close(ba.interval95[0], -ab.interval95[1], 1e-14);
  });

  it('handles one constant sample (df = n - 1 of the other)', () => {
    // a constant: va = 0; b = [1.5,2.5,2]: mean 2, s² = 0.25, vb = 1/12
    // t = -1/√(1/12) = -√12, df = vb²/(vb²/2) = 2; scipy p 0.07417990022744854.
    const r = welchTest([1, 1, 1], [1.5, 2.5, 2]);
    close(r.t, -Math.sqrt(12), 1e-14, 't');
    close(r.df, 2, 1e-14, 'df');
    close(r.pValue, 0.07417990022744854, 1e-10, 'p');
    close(r.interval95[0], -2.242068855875165, 1e-10, 'lo');
    close(r.interval95[1], 0.2420688558751649, 1e-10, 'hi');
  });

  it('returns the zero-variance limits when both samples are constant', () => {
    const same = welchTest([0.9, 0.9, 0.9], [0.9, 0.9]);
    assert.equal(same.difference, 0);
    assert.equal(same.t, 0);
    assert.equal(same.pValue, 1);
    assert.ok(Number.isNaN(same.df));
    assert.deepEqual(same.interval95, [0, 0]);
    const apart = welchTest([0.5, 0.5], [0.25, 0.25, 0.25]);
    assert.equal(apart.difference, 0.25);
    assert.equal(apart.t, Infinity);
    assert.equal(apart.pValue, 0);
    assert.deepEqual(apart.interval95, [0.25, 0.25]);
    assert.equal(welchTest([0.25, 0.25], [0.5, 0.5]).t, -Infinity);
  });

  it('rejects samples of fewer than two values', () => {
    assert.throws(() => welchTest([1], [1, 2]), RangeError);
    assert.throws(() => welchTest([1, 2], []), RangeError);
    assert.throws(() => welchTest([1, NaN], [1, 2]), { name: 'RangeError', message: 'welchTest a: value 1 is NaN, not a finite number' });
    assert.throws(() => welchTest([1, 2], [Infinity, 2]), {
      name: 'RangeError',
      message: 'welchTest b: value 0 is Infinity, not a finite number',
    });
    assert.throws(() => welchTest([1], [1, 2]), {
      name: 'RangeError',
      message: 'welchTest needs at least 2 values per sample, got 1 and 2',
    });
  });
});

describe('mcnemarFromCounts', () => {
  it('is 1 when the models never disagree or disagree evenly', () => {
    assert.equal(mcnemarFromCounts(0, 0), 1);
    assert.equal(mcnemarFromCounts(4, 4), 1);
    assert.equal(mcnemarFromCounts(5000, 5000), 1);
    // b=2, c=3: 2·P(X<=2 | 5) = 2·16/32 = 1 exactly
    assert.equal(mcnemarFromCounts(2, 3), 1);
  });

  it('matches hand-computed binomial sums', () => {
    // b=0, c=5: 2·(1/32) = 0.0625
    close(mcnemarFromCounts(0, 5), 0.0625, 1e-14);
    // b=1, c=9: 2·(1 + 10)/1024 = 22/1024
    close(mcnemarFromCounts(1, 9), 22 / 1024, 1e-14);
    // b=7, c=12: 2·Σ_{i<=7} C(19,i)/2^19 = 2·94184/524288
    close(mcnemarFromCounts(7, 12), (2 * 94184) / 524288, 1e-13);
  });

  it('is the same whichever model wins (one-sided lopsided counts)', () => {
    // b=10, c=2 (A clearly better): 2·(1 + 12 + 66)/4096 = 158/4096
    close(mcnemarFromCounts(10, 2), 158 / 4096, 1e-14);
    close(mcnemarFromCounts(2, 10), 158 / 4096, 1e-14);
  });

  it('stays exact for thousands of disagreements', () => {
    // exact sums with math.comb and fractions.Fraction
    rel(mcnemarFromCounts(480, 560), 0.014259079095386026, 1e-11, '480/560');
    rel(mcnemarFromCounts(560, 480), 0.014259079095386026, 1e-11, '560/480');
    rel(mcnemarFromCounts(4900, 5100), 0.04658552770494739, 1e-11, '4900/5100');
    rel(mcnemarFromCounts(0, 1000), 1.8665272370064378e-301, 1e-9, '0/1000 = 2^-999');
  });

  it('rejects counts that are not non-negative integers', () => {
    assert.throws(() => mcnemarFromCounts(-1, 3), RangeError);
    assert.throws(() => mcnemarFromCounts(1.5, 3), RangeError);
    assert.throws(() => mcnemarFromCounts(NaN, 3), RangeError);
    assert.throws(() => mcnemarFromCounts(3, -1), {
      name: 'RangeError',
      message: 'mcnemarFromCounts needs non-negative integer counts, got b=3, c=-1',
    });
  });
});

describe('mcnemarExact', () => {
  /** Builds paired predictions over 3 classes from counts of each agreement pattern. */
  function paired(bothRight: number, onlyA: number, onlyB: number, bothWrongSame: number, bothWrongDiff: number) {
    const predA: number[] = [];
    const predB: number[] = [];
    const labels: number[] = [];
    const push = (a: number, b: number, y: number, k: number) => {
      for (let i = 0; i < k; i++) {
        predA.push(a);
        predB.push(b);
        labels.push(y);
      }
    };
    push(2, 2, 2, bothRight);
    push(0, 1, 0, onlyA);
    push(1, 0, 0, onlyB);
    push(2, 2, 1, bothWrongSame);
    push(1, 2, 0, bothWrongDiff);
    return { predA, predB, labels };
  }

  it('counts discordant pairs and computes accuracies, p and the Wald interval', () => {
    // n = 20: 10 both right, b = 5 only A right, c = 2 only B right, 3 both wrong.
    // accA = 15/20, accB = 12/20, difference = 3/20,
    // p = 2·(1 + 7 + 21)/128 = 58/128,
    // interval = 0.15 ± 1.959964·√(7 - 9/20)/20 (scipy: -0.10080647557203601, 0.40080647557203597)
    const { predA, predB, labels } = paired(10, 5, 2, 2, 1);
    const r = mcnemarExact(predA, predB, labels);
    assert.equal(r.n, 20);
    assert.equal(r.b, 5);
    assert.equal(r.c, 2);
    assert.equal(r.accuracyA, 0.75);
    assert.equal(r.accuracyB, 0.6);
    close(r.difference, 0.15, 1e-15);
    close(r.pValue, 58 / 128, 1e-14);
    close(r.interval95[0], -0.10080647557203601, 1e-12, 'lo');
    close(r.interval95[1], 0.40080647557203597, 1e-12, 'hi');
  });

  it('gives p = 1 and a point interval when the models agree everywhere', () => {
    const { predA, predB, labels } = paired(6, 0, 0, 2, 0);
    const r = mcnemarExact(predA, Int32Array.from(predB), labels);
    assert.equal(r.b, 0);
    assert.equal(r.c, 0);
    assert.equal(r.pValue, 1);
    assert.equal(r.difference, 0);
    assert.deepEqual(r.interval95, [0, 0]);
  });

  it('clips the interval to [-1, 1]', () => {
    // n = 3, b = 2, c = 0: 2/3 ± 1.959964·√(2 - 4/3)/3 → (0.13323203596052102, 1.2001…) → hi clipped to 1
    const { predA, predB, labels } = paired(1, 2, 0, 0, 0);
    const r = mcnemarExact(predA, predB, labels);
    close(r.interval95[0], 0.13323203596052102, 1e-12, 'lo');
    assert.equal(r.interval95[1], 1);
    const swapped = mcnemarExact(predB, predA, labels);
    assert.equal(swapped.interval95[0], -1);
  });

  it('matches mcnemarFromCounts on a large test set', () => {
    const { predA, predB, labels } = paired(8000, 480, 560, 700, 260);
    const r = mcnemarExact(predA, predB, labels);
    assert.equal(r.n, 10000);
    assert.equal(r.b, 480);
    assert.equal(r.c, 560);
    close(r.difference, -0.008, 1e-15);
    rel(r.pValue, 0.014259079095386026, 1e-11);
  });

  it('rejects unpaired or empty input', () => {
    assert.throws(() => mcnemarExact([0, 1], [0], [0, 1]), RangeError);
    assert.throws(() => mcnemarExact([], [], []), { name: 'RangeError', message: 'mcnemarExact needs at least one example' });
    assert.throws(() => mcnemarExact([0, 1], [0, 1], [0]), {
      name: 'RangeError',
      message: 'mcnemarExact needs paired arrays, got lengths 2, 2, 1',
    });
    assert.throws(() => mcnemarExact([0], [0, 1], [0, 1]), {
      name: 'RangeError',
      message: 'mcnemarExact needs paired arrays, got lengths 1, 2, 2',
    });
  });
});

describe('meanOf', () => {
  it('averages the finite values that are there, and gives undefined when none is', () => {
    assert.equal(meanOf([1, undefined, Number.NaN, 3, Number.POSITIVE_INFINITY]), 2);
    assert.equal(meanOf([undefined, Number.NaN]), undefined);
    assert.equal(meanOf([]), undefined);
  });
});
