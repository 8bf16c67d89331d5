import type { Crs, GeoTransform, Scene, SensorKind } from './types';

/** JSON has no NaN: a NaN nodata (float rasters) is written as the string "NaN". */
export type JsonNodata = number | 'NaN' | null;

export function jsonNodata(nodata: number | undefined): JsonNodata {
  if (nodata === undefined) return null;
  return Number.isNaN(nodata) ? 'NaN' : nodata;
}

export interface SensorDescription {
  id: string;
  kind: SensorKind;
  file: string;
  failed: boolean;
  resampled: boolean;
  width: number;
  height: number;
  bandCount: number;
  sampleType: string;
  nodata: JsonNodata;
  compression: string;
  blockSize: [number, number];
  crs: Crs | null;
  geoTransform: GeoTransform | null;
  bands: { index: number; name: string; wavelengthNm: number | null }[];
  failureRegions: number;
}

export interface SceneDescription {
  source: string;
  width: number;
  height: number;
  crs: Crs | null;
  geoTransform: GeoTransform | null;
  referenceSensor: string;
  sensors: SensorDescription[];
  failureRegions: { sensor: string; type: string }[];
}

/** A JSON-able summary of a scene for `fieldmoe info` and the app's scene panel. */
export function describeScene(scene: Scene): SceneDescription {
  const i = scene.info;
  return {
    source: i.source,
    width: i.width,
    height: i.height,
    crs: i.crs ?? null,
    geoTransform: i.geoTransform ?? null,
    referenceSensor: i.referenceSensor,
    sensors: i.sensors.map((s) => ({
      id: s.id,
      kind: s.kind,
      file: s.file,
      failed: s.failed,
      resampled: s.resampled,
      width: s.raster.width,
      height: s.raster.height,
      bandCount: s.raster.bandCount,
      sampleType: s.raster.sampleType,
      nodata: jsonNodata(s.raster.nodata),
      compression: s.raster.compression,
      blockSize: [s.raster.blockWidth, s.raster.blockHeight],
      crs: s.raster.crs ?? null,
      geoTransform: s.raster.geoTransform ?? null,
      bands: s.bands.map((b) => ({ index: b.index, name: b.name, wavelengthNm: b.wavelengthNm ?? null })),
      failureRegions: i.failureRegions.filter((r) => r.sensor === s.id).length,
    })),
    failureRegions: i.failureRegions.map((r) => ({ sensor: r.sensor, type: r.geometry.type })),
  };
}
