/**
 * 1-D resampling matrices, the one definition behind every resize in the engine: bilinear
 * resizing of maps (resize.ts, the decoders' upsampling) and bilinear/bicubic resizing of
 * position embeddings (models/vit.ts). A resize is linear in its input, so [out, in] constant
 * matrices reproduce it exactly and keep it differentiable and provider-independent.
 *
 * Conventions are PyTorch's F.interpolate (= ONNX Resize with the matching
 * coordinate_transformation_mode): cubic coefficient A = -0.75, edge clamping, no antialiasing.
 */

export interface Interpolation {
  mode: 'bilinear' | 'bicubic';
  /** PyTorch align_corners (ONNX 'align_corners'); false is half-pixel centres. */
  alignCorners: boolean;
  /**
   * The scale factor out/in that maps coordinates (PyTorch's scale_factor, ONNX's scales);
   * default outSize / inSize. Ignored with alignCorners.
   */
  scale?: number;
  /**
   * Coordinates as if the output had outSize + offset samples: the original DINOv2 code resizes
   * with scale_factor = (out + 0.1) / in (offset 0.1). Ignored when `scale` is given.
   */
  offset?: number;
}

/** PyTorch's cubic convolution weights (A = -0.75) for fractional offset t. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** The [out, in] matrix (row-major) of resampling `inSize` samples to `outSize`. */
export function interpolationMatrix(inSize: number, outSize: number, how: Interpolation): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const srcPerDst = how.alignCorners
    ? outSize > 1 ? (inSize - 1) / (outSize - 1) : 0
    : how.scale !== undefined ? 1 / how.scale : inSize / (outSize + (how.offset ?? 0));
  const clampIdx = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let o = 0; o < outSize; o++) {
    let src = how.alignCorners ? srcPerDst * o : srcPerDst * (o + 0.5) - 0.5;
    if (how.mode === 'bilinear') {
      if (src < 0) src = 0;
      const i0 = Math.floor(src);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const t = src - i0;
      m[o * inSize + clampIdx(i0)] += 1 - t;
      m[o * inSize + clampIdx(i1)] += t;
    } else {
      const i0 = Math.floor(src);
      const wts = cubicWeights(src - i0);
      for (let k = 0; k < 4; k++) m[o * inSize + clampIdx(i0 - 1 + k)] += wts[k];
    }
  }
  return m;
}

/** The transpose of a row-major [rows, cols] matrix. */
export function transposeMatrix(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}
