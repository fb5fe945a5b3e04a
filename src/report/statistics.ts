/**
 * The statistics the report uses when it compares models: a summary of
 * repeated runs (mean, sample standard deviation, 95% Student t-interval),
 * Welch's unequal-variance t-test for "does model A score differently from
 * model B across seeds", and the exact McNemar test for "do two models that
 * were scored on the same test set make different mistakes". It is pure
 * arithmetic over plain numbers (no tensors, no I/O); the distribution
 * functions come from the @stdlib packages rather than being written here,
 * so tail probabilities stay right far out (a McNemar test over 10,000
 * disagreements, a t-test with a fractional Welch df).
 */
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantileStdlib from '@stdlib/stats-base-dists-t-quantile';

/** The 0.975 quantile of the standard normal distribution (≈ 1.96). */
const Z975 = normalQuantile(0.975, 0, 1);

/** Summary of one sample, e.g. one model's test accuracy over several seeds. */
export interface SampleSummary {
  n: number;
  /** Arithmetic mean; NaN when n = 0. */
  mean: number;
  /** Sample standard deviation (divisor n - 1); NaN when n < 2. */
  std: number;
  /** Two-sided 95% Student t-interval for the mean; absent when n < 2. */
  interval95?: [number, number];
}

/** Result of Welch's t-test between two samples a and b. */
export interface WelchResult {
  /** mean(a) - mean(b). */
  difference: number;
  /** difference / sqrt(var(a)/na + var(b)/nb); ±Infinity or 0 when both variances are 0 (see welchTest). */
  t: number;
  /** Welch–Satterthwaite degrees of freedom; NaN when both variances are 0. */
  df: number;
  /** Two-sided p-value. */
  pValue: number;
  /** 95% interval for the difference of means, using the Welch df. */
  interval95: [number, number];
}

/** Result of the exact McNemar test between two classifiers scored on the same examples. */
export interface McNemarResult {
  /** Number of paired examples. */
  n: number;
  /** Examples A got right and B got wrong. */
  b: number;
  /** Examples A got wrong and B got right. */
  c: number;
  accuracyA: number;
  accuracyB: number;
  /** accuracyA - accuracyB, which equals (b - c) / n. */
  difference: number;
  /** Exact two-sided p-value (see mcnemarFromCounts). */
  pValue: number;
  /** Wald 95% interval for the paired accuracy difference, clipped to [-1, 1]. */
  interval95: [number, number];
}

function checkFinite(xs: ArrayLike<number>, what: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`${what}: value ${i} is ${xs[i]}, not a finite number`);
  }
}

/**
 * Mean and sum of squared deviations, two-pass for accuracy. A constant
 * sample gets exactly its value as mean and exactly 0 as spread, so that
 * identical runs compare as identical instead of as rounding noise.
 */
function moments(xs: ArrayLike<number>): { n: number; mean: number; ss: number } {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, ss: NaN };
  let constant = true;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += xs[i];
    if (xs[i] !== xs[0]) constant = false;
  }
  if (constant) return { n, mean: xs[0], ss: 0 };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { n, mean, ss };
}

/**
 * Student's t quantile: the x with P(T <= x) = p for T with df degrees of
 * freedom. df may be fractional (Welch) and Infinity (the normal quantile).
 * Returns NaN for p outside [0, 1] or df not > 0, -Infinity at p = 0 and
 * Infinity at p = 1.
 */
export function tQuantile(p: number, df: number): number {
  if (df === Infinity) return normalQuantile(p, 0, 1);
  return tQuantileStdlib(p, df);
}

/** The mean of the values that are there (finite numbers), undefined when none is. */
export function meanOf(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => Number.isFinite(v));
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : undefined;
}

/**
 * Summarizes a sample (e.g. a final accuracy per seed) the way the report
 * prints it: n, mean, sample standard deviation (n - 1 divisor) and the
 * two-sided 95% Student t-interval for the mean,
 * mean ± t(0.975, n - 1) · std / √n.
 * With n = 0 the mean is NaN; with n < 2 the standard deviation is NaN and
 * there is no interval (interval95 is left out), since one run says nothing
 * about the spread. Throws RangeError on a non-finite value (a diverged run
 * must be left out by the caller, not averaged in).
 */
export function describeSample(xs: ArrayLike<number>): SampleSummary {
  checkFinite(xs, 'describeSample');
  const { n, mean, ss } = moments(xs);
  if (n < 2) return { n, mean, std: NaN };
  const std = Math.sqrt(ss / (n - 1));
  const half = (tQuantile(0.975, n - 1) * std) / Math.sqrt(n);
  return { n, mean, std, interval95: [mean - half, mean + half] };
}

