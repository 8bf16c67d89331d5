import { throwIfCancelled } from '../jobs/job';
import type { PixelWindow, Scene } from '../scene/types';
import type { LabelSet } from './types';

/** Spectra (all bands of the chosen sensors) of labelled pixels, row-major n x featureCount. */
export interface LabelledPixels {
  /** Indices into the LabelSet, in the order of the rows. */
  indices: Uint32Array;
  features: Float32Array;
  featureCount: number;
  /** Class index per row. */
  labels: Int32Array;
  /** 1 where every chosen sensor is valid at the pixel (not nodata, not failed). */
  valid: Uint8Array;
}

/** Tiles read at a time: bounded memory on large scenes. */
const TILE = 256;

/**
 * Reads the scene's values at labelled pixels (e.g. a split's train or val indices) for
 * per-pixel classifiers such as the random-forest baseline. Sensors default to all, in scene
 * order; features are band values of each sensor one after the other.
 */
export async function readLabelledPixels(
  scene: Scene,
  set: LabelSet,
  indices: ArrayLike<number>,
  options: { sensors?: readonly string[]; signal?: AbortSignal } = {},
): Promise<LabelledPixels> {
  const sensors = options.sensors ?? scene.info.sensors.map((s) => s.id);
  const bandCounts = sensors.map((id) => scene.info.sensors.find((s) => s.id === id)?.bands.length ?? 0);
  const featureCount = bandCounts.reduce((a, b) => a + b, 0);
  const idx = Uint32Array.from(indices);
  const n = idx.length;
  const out: LabelledPixels = { indices: idx, features: new Float32Array(n * featureCount), featureCount, labels: new Int32Array(n), valid: new Uint8Array(n) };
  const byTile = new Map<number, number[]>();
  for (let row = 0; row < n; row++) {
    const i = idx[row];
    const key = Math.floor(set.y[i] / TILE) * 1e6 + Math.floor(set.x[i] / TILE);
    if (!byTile.has(key)) byTile.set(key, []);
    byTile.get(key)!.push(row);
  }
  for (const rows of byTile.values()) {
    throwIfCancelled(options.signal);
    const win = boundingWindow(set, rows.map((r) => idx[r]));
    const blocks = await scene.readWindow(win, { sensors, signal: options.signal });
    for (const row of rows) {
      const i = idx[row];
      const p = (set.y[i] - win.y) * win.width + (set.x[i] - win.x);
      let f = row * featureCount;
      let valid = 1;
      for (const id of sensors) {
        const b = blocks.get(id)!;
        for (let band = 0; band < b.bands; band++) out.features[f++] = b.data[band * win.width * win.height + p];
        valid &= b.valid[p];
      }
      out.labels[row] = set.classIndex[i];
      out.valid[row] = valid;
    }
  }
  return out;
}

function boundingWindow(set: LabelSet, pixels: number[]): PixelWindow {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const i of pixels) {
    x0 = Math.min(x0, set.x[i]);
    y0 = Math.min(y0, set.y[i]);
    x1 = Math.max(x1, set.x[i]);
    y1 = Math.max(y1, set.y[i]);
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
