/**
 * What the report reads off a run's loss landscape (landscape.json, written
 * by train/landscape.ts): how fast the training loss rises as the weights
 * move away from where training left them, how much of the surface curves
 * downward (is not convex), and the figures: the 1-D slices of a skip
 * network and its plain twin on one chart, and the 2-D surfaces as contour
 * lines (d3-contour's marching squares) at levels the pair shares.
 */
import { contours } from 'd3-contour';
import type { TopLevelSpec } from 'vega-lite';

import { catalogEntry, configuredDepth, hasModelSources } from '../models/catalog.js';
import type { CurvatureRecord, HessianRecord, LandscapeFile } from '../runs/index.js';
import { type Chart, lineChart } from './charts.js';
import type { RunData } from './load.js';

/** The loss on the 1-D slice at alpha, linearly interpolated between its points. */
export function lineLossAt(file: Pick<LandscapeFile, 'alphas' | 'line'>, alpha: number): number {
  const { alphas, line } = file;
  if (alpha <= alphas[0]!) return line[0]!;
  // Stryker disable next-line EqualityOperator: i = alphas.length reads alphas[i] as undefined, which no alpha is <=, so the loop ends as it would
  for (let i = 1; i < alphas.length; i++) {
    // A point's own value, not a + 1 * (b - a): that cancels to 0 when a is 1e22 and b is 0.011.
    if (alpha === alphas[i]) return line[i]!;
    if (alpha < alphas[i]!) {
      const t = (alpha - alphas[i - 1]!) / (alphas[i]! - alphas[i - 1]!);
      return line[i - 1]! + t * (line[i]! - line[i - 1]!);
    }
  }
  return line.at(-1)!;
}

/** How much the loss rises at a distance from the trained weights: the mean of both sides minus the loss at 0. */
export function lossRise(file: Pick<LandscapeFile, 'alphas' | 'line'>, distance: number): number {
  return (lineLossAt(file, -distance) + lineLossAt(file, distance)) / 2 - lineLossAt(file, 0);
}

/**
 * The share of the surface's interior points where it curves downward along
 * at least one of the two directions (a negative second difference): 0 for a
 * convex bowl; Li et al.'s chaotic plain networks score high. Points next to
 * a loss that is not finite have no second difference and are not counted;
 * undefined when no point is left.
 */
export function nonConvexShare(surface: number[][]): number | undefined {
  const n = surface.length;
  let bent = 0;
  let counted = 0;
  for (let j = 1; j < n - 1; j++) {
    for (let i = 1; i < n - 1; i++) {
      const at = (jj: number, ii: number) => surface[jj]![ii]!;
      const alongAlpha = at(j, i - 1) - 2 * at(j, i) + at(j, i + 1);
      const alongBeta = at(j - 1, i) - 2 * at(j, i) + at(j + 1, i);
      if (!Number.isFinite(alongAlpha) || !Number.isFinite(alongBeta)) continue;
      counted++;
      if (alongAlpha < 0 || alongBeta < 0) bent++;
    }
  }
  return counted === 0 ? undefined : bent / counted;
}

/**
 * What the report reads off a landscape: the loss at the trained weights, its rise at distances 0.5 and 1, and the share
 * of the surface that is not convex. A loss that is not a finite number (the network's outputs overflowed) stays NaN.
 */
export interface LandscapeSummary {
  /** The loss at the trained weights. */
  origin: number;
  /** Rise at distance 0.5 and 1 (undefined where the slice does not measure it: see riseWhereMeasured). */
  rise05: number | undefined;
  rise1: number | undefined;
  nonConvex: number | undefined;
}

/** The width of the slice's step that holds alpha: 0 at one of its points, infinite past its ends. */
export function stepAround(alphas: number[], alpha: number): number {
  if (alphas.some((a) => Math.abs(a - alpha) <= 1e-9 * Math.max(1, Math.abs(alpha)))) return 0;
  for (let i = 1; i < alphas.length; i++) if (alphas[i - 1]! < alpha && alpha < alphas[i]!) return alphas[i]! - alphas[i - 1]!;
  return Infinity;
}

/**
 * The rise at a distance where the slice measures it: at points of the slice, or interpolated between points at most half
 * the distance apart. Undefined past the slice's ends and across a wider step, where the loss between two far points is not
 * known (a 3-point slice over [-100, 100] says nothing of the loss at 0.5).
 */
