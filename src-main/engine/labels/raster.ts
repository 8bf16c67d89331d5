import { crsLabel, openRaster, sameCrs } from '../raster';
import { FieldMoeError } from '../util/errors';
import { throwIfCancelled } from '../jobs/job';
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
 * scene grid: the same CRS, pixel size and pixel edges, over the whole scene or part of it (a
 * crop of the grid, placed by its offset; pixels beyond the scene are ignored). Label rasters
 * are not resampled: another pixel size or a shift by a fraction of a pixel is an error that
 * says so, because nearest-neighbour resampling of labels silently moves class borders.
 */
export async function readLabelRaster(file: string, grid: LabelGrid, signal?: AbortSignal): Promise<RasterLabels> {
  const raster = await openRaster(file);
  try {
    const { info } = raster;
    if (info.bandCount !== 1) throw new FieldMoeError(file, `a label raster needs 1 band, this one has ${info.bandCount}`);
    if (info.sampleType.startsWith('float')) throw new FieldMoeError(file, `label rasters hold integer class ids, this one is ${info.sampleType}`);
    const { dx, dy } = placement(file, info, grid);
    // the part of the label raster over the scene
    const [x0, x1] = [Math.max(0, -dx), Math.min(info.width, grid.width - dx)];
    const [y0, y1] = [Math.max(0, -dy), Math.min(info.height, grid.height - dy)];
    if (x0 >= x1 || y0 >= y1) throw new FieldMoeError(file, 'lies on the scene grid but outside the scene');
    const nodata = info.nodata;
    const out: RasterLabels = { x: [], y: [], value: [], ...(nodata !== undefined ? { nodata } : {}), negative: 0 };
    const width = x1 - x0;
    for (let top = y0; top < y1; top += STRIP_ROWS) {
      throwIfCancelled(signal);
      const rows = Math.min(STRIP_ROWS, y1 - top);
      const strip = await raster.readWindow({ x: x0, y: top, width, height: rows }, [0], signal);
      for (let i = 0; i < strip.length; i++) {
        const v = strip[i];
        if (v === 0 || v === nodata) continue;
        if (!(v > 0)) {
          out.negative++;
          continue;
        }
        out.x.push(x0 + (i % width) + dx);
        out.y.push(top + Math.floor(i / width) + dy);
        out.value.push(v);
      }
    }
    return out;
  } finally {
    await raster.close();
  }
}

/** Where the label raster's pixel (0, 0) lies on the scene grid, in whole pixels; an error where it is not on that grid. */
function placement(file: string, info: LabelGrid, grid: LabelGrid): { dx: number; dy: number } {
  const resample = 'resample the labels to the scene grid (gdalwarp -r near)';
  if (!info.geoTransform || !grid.geoTransform) {
    if (info.geoTransform || grid.geoTransform)
      throw new FieldMoeError(file, `${info.geoTransform ? 'is' : 'is not'} georeferenced but the scene ${grid.geoTransform ? 'is' : 'is not'}; give the labels the scene's CRS and geotransform`);
    if (info.width !== grid.width || info.height !== grid.height) throw new FieldMoeError(file, `is ${info.width}x${info.height} px but the scene grid is ${grid.width}x${grid.height}, and neither is georeferenced; ${resample}`);
    return { dx: 0, dy: 0 };
  }
  // the same numbers in another CRS are another place on Earth
  if (info.crs && grid.crs && !sameCrs(info.crs, grid.crs))
    throw new FieldMoeError(file, `is in ${crsLabel(info.crs)} but the scene is in ${crsLabel(grid.crs)}; reproject the labels onto the scene grid (gdalwarp -t_srs ... -r near)`);
  const [a, b] = [info.geoTransform, grid.geoTransform];
  const tol = 1e-3 * Math.max(Math.abs(b[1]), Math.abs(b[5]));
  if (![1, 2, 4, 5].every((k) => Math.abs(a[k] - b[k]) <= tol)) throw new FieldMoeError(file, `is not on the scene grid (pixel size ${a[1]} x ${a[5]}, the scene's ${b[1]} x ${b[5]}); ${resample}`);
  // origin offset in scene pixels (north-up grids: the rotation terms are equal, and zero in practice)
  const [fx, fy] = [(a[0] - b[0]) / b[1], (a[3] - b[3]) / b[5]];
  const [dx, dy] = [Math.round(fx), Math.round(fy)];
  if (Math.abs(fx - dx) > 1e-3 || Math.abs(fy - dy) > 1e-3) throw new FieldMoeError(file, `is not on the scene grid (shifted by a fraction of a pixel: ${fx.toFixed(3)}, ${fy.toFixed(3)}); ${resample}`);
  return { dx, dy };
}
