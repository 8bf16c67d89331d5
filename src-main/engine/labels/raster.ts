import { crsLabel, openRaster, sameCrs } from '../raster';
import { FieldMoeError } from '../util/errors';
import { throwIfCancelled } from '../jobs/job';
import type { GeoTransform } from '../scene/types';
import type { LabelGrid } from './types';

/** Labelled pixels of a label raster, in raster order, with their raw values (ids). */
export interface RasterLabels {
  x: number[];
  y: number[];
  value: number[];
  /** The raster's nodata value, read as unlabelled. */
  nodata?: number;
  /** Pixels of negative values (not nodata), read as unlabelled: class ids are positive. */
  negative: number;
}

/** Rows read at a time: keeps memory flat on large label rasters. */
const STRIP_ROWS = 256;

/**
 * Reads a single-band integer label raster (0 = unlabelled, also its nodata) that lies on the
 * scene grid. Label rasters are not resampled: a different size or geotransform is an error
 * that says so, because nearest-neighbour resampling of labels silently moves class borders.
 */
export async function readLabelRaster(file: string, grid: LabelGrid, signal?: AbortSignal): Promise<RasterLabels> {
  const raster = await openRaster(file);
  try {
    const { info } = raster;
    if (info.bandCount !== 1) throw new FieldMoeError(file, `a label raster needs 1 band, this one has ${info.bandCount}`);
    if (info.sampleType.startsWith('float')) throw new FieldMoeError(file, `label rasters hold integer class ids, this one is ${info.sampleType}`);
    if (info.width !== grid.width || info.height !== grid.height) {
      throw new FieldMoeError(file, `is ${info.width}x${info.height} px but the scene grid is ${grid.width}x${grid.height}; resample the labels to the scene grid (gdalwarp -r near)`);
    }
    if (!info.geoTransform !== !grid.geoTransform)
      throw new FieldMoeError(file, `${info.geoTransform ? 'is' : 'is not'} georeferenced but the scene ${grid.geoTransform ? 'is' : 'is not'}; give the labels the scene's CRS and geotransform`);
    // the same numbers in another CRS are another place on Earth
    if (info.crs && grid.crs && !sameCrs(info.crs, grid.crs))
      throw new FieldMoeError(file, `is in ${crsLabel(info.crs)} but the scene is in ${crsLabel(grid.crs)}; reproject the labels onto the scene grid (gdalwarp -t_srs ... -r near)`);
    if (!sameGeoTransform(info.geoTransform, grid.geoTransform)) {
      throw new FieldMoeError(file, 'is not on the scene grid (different geotransform); resample the labels to the scene grid (gdalwarp -r near)');
    }
    const nodata = info.nodata;
    const out: RasterLabels = { x: [], y: [], value: [], ...(nodata !== undefined ? { nodata } : {}), negative: 0 };
    for (let y0 = 0; y0 < info.height; y0 += STRIP_ROWS) {
      throwIfCancelled(signal);
      const rows = Math.min(STRIP_ROWS, info.height - y0);
      const strip = await raster.readWindow({ x: 0, y: y0, width: info.width, height: rows }, [0], signal);
      for (let i = 0; i < strip.length; i++) {
        const v = strip[i];
        if (v === 0 || v === nodata) continue;
        if (!(v > 0)) {
          out.negative++;
          continue;
        }
        out.x.push(i % info.width);
        out.y.push(y0 + Math.floor(i / info.width));
        out.value.push(v);
      }
    }
    return out;
  } finally {
    await raster.close();
  }
}

/** Same grid within a thousandth of a pixel (GeoTIFF doubles written by different tools differ in the last bits). */
function sameGeoTransform(a: GeoTransform | undefined, b: GeoTransform | undefined): boolean {
  if (!a || !b) return !a && !b;
  const tol = 1e-3 * Math.max(Math.abs(a[1]), Math.abs(a[5]));
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}
