/**
 * Element types: their names in the API, libtorch's codes for them, and the
 * JavaScript typed arrays that carry their values in and out.
 */

export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

// c10::ScalarType values.
const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const NAMES = new Map<number, DType>(Object.entries(CODES).map(([name, code]) => [code, name as DType]));

/** Every dtype name skipstudio supports, in ascending order of libtorch code. */
export const DTYPES = Object.keys(CODES) as DType[];

/** libtorch's c10::ScalarType code for a dtype name; throws a TypeError for an unknown name. */
export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) {
    throw new TypeError(`unknown dtype '${String(dtype)}': use one of ${DTYPES.join(', ')}`);
  }
  return code;
}

/** The dtype name of a libtorch c10::ScalarType code; throws a TypeError for a code skipstudio has no name for. */
export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (name === undefined) throw new TypeError(`libtorch dtype code ${code} has no name in skipstudio`);
  return name;
}

/** The typed array that `data()` returns for each dtype (half types widen to float32, bool to uint8). */
export type TypedArrayFor<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends 'float32' | 'bfloat16' | 'float16'
    ? Float32Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : Uint8Array;

/** Any typed array that `data()` or `viewBuffer` returns: the union of `TypedArrayFor` over every dtype. */
export type AnyTypedArray = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** Views a buffer from `toBuffer` as the typed array of its dtype. */
export function viewBuffer(buffer: ArrayBuffer, dtype: DType): AnyTypedArray {
  switch (dtype) {
    case 'float64':
      return new Float64Array(buffer);
    case 'float32':
    case 'bfloat16':
    case 'float16':
      return new Float32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
  }
}

/** The dtype whose element layout matches a typed array, for zero-conversion uploads. */
export function dtypeOfTypedArray(data: ArrayBufferView): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}
