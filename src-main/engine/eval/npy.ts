import { readFile } from 'node:fs/promises';
import { FieldMoeError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';

/** NumPy arrays we exchange with Python tools and read from the shared pixel sets. */
export type NpyArray = Float32Array | Float64Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

interface NpyType {
  descr: string;
  make: (buf: ArrayBuffer, offset: number, length: number) => NpyArray;
  bytes: number;
}

/** Little-endian dtypes by NumPy descr; typed arrays are little-endian on every platform we ship. */
const NPY_TYPES: NpyType[] = [
  { descr: '<f4', bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  { descr: '<f8', bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  { descr: '|u1', bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  { descr: '<i2', bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  { descr: '<u2', bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  { descr: '<i4', bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
];

const CTOR_DESCR = new Map<unknown, string>([
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Uint8Array, '|u1'],
  [Int16Array, '<i2'],
  [Uint16Array, '<u2'],
  [Int32Array, '<i4'],
]);

export interface Npy {
  shape: number[];
  data: NpyArray;
}

/**
 * Reads a .npy (format 1.0-3.0) of one of the NPY_TYPES dtypes; Fortran-order arrays (as
 * MATLAB-derived files often are, e.g. houston2013-pixels) are returned in C order.
 */
export async function readNpy(file: string): Promise<Npy> {
  const buf = await readFile(file);
  if (buf.length < 10 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new FieldMoeError(file, 'not a NumPy .npy file');
  const major = buf[6];
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const type = NPY_TYPES.find((t) => t.descr === descr || (t.bytes === 1 && descr === '<u1'));
  if (!type || shapeText === undefined) throw new FieldMoeError(file, `unsupported .npy dtype ${descr ?? '?'} (use float32/64, uint8, int16, uint16 or int32)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (buf.length < offset + count * type.bytes) throw new FieldMoeError(file, 'truncated .npy file');
  // Copy into an aligned buffer: the header length need not be a multiple of the element size.
  const aligned = buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + count * type.bytes);
  const data = type.make(aligned, 0, count);
  return { shape, data: fortran ? fortranToC(data, shape) : data };
}

/** C-order copy of column-major `data` of `shape` (the first axis varies fastest in the file). */
function fortranToC(data: NpyArray, shape: readonly number[]): NpyArray {
  if (shape.length < 2) return data;
  const out = new (data.constructor as new (n: number) => NpyArray)(data.length);
  const rank = shape.length;
  const fStride = new Array<number>(rank);
  fStride[0] = 1;
  for (let a = 1; a < rank; a++) fStride[a] = fStride[a - 1] * shape[a - 1];
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < data.length; i++) {
    let f = 0;
    for (let a = 0; a < rank; a++) f += index[a] * fStride[a];
    out[i] = data[f];
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

/** Writes a C-order .npy (format 1.0), atomically. */
export async function writeNpy(file: string, data: NpyArray, shape: readonly number[]): Promise<void> {
  const descr = CTOR_DESCR.get(data.constructor);
  if (!descr) throw new FieldMoeError(file, 'unsupported array type for .npy');
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new FieldMoeError(file, `shape ${shape.join('x')} does not match ${data.length} values`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so the data starts on a 64-byte boundary, newline-terminated, as NumPy does.
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64 || 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await writeFileAtomic(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}