export function riseWhereMeasured(file: Pick<LandscapeFile, 'alphas' | 'line'>, distance: number): number | undefined {
  const measured = (alpha: number) => stepAround(file.alphas, alpha) <= distance / 2;
  return measured(-distance) && measured(distance) ? lossRise(file, distance) : undefined;
}

/** Summarises a run's landscape.json: the loss at 0, the rise at 0.5 and 1 where the slice measures them, and the non-convex share of the surface. */
export function summarizeLandscape(file: LandscapeFile): LandscapeSummary {
  return {
    origin: lineLossAt(file, 0),
    rise05: riseWhereMeasured(file, 0.5),
    rise1: riseWhereMeasured(file, 1),
    nonConvex: nonConvexShare(file.surface),
  };
}

/** Whether a run's landscape is of the weights the run ended with: one taken before the run resumed and trained on is not. */
export function isCurrentLandscape(run: RunData): boolean {
  return run.landscape !== undefined && run.landscape.step === run.status.step;
}

/** A run's landscape with the label its figures show. */
export interface LabelledLandscape {
  label: string;
  file: LandscapeFile;
}

/** The 1-D slices of several runs on one chart (log scale: a plain network's loss can rise a hundredfold). */
export function landscapeLineChart(id: string, landscapes: LabelledLandscape[]): Chart | undefined {
  if (landscapes.length === 0) return undefined;
  // A loss that is not finite (or not positive) has no place on a log scale: the table says it is not finite.
  const values = landscapes
    .flatMap(({ label, file }) => file.alphas.map((alpha, i) => ({ alpha, loss: file.line[i]!, run: label })))
    .filter((v) => Number.isFinite(v.loss) && v.loss > 0);
  const first = landscapes[0]!.file;
  return lineChart(
    id,
    `Loss landscape, 1-D: the training loss on ${first.sample.toLocaleString('en-US')} training images (batch norm in eval mode) as the weights move ` +
      'along one filter-normalised random direction (Li et al. 2018); 0 is the trained network, 1 moves every filter by its own norm. Log scale.',
    values,
    {
      x: { field: 'alpha', type: 'quantitative', title: 'distance along the direction (filter norms)' },
      y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { type: 'log' } },
      legend: 'run',
      points: values.length < 120,
    },
  );
}

/** Contour levels shared by several surfaces: evenly spaced in log(loss) from the lowest to the highest value. */
export function sharedLevels(surfaces: number[][][], count = 12): number[] {
  const values = surfaces.flat(2).filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0) return [];
  const lo = Math.log(Math.min(...values));
  const hi = Math.log(Math.max(...values));
  // Stryker disable next-line EqualityOperator: a spread of exactly 1e-9 in log(loss) is as flat as one below it
  if (hi - lo < 1e-9) return [];
  return Array.from({ length: count }, (_, k) => Math.exp(lo + ((k + 0.5) * (hi - lo)) / count));
}

/**
 * One point of a contour line of the landscape's contour chart: its position (alpha, beta), the loss level, the path it
 * belongs to, its order on that path, and the run.
 */
export interface ContourPoint {
  alpha: number;
  beta: number;
  level: number;
  path: string;
  order: number;
  run: string;
}

/**
 * A surface's contour lines as points of paths in (alpha, beta). d3-contour
 * places value i at i + 0.5 and closes rings along the grid's border; the
 * border pieces are no contour, so each ring is cut where it touches it.
 */
export function contourPaths(label: string, axis: number[], surface: number[][], levels: number[]): ContourPoint[] {
  const n = axis.length;
  const step = axis[1]! - axis[0]!;
  const toAxis = (c: number) => axis[0]! + (c - 0.5) * step;
  const onBorder = ([x, y]: number[]) => x! <= 0 || y! <= 0 || x! >= n || y! >= n;
  const out: ContourPoint[] = [];
  let pathIndex = 0;
  for (const contour of contours().size([n, n]).thresholds(levels)(surface.flat())) {
    for (const polygon of contour.coordinates) {
      for (const ring of polygon) {
        let order = 0;
        let path = `${label} ${pathIndex++}`;
        for (const point of ring) {
          if (onBorder(point)) {
            path = `${label} ${pathIndex++}`;
            order = 0;
            continue;
          }
          out.push({ alpha: toAxis(point[0]!), beta: toAxis(point[1]!), level: contour.value, path, order: order++, run: label });
        }
      }
    }
  }
  return out;
}

