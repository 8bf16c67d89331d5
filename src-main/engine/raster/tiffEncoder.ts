/**
 * Encodes TIFF / BigTIFF headers and IFDs (little-endian). Kept apart from the streaming writer so
 * the byte layout lives in one small place.
 */

export const FIELD_TYPE = { ASCII: 2, SHORT: 3, LONG: 4, DOUBLE: 12, LONG8: 16 } as const;
type FieldType = (typeof FIELD_TYPE)[keyof typeof FIELD_TYPE];

const FIELD_SIZE: Record<FieldType, number> = { 2: 1, 3: 2, 4: 4, 12: 8, 16: 8 };

export interface TiffField {
  tag: number;
  type: FieldType;
  /** Numbers for numeric types, a string for ASCII (NUL-terminated on write). */
  values: readonly number[] | string;
}

export interface TiffFlavour {
  bigTiff: boolean;
  headerSize: number;
  entrySize: number;
  countSize: number;
  offsetSize: number;
}

export function tiffFlavour(bigTiff: boolean): TiffFlavour {
  return bigTiff
    ? { bigTiff, headerSize: 16, entrySize: 20, countSize: 8, offsetSize: 8 }
    : { bigTiff, headerSize: 8, entrySize: 12, countSize: 4, offsetSize: 4 };
}

/** The header with a first-IFD offset (written as a placeholder first, patched at the end). */
export function encodeHeader(f: TiffFlavour, firstIfdOffset: number): Buffer {
  const b = Buffer.alloc(f.headerSize);
  b.write('II', 0, 'latin1');
  if (f.bigTiff) {
    b.writeUInt16LE(43, 2);
    b.writeUInt16LE(8, 4);
    b.writeUInt16LE(0, 6);
    b.writeBigUInt64LE(BigInt(firstIfdOffset), 8);
  } else {
    b.writeUInt16LE(42, 2);
    b.writeUInt32LE(firstIfdOffset, 4);
  }
  return b;
}

function fieldBytes(field: TiffField): Buffer {
  if (field.type === FIELD_TYPE.ASCII) {
    const s = field.values as string;
    return Buffer.from(s.endsWith('\0') ? s : `${s}\0`, 'latin1');
  }
  const values = field.values as readonly number[];
  const size = FIELD_SIZE[field.type];
  const b = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    const at = i * size;
    if (field.type === FIELD_TYPE.SHORT) b.writeUInt16LE(v, at);
    else if (field.type === FIELD_TYPE.LONG) b.writeUInt32LE(v, at);
    else if (field.type === FIELD_TYPE.DOUBLE) b.writeDoubleLE(v, at);
    else b.writeBigUInt64LE(BigInt(v), at);
  });
  return b;
}

function writeUInt(b: Buffer, value: number, at: number, size: number): void {
  if (size === 8) b.writeBigUInt64LE(BigInt(value), at);
  else b.writeUInt32LE(value, at);
}

/**
 * One IFD placed at `ifdOffset`, followed by the values too large to sit in their entries.
 * Returns the bytes to write there; the next-IFD pointer is 0 (a single image).
 */
export function encodeIfd(f: TiffFlavour, fields: readonly TiffField[], ifdOffset: number): Buffer {
  const sorted = [...fields].sort((a, b) => a.tag - b.tag);
  const countBytes = f.bigTiff ? 8 : 2;
  const ifdSize = countBytes + sorted.length * f.entrySize + f.offsetSize;
  const ifd = Buffer.alloc(ifdSize);
  const extra: Buffer[] = [];
  let extraOffset = ifdOffset + ifdSize;
  if (f.bigTiff) ifd.writeBigUInt64LE(BigInt(sorted.length), 0);
  else ifd.writeUInt16LE(sorted.length, 0);
  sorted.forEach((field, i) => {
    const at = countBytes + i * f.entrySize;
    const data = fieldBytes(field);
    const count = field.type === FIELD_TYPE.ASCII ? data.length : (field.values as readonly number[]).length;
    ifd.writeUInt16LE(field.tag, at);
    ifd.writeUInt16LE(field.type, at + 2);
    writeUInt(ifd, count, at + 4, f.countSize);
    const valueAt = at + 4 + f.countSize;
    if (data.length <= f.offsetSize) {
      data.copy(ifd, valueAt);
    } else {
      writeUInt(ifd, extraOffset, valueAt, f.offsetSize);
      const padded = data.length % 2 === 1 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
      extra.push(padded);
      extraOffset += padded.length;
    }
  });
  writeUInt(ifd, 0, ifdSize - f.offsetSize, f.offsetSize);
  return Buffer.concat([ifd, ...extra]);
}
