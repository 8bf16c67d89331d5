import { ProgressMeter, throwIfCancelled, type JobContext } from '../jobs/job';
import { FieldMoeError } from '../util/errors';
import { SAMPLE_TYPE_SPECS } from '../raster/sampleTypes';
import { jsonNodata, type JsonNodata } from './describe';
import type { PixelWindow, Scene, SensorInfo, SensorKind } from './types';

export interface BandStats {
  index: number;
  name: string;
  wavelengthNm: number | null;
  /** Samples looked at (decimated). */
  count: number;
  /** Samples that are neither NaN nor nodata. */
  validCount: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  nodataFraction: number;
  nanFraction: number;
  /** Fraction of valid samples at the largest value of an integer sample type (0 for floats). */
  saturatedFraction: number;
  /** Fraction of sampled rows or columns (the worse) that break sharply from their neighbours. */
  stripeScore: number;
}

export interface SensorStats {
  sensor: string;
  kind: SensorKind;
  failed: boolean;
  sampleType: string;
  nodata: JsonNodata;
  bands: BandStats[];
}

export interface SceneStats {
  /** Every `step`-th row and column of the reference grid was sampled. */
  step: number;
  sampledPixels: number;
  sensors: SensorStats[];
}

export interface SceneStatsOptions extends JobContext {
  /** Upper bound on sampled pixels per band (default 1,000,000). */
  maxPixels?: number;
  /** Upper bound on float values held per read window (default 16M, i.e. 64 MB). */
  maxWindowValues?: number;
  /** Sensors to describe (default: all). */
  sensors?: readonly string[];
}

/** Running sums for one band, plus its per-row and per-column means for stripe detection. */
class BandAccumulator {
  count = 0;
  valid = 0;
  nodata = 0;
  nan = 0;
  saturated = 0;
  min = Infinity;
  max = -Infinity;
  /** Sums run over v - shift (shift = first valid value) so the variance keeps its precision. */
  shift = NaN;
  sum = 0;
  sumSq = 0;
  readonly rowSum: Float64Array;
  readonly rowN: Uint32Array;
  readonly colSum: Float64Array;
  readonly colN: Uint32Array;
  constructor(rows: number, cols: number) {
    this.rowSum = new Float64Array(rows);
    this.rowN = new Uint32Array(rows);
    this.colSum = new Float64Array(cols);
    this.colN = new Uint32Array(cols);
  }
}

/**
 * Per-band statistics of every sensor from a decimated sample of the reference grid (what the
 * model sees). Memory is bounded by one read window; every read tile is used.
 */
export async function sceneStats(scene: Scene, options: SceneStatsOptions = {}): Promise<SceneStats> {
  const { width, height } = scene.info;
  const maxPixels = options.maxPixels ?? 1_000_000;
  const step = Math.max(1, Math.ceil(Math.sqrt((width * height) / maxPixels)));
  const sampledRows = Math.ceil(height / step);
  const sampledCols = Math.ceil(width / step);
  const wanted = options.sensors;
  for (const id of wanted ?? []) {
    if (!scene.info.sensors.some((s) => s.id === id)) throw new FieldMoeError(scene.info.source, `unknown sensor "${id}"; the scene has ${scene.info.sensors.map((s) => s.id).join(', ')}`);
  }
  const sensors = wanted ? scene.info.sensors.filter((s) => wanted.includes(s.id)) : scene.info.sensors;
  const acc = sensors.map((s) => s.bands.map(() => new BandAccumulator(sampledRows, sampledCols)));
  const totalBands = sensors.reduce((n, s) => n + s.raster.bandCount, 0);
  const ref = scene.info.sensors.find((s) => s.id === scene.info.referenceSensor)!.raster;

  // Strips follow the reference block rows so each block is decoded once; columns are chunked
  // so a window holds at most maxWindowValues floats over all bands.
  const stripHeight = Math.max(step, Math.ceil(ref.blockHeight / step) * step);
  const budget = options.maxWindowValues ?? 16 * 1024 * 1024;
  const chunkWidth = Math.max(step, Math.floor(budget / (totalBands * stripHeight) / step) * step);
  const windows: PixelWindow[] = [];
  for (let y = 0; y < height; y += stripHeight) {
    const h = Math.min(stripHeight, height - y);
    for (let x = 0; x < width; x += chunkWidth) windows.push({ x, y, width: Math.min(chunkWidth, width - x), height: h });
  }
  const meter = new ProgressMeter('statistics', windows.length, options.onProgress);
  for (let k = 0; k < windows.length; k++) {
    throwIfCancelled(options.signal);
    const w = windows[k];
    const blocks = await scene.readWindow(w, { signal: options.signal, sensors: sensors.map((s) => s.id) });
    sensors.forEach((s, si) => {
      const block = blocks.get(s.id)!;
      accumulate(block.data, w, step, s, acc[si]);
    });
    meter.update(k + 1);
  }
  return {
    step,
    sampledPixels: sampledRows * sampledCols,
    sensors: sensors.map((s, si) => ({
      sensor: s.id,
      kind: s.kind,
      failed: s.failed,
      sampleType: s.raster.sampleType,
      nodata: jsonNodata(s.raster.nodata),
      bands: s.bands.map((b, bi) => finish(acc[si][bi], b.index, b.name, b.wavelengthNm)),
    })),
  };
}

