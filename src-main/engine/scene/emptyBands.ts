import { SAMPLE_TYPE_SPECS } from '../raster/sampleTypes';
import { throwIfCancelled } from '../jobs/job';
import { FieldMoeError } from '../util/errors';
import type { PixelWindow, Scene, SensorInfo } from './types';

export interface EmptyBandsOptions {
  signal?: AbortSignal;
  /** Sample windows per axis for the first, decimated look (default 4: 16 small windows). */
  grid?: number;
  /** Edge of each sample window in pixels (default 32). */
  sampleSize?: number;
  /** Most values held at once by the full scan of a suspect band (default 4M = 16 MB). */
  scanBudget?: number;
}

/**
 * The bands of `sensor` (0-based file indices, a subset of `bands`) that hold no finite value
 * anywhere on the scene grid, found before a long job instead of after it. Integer rasters
 * cannot hold NaN, so they cost nothing. Float rasters get a decimated look first (a few small
 * windows spread over the scene); only a band that shows no finite value there is scanned in
 * full, strip by strip, and the scan stops at its first finite value, so a sparse but real band
 * costs at most one read of that band, and an all-NaN band one read instead of a whole run.
 */
export async function bandsWithoutData(scene: Scene, sensor: string, bands: readonly number[], options: EmptyBandsOptions = {}): Promise<number[]> {
  const info = scene.info.sensors.find((s) => s.id === sensor);
  if (!info || bands.length === 0 || SAMPLE_TYPE_SPECS[info.raster.sampleType].isInteger) return [];
  const { width: W, height: H } = scene.info;
  let suspects = [...new Set(bands)];
  for (const window of spreadWindows(W, H, options.grid ?? 4, options.sampleSize ?? 32)) {
    suspects = await withoutFiniteValue(scene, sensor, suspects, window, options.signal);
    if (suspects.length === 0) return [];
  }
  const rows = Math.max(1, Math.floor((options.scanBudget ?? 4 * 1024 * 1024) / (W * suspects.length)));
  for (let y = 0; y < H && suspects.length > 0; y += rows) {
    suspects = await withoutFiniteValue(scene, sensor, suspects, { x: 0, y, width: W, height: Math.min(rows, H - y) }, options.signal);
  }
  return suspects;
}

/** grid x grid windows of side `size` (clipped to the scene), centred on the cells of a grid over a W x H scene: a cheap look at the whole of it. */
export function spreadWindows(W: number, H: number, grid: number, size: number): PixelWindow[] {
  const windows: PixelWindow[] = [];
  const w = Math.min(size, W);
  const h = Math.min(size, H);
  for (let gy = 0; gy < grid; gy++)
    for (let gx = 0; gx < grid; gx++) {
      const x = Math.min(W - w, Math.max(0, Math.floor(((gx + 0.5) * W) / grid - w / 2)));
      const y = Math.min(H - h, Math.max(0, Math.floor(((gy + 0.5) * H) / grid - h / 2)));
      windows.push({ x, y, width: w, height: h });
    }
  return windows;
}

/** The bands among `bands` with no finite value in `window`. */
async function withoutFiniteValue(scene: Scene, sensor: string, bands: number[], window: PixelWindow, signal?: AbortSignal): Promise<number[]> {
  throwIfCancelled(signal);
  const block = (await scene.readWindow(window, { sensors: [sensor], bands: new Map([[sensor, bands]]), signal })).get(sensor)!;
  const plane = window.width * window.height;
  return bands.filter((band, k) => {
    // A scene that ignores the band subset hands back every band.
    const at = block.bandIndices ? k : band;
    const values = block.data.subarray(at * plane, (at + 1) * plane);
    for (let i = 0; i < plane; i++) if (values[i] === values[i]) return false;
    return true;
  });
}

/**
 * The one-line error for a sensor part (`subject`: "band 1 (VV)", "sensor s1") without data on
 * the scene grid. A sensor resampled onto the reference grid may simply not overlap it, which
 * says more than its `problem` would: the file itself may be fine.
 */
export function noDataError(sensor: SensorInfo, subject: string, problem: string): FieldMoeError {
  const missing = `mark sensor ${sensor.id} missing with --missing ${sensor.id}`;
  if (sensor.resampled) return new FieldMoeError(sensor.file, `${subject} has no data on the scene's grid: the file does not overlap the reference sensor, or holds only nodata where it does; ${missing}`);
  return new FieldMoeError(sensor.file, `${subject} ${problem}; fix the file or ${missing}`);
}
