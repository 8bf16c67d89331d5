import type { SampleType } from '../scene/types';

/** TIFF SampleFormat values. */
export const SAMPLE_FORMAT = { uint: 1, int: 2, float: 3 } as const;

type NumericArrayCtor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export interface SampleTypeSpec {
  type: SampleType;
  /** TIFF SampleFormat tag value. */
  format: number;
  bits: number;
  bytes: number;
  array: NumericArrayCtor;
  /** Smallest and largest representable value (used for saturation checks and clamping). */
  min: number;
  max: number;
  isInteger: boolean;
}

function spec(type: SampleType, format: number, bits: number, array: NumericArrayCtor, min: number, max: number): SampleTypeSpec {
  return { type, format, bits, bytes: bits / 8, array, min, max, isInteger: format !== SAMPLE_FORMAT.float };
}

/** Every sample type we read and write, keyed by name. */
export const SAMPLE_TYPE_SPECS: Record<SampleType, SampleTypeSpec> = {
  uint8: spec('uint8', SAMPLE_FORMAT.uint, 8, Uint8Array, 0, 255),
  int8: spec('int8', SAMPLE_FORMAT.int, 8, Int8Array, -128, 127),
  uint16: spec('uint16', SAMPLE_FORMAT.uint, 16, Uint16Array, 0, 65535),
  int16: spec('int16', SAMPLE_FORMAT.int, 16, Int16Array, -32768, 32767),
  uint32: spec('uint32', SAMPLE_FORMAT.uint, 32, Uint32Array, 0, 4294967295),
  int32: spec('int32', SAMPLE_FORMAT.int, 32, Int32Array, -2147483648, 2147483647),
  float32: spec('float32', SAMPLE_FORMAT.float, 32, Float32Array, -3.4028234663852886e38, 3.4028234663852886e38),
  float64: spec('float64', SAMPLE_FORMAT.float, 64, Float64Array, -Number.MAX_VALUE, Number.MAX_VALUE),
};

/** The sample type of a TIFF (SampleFormat, BitsPerSample) pair, or undefined when we do not support it. */
export function sampleTypeOf(format: number, bits: number): SampleTypeSpec | undefined {
  return Object.values(SAMPLE_TYPE_SPECS).find((s) => s.format === format && s.bits === bits);
}
