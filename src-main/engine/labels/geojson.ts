import { readFile } from 'node:fs/promises';
import { FieldMoeError } from '../util/errors';
import { pickClassValues, type Ring, type VectorCrs, type VectorFeature, type VectorLayer } from './vector';

type Geometry = { type: string; coordinates?: unknown; geometries?: Geometry[] };
type GeometryParts = Pick<VectorFeature, 'points' | 'polygons'>;

/** Reads a GeoJSON FeatureCollection (or single Feature) of points/polygons with a class property. */
export async function readGeoJsonLabels(file: string, classProperty?: string): Promise<VectorLayer> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new FieldMoeError(file, `not valid GeoJSON (${(err as Error).message.split('\n')[0]})`);
  }
  const rawFeatures = doc?.type === 'FeatureCollection' ? doc.features : doc?.type === 'Feature' ? [doc] : undefined;
  if (!Array.isArray(rawFeatures)) throw new FieldMoeError(file, 'not a GeoJSON FeatureCollection or Feature');
  if (rawFeatures.length === 0) throw new FieldMoeError(file, 'has no features');
  const geometries = rawFeatures.map((f, i) => {
    try {
      return geometryParts((f as { geometry?: Geometry })?.geometry);
    } catch (err) {
      throw new FieldMoeError(file, `feature ${i}: ${(err as Error).message}`);
    }
  });
  const picked = pickClassValues(rawFeatures.map((f) => (f as { properties?: Record<string, unknown> }).properties ?? {}), classProperty);
  if ('problem' in picked) throw new FieldMoeError(file, picked.problem);
  const features = geometries.map((g, index) => ({ index, classValue: picked.values[index], ...g }));
  return { file, features, crs: geoJsonCrs(file, doc.crs), defaultCrs: 'lonlat', warnings: picked.warnings };
}

const GEOMETRY_READERS: Record<string, (c: unknown) => GeometryParts> = {
  Point: (c) => ({ points: [position(c)], polygons: [] }),
  MultiPoint: (c) => ({ points: list(c).map(position), polygons: [] }),
  Polygon: (c) => ({ points: [], polygons: [rings(c)] }),
  MultiPolygon: (c) => ({ points: [], polygons: list(c).map(rings) }),
};

function geometryParts(g: Geometry | undefined): GeometryParts {
  if (!g || typeof g !== 'object') throw new Error('has no geometry');
  if (g.type === 'GeometryCollection') {
    const parts = (g.geometries ?? []).map(geometryParts);
    return { points: parts.flatMap((p) => p.points), polygons: parts.flatMap((p) => p.polygons) };
  }
  const read = GEOMETRY_READERS[g.type];
  if (!read) throw new Error(`geometry type ${g.type} is not supported (use Point, MultiPoint, Polygon or MultiPolygon)`);
  return read(g.coordinates);
}

function list(c: unknown): unknown[] {
  if (!Array.isArray(c)) throw new Error('malformed coordinates');
  return c;
}

function position(c: unknown): number[] {
  const p = list(c);
  if (p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number' || !isFinite(p[0]) || !isFinite(p[1])) {
    throw new Error('malformed coordinates');
  }
  return [p[0], p[1]];
}

function rings(c: unknown): Ring[] {
  const rs = list(c).map((r) => list(r).map(position));
  if (rs.length === 0 || rs.some((r) => r.length < 3)) throw new Error('polygon ring with fewer than 3 positions');
  return rs;
}

/** GeoJSON 2008 `crs` member: {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3358"}}. */
function geoJsonCrs(file: string, crs: unknown): VectorCrs | undefined {
  if (crs === undefined || crs === null) return undefined;
  const name = (crs as { properties?: { name?: unknown } })?.properties?.name;
  if (typeof name !== 'string') throw new FieldMoeError(file, 'has a "crs" member without a name; remove it or use {"type":"name","properties":{"name":"EPSG:<code>"}}');
  if (/CRS84$/i.test(name)) return { epsg: 4326, label: name };
  const m = /EPSG:(?:[\d.]*:)?(\d+)$/i.exec(name);
  if (!m) throw new FieldMoeError(file, `unsupported CRS name '${name}' (expected an EPSG code or CRS84)`);
  return { epsg: Number(m[1]), label: `EPSG:${m[1]}` };
}
