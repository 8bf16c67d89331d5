import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FieldMoeError } from '../util/errors';
import { pickClassValues, type Ring, type VectorFeature, type VectorLayer } from './vector';

/**
 * A small ESRI shapefile reader for labels: Point, MultiPoint and Polygon with their Z and M
 * variants (Z/M values are ignored), attributes from the .dbf, CRS from the .prj (WKT).
 * The .shp is read sequentially, so a missing .shx is tolerated; the .dbf is required because
 * the class lives there.
 */
export async function readShapefileLabels(file: string, classProperty?: string): Promise<VectorLayer> {
  const sibling = (ext: string) => siblingFile(file, ext);
  const dbfPath = sibling('.dbf');
  if (!dbfPath) throw new FieldMoeError(file, 'the .dbf beside it is missing (a shapefile needs .shp, .shx and .dbf; the class is read from the .dbf)');
  const [shp, dbf] = await Promise.all([readFile(file), readFile(dbfPath)]);
  const geometries = readShp(file, shp);
  const records = readDbf(dbfPath, dbf, decoderFor(sibling('.cpg')));
  if (records.length !== geometries.length) {
    throw new FieldMoeError(file, `has ${geometries.length} shapes but its .dbf has ${records.length} records`);
  }
  const kept = geometries.map((g, i) => ({ g, r: records[i], i })).filter((e) => e.g !== null && e.r !== null);
  if (kept.length === 0) throw new FieldMoeError(file, 'has no shapes');
  const picked = pickClassValues(kept.map((e) => e.r!), classProperty);
  if ('problem' in picked) throw new FieldMoeError(file, picked.problem);
  const features: VectorFeature[] = kept.map((e, k) => ({ index: e.i, classValue: picked.values[k], ...e.g! }));
  const prj = sibling('.prj');
  const wkt = prj ? (await readFile(prj, 'utf8')).trim() : undefined;
  return { file, features, crs: wkt ? { wkt, label: `${path.basename(prj!)} (${wkt.slice(0, 40)}...)` } : undefined, defaultCrs: 'grid', warnings: picked.warnings };
}

/** Finds `<stem>.dbf` (or .DBF...) beside the .shp. */
function siblingFile(shpPath: string, ext: string): string | undefined {
  const stem = shpPath.replace(/\.shp$/i, '');
  return [stem + ext, stem + ext.toUpperCase()].find((p) => existsSync(p));
}

type Parts = Pick<VectorFeature, 'points' | 'polygons'> | null;

/** Shape readers by shape type; the Z/M variants share the X/Y layout of their base type. */
const SHAPE_READERS: Record<number, (v: DataView, o: number) => Parts> = {
  0: () => null,
  1: (v, o) => ({ points: [[v.getFloat64(o + 4, true), v.getFloat64(o + 12, true)]], polygons: [] }),
  5: (v, o) => ({ points: [], polygons: [readRings(v, o)] }),
  8: (v, o) => ({ points: readPoints(v, o + 40, v.getInt32(o + 36, true)), polygons: [] }),
};
for (const [variant, base] of [[11, 1], [21, 1], [15, 5], [25, 5], [18, 8], [28, 8]]) SHAPE_READERS[variant] = SHAPE_READERS[base];

const SHAPE_NAMES: Record<number, string> = { 3: 'PolyLine', 13: 'PolyLineZ', 23: 'PolyLineM', 31: 'MultiPatch' };