/** The 2-D surfaces side by side as contour lines, coloured by loss on one log scale, the trained weights marked at (0, 0). */
export function landscapeContourChart(id: string, landscapes: LabelledLandscape[]): Chart | undefined {
  const withSurface = landscapes.filter((l) => l.file.surface.length >= 3);
  if (withSurface.length === 0) return undefined;
  const levels = sharedLevels(withSurface.map((l) => l.file.surface));
  const values = withSurface.flatMap((l) => contourPaths(l.label, l.file.surfaceAxis, l.file.surface, levels));
  const origins = withSurface.map((l) => ({ alpha: 0, beta: 0, run: l.label }));
  const range = withSurface[0]!.file.range;
  const axis = (field: string, title: string) => ({ field, type: 'quantitative', title, scale: { domain: [-range, range] } });
  const first = withSurface[0]!.file;
  return {
    id,
    caption:
      `Loss landscape, 2-D: contour lines of the training loss on ${first.sample.toLocaleString('en-US')} training images over a ` +
      `${first.grid} x ${first.grid} grid of two filter-normalised random directions (Li et al. 2018), the same ${levels.length} levels ` +
      '(evenly spaced in log loss) in every panel; the cross is the trained network.',
    spec: {
      data: { values: [...values.map((v) => ({ ...v, kind: 'contour' })), ...origins.map((o) => ({ ...o, kind: 'origin' }))] },
      facet: { column: { field: 'run', type: 'nominal', title: null, header: { labelFontSize: 12, labelLimit: 300 } } },
      spec: {
        width: 240,
        height: 240,
        layer: [
          {
            transform: [{ filter: 'datum.kind === "contour"' }],
            mark: { type: 'line', strokeWidth: 1.2 },
            encoding: {
              x: axis('alpha', 'direction 1'),
              y: axis('beta', 'direction 2'),
              detail: { field: 'path' },
              order: { field: 'order' },
              color: { field: 'level', type: 'quantitative', title: 'training loss', scale: { type: 'log', scheme: 'viridis' } },
            },
          },
          {
            transform: [{ filter: 'datum.kind === "origin"' }],
            mark: { type: 'point', shape: 'cross', size: 120, filled: true, color: 'black' },
            encoding: { x: axis('alpha', 'direction 1'), y: axis('beta', 'direction 2') },
          },
        ],
      },
    } as TopLevelSpec,
  };
}

const hasTwin = (run: RunData) => hasModelSources(run.config.model) && catalogEntry(run.config.model).plainTwin !== undefined;

/** Runs with a current landscape (isCurrentLandscape), each SkipBlock model's beside its plain twin's where both have one computed alike; the rest alone. */
export function landscapeGroups(runs: RunData[]): RunData[][] {
  const withLandscape = runs.filter(isCurrentLandscape);
  const used = new Set<RunData>();
  const groups: RunData[][] = [];
  const comparable = (a: RunData, b: RunData) =>
    (['range', 'seed', 'sample', 'grid', 'points', 'precision'] as const).every((k) => a.landscape![k] === b.landscape![k]) &&
    configuredDepth(a.config) === configuredDepth(b.config);
  // Skip runs first, so each finds its plain twin whatever order the runs came in.
  const ordered = [...withLandscape].sort((a, b) => Number(hasTwin(b)) - Number(hasTwin(a)));
  for (const run of ordered) {
    if (used.has(run)) continue;
    const twinName = hasModelSources(run.config.model) ? catalogEntry(run.config.model).plainTwin : undefined;
    const twin = withLandscape.find((r) => !used.has(r) && r.config.model === twinName && comparable(run, r));
    const group = twin === undefined ? [run] : [run, twin];
    for (const r of group) used.add(r);
    groups.push(group);
  }
  return groups;
}

const fixed = (x: number | undefined) => (x === undefined ? '-' : Number.isFinite(x) ? x.toFixed(3) : 'not finite');
const share = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/** A table row of one run's landscape: loss at 0, rise at 0.5 and 1, share of the surface not convex. */
export function landscapeRow(run: RunData): string[] {
  const s = summarizeLandscape(run.landscape!);
  return [run.name, fixed(s.origin), fixed(s.rise05), fixed(s.rise1), share(s.nonConvex)];
}

/**
 * The sentence on a skip network's landscape against its plain twin's: the
 * numbers, and which surface is the smoother by both measures (a slower rise
 * at distance 1 and fewer non-convex points), or that the measures disagree.
 * One pair of random directions, so no interval: the sentence says so.
 */
