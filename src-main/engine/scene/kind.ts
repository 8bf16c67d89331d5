import type { RasterInfo, SensorKind } from './types';

/**
 * Guesses a sensor kind from the raster alone, for scenes given as a bare GeoTIFF. Rules run in
 * order; the first that matches wins, and 'other' is the honest default.
 */
const KIND_RULES: { kind: SensorKind; matches: (r: RasterInfo) => boolean }[] = [
  { kind: 'sar', matches: (r) => r.bands.some((b) => /\b(VV|VH|HH|HV)\b/i.test(b.name)) },
  // a file named for what it holds (houston_dsm.tif, lidar_2013.tif), whatever its band count
  { kind: 'lidar', matches: (r) => fileWords(r.path).some((w) => /^(lidar|als|dsm|ndsm|chm)\d*$/i.test(w)) },
  { kind: 'hyperspectral', matches: (r) => r.bandCount >= 30 },
  { kind: 'rgb', matches: (r) => r.bandCount === 3 && r.sampleType === 'uint8' },
  { kind: 'multispectral', matches: (r) => r.bandCount >= 4 },
  { kind: 'dem', matches: (r) => r.bandCount === 1 && r.bands.some((b) => /elev|dem|dsm|dtm|height/i.test(b.name)) },
  { kind: 'dem', matches: (r) => r.bandCount === 1 && fileWords(r.path).some((w) => /^(dem|dtm|elev|elevation|height|srtm)\d*$/i.test(w)) },
];

/** Words of a file's name without its extension: houston_dsm_2013.tif gives houston, dsm, 2013. */
function fileWords(file: string): string[] {
  return (file.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '').split(/[^a-z0-9]+/i).filter(Boolean);
}

export function guessSensorKind(raster: RasterInfo): SensorKind {
  return KIND_RULES.find((rule) => rule.matches(raster))?.kind ?? 'other';
}
