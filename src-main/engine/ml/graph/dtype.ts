/** Tensor element types the builder emits, with their ONNX TensorProto codes. */
export const DTYPES = {
  float32: { onnx: 1, bytes: 4 },
  uint8: { onnx: 2, bytes: 1 },
  int8: { onnx: 3, bytes: 1 },
  uint16: { onnx: 4, bytes: 2 },
  int16: { onnx: 5, bytes: 2 },
  int32: { onnx: 6, bytes: 4 },
  int64: { onnx: 7, bytes: 8 },
  bool: { onnx: 9, bytes: 1 },
  float64: { onnx: 11, bytes: 8 },
} as const;

export type DType = keyof typeof DTYPES;
export type FloatDType = 'float32' | 'float64';

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'uint16'
            ? Uint16Array
            : D extends 'int8'
              ? Int8Array
              : Uint8Array;

export type AnyTypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

export function dtypeOfArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int8Array) return 'int8';
  return 'uint8';
}

/** Makes a typed array of `dtype` from plain numbers (bool as 0/1 bytes). */
export function typedArray(dtype: DType, values: ArrayLike<number> | number): AnyTypedArray {
  const src = typeof values === 'number' ? [values] : values;
  switch (dtype) {
    case 'float32':
      return Float32Array.from(src);
    case 'float64':
      return Float64Array.from(src);
    case 'int64':
      return BigInt64Array.from(Array.from(src, (v) => BigInt(Math.trunc(v))));
    case 'int32':
      return Int32Array.from(src);
    case 'int16':
      return Int16Array.from(src);
    case 'uint16':
      return Uint16Array.from(src);
    case 'int8':
      return Int8Array.from(src);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(src);
  }
}
