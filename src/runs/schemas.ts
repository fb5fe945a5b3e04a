/**
 * The shape of every file in a run directory, as zod schemas held equal to
 * the record types by the compiler (`satisfies`): what the report, the
 * dashboard and --resume read is checked, so an edited or damaged file is an
 * error naming the file and the field, never a crash deep in a computation.
 * A loss that was not finite is stored by JSON as null, and read back as NaN.
 */
import { z } from 'zod';

import type { EnvironmentRecord } from './environment.js';
import type {
  CurvatureRecord,
  DivergedRecord,
  EpochRecord,
  EvaluationFile,
  GradientRecord,
  HessianRecord,
  IterationRecord,
  LandscapeFile,
  MetricRecord,
  ModelInfo,
  Predictions,
  StatusFile,
} from './records.js';

const count = z.number().int().nonnegative();
const finite = z.number().finite();
/** A number JSON may have written as null (NaN or an infinity), read back as NaN. */
const measured = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);
const share = z.number().min(0).max(1);

/** status.json: the run's state and progress. */
export const STATUS_SCHEMA = z.object({
  status: z.enum(['running', 'finished', 'stopped', 'diverged', 'failed']),
  epochsDone: count,
  step: count,
  totalSteps: count,
  wallSeconds: finite.nonnegative(),
  divergedAt: z.object({ epoch: count, step: count, loss: measured }).optional(),
  message: z.string().optional(),
  updatedAt: z.string(),
  pid: z.number().int().optional(),
  host: z.string().optional(),
}) satisfies z.ZodType<StatusFile, unknown>;

const iteration = z.object({
  type: z.literal('iteration'),
  epoch: count,
  step: count,
  loss: measured,
  lr: finite,
  imagesPerSecond: finite,
  dataWaitShare: finite,
}) satisfies z.ZodType<IterationRecord, unknown>;

const epoch = z.object({
  type: z.literal('epoch'),
  epoch: count,
  step: count,
  trainLoss: measured,
  trainAccuracy: share,
  testLoss: measured,
  testAccuracy: share,
  lr: finite,
  seconds: finite.nonnegative(),
  wallSeconds: finite.nonnegative().optional(),
  imagesPerSecond: finite,
  dataWaitShare: finite,
  rssMiB: finite.optional(),
  liveTensors: count.optional(),
}) satisfies z.ZodType<EpochRecord, unknown>;

const gradients = z.object({
  type: z.literal('gradients'),
  epoch: count,
  step: count,
  norms: z.array(z.number().nullable()),
}) satisfies z.ZodType<GradientRecord, unknown>;

const diverged = z.object({ type: z.literal('diverged'), epoch: count, step: count, loss: measured }) satisfies z.ZodType<
  DivergedRecord,
  unknown
>;

/** One line of metrics.jsonl: an iteration window, an epoch, gradient norms or a divergence. */
export const METRIC_RECORD_SCHEMA = z.discriminatedUnion('type', [iteration, epoch, gradients, diverged]) satisfies z.ZodType<
  MetricRecord,
  unknown
>;

/** model.json: what was trained. */
export const MODEL_INFO_SCHEMA = z.object({
  model: z.string().min(1),
  modelOptions: z.record(z.string(), count),
  learnableLayers: count,
  weightLayers: count.optional(),
  parameters: count,
  skipBlocks: count,
  flops: finite.nonnegative(),
  inputShape: z.array(count.positive()).length(3),
  classes: z.array(z.string()).min(1),
  normalization: z.object({ mean: z.array(finite), std: z.array(finite) }),
  gradientLayers: z.array(z.string()),
}) satisfies z.ZodType<ModelInfo, unknown>;

/** eval.json: the final evaluation, its confusion matrix a row and a column per class. */
export const EVALUATION_SCHEMA = z
  .object({
    split: z.literal('test'),
    accuracy: share,
    perClassAccuracy: z.array(measured),
    confusionMatrix: z.array(z.array(count)),
    count,
    loss: measured,
    classes: z.array(z.string()).min(1),
  })
  .refine((e) => e.confusionMatrix.length === e.classes.length && e.confusionMatrix.every((row) => row.length === e.classes.length), {
    message: 'confusionMatrix must have a row and a column per class',
    path: ['confusionMatrix'],
  }) satisfies z.ZodType<EvaluationFile, unknown>;

/** predictions.json: a label and a prediction per test image. */
export const PREDICTIONS_SCHEMA = z
  .object({ split: z.literal('test'), labels: z.array(count), predicted: z.array(count) })
  .refine((p) => p.labels.length === p.predicted.length, {
    message: 'labels and predicted must be as long as each other (one of each per test image)',
    path: ['predicted'],
  }) satisfies z.ZodType<Predictions, unknown>;

/** environment.json: where the run trained. */
export const ENVIRONMENT_SCHEMA = z.object({
  host: z.string(),
  cpu: z.string(),
  cores: count,
  memoryGiB: finite,
  cpuFlags: z.array(z.string()),
  kernelLimits: z.record(z.string(), z.string()).optional(),
  node: z.string(),
  libtorch: z.string(),
  precision: z.string(),
  threads: count.optional(),
  concurrentRuns: count.optional(),
  recordedAt: z.string(),
}) satisfies z.ZodType<EnvironmentRecord, unknown>;

const curvature = z.object({
  mean: finite,
  std: z.number().nullable(),
  interval: z.tuple([finite, finite]).nullable(),
  perBatch: z.array(finite).min(1),
}) satisfies z.ZodType<CurvatureRecord, unknown>;

const hessian = z.object({
  topEigenvalue: curvature,
  trace: curvature,
  hvps: count,
  sample: count,
  batches: count,
  traceSamples: count,
  tolerance: finite.positive(),
  seconds: finite.nonnegative(),
}) satisfies z.ZodType<HessianRecord, unknown>;

/** landscape.json: the slice as long as its axis, the surface square, the Hessian's measures where taken. */
export const LANDSCAPE_SCHEMA = z
  .object({
    points: count,
    grid: count,
    sample: count,
    sampleAsked: count,
    range: finite.positive(),
    seed: count,
    precision: z.enum(['fp32', 'bf16']),
    step: count,
    alphas: z.array(finite),
    line: z.array(measured),
    surfaceAxis: z.array(finite),
    surface: z.array(z.array(measured)),
    seconds: finite.nonnegative(),
    hessian: hessian.optional(),
  })
  .refine((l) => l.alphas.length === l.line.length && l.alphas.length > 0, {
    message: 'alphas and line must be as long as each other',
    path: ['line'],
  })
  .refine((l) => l.surface.length === l.surfaceAxis.length && l.surface.every((row) => row.length === l.surfaceAxis.length), {
    message: 'surface must be a square of surfaceAxis.length rows and columns',
    path: ['surface'],
  }) satisfies z.ZodType<LandscapeFile, unknown>;

/** What a file holds, checked by its schema; the problems name the file and each field ("eval.json: accuracy: ..."). */
export function parseRecord<T>(schema: z.ZodType<T, unknown>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  throw new Error(
    `${where}: ${problems.join('; ')}${result.error.issues.length > 5 ? `; and ${result.error.issues.length - 5} more` : ''}`,
  );
}
