/**
 * Training samples from a scene and its labels: tiles of the model's size centred on labelled
 * pixels, filled exactly as the classify pipeline fills its tiles (per-input normalisation,
 * invalid pixels and padding past the scene edge = 0, availability per input), with a per-pixel
 * target of class indices (-1 where unlabelled or outside the split subset).
 *
 * The scene is read once into memory, where it fits (scene/whole.ts refuses it with a clear error
 * where it does not); sample tensors are cut from it.
 */
import type { InputBinding } from '../packs/bandmap';
import type { Scene, SensorBlock } from '../scene/types';
import type { LabelSet } from '../labels/types';
import { LabelLookup } from '../labels/sampling';
import { FieldMoeError } from '../util/errors';
import { presentInTile } from '../classify/tiling';
import { readWhole } from '../scene/whole';
import { noDataError } from '../scene/emptyBands';
import { meanStd, statsStride, valueSums } from '../packs/sceneNormalization';

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
  /** Pixels where any bound sensor is valid (anyValidMask); undefined with a single sensor. */
  anyValid?: Uint8Array;
}

/** Reads every bound sensor of `scene` whole. */
export async function readSceneBlocks(scene: Scene, bindings: readonly InputBinding[], signal?: AbortSignal): Promise<(SensorBlock | undefined)[]> {
  const ids = bindings.filter((b) => b.available).map((b) => b.sensor!.id);
  const blocks = await readWhole(scene, { sensors: ids, signal });
  return bindings.map((b) => (b.available ? blocks.get(b.sensor!.id) : undefined));
}

/**
 * Where any of `blocks` is valid, for the pipeline's presence rule (fillInput); undefined with
 * fewer than two: the pipeline counts a scene's only sensor present in every tile.
 */
export function anyValidMask(blocks: readonly (SensorBlock | undefined)[]): Uint8Array | undefined {
  const present = blocks.filter((b): b is SensorBlock => !!b);
  if (present.length < 2) return undefined;
  const mask = new Uint8Array(present[0].valid.length);
  for (const b of present) for (let p = 0; p < mask.length; p++) mask[p] |= b.valid[p];
  return mask;
}

/**
 * Mean and standard deviation over the valid values of a binding's bands (one pair for all
 * channels: the manifest's `uniform` rule, which any band set can use). Sampled on a stride.
 */
