/**
 * Dense heads: per-token features to per-pixel class logits at full tile resolution.
 *
 * The SpectralMoE paper decodes with Mask2Former, whose Hungarian matching between predicted
 * and ground-truth masks is a combinatorial assignment that does not fit one differentiable
 * ONNX train graph. We use a light multi-level decoder instead (as SETR-MLA / the UperNet-lite
 * heads of PEFT papers): patch features of four depths are each projected to `hidden`, summed,
 * passed through GELU and a per-token classifier, and the class map is upsampled bilinearly to
 * the tile size; it trains with per-pixel cross-entropy. Bilinear upsampling is two constant
 * interpolation matrices (PyTorch's F.interpolate, align_corners = false), so it is exact,
 * differentiable and uses only MatMul, which every execution provider runs.
 */
import type { Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import { add, gelu, matmul, reshape, transpose } from '../ops/index';
import { init, type ParamSource } from './init';
import { interpolationMatrix, layerNormLayer, linear } from './vit';

export interface DecoderConfig {
  /** Backbone blocks (0-based) whose patch tokens are fused; four in the paper's setting. */
  levels: readonly number[];
  /** Width of the fused features. */
  hidden: number;
  classes: number;
}

/** Four evenly spaced levels ending at the last block, e.g. depth 12 -> [2, 5, 8, 11]. */
export function defaultLevels(depth: number, count = 4): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(((i + 1) * depth) / count) - 1);
}

/**
 * Bilinear upsampling of a [B, C, h, w] map to [B, C, H, W] (F.interpolate, mode bilinear,
 * align_corners false), as x -> Mh x Mw^T.
 */
export function upsampleBilinear(g: Graph, x: Value, size: [number, number], dtype: FloatDType): Value {
  const [h, w] = [x.shape[2] as number, x.shape[3] as number];
  const how = { mode: 'bilinear' as const, alignCorners: false };
  const cast = (a: Float64Array) => (dtype === 'float32' ? Float32Array.from(a) : a);
  const mh = g.constant(cast(interpolationMatrix(h, size[0], how)), [size[0], h], 'upsample_rows');
  const mwT = g.constant(cast(transposed(interpolationMatrix(w, size[1], how), size[1], w)), [w, size[1]], 'upsample_cols');
  return matmul(mh, matmul(x, mwT));
}

function transposed(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** Per-token logits [B, N, C] on `grid` -> per-pixel logits [B, C, H, W]. */
export function tokenLogitsToMap(g: Graph, logits: Value, grid: [number, number], size: [number, number], dtype: FloatDType): Value {
  const c = logits.shape[2] as number;
  const map = reshape(transpose(logits, [0, 2, 1]), [0, c, grid[0], grid[1]]);
  return size[0] === grid[0] && size[1] === grid[1] ? map : upsampleBilinear(g, map, size, dtype);
}

/**
 * The multi-level segmentation decoder: `features` are patch tokens [B, N, d] of `cfg.levels`
 * (in that order); parameters under `decoder.*`. Returns logits [B, classes, H, W].
 */
export function segmentationDecoder(g: Graph, src: ParamSource, features: readonly Value[], grid: [number, number], size: [number, number], cfg: DecoderConfig): Value {
  if (features.length !== cfg.levels.length) throw new Error(`decoder: ${features.length} feature maps for ${cfg.levels.length} levels`);
  return g.scope('decoder', () => {
    const d = features[0].shape[2] as number;
    const fused = features
      .map((f, i) => linear(g, src, `proj.${i}`, layerNormLayer(g, src, `norm.${i}`, f, d, 1e-6), d, cfg.hidden, { weightInit: init.kaimingUniform }))
      .reduce((a, b) => add(a, b));
    const logits = linear(g, src, 'classifier', gelu(fused), cfg.hidden, cfg.classes, { weightInit: init.kaimingUniform });
    return tokenLogitsToMap(g, logits, grid, size, src.dtype);
  });
}
