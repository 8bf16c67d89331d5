/**
 * eolearn-slovenia (shared/data): a Sentinel-2 composite (13 bands), a DEM and a 5-class LULC
 * raster on one 100 x 101 grid, read with our raster reader, and cut into two regions (north
 * and south halves) for a cross-region domain shift: train on one half, test on the other,
 * on the classes both halves have. This is the only labelled scene of the shared data with a
 * real elevation source for SpectralMoE's depth branch.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { openRaster } from '../raster/index';
import { FieldMoeError } from '../util/errors';

export interface SloveniaScene {
  width: number;
  height: number;
  /** Band-major [13, H, W] reflectance; NaN where the composite has no data. */
  s2: Float32Array;
  bands: number;
  /** [H, W] elevation in metres. */
  dem: Float32Array;
  /** [H, W] label ids 1..5, 0 = unlabelled. */
  lulc: Uint8Array;
  classes: { id: number; name: string }[];
}

/** Rows [y0, y1) of the scene (all columns). */
export interface Region {
  name: string;
  y0: number;
  y1: number;
}

async function readAll(file: string): Promise<{ data: Float32Array; width: number; height: number; bands: number }> {
  const r = await openRaster(file);
  try {
    const { width, height, bandCount } = r.info;
    return { data: await r.readWindow({ x: 0, y: 0, width, height }), width, height, bands: bandCount };
  } finally {
    await r.close();
  }
}

export async function loadSloveniaScene(dir: string): Promise<SloveniaScene> {
  const s2 = await readAll(path.join(dir, 'reference_composite_ndvi.tif'));
  const dem = await readAll(path.join(dir, 'dem.tif'));
  const lulc = await readAll(path.join(dir, 'lulc.tif'));
  for (const [name, r] of [['dem.tif', dem], ['lulc.tif', lulc]] as const)
    if (r.width !== s2.width || r.height !== s2.height) throw new FieldMoeError(path.join(dir, name), `is ${r.width}x${r.height}, the S2 composite ${s2.width}x${s2.height}`);
  const classes = JSON.parse(await readFile(path.join(dir, 'classes.json'), 'utf8')) as { id: number; name: string }[];
  return {
    width: s2.width,
    height: s2.height,
    s2: s2.data,
    bands: s2.bands,
    dem: dem.data,
    lulc: Uint8Array.from(lulc.data),
    classes: classes.map((c) => ({ id: c.id, name: c.name })),
  };
}

/** Whether pixel p has a label and a complete S2 spectrum. */
export function validPixel(scene: SloveniaScene, p: number): boolean {
  if (scene.lulc[p] === 0) return false;
  const n = scene.width * scene.height;
  for (let b = 0; b < scene.bands; b++) if (!Number.isFinite(scene.s2[b * n + p])) return false;
  return true;
}

/** Label ids with at least `minPixels` valid pixels in every region. */
export function sharedClassIds(scene: SloveniaScene, regions: readonly Region[], minPixels = 1): number[] {
  const counts = regions.map((r) => {
    const c = new Map<number, number>();
    for (let y = r.y0; y < r.y1; y++)
      for (let x = 0; x < scene.width; x++) {
        const p = y * scene.width + x;
        if (validPixel(scene, p)) c.set(scene.lulc[p], (c.get(scene.lulc[p]) ?? 0) + 1);
      }
    return c;
  });
  return scene.classes.map((c) => c.id).filter((id) => counts.every((c) => (c.get(id) ?? 0) >= minPixels));
}

/**
 * Top-left corners (y, x) of `tile`-sized windows inside `region` on a `stride` grid, the last
 * row and column pushed to the region's edge so every pixel is covered.
 */
export function tileOrigins(region: Region, width: number, tile: number, stride: number): [number, number][] {
  const along = (lo: number, hi: number) => {
    if (hi - lo < tile) throw new FieldMoeError(`region ${lo}..${hi}`, `is smaller than the ${tile}-pixel tile`);
    const starts: number[] = [];
    for (let s = lo; s + tile <= hi; s += stride) starts.push(s);
    if (starts[starts.length - 1] + tile < hi) starts.push(hi - tile);
    return starts;
  };
  const ys = along(region.y0, region.y1);
  const xs = along(0, width);
  return ys.flatMap((y) => xs.map((x): [number, number] => [y, x]));
}