export function uniformStats(block: SensorBlock | undefined, binding: InputBinding): { mean: number; std: number } {
  if (!block) return { mean: 0, std: 1 };
  const stats = meanStd(valueSums(block, binding.bandIndices, statsStride(block.width * block.height, binding.channels)));
  if (!stats) throw binding.sensor ? noDataError(binding.sensor, `sensor ${binding.sensor.id}`, 'has no valid pixel to normalise with') : new FieldMoeError(binding.input.name, 'has no valid pixel to normalise with');
  return stats;
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

/**
 * Sums of the pixel head's spatial-context features (pixelhead.ts: per window side k, each band's
 * mean and standard deviation over the k x k window) over the scene's valid pixels, sampled on a
 * stride: to standardise them like the bands (`context.shift/scale`). Each band enters as the
 * head standardises it, (value - shift) scale after the uniform normalisation (relative to its
 * tile-sized block's mean with `relativeTile`); invalid pixels hold the model's fill (input 0).
 * Windows are clipped at the scene's edges rather than the tiles'. Features in the head's order
 * (k, mean|std, band).
 */
export function contextSums(
  block: SensorBlock,
  binding: InputBinding,
  norm: { mean: number; std: number },
  head: { shift: ArrayLike<number>; scale: ArrayLike<number>; windows: readonly number[]; varianceEps: number },
  relativeTile?: number,
): { sum: Float64Array; sumSq: Float64Array; count: Float64Array } {
  const { width: W, height: H } = block;
  const n = W * H;
  const C = binding.channels;
  const F = 2 * head.windows.length * C;
  const out = { sum: new Float64Array(F), sumSq: new Float64Array(F), count: new Float64Array(F) };
  const stride = Math.max(1, Math.floor(n / 200_000));
  // Integral images (W+1) x (H+1) of z and z^2 per band.
  const I = new Float64Array((W + 1) * (H + 1));
  const I2 = new Float64Array((W + 1) * (H + 1));
  binding.bandIndices.forEach((band, c) => {
    const off = band * n;
    const local = relativeTile ? blockMeans(block, off, relativeTile) : undefined;
    for (let y = 0; y < H; y++) {
      let row = 0;
      let row2 = 0;
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const v = block.data[off + p];
        const input = block.valid[p] && v === v ? (v - (local ? local(p) : norm.mean)) / norm.std : 0;
        const z = (input - head.shift[c]) * head.scale[c];
        row += z;
        row2 += z * z;
        I[(y + 1) * (W + 1) + x + 1] = I[y * (W + 1) + x + 1] + row;
        I2[(y + 1) * (W + 1) + x + 1] = I2[y * (W + 1) + x + 1] + row2;
      }
    }
    const rect = (A: Float64Array, x0: number, y0: number, x1: number, y1: number) => A[y1 * (W + 1) + x1] - A[y0 * (W + 1) + x1] - A[y1 * (W + 1) + x0] + A[y0 * (W + 1) + x0];
    head.windows.forEach((k, wi) => {
      const r = (k - 1) / 2;
      const [fm, fs] = [(2 * wi) * C + c, (2 * wi + 1) * C + c];
      for (let p = 0; p < n; p += stride) {
        if (!block.valid[p]) continue;
        const x = p % W;
        const y = (p - x) / W;
        const [x0, y0, x1, y1] = [Math.max(0, x - r), Math.max(0, y - r), Math.min(W, x + r + 1), Math.min(H, y + r + 1)];
        const count = (x1 - x0) * (y1 - y0);
        const mean = rect(I, x0, y0, x1, y1) / count;
        const sd = Math.sqrt(Math.max(rect(I2, x0, y0, x1, y1) / count - mean * mean, 0) + head.varianceEps);
        out.sum[fm] += mean;
        out.sumSq[fm] += mean * mean;
        out.count[fm]++;
        out.sum[fs] += sd;
        out.sumSq[fs] += sd * sd;
        out.count[fs]++;
      }
    });
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
  /** Input (binding index) treated as missing in this sample (validation of a model trained with missing sensors). */
  drop?: number;
}

export function tileAround(labels: LabelSet, source: number, index: number, size: number): TileSample {
  const half = Math.floor(size / 2);
  return { source, index, x0: labels.x[index] - half, y0: labels.y[index] - half };
}

/** Where in `tile` (row-major, side T) its own labelled pixel sits: the centre, less the jitter. */
export function labelledPixelInTile(labels: LabelSet, tile: TileSample, T: number): number {
  return (labels.y[tile.index] - tile.y0) * T + (labels.x[tile.index] - tile.x0);
}

/**
 * Writes binding `b`'s normalised channels of `tile` into `dst` at offset `base` (C x T x T);
 * returns whether the sensor counts as present by the pipeline's rule (classify/tiling.ts
 * presentInTile; the scene's only sensor always). Half of the tile's pixels instead marked a
 * LiDAR scene's sensor missing in most training tiles that the pipeline then classified with it
 * present.
 */
export function fillInput(src: SceneSource, bi: number, tile: TileSample, T: number, width: number, height: number, dst: Float32Array, base: number): boolean {
  const b = src.bindings[bi];
  const block = src.blocks[bi];
  dst.fill(0, base, base + b.channels * T * T);
  if (!block) return false;
  const { mean, std } = src.normalization[bi];
  const inv = 1 / std;
  const n = width * height;
  const { anyValid } = src;
  let validPx = 0;
  let dataPx = 0;
  for (let i = 0; i < T; i++) {
    const y = tile.y0 + i;
    if (y < 0 || y >= height) continue;
    for (let k = 0; k < T; k++) {
      const x = tile.x0 + k;
      if (x < 0 || x >= width) continue;
      const p = y * width + x;
      if (anyValid) dataPx += anyValid[p];
      if (!block.valid[p]) continue;
      validPx++;
      for (let c = 0; c < b.channels; c++) {
        const v = block.data[b.bandIndices[c] * n + p];
        if (v === v) dst[base + c * T * T + i * T + k] = (v - mean) * inv;
      }
    }
  }
  return !anyValid || presentInTile(validPx, dataPx);
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
