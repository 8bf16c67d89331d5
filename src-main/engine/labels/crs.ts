import proj4 from 'proj4';
import { FieldMoeError } from '../util/errors';
import type { GeoTransform } from '../scene/types';
import { proj4ForEpsg } from '../raster';
import type { LabelGrid } from './types';
import type { VectorLayer } from './vector';

export type ToPixel = (p: number[]) => [number, number];

/**
 * The function that takes a vertex of `layer` to fractional pixel coordinates (column, row) of
 * the grid: reprojects with proj4 when the layer's CRS differs from the grid's, then applies the
 * inverse geotransform. Assumptions about a missing CRS are pushed to `warnings`.
 */
export function layerToPixel(layer: VectorLayer, grid: LabelGrid, warnings: string[]): ToPixel {
  if (!grid.geoTransform) {
    if (layer.crs) throw new FieldMoeError(layer.file, `has a CRS (${layer.crs.label}) but the scene is not georeferenced; give label coordinates in pixels (column, row) without a CRS`);
    return (p) => [p[0], p[1]];
  }
  const toGrid = worldToPixel(grid.geoTransform, layer.file);
  const source = sourceCrs(layer, warnings);
  if (source === 'grid' || (source.epsg !== undefined && source.epsg === grid.crs?.epsg)) return toGrid;
  const from = source.wkt ?? knownEpsg(source.epsg!, layer.file, 'labels');
  const to = gridProjDef(grid, layer.file);
  let converter: proj4.Converter;
  try {
    converter = proj4(from, to);
  } catch (err) {
    throw new FieldMoeError(layer.file, `cannot reproject from ${source.label} to the scene CRS (${(err as Error).message})`);
  }
  return (p) => {
    const q = converter.forward([p[0], p[1]]);
    return toGrid(q);
  };
}

function sourceCrs(layer: VectorLayer, warnings: string[]): { epsg?: number; wkt?: string; label: string } | 'grid' {
  if (layer.crs) return layer.crs;
  if (layer.defaultCrs === 'grid') {
    warnings.push(`${layer.file}: no .prj; coordinates are taken to be in the scene CRS`);
    return 'grid';
  }
  const lonLat = layer.features.every((f) => [...f.points, ...f.polygons.flat(2)].every((p) => Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90));
  if (!lonLat) {
    warnings.push(`${layer.file}: no "crs" member and coordinates are not longitude/latitude; they are taken to be in the scene CRS`);
    return 'grid';
  }
  return { epsg: 4326, label: 'EPSG:4326 (GeoJSON default)' };
}

function gridProjDef(grid: LabelGrid, file: string): string {
  if (grid.crs?.proj4) return grid.crs.proj4;
  if (grid.crs?.epsg !== undefined) return knownEpsg(grid.crs.epsg, file, 'scene');
  throw new FieldMoeError(file, 'the scene has a geotransform but no CRS, so labels with a CRS cannot be reprojected onto it');
}

/** The offline EPSG table of the raster layer, then proj4's built-ins; others need the file in the scene CRS. */
function knownEpsg(code: number, file: string, whose: string): string {
  const key = `EPSG:${code}`;
  const def = proj4ForEpsg(code);
  if (def) return def;
  if (proj4.defs(key)) return key;
  throw new FieldMoeError(file, `the ${whose} CRS ${key} is not known offline; reproject the labels to the scene CRS first (e.g. ogr2ogr -t_srs <scene CRS>)`);
}

/** Inverse of the GDAL affine geotransform: world (X, Y) to fractional (column, row). */
export function worldToPixel(gt: GeoTransform, file: string): ToPixel {
  const [ox, a, b, oy, d, e] = gt;
  const det = a * e - b * d;
  if (det === 0 || !isFinite(det)) throw new FieldMoeError(file, 'the scene geotransform is not invertible');
  // Plain division for north-up grids keeps the arithmetic identical to gdal_rasterize's.
  if (b === 0 && d === 0) return (p) => [(p[0] - ox) / a, (p[1] - oy) / e];
  return (p) => {
    const dx = p[0] - ox;
    const dy = p[1] - oy;
    return [(e * dx - b * dy) / det, (-d * dx + a * dy) / det];
  };
}
