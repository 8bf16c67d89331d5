/**
 * safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian tensor bytes. Small enough to own: we read
 * what checkpoints from other tools hold (half precision widened to float32 on read) and write
 * what our models hold, atomically.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic';
import { FieldMoeError } from '../../util/errors';
import type { AnyTypedArray, DType } from '../graph/dtype';

/** A tensor as stored: its dtype, shape and a typed array of its values. */
export interface StoredTensor {
  dtype: DType;
  shape: number[];
  data: AnyTypedArray;
}

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  /** The `__metadata__` string map (empty when the file has none). */
  metadata: Record<string, string>;
}

/** How one safetensors dtype decodes (and, for those we write, encodes). */
interface StDType {
  bytes: number;
  /** The dtype it decodes to: F16 and BF16 widen to float32. */
  dtype: DType;
  decode(bytes: Uint8Array, count: number): AnyTypedArray;
}

/** Copies bytes into a fresh, aligned buffer and views it as `ctor` (a Node Buffer's slice would share its pool). */
function view<T>(ctor: new (b: ArrayBuffer) => T) {
  return (bytes: Uint8Array) => new ctor(new Uint8Array(bytes).buffer);
}

const ST_DTYPES: Record<string, StDType> = {
  F32: { bytes: 4, dtype: 'float32', decode: view(Float32Array) },
  F64: { bytes: 8, dtype: 'float64', decode: view(Float64Array) },
  I64: { bytes: 8, dtype: 'int64', decode: view(BigInt64Array) },
  I32: { bytes: 4, dtype: 'int32', decode: view(Int32Array) },
  U8: { bytes: 1, dtype: 'uint8', decode: view(Uint8Array) },
  BOOL: { bytes: 1, dtype: 'bool', decode: view(Uint8Array) },
  F16: { bytes: 2, dtype: 'float32', decode: (b, n) => widen(b, n, halfToFloat) },
  BF16: { bytes: 2, dtype: 'float32', decode: (b, n) => widen(b, n, (h) => bf16ToFloat(h)) },
};

/** The safetensors name we write for each of our dtypes. */
const WRITE_NAME: Partial<Record<DType, string>> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };

function widen(bytes: Uint8Array, count: number, f: (half: number) => number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = f(dv.getUint16(2 * i, true));
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parses safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const bad = (problem: string) => new FieldMoeError(source, `not a valid safetensors file: ${problem}`);
  if (bytes.length < 8) throw bad('shorter than its 8-byte header length');
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw bad(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    throw bad(`header is not JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const data = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(entry, source);
      continue;
    }
    tensors.set(name, decodeEntry(name, entry, data, source));
  }
  return { tensors, metadata };
}

function checkMetadata(entry: unknown, source: string): Record<string, string> {
  if (!entry || typeof entry !== 'object' || Object.values(entry).some((v) => typeof v !== 'string'))
    throw new FieldMoeError(source, '__metadata__ must map strings to strings');
  return { ...(entry as Record<string, string>) };
}

function decodeEntry(name: string, entry: unknown, data: Uint8Array, source: string): StoredTensor {
  const bad = (problem: string) => new FieldMoeError(source, `tensor ${name}: ${problem}`);
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const st = typeof e?.dtype === 'string' ? ST_DTYPES[e.dtype] : undefined;
  if (!st) throw bad(`unsupported dtype ${JSON.stringify(e?.dtype)} (supported: ${Object.keys(ST_DTYPES).join(', ')})`);
  const isInts = (v: unknown, n?: number): v is number[] =>
    Array.isArray(v) && (n === undefined || v.length === n) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!isInts(e.shape)) throw bad(`shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
  if (!isInts(e.data_offsets, 2)) throw bad(`data_offsets ${JSON.stringify(e.data_offsets)} is not [begin, end]`);
  const [begin, end] = e.data_offsets;
  const n = count(e.shape);
  if (end < begin || end > data.length) throw bad(`byte range [${begin}, ${end}) lies outside the data (${data.length} bytes)`);
  if (end - begin !== n * st.bytes) throw bad(`holds ${end - begin} bytes but ${e.dtype} of shape [${e.shape.join(',')}] needs ${n * st.bytes}`);
  return { dtype: st.dtype, shape: [...e.shape], data: st.decode(data.subarray(begin, end), n) };
}

/** Encodes tensors (in the given order) and metadata as safetensors bytes. */
export function encodeSafetensors(tensors: Iterable<[string, StoredTensor]>, metadata: Record<string, string> = {}, subject = 'safetensors'): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new FieldMoeError(subject, 'a tensor cannot be named __metadata__');
    const stName = WRITE_NAME[t.dtype];
    if (!stName) throw new FieldMoeError(subject, `tensor ${name}: cannot write dtype ${t.dtype}`);
    if (count(t.shape) !== t.data.length)
      throw new FieldMoeError(subject, `tensor ${name}: shape [${t.shape.join(',')}] needs ${count(t.shape)} values, got ${t.data.length}`);
    const blob = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: stName, shape: t.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (readers may map it directly).
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new FieldMoeError(file, `cannot read weights (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  return decodeSafetensors(bytes, file);
}

/** Writes tensors to `file` through a temp file and a rename, so a failed write loses nothing. */
export async function writeSafetensors(
  file: string,
  tensors: Iterable<[string, StoredTensor]> | ReadonlyMap<string, StoredTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : [...tensors];
  await writeFileAtomic(file, encodeSafetensors(entries, metadata, file));
}

/**
 * Takes tensor `name` from a loaded file and checks that it has the dtype and shape a model
 * expects, so a checkpoint for another architecture fails with a line naming both.
 */
export function expectTensor(file: SafetensorsFile, source: string, name: string, dtype: DType, shape: readonly number[]): StoredTensor {
  const t = file.tensors.get(name);
  if (!t) throw new FieldMoeError(source, `has no tensor ${name}`);
  if (t.dtype !== dtype) throw new FieldMoeError(source, `tensor ${name} is ${t.dtype}, expected ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new FieldMoeError(source, `tensor ${name} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
  return t;
}