export function landscapeObservation(skip: RunData, plain: RunData): string {
  const a = summarizeLandscape(skip.landscape!);
  const b = summarizeLandscape(plain.landscape!);
  const head =
    `Loss landscape of ${skip.name} against ${plain.name} (Li et al. 2018; ${skip.landscape!.sample.toLocaleString('en-US')} training images, ` +
    `one pair of filter-normalised random directions, so no interval): training loss ${fixed(a.origin)} and ${fixed(b.origin)} at the trained weights, ` +
    `rising by ${fixed(a.rise05)} and ${fixed(b.rise05)} at distance 0.5 and by ${fixed(a.rise1)} and ${fixed(b.rise1)} at distance 1`;
  const convex =
    a.nonConvex !== undefined && b.nonConvex !== undefined
      ? `; ${share(a.nonConvex)} and ${share(b.nonConvex)} of the surface's interior points curve downward along a direction (not convex)`
      : '';
  const smoother = (x: LandscapeSummary, y: LandscapeSummary) =>
    x.rise1 !== undefined &&
    y.rise1 !== undefined &&
    x.rise1 < y.rise1 &&
    (x.nonConvex === undefined || y.nonConvex === undefined || x.nonConvex <= y.nonConvex);
  // Asked only with both rises known and neither surface the smoother: then either the rises tie, or each measure favours
  // another surface (both non-convex shares known and unequal, as are the rises).
  const disagreement = () => {
    // Stryker disable next-line EqualityOperator: the shares differ here, so < and <= pick the same surface
    const convexer = a.nonConvex! < b.nonConvex! ? skip : plain;
    // Stryker disable next-line EqualityOperator: the rises differ here, so < and <= pick the same surface
    const slower = a.rise1! < b.rise1! ? skip : plain;
    return `${convexer.config.model}'s surface is the more nearly convex, ${slower.config.model}'s rises more slowly: the measures do not agree on which surface is the smoother`;
  };
  const finite = [a.origin, b.origin, a.rise1, b.rise1].every((x) => x === undefined || Number.isFinite(x));
  const verdict = !finite
    ? "a loss on the slices is not a finite number (the network's outputs overflowed), so the surfaces are not compared"
    : a.rise1 === undefined || b.rise1 === undefined
      ? 'the slice does not measure distance 1 (it ends before it, or its points are too far apart), so the surfaces are not compared'
      : smoother(a, b)
        ? `${skip.config.model}'s surface is the smoother: it rises more slowly${convex ? ' and is no less convex' : ''}`
        : smoother(b, a)
          ? `${plain.config.model}'s surface is the smoother: it rises more slowly${convex ? ' and is no less convex' : ''}`
          : a.rise1 !== b.rise1
            ? disagreement()
            : 'neither surface is the smoother by both measures (they tie on one)';
  return `${head}${convex}: ${verdict}.`;
}

/** The command's summary of a landscape: the loss at 0, its rise at 0.5 and 1, the non-convex share, the time. */
export function formatLandscape(file: LandscapeFile): string {
  const s = summarizeLandscape(file);
  return (
    `loss landscape on ${file.sample.toLocaleString('en-US')} training images (${file.points} points on a line` +
    `${file.grid ? `, a ${file.grid} x ${file.grid} grid` : ''}, ${file.precision}, ${file.seconds.toFixed(0)} s): loss ${fixed(s.origin)} at the trained weights, ` +
    `rise ${fixed(s.rise05)} at distance 0.5 and ${fixed(s.rise1)} at 1` +
    (s.nonConvex === undefined ? '' : `; ${share(s.nonConvex)} of the grid not convex`) +
    (file.hessian === undefined ? '' : `\n${formatHessian(file.hessian)}`)
  );
}

/** A curvature measure in words: its mean over the batches and their 95% interval. */
function describeCurvature(m: CurvatureRecord): string {
  const show = (x: number) => x.toPrecision(4);
  return `${show(m.mean)} (${m.interval ? `95% interval ${show(m.interval[0])} to ${show(m.interval[1])} over ${m.perBatch.length} batches` : 'one batch: no interval'})`;
}

/** The command's summary of the Hessian's curvature: where it was measured, what it took, the top eigenvalue and the trace. */
export function formatHessian(h: HessianRecord): string {
  return (
    `Hessian on ${h.sample.toLocaleString('en-US')} training images in ${h.batches} batches (fp32, ${h.hvps.toLocaleString('en-US')} ` +
    `Hessian-vector products, ${h.seconds.toFixed(0)} s): dominant eigenvalue (largest in magnitude) ${describeCurvature(h.topEigenvalue)}, trace ${describeCurvature(h.trace)}`
  );
}
