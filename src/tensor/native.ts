/**
 * The native addon and the exact shape of its functions. Everything here is a
 * thin shim over libtorch (native/src); the typed, checked API that users call
 * lives in the other modules of src/tensor.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * An opaque reference to one libtorch tensor, owned by the addon (a bigint
 * naming a slot of its handle table; a disposed tensor's handle goes stale).
 */
export interface NativeHandle {
  readonly __nativeTensorHandle: unique symbol;
}

type H = NativeHandle;

/** An opaque reference to one c10d::Reducer. */
export interface NativeReducer {
  readonly __nativeReducer: unique symbol;
}
type Operand = H | number | boolean;
type Dims = number[] | undefined;

export interface NativeBinding {
  // handles and inspection
  /** Frees the tensor now; owner is the object passed to track(), if it was tracked. */
  dispose(h: H, owner?: object): void;
  /** From now on the GC frees the tensor when it collects owner; its bytes are reported to V8. */
  track(owner: object, h: H): void;
  stats(): { tensors: number; bytes: number; cachedBytes: number };
  tensorCacheBytes(): number;
  emptyTensorCache(): void;
  shape(h: H): number[];
  strides(h: H): number[];
  dtype(h: H): number;
  device(h: H): string;
  numel(h: H): number;
  isContiguous(h: H, channelsLast?: boolean): boolean;
  requiresGrad(h: H): boolean;
  isLeaf(h: H): boolean;
  toBuffer(h: H, raw?: boolean): ArrayBuffer;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number, device?: string): H;
  item(h: H): number;
  format(h: H): string;
  // runtime
  buildInfo(): { torchVersion: string; parallelInfo: string; cudaAvailable: boolean; mkldnnAvailable: boolean };
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  getRngState(): H;
  setRngState(state: H): void;
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): void;
  autocastState(): [boolean, number];
  setAutocast(enabled: boolean, dtype: number): void;
  autocastNesting(delta: 1 | -1): number;
  // creation
  zeros(shape: number[], dtype: number, device?: string): H;
  ones(shape: number[], dtype: number, device?: string): H;
  empty(shape: number[], dtype: number, device?: string): H;
  full(shape: number[], value: number | boolean, dtype: number, device?: string): H;
  arange(start: number, end: number, step: number, dtype: number, device?: string): H;
  linspace(start: number, end: number, steps: number, dtype: number, device?: string): H;
  eye(n: number, m: number, dtype: number, device?: string): H;
  rand(shape: number[], dtype: number, device?: string): H;
  randn(shape: number[], dtype: number, device?: string): H;
  randint(low: number, high: number, shape: number[], dtype: number, device?: string): H;
  randperm(n: number, dtype: number, device?: string): H;
  zerosLike(h: H, dtype?: number): H;
  onesLike(h: H, dtype?: number): H;
  fullLike(h: H, value: number | boolean, dtype?: number): H;
  // math
  add(a: H, b: Operand, alpha?: number): H;
  sub(a: H, b: Operand, alpha?: number): H;
  mul(a: H, b: Operand): H;
  div(a: H, b: Operand): H;
  pow(a: H, b: Operand): H;
  remainder(a: H, b: Operand): H;
  eq(a: H, b: Operand): H;
  ne(a: H, b: Operand): H;
  lt(a: H, b: Operand): H;
  le(a: H, b: Operand): H;
  gt(a: H, b: Operand): H;
  ge(a: H, b: Operand): H;
  maximum(a: H, b: H): H;
  minimum(a: H, b: H): H;
  matmul(a: H, b: H): H;
  where(condition: H, a: Operand, b: Operand): H;
  neg(a: H): H;
  abs(a: H): H;
  exp(a: H): H;
  log(a: H): H;
  sqrt(a: H): H;
  rsqrt(a: H): H;
  sigmoid(a: H): H;
  tanh(a: H): H;
  relu(a: H): H;
  square(a: H): H;
  sign(a: H): H;
  floor(a: H): H;
  isnan(a: H): H;
  isfinite(a: H): H;
  logicalNot(a: H): H;
  gelu(a: H, approximate: 'none' | 'tanh'): H;
  leakyRelu(a: H, slope: number): H;
  clamp(a: H, min?: number, max?: number): H;
  sum(a: H, dims: Dims, keepdim: boolean, dtype?: number): H;
  mean(a: H, dims: Dims, keepdim: boolean): H;
  max(a: H, dim: number | undefined, keepdim: boolean): H;
  min(a: H, dim: number | undefined, keepdim: boolean): H;
  argmax(a: H, dim: number | undefined, keepdim: boolean): H;
  argmin(a: H, dim: number | undefined, keepdim: boolean): H;
  std(a: H, dims: Dims, correction: number, keepdim: boolean): H;
  var(a: H, dims: Dims, correction: number, keepdim: boolean): H;
  norm(a: H, p: number, dims: Dims, keepdim: boolean): H;
  allclose(a: H, b: H, rtol: number, atol: number, equalNan: boolean): boolean;
  // shape
  reshape(a: H, shape: number[]): H;
  view(a: H, shape: number[]): H;
  flatten(a: H, start: number, end: number): H;
  squeeze(a: H, dim?: number): H;
  unsqueeze(a: H, dim: number): H;
  permute(a: H, dims: number[]): H;
  transpose(a: H, d0: number, d1: number): H;
  contiguous(a: H, channelsLast: boolean): H;
  cat(list: H[], dim: number): H;
  stack(list: H[], dim: number): H;
  narrow(a: H, dim: number, start: number, length: number): H;
  select(a: H, dim: number, index: number): H;
  indexSelect(a: H, dim: number, index: H): H;
  gather(a: H, dim: number, index: H): H;
  expand(a: H, shape: number[]): H;
  repeat(a: H, repeats: number[]): H;
  flip(a: H, dims: number[]): H;
  pad(a: H, pads: number[], value: number): H;
  to(a: H, dtype: number | undefined, device: string | undefined, copy: boolean): H;
  clone(a: H): H;
  // neural-net functions
  conv2d(x: H, w: H, b: H | undefined, stride: number[], padding: number[], dilation: number[], groups: number): H;
  batchNorm(
    x: H,
    weight: H | undefined,
    bias: H | undefined,
    runningMean: H | undefined,
    runningVar: H | undefined,
    training: boolean,
    momentum: number,
    eps: number,
  ): H;
  maxPool2d(x: H, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): H;
  avgPool2d(x: H, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): H;
  adaptiveAvgPool2d(x: H, outputSize: number[]): H;
  linear(x: H, w: H, b: H | undefined): H;
  dropout(x: H, p: number, training: boolean): H;
  softmax(x: H, dim: number): H;
  logSoftmax(x: H, dim: number): H;
  crossEntropy(x: H, target: H, weight: H | undefined, reduction: number, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(x: H, target: H, weight: H | undefined, reduction: number, ignoreIndex: number): H;
  mseLoss(a: H, b: H, reduction: number): H;
  oneHot(index: H, numClasses: number): H;
  // in place
  add_(a: H, b: Operand, alpha?: number): void;
  sub_(a: H, b: Operand, alpha?: number): void;
  mul_(a: H, b: Operand): void;
  div_(a: H, b: Operand): void;
  addcmul_(a: H, t1: H, t2: H, value?: number): void;
  addcdiv_(a: H, t1: H, t2: H, value?: number): void;
  copy_(a: H, src: H): void;
  zero_(a: H): void;
  fill_(a: H, value: number | boolean): void;
  clamp_(a: H, min?: number, max?: number): void;
  uniform_(a: H, low: number, high: number): void;
  normal_(a: H, mean: number, std: number): void;
  foreachAdd_(list: H[], other: H[] | number, alpha?: number): void;
  foreachAdd(list: H[], other: H[], alpha?: number): H[];
  foreachMul_(list: H[], other: H[] | number): void;
  foreachDiv_(list: H[], other: H[] | number): void;
  foreachAddcmul_(list: H[], t1: H[], t2: H[], value?: number): void;
  foreachAddcdiv_(list: H[], t1: H[], t2: H[], value?: number): void;
  foreachZero_(list: H[]): void;
  foreachCopy_(list: H[], src: H[]): void;
  foreachSqrt(list: H[]): H[];
  foreachMaximum_(list: H[], other: H[]): void;
  foreachNorm(list: H[], p?: number): H[];
  // data
  gatherBatch(pixels: H, labels: H, index: H, offset: H, scale: H): Promise<[H, H]>;
  // distributed (c10d: TCPStore, ProcessGroupGloo, Reducer); the Promises resolve off the event loop
  distInit(rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number, hostname: string): Promise<void>;
  distDestroy(): void;
  distInfo(): { rank: number; worldSize: number } | undefined;
  distAllReduce(list: H[], op: string): Promise<void>;
  distBroadcast(list: H[], src: number): Promise<void>;
  distAllGather(a: H): Promise<H[]>;
  distBarrier(): Promise<void>;
  distDiagnose(): Promise<string>;
  distAllReduceSumAutograd(a: H): H;
  ddpReducer(params: H[], bucketCapBytes: number, findUnusedParameters: boolean): NativeReducer;
  ddpPrepare(reducer: NativeReducer, outputs: H[]): void;
  ddpRelease(reducer: NativeReducer): void;
  // autograd
  requiresGrad_(a: H, flag: boolean): void;
  backward(a: H, gradient: H | undefined, retainGraph: boolean, createGraph: boolean): void;
  grad(a: H): H | undefined;
  setGrad(a: H, grad: H | undefined): void;
  gradsOf(list: H[]): (H | undefined)[];
  zeroGrads(list: H[], setToNone: boolean): void;
  setData(a: H, source: H): void;
  detach(a: H): H;
  autogradGrad(
    outputs: H[],
    inputs: H[],
    gradOutputs: H[] | undefined,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (H | undefined)[];
}

function findAddon(): string {
  // dist/src/tensor/native.js -> package root is three levels up.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const root of [join(here, '../../..'), join(here, '../..')]) {
    const candidate = join(root, 'build/Release/skipstudio_native.node');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    'skipstudio: the native addon (build/Release/skipstudio_native.node) is not built. ' +
      'Run `npm run build` (or `npm test`, which installs and builds what is missing).',
  );
}

const require = createRequire(import.meta.url);

/**
 * Loads the addon; when it does not load (built against another libtorch, or
 * none here), throws the reason and the commands that fix it, from the
 * package's scripts/addon.mjs (shared with its install step).
 */
async function loadAddon(path: string): Promise<NativeBinding> {
  try {
    return require(path) as NativeBinding;
  } catch (error) {
    const helper = pathToFileURL(join(dirname(dirname(dirname(path))), 'scripts/addon.mjs')).href;
    let explained: string;
    try {
      const { explainAddonLoad } = (await import(helper)) as { explainAddonLoad(addon: string, error: unknown): string };
      explained = explainAddonLoad(path, error);
    } catch {
      throw error; // no explanation to be had (the package's scripts/ is gone): the loader's own error is the best there is
    }
    const failure = new Error(explained);
    failure.stack = `Error: ${failure.message}`; // where in the loader it failed tells a user nothing; the message says what to do
    throw failure;
  }
}

/** The loaded addon. */
export const native: NativeBinding = await loadAddon(findAddon());

// libtorch's own default can be a single thread; a user expects every core.
native.setNumThreads(Number(process.env.SKIPSTUDIO_THREADS) || availableParallelism());
