import type { Scene } from '../scene/types';
import type { SensorStats } from '../../ipc/contract';
import type { SampledGrid } from './sampler';
import { percentiles } from './stretch';

/**
 * Band statistics from a sensor's overview (every pixel for small scenes, a regular lattice
 * sample for large ones; `exact` says which), for the Open-scene panel and the stretch.
 */
export function statsFromOverview(scene: Scene, sensor: string, grid: SampledGrid): SensorStats {
  const info = scene.info.sensors.find((s) => s.id === sensor);
  const plane = grid.width * grid.height;
  const bands = (info?.bands ?? []).map((band, b) => {
    let n = 0, sum = 0, sq = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < plane; i++) {
      const v = grid.data[b * plane + i];
      if (!grid.valid[i] || !Number.isFinite(v)) continue;
      n++; sum += v; sq += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = n ? sum / n : 0;
    const [p2, p98] = percentiles(grid, b, [2, 98]);
    return {
      band: b, name: band.name, min: n ? min : 0, max: n ? max : 0, mean,
      std: n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 0, p2, p98, validFraction: plane ? n / plane : 0,
    };
  });
  return { sensor, sampledPixels: plane, exact: grid.step === 1, bands };
}