function accumulate(data: Float32Array, w: PixelWindow, step: number, sensor: SensorInfo, bands: BandAccumulator[]): void {
  const plane = w.width * w.height;
  const nodata = sensor.raster.nodata;
  const nd = nodata !== undefined && !Number.isNaN(nodata) ? Math.fround(nodata) : undefined;
  const spec = SAMPLE_TYPE_SPECS[sensor.raster.sampleType];
  const sat = spec.isInteger ? spec.max : Infinity;
  const y0 = Math.ceil(w.y / step) * step;
  const x0 = Math.ceil(w.x / step) * step;
  bands.forEach((a, b) => {
    for (let y = y0; y < w.y + w.height; y += step) {
      const row = y / step;
      for (let x = x0; x < w.x + w.width; x += step) {
        const v = data[b * plane + (y - w.y) * w.width + (x - w.x)];
        a.count++;
        // an infinite value is no measurement: counted with NaN, as the scene reads it (scene.ts markInvalid)
        if (v !== v || v === Infinity || v === -Infinity) a.nan++;
        else if (v === nd) a.nodata++;
        else {
          a.valid++;
          if (v < a.min) a.min = v;
          if (v > a.max) a.max = v;
          if (a.shift !== a.shift) a.shift = v;
          const d = v - a.shift;
          a.sum += d;
          a.sumSq += d * d;
          if (v >= sat) a.saturated++;
          const col = x / step;
          a.rowSum[row] += v;
          a.rowN[row]++;
          a.colSum[col] += v;
          a.colN[col]++;
        }
      }
    }
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Fraction of profile entries (row or column means) that are stripes: a line that differs from
 * BOTH neighbours in the same direction by more than 6 robust sigmas of the line-to-line
 * differences, or an empty (all-nodata) line between two non-empty ones. Edges and blocky
 * upsampled bands (60 m bands on a 10 m grid) step once and are not counted.
 */
export function stripeFraction(sum: Float64Array, n: Uint32Array): number {
  const len = sum.length;
  if (len < 8) return 0;
  const mean = Array.from(sum, (s, i) => (n[i] > 0 ? s / n[i] : NaN));
  const finite = mean.filter((m) => !Number.isNaN(m));
  if (finite.length < 3) return 0;
  const steps: number[] = [];
  for (let i = 1; i < len; i++) if (!Number.isNaN(mean[i]) && !Number.isNaN(mean[i - 1])) steps.push(Math.abs(mean[i] - mean[i - 1]));
  const scale = steps.length > 0 ? median(steps) * 1.4826 : 0;
  const spread = Math.max(...finite) - Math.min(...finite);
  const threshold = Math.max(6 * scale, 1e-3 * spread, 1e-12);
  let bad = 0;
  for (let i = 1; i + 1 < len; i++) {
    const [a, m, b] = [mean[i - 1], mean[i], mean[i + 1]];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    if (Number.isNaN(m)) {
      bad++;
      continue;
    }
    const da = m - a;
    const db = m - b;
    if (Math.sign(da) === Math.sign(db) && Math.min(Math.abs(da), Math.abs(db)) > threshold) bad++;
  }
  return bad / len;
}

function finish(a: BandAccumulator, index: number, name: string, wavelengthNm: number | undefined): BandStats {
  const hasValid = a.valid > 0;
  const mean = hasValid ? a.shift + a.sum / a.valid : null;
  const variance = hasValid ? Math.max(0, a.sumSq / a.valid - (a.sum / a.valid) ** 2) : null;
  return {
    index,
    name,
    wavelengthNm: wavelengthNm ?? null,
    count: a.count,
    validCount: a.valid,
    min: hasValid ? a.min : null,
    max: hasValid ? a.max : null,
    mean,
    std: variance === null ? null : Math.sqrt(variance),
    nodataFraction: a.count ? a.nodata / a.count : 0,
    nanFraction: a.count ? a.nan / a.count : 0,
    saturatedFraction: a.valid ? a.saturated / a.valid : 0,
    stripeScore: hasValid ? Math.max(stripeFraction(a.rowSum, a.rowN), stripeFraction(a.colSum, a.colN)) : 0,
  };
}

export type FailureProblem = 'all-nodata' | 'constant' | 'saturated' | 'striped';

export interface FailureSuggestion {
  sensor: string;
  /** Absent when the suggestion concerns the whole sensor. */
  band?: number;
  bandName?: string;
  problem: FailureProblem;
  /** Suggest marking the whole sensor failed (every band shows the problem). */
  wholeSensor: boolean;
  message: string;
}

/** Thresholds of the band checks; see `suggestFailures`. */
export const FAILURE_THRESHOLDS = { saturated: 0.1, striped: 0.02 } as const;

/** The band checks, in the order they are reported; each says whether a band shows its problem. */
const BAND_CHECKS: { problem: FailureProblem; applies: (b: BandStats) => boolean; describe: (b: BandStats) => string }[] = [
  { problem: 'all-nodata', applies: (b) => b.count > 0 && b.validCount === 0, describe: (b) => `no valid pixels (${pct(b.nanFraction)} NaN, ${pct(b.nodataFraction)} nodata)` },
  { problem: 'constant', applies: (b) => b.validCount > 1 && b.std === 0, describe: (b) => `constant value ${b.min}` },
  { problem: 'saturated', applies: (b) => b.saturatedFraction > FAILURE_THRESHOLDS.saturated, describe: (b) => `${pct(b.saturatedFraction)} of pixels saturated at ${b.max}` },
  { problem: 'striped', applies: (b) => b.stripeScore > FAILURE_THRESHOLDS.striped, describe: (b) => `striping in ${pct(b.stripeScore)} of sampled lines` },
];

function pct(f: number): string {
  return `${(100 * f).toFixed(f < 0.01 ? 2 : 1)}%`;
}

/**
 * Suggests sensors or bands to mark failed, from statistics alone. A band is flagged by the
 * first check it fails; when every band of a sensor fails the same check, one sensor-level
 * suggestion replaces the band ones. Sensors already marked failed are skipped.
 */
export function suggestFailures(stats: SceneStats): FailureSuggestion[] {
  const out: FailureSuggestion[] = [];
  for (const s of stats.sensors) {
    if (s.failed) continue;
    const flagged = s.bands.map((b) => ({ band: b, check: BAND_CHECKS.find((c) => c.applies(b)) }));
    for (const check of BAND_CHECKS) {
      const hits = flagged.filter((f) => f.check === check);
      if (hits.length === 0) continue;
      if (hits.length === s.bands.length && s.bands.length > 0) {
        out.push({ sensor: s.sensor, problem: check.problem, wholeSensor: true, message: `sensor "${s.sensor}": every band shows ${check.describe(hits[0].band)}; consider marking the sensor failed` });
        continue;
      }
      for (const h of hits) {
        out.push({
          sensor: s.sensor,
          band: h.band.index,
          bandName: h.band.name,
          problem: check.problem,
          wholeSensor: false,
          message: `sensor "${s.sensor}" band ${h.band.index + 1} (${h.band.name}): ${check.describe(h.band)}`,
        });
      }
    }
  }
  return out;
}
