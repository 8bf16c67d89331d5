/**
 * Whole-scene reads, for the steps that still hold sensors in memory at once: fine-tuning and
 * training cut their samples from them, and a pack's band fills are sampled from them; on a
 * large scene they read the areas around the labels as a scene (labels/window.ts labelledArea). Classify
 * and statistics read window by window and take scenes of any size. A whole read that would take
 * more than WHOLE_READ_MEMORY_SHARE of this machine's memory is refused before anything is read,
 * with the sizes and what to do, instead of an out-of-memory crash part way through a job.
 */
import os from 'node:os';
import { FieldMoeError } from '../util/errors';
import type { ReadOptions, Scene, SceneInfo, SensorBlock } from './types';

export const WHOLE_READ_MEMORY_SHARE = 0.5;

/**
 * Scenes whose sensors read whole take at most this many bytes are read whole: their statistics
 * (normalisation, band fills) then come from the whole scene that classify will run over, and
 * results do not depend on where the labels lie (labels/window.ts).
 */
export const WHOLE_SCENE_READ_BYTES = 512 * 1024 ** 2;

/** Bytes a whole read of `sensors` holds: float32 values for each band read, one validity byte per pixel. */
export function wholeReadBytes(info: SceneInfo, sensors: readonly string[], bands?: ReadonlyMap<string, readonly number[]>): number {
  const pixels = info.width * info.height;
  return sensors.reduce((total, id) => {
    const sensor = info.sensors.find((s) => s.id === id);
    if (!sensor) throw new FieldMoeError(info.source, `unknown sensor "${id}"`);
    return total + pixels * (4 * (bands?.get(id)?.length ?? sensor.raster.bandCount) + 1);
  }, 0);
}

/** Reads `options.sensors` over the whole scene, unless that would take more than `limitBytes`. */
export async function readWhole(
  scene: Scene,
  options: ReadOptions & { sensors: readonly string[] },
  limitBytes = os.totalmem() * WHOLE_READ_MEMORY_SHARE,
): Promise<Map<string, SensorBlock>> {
  const { info } = scene;
  const bytes = wholeReadBytes(info, options.sensors, options.bands);
  if (bytes > limitBytes) {
    const size = (b: number) => (b < 1024 ** 3 ? `${Math.round(b / 1024 ** 2)} MB` : `${(b / 1024 ** 3).toFixed(1)} GB`);
    throw new FieldMoeError(
      info.source,
      `fine-tuning and training read sensors ${options.sensors.join(', ')} at once over ${info.width} x ${info.height} pixels (on a large scene, the areas around the labels): ${size(bytes)}, more than the ${size(limitBytes)} allowed here (${Math.round(WHOLE_READ_MEMORY_SHARE * 100)}% of this machine's memory). Label a smaller area, fine-tune on part of the labels, or use fewer sensors`,
    );
  }
  return scene.readWindow({ x: 0, y: 0, width: info.width, height: info.height }, options);
}
