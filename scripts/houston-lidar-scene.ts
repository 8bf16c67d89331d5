/**
 * A LiDAR-only scene rebuilt from the shared Houston 2013 (DFC2013) pixel set, for the forest
 * harness (scripts/finetune-vs-rf.ts): the set holds, for each of its 2,832 training pixels, the
 * 7 x 7 patch of 21 LiDAR features around it, and neighbouring training pixels' patches overlap.
 * Matching the overlaps puts the patches back where they were: 231 fragments of the DSM (the
 * largest 45 x 31 pixels; 8 of 118,507 overlapping cells disagree), each around one labelled
 * region. They are laid out on a grid of CELL-pixel cells, one fragment per cell, NaN (nodata)
 * between them, with each training pixel's class at its place, so that a split in CELL-pixel
 * blocks is a split by fragment: no scored pixel sits next to a labelled one.
 *
 * The DSM is feature 21 (lidar_f21): the only one between the morphological openings (features
 * 1-10, each at most the next smaller one) and closings (11-20) at every pixel, and the roughest.
 * Values are the set's, 0..1 in steps of 1/255 (no unit, no georeferencing: urban Houston at
 * 2.5 m). Urban classes the default packs never had (15), from one band of height: a scene
 * where elevation alone says much, unlike eolearn's DEM.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readNpy } from '../src-main/engine/eval/npy';
import { writeGeoTiff } from '../src-main/engine/raster/index';

/** Side of the square cell each fragment gets (the largest fragment is 45 x 31). */
export const CELL = 48;
const PATCH = 7;
const FEATURES = 21;
const DSM_FEATURE = 20;
/** Overlaps flatter than this (1.5 quantisation steps) match at any shift and place nothing. */
const FLAT = 1.5 / 255;

interface Fragment {
  /** Patch indices and their top-left offsets within the fragment. */
  patches: { index: number; y: number; x: number }[];
  height: number;
  width: number;
}

/** Feature `feature`'s plane of each patch, row-major 7 x 7. */
function featurePatches(data: Float32Array, n: number, feature: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => {
    const p = new Float32Array(PATCH * PATCH);
    for (let q = 0; q < PATCH * PATCH; q++) p[q] = data[(i * PATCH * PATCH + q) * FEATURES + feature];
    return p;
  });
}

function crop(p: Float32Array, y0: number, x0: number, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) out.set(p.subarray((y0 + r) * PATCH + x0, (y0 + r) * PATCH + x0 + w), r * w);
  return out;
}

const key = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Pairs (i, j, dy, dx): patch j sits at (dy, dx) from patch i, their overlap identical and not flat. */
function overlaps(patches: Float32Array[]): [number, number, number, number][] {
  const pairs: [number, number, number, number][] = [];
  for (let dy = 0; dy < PATCH - 3; dy++)
    for (let dx = -3; dx <= 3; dx++) {
      if (dy === 0 && dx <= 0) continue;
      const [h, w] = [PATCH - dy, PATCH - Math.abs(dx)];
      const byKey = new Map<string, number[]>();
      patches.forEach((p, i) => {
        const o = crop(p, dy, Math.max(dx, 0), h, w);
        let [lo, hi] = [Infinity, -Infinity];
        for (const v of o) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        const k = key(o);
        if (hi - lo >= FLAT) byKey.set(k, [...(byKey.get(k) ?? []), i]);
      });
      patches.forEach((p, j) => {
        for (const i of byKey.get(key(crop(p, 0, Math.max(-dx, 0), h, w))) ?? []) if (i !== j) pairs.push([i, j, dy, dx]);
      });
    }
  return pairs;
}