/**
 * Welch's unequal-variance t-test of mean(a) = mean(b), for comparing two
 * models' scores over independent runs (seeds) without assuming equal
 * spread: t = (mean a - mean b) / √(sa²/na + sb²/nb), df by
 * Welch–Satterthwaite, two-sided p-value, and the 95% interval of the
 * difference (difference ± t(0.975, df) · se).
 *
 * Each sample needs at least two finite values (RangeError otherwise).
 * When both samples are constant the standard error is 0 and there is no
 * finite t; the result is then the limit as the spread goes to 0:
 * equal means give t = 0, p = 1; different means give t = ±Infinity, p = 0.
 * In both cases df is NaN (it has no limit: it depends on the ratio of the
 * vanishing variances) and the interval is the single point [difference,
 * difference]. When only one sample is constant the test is well defined
 * (df is then n - 1 of the other sample).
 */
export function welchTest(a: ArrayLike<number>, b: ArrayLike<number>): WelchResult {
  checkFinite(a, 'welchTest a');
  checkFinite(b, 'welchTest b');
  if (a.length < 2 || b.length < 2) {
    throw new RangeError(`welchTest needs at least 2 values per sample, got ${a.length} and ${b.length}`);
  }
  const ma = moments(a);
  const mb = moments(b);
  const va = ma.ss / (ma.n - 1) / ma.n;
  const vb = mb.ss / (mb.n - 1) / mb.n;
  const difference = ma.mean - mb.mean;
  const se2 = va + vb;
  if (se2 === 0) {
    // Stryker disable next-line EqualityOperator: a difference of 0 is taken first, so > 0 and >= 0 agree
    const t = difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
    return { difference, t, df: NaN, pValue: difference === 0 ? 1 : 0, interval95: [difference, difference] };
  }
  const se = Math.sqrt(se2);
  const t = difference / se;
  const df = (se2 * se2) / ((va * va) / (ma.n - 1) + (vb * vb) / (mb.n - 1));
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const half = tQuantile(0.975, df) * se;
  return { difference, t, df, pValue, interval95: [difference - half, difference + half] };
}

/**
 * The exact (binomial) two-sided McNemar p-value from the discordant
 * counts: b examples only A got right, c examples only B got right. Under
 * "A and B are equally accurate" each of the b + c disagreements goes
 * either way with probability 1/2, so
 * p = min(1, 2 · P(X ≤ min(b, c))), X ~ Binomial(b + c, 1/2),
 * and p = 1 when b + c = 0 (the models never disagree). The binomial CDF is
 * evaluated through the regularized incomplete beta function, so it stays
 * accurate (relative error ~1e-13) for b + c in the tens of thousands; a
 * tail below ~1e-308 (e.g. b = 0, c > 1022) underflows to 0.
 * b and c must be non-negative integers (RangeError otherwise).
 */
export function mcnemarFromCounts(b: number, c: number): number {
  if (!Number.isSafeInteger(b) || !Number.isSafeInteger(c) || b < 0 || c < 0) {
    throw new RangeError(`mcnemarFromCounts needs non-negative integer counts, got b=${b}, c=${c}`);
  }
  // b + c = 0 needs no case of its own: P(X <= 0) for X ~ Binomial(0, 1/2) is 1.
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), b + c, 0.5));
}

/**
 * Compares two classifiers on the same test set (predA[i], predB[i] and
 * labels[i] are class indices for example i): accuracies, their difference,
 * the exact McNemar p-value (mcnemarFromCounts on b = A right & B wrong,
 * c = A wrong & B right), and a 95% interval for the accuracy difference.
 *
 * The interval is the Wald interval for paired proportions,
 * (b - c)/n ± z · √((b + c) - (b - c)²/n) / n with z = 1.95996… (the exact
 * normal 0.975 quantile), clipped to [-1, 1]. It is the standard companion
 * of McNemar's test and is fine for test sets of thousands of examples;
 * like any Wald interval it collapses to a point when b + c = 0 and is
 * too narrow when the disagreements are very few.
 * Throws RangeError when the arrays are empty or of different lengths.
 */
export function mcnemarExact(predA: ArrayLike<number>, predB: ArrayLike<number>, labels: ArrayLike<number>): McNemarResult {
  const n = labels.length;
  if (predA.length !== n || predB.length !== n) {
    throw new RangeError(`mcnemarExact needs paired arrays, got lengths ${predA.length}, ${predB.length}, ${n}`);
  }
  if (n === 0) throw new RangeError('mcnemarExact needs at least one example');
  let rightA = 0;
  let rightB = 0;
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const okA = predA[i] === labels[i];
    const okB = predB[i] === labels[i];
    if (okA) rightA++;
    if (okB) rightB++;
    if (okA && !okB) b++;
    else if (!okA && okB) c++;
  }
  const difference = (b - c) / n;
  const half = (Z975 * Math.sqrt(Math.max(0, b + c - (b - c) ** 2 / n))) / n;
  return {
    n,
    b,
    c,
    accuracyA: rightA / n,
    accuracyB: rightB / n,
    difference,
    pValue: mcnemarFromCounts(b, c),
    interval95: [Math.max(-1, difference - half), Math.min(1, difference + half)],
  };
}