function readShp(file: string, buf: Buffer): Parts[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 100 || v.getInt32(0, false) !== 9994) throw new FieldMoeError(file, 'not an ESRI shapefile (bad .shp header)');
  const fileLength = Math.min(buf.length, v.getInt32(24, false) * 2);
  const shapes: Parts[] = [];
  for (let o = 100; o + 8 <= fileLength; ) {
    const contentLength = v.getInt32(o + 4, false) * 2;
    const content = o + 8;
    if (content + contentLength > buf.length || contentLength < 4) throw new FieldMoeError(file, `truncated record ${shapes.length}`);
    const type = v.getInt32(content, true);
    const reader = SHAPE_READERS[type];
    if (!reader) throw new FieldMoeError(file, `shape type ${SHAPE_NAMES[type] ?? type} is not supported for labels (use points or polygons)`);
    try {
      shapes.push(reader(v, content));
    } catch {
      throw new FieldMoeError(file, `malformed record ${shapes.length}`);
    }
    o = content + contentLength;
  }
  return shapes;
}

function readPoints(v: DataView, o: number, n: number): number[][] {
  const pts: number[][] = [];
  for (let i = 0; i < n; i++) pts.push([v.getFloat64(o + 16 * i, true), v.getFloat64(o + 16 * i + 8, true)]);
  return pts;
}

/** Polygon record: box, numParts, numPoints, part starts, points. All rings of a record are
 * filled together with the even-odd rule, which makes the inner rings holes. */
function readRings(v: DataView, o: number): Ring[] {
  const numParts = v.getInt32(o + 36, true);
  const numPoints = v.getInt32(o + 40, true);
  const starts = Array.from({ length: numParts }, (_, i) => v.getInt32(o + 44 + 4 * i, true));
  const pts = readPoints(v, o + 44 + 4 * numParts, numPoints);
  return starts.map((s, i) => pts.slice(s, i + 1 < numParts ? starts[i + 1] : numPoints));
}

function decoderFor(cpgPath: string | undefined): TextDecoder {
  // Without a .cpg, dBASE files are usually latin-1; GDAL writes a .cpg saying UTF-8.
  const label = cpgPath ? readCpg(cpgPath) : 'latin1';
  try {
    return new TextDecoder(label);
  } catch {
    return new TextDecoder('latin1');
  }
}

function readCpg(p: string): string {
  const text = readFileSync(p, 'utf8').trim();
  return /^(utf-?8|65001)$/i.test(text) ? 'utf-8' : text || 'latin1';
}

interface DbfField {
  name: string;
  type: string;
  offset: number;
  length: number;
}

/** dBASE III records as plain objects; deleted records become null. */
function readDbf(file: string, buf: Buffer, decoder: TextDecoder): (Record<string, unknown> | null)[] {
  if (buf.length < 32) throw new FieldMoeError(file, 'not a dBASE file (too short)');
  const count = buf.readUInt32LE(4);
  const headerLength = buf.readUInt16LE(8);
  const recordLength = buf.readUInt16LE(10);
  const fields: DbfField[] = [];
  for (let o = 32, offset = 1; o + 32 <= headerLength && buf[o] !== 0x0d; o += 32) {
    const nameEnd = buf.indexOf(0, o);
    const name = buf.toString('latin1', o, nameEnd >= 0 && nameEnd < o + 11 ? nameEnd : o + 11);
    const length = buf[o + 16];
    fields.push({ name, type: String.fromCharCode(buf[o + 11]), offset, length });
    offset += length;
  }
  if (headerLength + count * recordLength > buf.length) throw new FieldMoeError(file, 'truncated .dbf');
  const records: (Record<string, unknown> | null)[] = [];
  for (let r = 0; r < count; r++) {
    const base = headerLength + r * recordLength;
    if (buf[base] === 0x2a) {
      records.push(null);
      continue;
    }
    const rec: Record<string, unknown> = {};
    for (const f of fields) rec[f.name] = dbfValue(f.type, decoder.decode(buf.subarray(base + f.offset, base + f.offset + f.length)).trim());
    records.push(rec);
  }
  return records;
}

function dbfValue(type: string, text: string): unknown {
  if (type === 'N' || type === 'F') return text === '' ? null : Number(text);
  if (type === 'L') return /^[YyTt]$/.test(text) ? true : /^[NnFf]$/.test(text) ? false : null;
  return text;
}
