/**
 * Bilinear resizing of the last two axes (ONNX Resize, mode linear), written as two products
 * with constant interpolation matrices: y = A_h x A_w^T. Resizing is linear in x, so this form
 * is exact, runs in float64 (onnxruntime's CPU Resize is float32-only), runs on every
 * execution provider, and needs no rule of its own (MatMul's rules differentiate it). A unit
 * test checks it against onnxruntime's native Resize in float32.
 */
import type { Value } from '../graph/graph';
import { typedArray } from '../graph/dtype';
import { matmul } from './linalg';
import { interpolationMatrix, transposeMatrix, type Interpolation } from './interp';

/**
 * How output pixel o maps to an input coordinate, as in ONNX coordinate_transformation_mode:
 * 'half_pixel' (PyTorch align_corners=False): (o + 0.5) / scale - 0.5;
 * 'align_corners' (PyTorch align_corners=True): o (in - 1) / (out - 1).
 */
export type ResizeCoordinates = 'half_pixel' | 'align_corners';

export interface ResizeOptions {
  /** Output [H, W]; or give `scales`. */
  sizes?: readonly [number, number];
  /** Scale factors [sh, sw]; output sizes are floor(in * scale), coordinates use the scales. */
  scales?: readonly [number, number];
  coordinates?: ResizeCoordinates;
}

/** Resizes x [..., H, W] bilinearly; H and W must be static. */
export function resizeBilinear(x: Value, options: ResizeOptions): Value {
  const [h, w] = x.shape.slice(-2);
  if (x.rank < 2 || typeof h !== 'number' || typeof w !== 'number') throw new Error(`resizeBilinear: ${x} needs static last two dims`);
  const mode = options.coordinates ?? 'half_pixel';
  const scales = options.scales ?? [options.sizes![0] / h, options.sizes![1] / w];
  const sizes = options.sizes ?? [Math.floor(h * scales[0]), Math.floor(w * scales[1])];
  if (!options.sizes && !options.scales) throw new Error('resizeBilinear needs sizes or scales');
  const g = x.graph;
  const axis = (scale: number): Interpolation => ({ mode: 'bilinear', alignCorners: mode === 'align_corners', scale });
  const ah = g.constant(typedArray(x.dtype, interpolationMatrix(h, sizes[0], axis(scales[0]))), [sizes[0], h], 'resize_rows');
  const awT = g.constant(typedArray(x.dtype, transposeMatrix(interpolationMatrix(w, sizes[1], axis(scales[1])), sizes[1], w)), [w, sizes[1]], 'resize_cols');
  return matmul(ah, matmul(x, awT));
}
