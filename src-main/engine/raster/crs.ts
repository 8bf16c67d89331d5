import type { Crs } from '../scene/types';

/** GeoKey values meaning "user-defined" (no EPSG code). */
const USER_DEFINED = 32767;

/**
 * proj4 definitions for the UTM families we can derive from the EPSG code alone. proj4 ships
 * only EPSG:4326/4269/3857 and WGS 84 UTM; we have no EPSG database offline (no network, no
 * new packages), so we derive what follows a pattern and keep a small table for the rest.
 */
const UTM_FAMILIES: { from: number; to: number; zone: (code: number) => number; south: boolean; datum: string }[] = [
  { from: 32601, to: 32660, zone: (c) => c - 32600, south: false, datum: '+datum=WGS84' },
  { from: 32701, to: 32760, zone: (c) => c - 32700, south: true, datum: '+datum=WGS84' },
  { from: 26901, to: 26923, zone: (c) => c - 26900, south: false, datum: '+datum=NAD83' },
  { from: 25828, to: 25838, zone: (c) => c - 25800, south: false, datum: '+ellps=GRS80 +towgs84=0,0,0,0,0,0,0' },
  // SIRGAS 2000 / UTM zones 11N-22N (31965-31976) and 17S-25S (31977-31985).
  { from: 31965, to: 31976, zone: (c) => c - 31954, south: false, datum: '+ellps=GRS80 +towgs84=0,0,0,0,0,0,0' },
  { from: 31977, to: 31985, zone: (c) => c - 31960, south: true, datum: '+ellps=GRS80 +towgs84=0,0,0,0,0,0,0' },
];

/**
 * Codes that follow no pattern, with the definitions `gdalsrsinfo -o proj4` prints. Covers the
 * shared datasets (e.g. NC State Plane EPSG:3358 of nc-landsat7) and the common geographic CRSs.
 */
const PROJ4_TABLE: Record<number, string> = {
  4326: '+proj=longlat +datum=WGS84 +no_defs',
  4269: '+proj=longlat +datum=NAD83 +no_defs',
  4258: '+proj=longlat +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +no_defs',
  4674: '+proj=longlat +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +no_defs',
  3857: '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs',
  3358: '+proj=lcc +lat_0=33.75 +lon_0=-79 +lat_1=36.1666666666667 +lat_2=34.3333333333333 +x_0=609601.22 +y_0=0 +ellps=GRS80 +units=m +no_defs',
  3035: '+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs',
};

/** The proj4 definition for an EPSG code, when we know it offline. */
export function proj4ForEpsg(epsg: number): string | undefined {
  const table = PROJ4_TABLE[epsg];
  if (table) return table;
  const family = UTM_FAMILIES.find((f) => epsg >= f.from && epsg <= f.to);
  if (!family) return undefined;
  return `+proj=utm +zone=${family.zone(epsg)}${family.south ? ' +south' : ''} ${family.datum} +units=m +no_defs`;
}

/** Parsed GeoKeys as geotiff.js returns them (key name to value). */
export type GeoKeys = Partial<Record<string, unknown>>;

function cleanCitation(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.replace(/\|+$/, '').replace(/\0/g, '').trim();
  return s.length > 0 ? s : undefined;
}

/** The CRS the GeoKeys describe: EPSG code (projected before geographic), proj4 and a name. */
export function crsFromGeoKeys(keys: GeoKeys | null | undefined): Crs | undefined {
  if (!keys) return undefined;
  const projected = typeof keys.ProjectedCSTypeGeoKey === 'number' ? keys.ProjectedCSTypeGeoKey : undefined;
  const geographic = typeof keys.GeographicTypeGeoKey === 'number' ? keys.GeographicTypeGeoKey : undefined;
  const modelType = keys.GTModelTypeGeoKey;
  const code = modelType === 2 ? geographic : (projected ?? geographic);
  const epsg = code !== undefined && code !== USER_DEFINED && code > 0 ? code : undefined;
  const name = cleanCitation(keys.GTCitationGeoKey) ?? cleanCitation(keys.PCSCitationGeoKey) ?? cleanCitation(keys.GeogCitationGeoKey);
  if (epsg === undefined && name === undefined) return undefined;
  const crs: Crs = {};
  if (epsg !== undefined) crs.epsg = epsg;
  const proj4 = epsg !== undefined ? proj4ForEpsg(epsg) : undefined;
  if (proj4) crs.proj4 = proj4;
  if (name) crs.name = name;
  return crs;
}

/** True when two CRSs are the same for grid purposes (same EPSG, or same name/proj4 without EPSG). */
export function sameCrs(a: Crs | undefined, b: Crs | undefined): boolean {
  if (!a || !b) return !a && !b;
  if (a.epsg !== undefined || b.epsg !== undefined) return a.epsg === b.epsg;
  if (a.proj4 || b.proj4) return a.proj4 === b.proj4;
  return a.name === b.name;
}

export function crsLabel(crs: Crs | undefined): string {
  if (!crs) return 'no CRS';
  if (crs.epsg !== undefined) return `EPSG:${crs.epsg}`;
  return crs.name ?? crs.proj4 ?? 'an unnamed CRS';
}
