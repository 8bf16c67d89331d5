import type { SampledGrid } from './sampler';

export interface BandRange {
  low: number;
  high: number;
}

/** The value at percentile `pct` (0..100) of the valid samples of one band (nearest rank). */
export function percentiles(grid: SampledGrid, band: number, pcts: readonly number[]): number[] {
  const plane = grid.width * grid.height;
  const values: number[] = [];
  for (let i = 0; i < plane; i++) {
    const v = grid.data[band * plane + i];
    if (grid.valid[i] && Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return pcts.map(() => 0);
  const sorted = Float64Array.from(values).sort();
  return pcts.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))]);
}

/** Linear stretch range for a band from its low/high percentiles; never empty. */
export function stretchRange(grid: SampledGrid, band: number, lowPct: number, highPct: number): BandRange {
  const [low, high] = percentiles(grid, band, [Math.min(lowPct, highPct), Math.max(lowPct, highPct)]);
  return high > low ? { low, high } : { low, high: low + 1 };
}

export function stretchByte(value: number, range: BandRange): number {
  const t = (value - range.low) / (range.high - range.low);
  return t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
}
