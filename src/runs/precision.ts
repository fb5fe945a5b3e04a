/**
 * `--precision auto`: bf16 autocast where the CPU computes bf16 natively
 * (avx512_bf16 or amx_bf16: oneDNN's bf16 convolutions then run about 1.6x
 * faster than fp32), fp32 elsewhere (without them bf16 is emulated and slower
 * than fp32). A pure function of the CPU's flags, so both kinds of machine are
 * testable on either.
 */
import type { MemoryFormat } from '../tensor/tensor.js';
import { cpuFeatures } from './environment.js';

/** The precision a run trains in once 'auto' is resolved: fp32, or bf16 autocast. */
export type TrainingPrecision = 'fp32' | 'bf16';

/** The /proc/cpuinfo flags that mean native bf16 arithmetic. */
export const NATIVE_BF16_FLAGS = ['avx512_bf16', 'amx_bf16'] as const;

/** Training precisions: auto (bf16 where the CPU computes it natively, else fp32), fp32, bf16. */
export const PRECISIONS = ['auto', 'fp32', 'bf16'] as const;

/** The settings that decide a run's precision and layout (a part of TrainConfig, declared here so the settings table depends on this module, not both ways). */
export interface PrecisionSettings {
  /** One of PRECISIONS; auto is resolved before a run trains. */
  precision: (typeof PRECISIONS)[number];
  /** Why auto chose the precision it did, once resolved. */
  precisionReason?: string;
  /** The layout of images and convolution weights. */
  memoryFormat: MemoryFormat;
}

/** A precision made concrete, with the reason for it. */
export interface PrecisionChoice {
  precision: TrainingPrecision;
  /** Why, in words for the progress line, config.json and the report. */
  reason: string;
}

/**
 * What `auto` picks on a CPU with these flags. isaLimit is oneDNN's
 * ONEDNN_MAX_CPU_ISA, when set: a limit below AVX512_CORE_BF16 (e.g. AVX2,
 * to stand in for an older CPU) takes the bf16 kernels away, as on a CPU
 * without them.
 */
export function choosePrecision(cpuFlags: readonly string[], isaLimit?: string): PrecisionChoice {
  const native = NATIVE_BF16_FLAGS.filter((f) => cpuFlags.includes(f));
  if (native.length > 0 && isaLimit !== undefined && !/BF16|AMX|FP16|^ALL$/i.test(isaLimit)) {
    return {
      precision: 'fp32',
      reason: `auto: ONEDNN_MAX_CPU_ISA=${isaLimit} leaves oneDNN no bf16 kernels (the CPU has ${native.join(', ')}), so fp32`,
    };
  }
  return native.length > 0
    ? { precision: 'bf16', reason: `auto: the CPU computes bf16 natively (${native.join(', ')}), so bf16 autocast, channels-last` }
    : { precision: 'fp32', reason: `auto: the CPU has no native bf16 (neither ${NATIVE_BF16_FLAGS.join(' nor ')}), so fp32` };
}

/** oneDNN's instruction-set limit from the environment (its current name, or the older DNNL_ one), if any. */
export function isaLimit(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ONEDNN_MAX_CPU_ISA || env.DNNL_MAX_CPU_ISA || undefined;
}

/** A precision setting made concrete: auto by this machine's CPU flags, fp32 and bf16 as asked. */
export function resolvePrecision(
  setting: 'auto' | TrainingPrecision,
  cpuFlags: readonly string[] = cpuFeatures(),
  limit = isaLimit(),
): PrecisionChoice {
  return setting === 'auto' ? choosePrecision(cpuFlags, limit) : { precision: setting, reason: `${setting}: as asked` };
}

/**
 * A config with its precision made concrete: auto becomes this machine's
 * choice, with its reason. A reason already there stays only while it is
 * this machine's auto choice (an experiment's plan, trained again by
 * train()); one carried over in a copied config.json, or under a precision
 * given since, could contradict the precision. (A resumed run keeps its own:
 * trainer.ts.)
 */
export function withResolvedPrecision<C extends Pick<PrecisionSettings, 'precision' | 'precisionReason'>>(config: C): C {
  if (config.precision !== 'auto' && config.precisionReason === undefined) return config;
  const auto = resolvePrecision('auto');
  if (config.precision === 'auto') return { ...config, precision: auto.precision, precisionReason: auto.reason };
  if (config.precisionReason === auto.reason && config.precision === auto.precision) return config;
  const { precisionReason: _, ...rest } = config;
  return rest as C;
}

/** The precision a resolved config trains in, with why when auto chose it: "bf16 (auto: ...)". */
export function describePrecision(config: Pick<PrecisionSettings, 'precision' | 'precisionReason'>): string {
  return config.precisionReason?.startsWith('auto') ? `${config.precision} (${config.precisionReason})` : config.precision;
}

/** The memory format a run trains and evaluates in: bf16 autocast needs channels-last for oneDNN's bf16 kernels. */
export function trainingMemoryFormat(config: Pick<PrecisionSettings, 'memoryFormat' | 'precision'>): MemoryFormat {
  return config.precision === 'bf16' ? 'channelsLast' : config.memoryFormat;
}
