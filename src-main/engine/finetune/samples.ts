/**
 * Training samples from a scene and its labels: tiles of the model's size centred on labelled
 * pixels, filled exactly as the classify pipeline fills its tiles (per-input normalisation,
 * invalid pixels and padding past the scene edge = 0, availability per input), with a per-pixel
 * target of class indices (-1 where unlabelled or outside the split subset).
 *
 * The scene is read once into memory (the shared scenes are at most a few tens of MB); sample
 * tensors are cut from it.
 */
import type { InputBinding } from '../packs/bandmap';
import type { Scene, SensorBlock } from '../scene/types';
import type { LabelSet } from '../labels/types';
import { LabelLookup } from '../labels/sampling';
import { FieldMoeError } from '../util/errors';

/** One scene + labels as a source of training tiles. */
export interface SceneSource {
  /** For messages and provenance. */
  name: string;
  labels: LabelSet;
  bindings: InputBinding[];
  /** Full-scene block per binding (undefined when the sensor is absent or failed). */
  blocks: (SensorBlock | undefined)[];
  /** Label class index -> model class index. */
  classMap: Int32Array;
  /** Uniform normalisation per binding, from the scene's valid values. */
  normalization: { mean: number; std: number }[];
}

/** Reads every bound sensor of `scene` whole. */
export async function readSceneBlocks(scene: Scene, bindings: readonly InputBinding[], signal?: AbortSignal): Promise<(SensorBlock | undefined)[]> {
  const ids = bindings.filter((b) => b.available).map((b) => b.sensor!.id);
  const blocks = await scene.readWindow({ x: 0, y: 0, width: scene.info.width, height: scene.info.height }, { sensors: ids, signal });
  return bindings.map((b) => (b.available ? blocks.get(b.sensor!.id) : undefined));
}

/**
 * Mean and standard deviation over the valid values of a binding's bands (one pair for all
 * channels: the manifest's `uniform` rule, which any band set can use). Sampled on a stride.
 */
export function uniformStats(block: SensorBlock | undefined, binding: InputBinding): { mean: number; std: number } {
  if (!block) return { mean: 0, std: 1 };
  const n = block.width * block.height;
  const stride = Math.max(1, Math.floor((n * binding.channels) / 200_000));
  let s = 0;
  let s2 = 0;
  let count = 0;
  for (const band of binding.bandIndices) {
    const off = band * n;
    for (let p = 0; p < n; p += stride) {
      const v = block.data[off + p];
      if (!block.valid[p] || v !== v) continue;
      s += v;
      s2 += v * v;
      count++;
    }
  }
  if (!count) throw new FieldMoeError(binding.sensor?.file ?? binding.input.name, `sensor ${binding.sensor?.id} has no valid pixel to normalise with`);
  const mean = s / count;
  const std = Math.sqrt(Math.max(s2 / count - mean * mean, 0));
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * Per-band sums over the valid values of a binding's bands after its uniform normalisation
 * (what the model's input holds), sampled on a stride: to standardise each band on its own
 * (the pixel head's shift and scale), pooled over sources by adding the sums. With
 * `relativeTile`, of the values relative to the mean of their tile-sized block (an input the
 * pixel head reads relative to the tile's mean).
 */
export function bandSums(block: SensorBlock, binding: InputBinding, norm: { mean: number; std: number }, relativeTile?: number): { sum: Float64Array; sumSq: Float64Array; count: Float64Array } {
  const n = block.width * block.height;
  const stride = Math.max(1, Math.floor((n * binding.channels) / 2_000_000));
  const C = binding.channels;
  const out = { sum: new Float64Array(C), sumSq: new Float64Array(C), count: new Float64Array(C) };
  binding.bandIndices.forEach((band, c) => {
    const off = band * n;
    const local = relativeTile ? blockMeans(block, off, relativeTile) : undefined;
    for (let p = 0; p < n; p += stride) {
      const v = block.data[off + p];
      if (!block.valid[p] || v !== v) continue;
      const z = (v - (local ? local(p) : norm.mean)) / norm.std;
      out.sum[c] += z;
      out.sumSq[c] += z * z;
      out.count[c]++;
    }
  });
  return out;
}

/** The mean of the valid values of the T x T block (of a grid from the origin) holding each pixel. */
function blockMeans(block: SensorBlock, off: number, T: number): (p: number) => number {
  const cols = Math.ceil(block.width / T);
  const sum = new Float64Array(cols * Math.ceil(block.height / T));
  const count = new Float64Array(sum.length);
  const cell = (p: number) => Math.floor(Math.floor(p / block.width) / T) * cols + Math.floor((p % block.width) / T);
  for (let p = 0; p < block.width * block.height; p++) {
    const v = block.data[off + p];
    if (!block.valid[p] || v !== v) continue;
    sum[cell(p)] += v;
    count[cell(p)]++;
  }
  return (p) => sum[cell(p)] / count[cell(p)];
}

/** A tile of the model's size centred on labelled pixel `index`. */
export interface TileSample {
  source: number;
  /** Labelled pixel at the centre (LabelSet index). */
  index: number;
  x0: number;
  y0: number;
}

export function tileAround(labels: LabelSet, source: number, index: number, size: number): TileSample {
  const half = Math.floor(size / 2);
  return { source, index, x0: labels.x[index] - half, y0: labels.y[index] - half };
}

/**
 * Writes binding `b`'s normalised channels of `tile` into `dst` at offset `base` (C x T x T);
 * returns whether the sensor counts as present (covers at least half of the tile's data pixels,
 * the pipeline's rule).
 */
export function fillInput(src: SceneSource, bi: number, tile: TileSample, T: number, width: number, height: number, dst: Float32Array, base: number): boolean {
  const b = src.bindings[bi];
  const block = src.blocks[bi];
  dst.fill(0, base, base + b.channels * T * T);
  if (!block) return false;
  const { mean, std } = src.normalization[bi];
  const inv = 1 / std;
  const n = width * height;
  let validPx = 0;
  let inside = 0;
  for (let i = 0; i < T; i++) {
    const y = tile.y0 + i;
    if (y < 0 || y >= height) continue;
    for (let k = 0; k < T; k++) {
      const x = tile.x0 + k;
      if (x < 0 || x >= width) continue;
      const p = y * width + x;
      inside++;
      if (!block.valid[p]) continue;
      validPx++;
      for (let c = 0; c < b.channels; c++) {
        const v = block.data[b.bandIndices[c] * n + p];
        if (v === v) dst[base + c * T * T + i * T + k] = (v - mean) * inv;
      }
    }
  }
  return inside === 0 || validPx * 2 >= inside;
}

/** Per-pixel targets of `tile`: model class index where `lookup` has a label, else -1. */
export function fillTarget(src: SceneSource, lookup: LabelLookup, tile: TileSample, T: number, dst: BigInt64Array, base: number, centreOnly: boolean): void {
  const { width, height } = src.labels;
  dst.fill(-1n, base, base + T * T);
  const half = Math.floor(T / 2);
  for (let i = 0; i < T; i++) {
    const y = tile.y0 + i;
    if (y < 0 || y >= height) continue;
    for (let k = 0; k < T; k++) {
      if (centreOnly && (i !== half || k !== half)) continue;
      const x = tile.x0 + k;
      if (x < 0 || x >= width) continue;
      const c = lookup.classAt(x, y);
      if (c >= 0) dst[base + i * T + k] = BigInt(src.classMap[c]);
    }
  }
}

export { LabelLookup };