/** Connected fragments of overlapping patches, each patch at its offset (breadth-first from the first). */
function fragments(patches: Float32Array[]): Fragment[] {
  const next = new Map<number, [number, number, number][]>();
  const link = (a: number, b: number, dy: number, dx: number) => next.set(a, [...(next.get(a) ?? []), [b, dy, dx]]);
  for (const [i, j, dy, dx] of overlaps(patches)) {
    link(i, j, dy, dx);
    link(j, i, -dy, -dx);
  }
  const at = new Map<number, [number, number]>();
  const out: Fragment[] = [];
  for (let s = 0; s < patches.length; s++) {
    if (at.has(s)) continue;
    at.set(s, [0, 0]);
    const members = [s];
    for (let m = 0; m < members.length; m++) {
      const [y, x] = at.get(members[m])!;
      for (const [j, dy, dx] of next.get(members[m]) ?? []) {
        if (at.has(j)) continue;
        at.set(j, [y + dy, x + dx]);
        members.push(j);
      }
    }
    const ys = members.map((i) => at.get(i)![0]);
    const xs = members.map((i) => at.get(i)![1]);
    const [y0, x0] = [Math.min(...ys), Math.min(...xs)];
    out.push({
      patches: members.map((index) => ({ index, y: at.get(index)![0] - y0, x: at.get(index)![1] - x0 })),
      height: Math.max(...ys) - y0 + PATCH,
      width: Math.max(...xs) - x0 + PATCH,
    });
  }
  return out;
}

/**
 * Writes the scene into a new folder under `outDir` (dsm.tif, labels.tif, classes.json,
 * sensors.json) from `dataDir` (shared/data/houston2013-pixels); returns the folder. With
 * `features` 'all', dsm.tif holds the DSM and then the set's other 20 LiDAR features, as a
 * LiDAR raster with several bands.
 */
export async function houstonLidarScene(dataDir: string, outDir: string, features: 'dsm' | 'all' = 'dsm'): Promise<string> {
  const npy = await readNpy(path.join(dataDir, 'lidar_patches_train.npy'));
  const classOf = (await readNpy(path.join(dataDir, 'y_train.npy'))).data;
  const n = npy.shape[0];
  if (npy.shape.join() !== [n, PATCH, PATCH, FEATURES].join()) throw new Error(`lidar_patches_train.npy: shape ${npy.shape}, expected [N, 7, 7, 21]`);
  const data = npy.data as Float32Array;
  const patches = featurePatches(data, n, DSM_FEATURE);
  const frags = fragments(patches);
  // the other features, each laid out as the DSM is ('all': the DSM first, then features 1-20)
  const others = features === 'all' ? Array.from({ length: FEATURES - 1 }, (_, f) => featurePatches(data, n, f)) : [];
  const big = frags.find((f) => f.height > CELL || f.width > CELL);
  if (big) throw new Error(`houston2013 LiDAR: a fragment of ${big.height} x ${big.width} pixels does not fit a ${CELL}-pixel cell`);
  const columns = Math.ceil(Math.sqrt(frags.length));
  const [width, height] = [columns * CELL, Math.ceil(frags.length / columns) * CELL];
  const plane = width * height;
  const raster = new Float32Array(plane * (1 + others.length)).fill(NaN);
  const labels = new Uint8Array(plane);
  frags.forEach((f, k) => {
    // centred in its cell, so that fragments keep a gap of nodata between them
    const top = Math.floor(k / columns) * CELL + ((CELL - f.height) >> 1);
    const left = (k % columns) * CELL + ((CELL - f.width) >> 1);
    for (const p of f.patches) {
      for (let r = 0; r < PATCH; r++)
        for (let c = 0; c < PATCH; c++) {
          const q = (top + p.y + r) * width + left + p.x + c;
          if (raster[q] !== raster[q]) [patches, ...others].forEach((feature, b) => (raster[b * plane + q] = feature[p.index][r * PATCH + c]));
        }
      labels[(top + p.y + 3) * width + left + p.x + 3] = classOf[p.index];
    }
  });
  const dir = await fs.mkdtemp(path.join(outDir, 'houston-lidar-'));
  const names = ['dsm', ...others.map((_, f) => `lidar_f${String(f + 1).padStart(2, '0')}`)];
  await writeGeoTiff(path.join(dir, 'dsm.tif'), { width, height, bands: names.length, sampleType: 'float32', nodata: NaN, bandDescriptions: names }, raster);
  await writeGeoTiff(path.join(dir, 'labels.tif'), { width, height, sampleType: 'uint8', nodata: 0 }, labels);
  await fs.copyFile(path.join(dataDir, 'classes.json'), path.join(dir, 'classes.json'));
  const sensors = [{ id: 'lidar', kind: 'lidar', file: 'dsm.tif', note: `Houston 2013 DSM fragments (lidar_f21${others.length ? ', then the other 20 features' : ''}) around the training pixels`, bands: names.map((name) => ({ name })) }];
  await fs.writeFile(path.join(dir, 'sensors.json'), JSON.stringify(sensors, null, 1));
  return dir;
}
