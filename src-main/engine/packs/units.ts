/**
 * SAR backscatter comes in decibels or in linear power, and a product rarely says which (GEE's
 * S1_GRD is dB, its S1_GRD_FLOAT and most RTC downloads linear). A pack trained on dB (its input's
 * `units`) fed linear power sees values squeezed near zero, which no renormalisation undoes: the
 * default MaMOL pack fine-tuned on sen1floods11's SAR in linear power fell from 4.0 points over
 * the forest to -5.5 (SAR alone, 20 labels per class, seeds 0-2). Backscatter in dB is mostly
 * negative and linear power never is, so a sensor of such an input with no negative value among
 * samples spread over the scene is read as 10 log10(value) (values at or below zero become
 * invalid). Power, not amplitude, is assumed: amplitude would want 20 log10.
 */
import { throwIfCancelled } from '../jobs/job';
import { spreadWindows } from '../scene/emptyBands';
import type { PixelWindow, ReadOptions, Scene, SensorBlock } from '../scene/types';
import type { PackManifest } from './manifest';

/** Sample windows per axis, and their side, for the look at a sensor's values. */
const SAMPLE_GRID = 4;
const SAMPLE_SIDE = 64;

/** `scene` with the sensors a dB input of `manifest` reads converted from linear power, and their ids (none: `scene` itself). */
export async function withPackUnits(scene: Scene, manifest: PackManifest, signal?: AbortSignal): Promise<{ scene: Scene; converted: string[] }> {
  if (scene instanceof DecibelScene) return { scene, converted: scene.converted };
  const kinds = new Set(manifest.inputs.filter((i) => i.units === 'dB').flatMap((i) => i.sensorKinds));
  const converted: string[] = [];
  for (const sensor of scene.info.sensors.filter((s) => kinds.has(s.kind) && !s.failed))
    if (await looksLinear(scene, sensor.id, signal)) converted.push(sensor.id);
  return converted.length ? { scene: new DecibelScene(scene, converted), converted } : { scene, converted };
}

/** One line per converted sensor, for reports and model cards. */
export function describeConverted(converted: readonly string[], pack: string): string[] {
  return converted.map((id) => `sensor ${id} has no negative value: read as linear power and converted to dB (10 log10), as pack ${pack} was trained on`);
}

/** Whether the sensor's valid values in windows spread over the scene include positives and no negative. */
export async function looksLinear(scene: Scene, sensor: string, signal?: AbortSignal): Promise<boolean> {
  let positive = false;
  for (const window of spreadWindows(scene.info.width, scene.info.height, SAMPLE_GRID, SAMPLE_SIDE)) {
    throwIfCancelled(signal);
    const block = (await scene.readWindow(window, { sensors: [sensor], signal })).get(sensor)!;
    const n = window.width * window.height;
    for (let c = 0; c < block.bands; c++)
      for (let p = 0; p < n; p++) {
        const v = block.data[c * n + p];
        if (!block.valid[p] || v !== v) continue;
        if (v < 0) return false;
        if (v > 0) positive = true;
      }
  }
  return positive;
}

class DecibelScene implements Scene {
  constructor(
    private readonly inner: Scene,
    readonly converted: string[],
  ) {}

  get info() {
    return this.inner.info;
  }

  async readWindow(window: PixelWindow, options: ReadOptions = {}): Promise<Map<string, SensorBlock>> {
    const blocks = await this.inner.readWindow(window, options);
    for (const id of this.converted) {
      const block = blocks.get(id);
      if (block) toDecibels(block);
    }
    return blocks;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** In place: each value v > 0 becomes 10 log10(v); a pixel with a value at or below zero becomes invalid. */
function toDecibels(block: SensorBlock): void {
  const n = block.width * block.height;
  for (let c = 0; c < block.bands; c++)
    for (let p = 0; p < n; p++) {
      const v = block.data[c * n + p];
      if (v > 0) block.data[c * n + p] = 10 * Math.log10(v);
      else if (v === v) {
        block.data[c * n + p] = NaN;
        block.valid[p] = 0;
      }
    }
}
