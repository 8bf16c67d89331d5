import type { ClassValue } from './types';

/** A ring as a flat list of [x, y] vertices (closing vertex optional). */
export type Ring = number[][];

/**
 * One labelled feature as read from a vector file, before reprojection. Polygons keep their
 * rings grouped per part; rasterising each part with the even-odd rule turns holes into holes.
 */
export interface VectorFeature {
  /** 0-based position in the file: the group id for the validation split. */
  index: number;
  classValue: ClassValue;
  points: number[][];
  polygons: Ring[][];
}

/** What a vector file declares about its coordinates. */
export interface VectorCrs {
  epsg?: number;
  /** WKT (from a .prj) that proj4 can parse. */
  wkt?: string;
  /** For messages. */
  label: string;
}

export interface VectorLayer {
  file: string;
  features: VectorFeature[];
  /** Undefined when the file does not say (GeoJSON without `crs`, shapefile without .prj). */
  crs?: VectorCrs;
  /** How a missing CRS is read: GeoJSON means lon/lat (RFC 7946), a shapefile the scene's CRS. */
  defaultCrs: 'lonlat' | 'grid';
  /** About the class property chosen (pickClassValues). */
  warnings: string[];
}

/**
 * Which property holds the class when the caller names none: the first of these that every
 * feature has (case-insensitive). Names come before ids, so a file with `label` and
 * `class_id` (the shared data) gives named classes; classes.json links names and ids.
 */
export const CLASS_PROPERTY_CANDIDATES = ['class', 'classname', 'class_name', 'label', 'landcover', 'land_cover', 'lulc', 'category', 'name', 'class_id', 'classid', 'id', 'value'];

/** Candidates that often number the features rather than their classes: chosen, they are named in a warning. */
const GENERIC_PROPERTIES = new Set(['id', 'value']);

/**
 * Picks the class value of every feature from its properties. Returns a problem message (for a
 * FieldMoeError naming the file) instead of throwing so both readers phrase it the same way.
 */
export function pickClassValues(
  properties: readonly Record<string, unknown>[],
  classProperty: string | undefined,
): { values: ClassValue[]; warnings: string[] } | { problem: string } {
  const keysOf = (p: Record<string, unknown>) => Object.keys(p ?? {});
  const find = (p: Record<string, unknown>, name: string) => keysOf(p).find((k) => k.toLowerCase() === name.toLowerCase());
  const warnings: string[] = [];
  let chosen = classProperty;
  if (!chosen) {
    const holders = (c: string) => properties.filter((p) => find(p, c) !== undefined).length;
    chosen = CLASS_PROPERTY_CANDIDATES.find((c) => properties.length > 0 && holders(c) === properties.length);
    if (!chosen) {
      const available = [...new Set(properties.flatMap(keysOf))].join(', ') || 'none';
      return { problem: `no class property found in every feature (tried ${CLASS_PROPERTY_CANDIDATES.join(', ')}; properties: ${available}); name one with --class-property` };
    }
    // a better-ranked candidate that only some features carry was passed over: say so
    const partial = CLASS_PROPERTY_CANDIDATES.slice(0, CLASS_PROPERTY_CANDIDATES.indexOf(chosen)).find((c) => holders(c) > 0);
    if (partial) warnings.push(`property '${partial}' is missing from ${properties.length - holders(partial)} of ${properties.length} features, so classes come from '${chosen}'; name the class property with --class-property`);
    else if (GENERIC_PROPERTIES.has(chosen)) warnings.push(`classes come from property '${chosen}', which may number the features rather than their classes; name the class property with --class-property if so`);
  }
  const values: ClassValue[] = [];
  for (let i = 0; i < properties.length; i++) {
    const key = find(properties[i], chosen);
    const v = key === undefined ? undefined : properties[i][key];
    if (key === undefined) {
      return { problem: `class property '${chosen}' not found in feature ${i} (properties: ${keysOf(properties[i]).join(', ') || 'none'})` };
    }
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) values.push(v);
    else if (typeof v === 'string' && /^\s*\d+\s*$/.test(v) && Number(v) > 0) values.push(Number(v));
    else if (typeof v === 'string' && v.trim() !== '') values.push(v.trim());
    else return { problem: `feature ${i} has no usable class in '${chosen}' (${JSON.stringify(v)}; expected a name or a positive integer id)` };
  }
  return { values, warnings };
}
