/**
 * Per-scene normalisation (manifest `uniform` with `perScene`): a pack trained on several scenes
 * (fieldmoe train, the default packs) fed each its own mean and std, so that one scene's digital
 * numbers and another's reflectance reached the model at one scale. Classify does the same: the
 * mean and std of the scene it is given replace the manifest's (those of the first training
 * scene), where the manifest's would feed eolearn's reflectance 0..1 to a pack normalised for
 * Landsat's 0..255 and give one class everywhere.
 */
import { readWhole, wholeReadBytes } from '../scene/whole';
import { noDataError, spreadWindows } from '../scene/emptyBands';
import { throwIfCancelled } from '../jobs/job';
import type { Scene, SensorBlock } from '../scene/types';
import { mapBandsWithFills } from './fillBands';
import type { BandMapOptions } from './bandmap';
import type { PackManifest } from './manifest';

/**
 * Scenes whose bound bands take at most this many bytes are read whole for their statistics, which
 * are then exactly training's (the shared scenes the cards score take a few MB). Larger ones are
 * sampled: a second full read cost classify 5% of its time on a 2048 x 2048 x 13 scene
 * (classify.overhead_ratio 1.13 against its goal of 1.10).
 */
const WHOLE_STATS_BYTES = 64 * 1024 ** 2;
/**
 * Windows of this side on a grid of this many per axis: 16 windows of 128 x 128 pixels decode at
 * most 16 of a file's blocks (a quarter of a 2048 x 2048 scene in 256-pixel tiles) for a
 * quarter of a million pixels per band.
 */
const SAMPLE_GRID = 4;
const SAMPLE_SIDE = 128;

/**
 * Sums over the valid values of `bands` (indices into `block`'s planes) at every `stride`-th
 * pixel: what fine-tuning and training normalise by (finetune/samples.ts uniformStats).
 */
export function valueSums(block: SensorBlock, bands: readonly number[], stride: number): { sum: number; sumSq: number; count: number } {
  const n = block.width * block.height;
  let [sum, sumSq, count] = [0, 0, 0];
  for (const band of bands) {
    const off = band * n;
    for (let p = 0; p < n; p += stride) {
      const v = block.data[off + p];
      if (!block.valid[p] || v !== v) continue;
      sum += v;
      sumSq += v * v;
      count++;
    }
  }
  return { sum, sumSq, count };
}

/** Mean and standard deviation from sums (std 1 where the values are constant); undefined without a value. */
export function meanStd({ sum, sumSq, count }: { sum: number; sumSq: number; count: number }): { mean: number; std: number } | undefined {
  if (!count) return undefined;
  const mean = sum / count;
  const std = Math.sqrt(Math.max(sumSq / count - mean * mean, 0));
  return { mean, std: std > 1e-12 ? std : 1 };
}

/** The stride fine-tuning's uniform statistics sample a block of `pixels` pixels and `bands` bands with (about 200k values). */
export const statsStride = (pixels: number, bands: number) => Math.max(1, Math.floor((pixels * bands) / 200_000));

/**
 * `manifest` with each `perScene` input's mean and std those of `scene`'s values for the bands it
 * binds (file bands only: a band the pack fills takes the scene's scale from them), and a note per
 * input so normalised. Inputs without a sensor, or with a failed one, keep the manifest's.
 */
export async function withSceneNormalization(scene: Scene, manifest: PackManifest, options: BandMapOptions = {}, signal?: AbortSignal): Promise<{ manifest: PackManifest; notes: string[] }> {
  if (!manifest.inputs.some((i) => i.normalization.type === 'uniform' && i.normalization.perScene)) return { manifest, notes: [] };
  const { bindings } = mapBandsWithFills(scene, manifest, options);
  const notes: string[] = [];
  const inputs = await Promise.all(
    manifest.inputs.map(async (input, i) => {
      const b = bindings.find((x) => x.index === i);
      if (input.normalization.type !== 'uniform' || !input.normalization.perScene || !b?.available) return input;
      const sensor = b.sensor!;
      const fileBands = b.bandIndices.filter((k) => k < sensor.raster.bandCount);
      const stats = meanStd(await sceneSums(scene, sensor.id, fileBands, signal));
      if (!stats) throw noDataError(sensor, `sensor ${sensor.id}`, 'has no valid pixel to normalise with');
      notes.push(`input ${input.name} normalised by sensor ${sensor.id}'s own mean and std (${stats.mean.toPrecision(4)}, ${stats.std.toPrecision(4)}), as pack ${manifest.name} was trained on each scene`);
      return { ...input, normalization: { ...input.normalization, ...stats } };
    }),
  );
  return { manifest: { ...manifest, inputs }, notes };
}

/** Sums over `bands` of `sensor`: the whole scene on fine-tuning's stride where it reads whole in `wholeUpTo` bytes, else windows spread over it. */
export async function sceneSums(scene: Scene, sensor: string, bands: readonly number[], signal?: AbortSignal, wholeUpTo = WHOLE_STATS_BYTES): Promise<{ sum: number; sumSq: number; count: number }> {
  const { width, height } = scene.info;
  const subset = new Map([[sensor, bands]]);
  const positions = bands.map((_, k) => k);
  if (wholeReadBytes(scene.info, [sensor], subset) <= wholeUpTo) {
    const block = (await readWhole(scene, { sensors: [sensor], bands: subset, signal })).get(sensor)!;
    return valueSums(block, block.bandIndices ? positions : bands, statsStride(width * height, bands.length));
  }
  const total = { sum: 0, sumSq: 0, count: 0 };
  for (const window of spreadWindows(width, height, SAMPLE_GRID, SAMPLE_SIDE)) {
    throwIfCancelled(signal);
    const block = (await scene.readWindow(window, { sensors: [sensor], bands: subset, signal })).get(sensor)!;
    const s = valueSums(block, block.bandIndices ? positions : bands, 1);
    total.sum += s.sum;
    total.sumSq += s.sumSq;
    total.count += s.count;
  }
  return total;
}
