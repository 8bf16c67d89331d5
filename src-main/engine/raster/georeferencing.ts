import type { GeoTransform, RawGeoreferencing } from '../scene/types';

const KEY = { GTModelType: 1024, GTRasterType: 1025, GeographicType: 2048, ProjectedCSType: 3072 } as const;
const MODEL_PROJECTED = 1;
const MODEL_GEOGRAPHIC = 2;
const RASTER_PIXEL_IS_AREA = 1;

/**
 * Minimal GeoTIFF tags for a grid given by a GDAL geotransform and an EPSG code, for outputs that
 * have no input file to copy from (synthetic scenes, benchmarks, tests). EPSG codes 4000-4999 are
 * geographic CRSs (EPSG's numbering convention); others are treated as projected.
 */
export function georeferencingFromGeoTransform(gt: GeoTransform, epsg?: number): RawGeoreferencing {
  const geo: RawGeoreferencing = {};
  if (gt[2] === 0 && gt[4] === 0) {
    geo.modelPixelScale = [gt[1], -gt[5], 0];
    geo.modelTiepoint = [0, 0, 0, gt[0], gt[3], 0];
  } else {
    geo.modelTransformation = [gt[1], gt[2], 0, gt[0], gt[4], gt[5], 0, gt[3], 0, 0, 0, 0, 0, 0, 0, 1];
  }
  if (epsg !== undefined) {
    const geographic = epsg >= 4000 && epsg < 5000;
    const keys: [number, number][] = [
      [KEY.GTModelType, geographic ? MODEL_GEOGRAPHIC : MODEL_PROJECTED],
      [KEY.GTRasterType, RASTER_PIXEL_IS_AREA],
      [geographic ? KEY.GeographicType : KEY.ProjectedCSType, epsg],
    ];
    geo.geoKeyDirectory = [1, 1, 0, keys.length, ...keys.flatMap(([k, v]) => [k, 0, 1, v])];
  }
  return geo;
}
