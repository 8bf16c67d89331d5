import { FieldMoeError } from '../util/errors';
import { crsLabel, sameCrs } from '../raster/crs';
import type { GeoTransform, PixelWindow, RasterInfo, ResamplingMethod } from './types';

/**
 * How a sensor's pixels map onto the reference grid. Grids are axis-aligned, so each axis is an
 * affine map from a reference pixel index to a continuous source pixel coordinate (integers are
 * source pixel centres): `src = scale * ref + offset`.
 */
export interface GridMapping {
  identity: boolean;
  method: ResamplingMethod;
  col: { scale: number; offset: number };
  row: { scale: number; offset: number };
}

const IDENTITY_AXIS = { scale: 1, offset: 0 };
const EPS = 1e-9;

export interface GridSide {
  id: string;
  raster: RasterInfo;
}

function nearlyEqual(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol;
}

function isRotated(gt: GeoTransform): boolean {
  return gt[2] !== 0 || gt[4] !== 0;
}

/** Plans how `sensor` is read on the grid of `ref`; throws a clear error when it cannot be. */
export function planGrid(subject: string, ref: GridSide, sensor: GridSide, method: ResamplingMethod): GridMapping {
  const identity: GridMapping = { identity: true, method, col: IDENTITY_AXIS, row: IDENTITY_AXIS };
  const r = ref.raster;
  const s = sensor.raster;
  const sameSize = r.width === s.width && r.height === s.height;
  const what = `sensor "${sensor.id}" (${s.path})`;
  if (!r.geoTransform || !s.geoTransform) {
    if (!r.geoTransform && !s.geoTransform) {
      if (sameSize) return identity;
      throw new FieldMoeError(subject, `mismatched grids: ${what} is ${s.width} x ${s.height} but the reference sensor "${ref.id}" is ${r.width} x ${r.height}, and neither is georeferenced, so they cannot be aligned`);
    }
    throw new FieldMoeError(subject, `mismatched grids: ${what} ${s.geoTransform ? 'is' : 'is not'} georeferenced but the reference sensor "${ref.id}" ${r.geoTransform ? 'is' : 'is not'}; give both a CRS and geotransform (gdal_translate -a_srs/-a_ullr)`);
  }
  if (!sameCrs(r.crs, s.crs)) {
    const target = r.crs?.epsg !== undefined ? `EPSG:${r.crs.epsg}` : '<reference CRS>';
    throw new FieldMoeError(
      subject,
      `mismatched CRS: ${what} is in ${crsLabel(s.crs)} but the reference sensor "${ref.id}" is in ${crsLabel(r.crs)}; reproject it first, e.g. gdalwarp -t_srs ${target} -tr ${Math.abs(r.geoTransform[1])} ${Math.abs(r.geoTransform[5])} ${s.path} <out.tif>`,
    );
  }
  const rg = r.geoTransform;
  const sg = s.geoTransform;
  const tol = Math.abs(rg[1]) * 1e-6;
  const sameTransform = rg.every((v, i) => nearlyEqual(v, sg[i], i === 1 || i === 5 ? Math.abs(v) * EPS : tol));
  if (sameTransform && sameSize) return identity;
  if (isRotated(rg) || isRotated(sg)) {
    throw new FieldMoeError(subject, `mismatched grids: ${what} or the reference sensor "${ref.id}" has a rotated geotransform, which cannot be resampled on the fly; warp both to a north-up grid with gdalwarp`);
  }
  // Pixel centre c + 0.5 of the reference, in the sensor's pixel coordinates, minus 0.5.
  const axis = (refOrigin: number, refSize: number, srcOrigin: number, srcSize: number) => ({
    scale: refSize / srcSize,
    offset: (refOrigin - srcOrigin) / srcSize + (0.5 * refSize) / srcSize - 0.5,
  });
  return {
    identity: false,
    method,
    col: axis(rg[0], rg[1], sg[0], sg[1]),
    row: axis(rg[3], rg[5], sg[3], sg[5]),
  };
}

/** The source pixel indices and weights one reference window needs along one axis. */
export interface AxisSamples {
  /** First source index read. */
  start: number;
  /** Number of source indices read. */
  length: number;
  /** Per output index: nearest source index (relative to start). */
  nearest: Int32Array;
  /** Per output index: left/top bilinear neighbour (relative to start) and its partner's weight. */
  lower: Int32Array;
  frac: Float32Array;
}

export function axisSamples(axis: { scale: number; offset: number }, first: number, count: number): AxisSamples {
  const nearestAbs = new Int32Array(count);
  const lowerAbs = new Int32Array(count);
  const frac = new Float32Array(count);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < count; i++) {
    const u = axis.scale * (first + i) + axis.offset;
    const l = Math.floor(u);
    nearestAbs[i] = Math.floor(u + 0.5);
    lowerAbs[i] = l;
    frac[i] = u - l;
    lo = Math.min(lo, l);
    hi = Math.max(hi, l + 1);
  }
  const start = count > 0 ? lo : 0;
  const nearest = nearestAbs.map((v) => v - start);
  const lower = lowerAbs.map((v) => v - start);
  return { start, length: count > 0 ? hi - lo + 1 : 0, nearest, lower, frac };
}

/** The source window to read for a reference window. */
export function sourceWindow(cols: AxisSamples, rows: AxisSamples): PixelWindow {
  return { x: cols.start, y: rows.start, width: cols.length, height: rows.length };
}

/**
 * Resamples band-major source data (and its validity) onto the output window. Bilinear uses the
 * four neighbours only when all that carry weight are valid; otherwise it falls back to nearest,
 * so invalid pixels never leak into valid ones.
 */
export function resampleBlock(
  src: Float32Array, srcValid: Uint8Array, srcW: number, srcH: number, bands: number,
  cols: AxisSamples, rows: AxisSamples, method: ResamplingMethod,
  out: Float32Array, outValid: Uint8Array,
): void {
  const w = cols.nearest.length;
  const h = rows.nearest.length;
  const srcPlane = srcW * srcH;
  const outPlane = w * h;
  for (let y = 0; y < h; y++) {
    const ny = rows.nearest[y];
    const ly = rows.lower[y];
    const fy = rows.frac[y];
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      const n = ny * srcW + cols.nearest[x];
      let useBilinear = false;
      let i00 = 0;
      const fx = cols.frac[x];
      if (method === 'bilinear') {
        const lx = cols.lower[x];
        i00 = ly * srcW + lx;
        useBilinear =
          srcValid[i00] === 1 &&
          (fx === 0 || srcValid[i00 + 1] === 1) &&
          (fy === 0 || srcValid[i00 + srcW] === 1) &&
          (fx === 0 || fy === 0 || srcValid[i00 + srcW + 1] === 1);
      }
      if (useBilinear) {
        outValid[o] = 1;
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        for (let b = 0; b < bands; b++) {
          const base = b * srcPlane + i00;
          let v = w00 * src[base];
          if (w01 !== 0) v += w01 * src[base + 1];
          if (w10 !== 0) v += w10 * src[base + srcW];
          if (w11 !== 0) v += w11 * src[base + srcW + 1];
          out[b * outPlane + o] = v;
        }
      } else {
        outValid[o] = srcValid[n];
        for (let b = 0; b < bands; b++) out[b * outPlane + o] = src[b * srcPlane + n];
      }
    }
  }
}
