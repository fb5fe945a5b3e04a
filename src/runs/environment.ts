/**
 * The environment record, written when a run starts training: the machine,
 * its CPU features, the library versions and the precision chosen. The
 * report shows the machine that trained, not the one that draws the report.
 */
import { readFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';

/** environment.json: the machine a run trained on (CPU, cores, memory in GiB, CPU flags), the Node and libtorch versions and the precision. */
export interface EnvironmentRecord {
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** The CPU features that decide the speed of fp32 and bf16 training. */
  cpuFlags: string[];
  /** Limits on the kernels libtorch and oneDNN may use (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA), when set: a stand-in for an older CPU. */
  kernelLimits?: Record<string, string>;
  node: string;
  libtorch: string;
  precision: string;
  /** Threads the run trained with, and how many runs trained at once beside it (absent in records from before they were kept). */
  threads?: number;
  concurrentRuns?: number;
  recordedAt: string;
}

const FEATURES = ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'];

let thisMachine: string[] | undefined;

/** The features of FEATURES that /proc/cpuinfo lists (none where it cannot be read); this machine's are read once. */
export function cpuFeatures(cpuinfo?: string): string[] {
  if (cpuinfo === undefined) return [...(thisMachine ??= cpuFeatures(readCpuinfo()))];
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? []);
  return FEATURES.filter((f) => flags.has(f));
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** This machine's environment record, with the given libtorch version and precision, stamped with the current time. */
export function describeEnvironment(libtorch: string, precision: string): EnvironmentRecord {
  return {
    host: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    cpuFlags: cpuFeatures(),
    ...kernelLimits(),
    node: process.versions.node,
    libtorch,
    precision,
    recordedAt: new Date().toISOString(),
  };
}

const KERNEL_LIMITS = ['ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'];

function kernelLimits(): Pick<EnvironmentRecord, 'kernelLimits'> {
  const set = KERNEL_LIMITS.filter((name) => process.env[name]).map((name) => [name, process.env[name]!]);
  return set.length ? { kernelLimits: Object.fromEntries(set) } : {};
}

/** One line for the report's set-up table. */
export function formatMachine(env: EnvironmentRecord): string {
  const limits = Object.entries(env.kernelLimits ?? {}).map(([k, v]) => `${k}=${v}`);
  return (
    `${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB${env.cpuFlags.length ? ` (${env.cpuFlags.join(', ')})` : ''}` +
    (limits.length ? `, kernels limited by ${limits.join(', ')}` : '')
  );
}
