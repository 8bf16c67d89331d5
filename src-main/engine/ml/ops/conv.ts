/**
 * 2-D convolution (ONNX Conv, NCHW) and the ConvTranspose that its input gradient uses.
 *
 * onnxruntime's CPU provider has Conv and ConvTranspose for float32 only, so float64 nodes
 * (gradient checks) are lowered to an exact im2col form built from Pad/Slice/Concat/Reshape/
 * MatMul, and ConvTranspose to the adjoint of that form derived by our own autodiff. A unit
 * test checks both lowerings against the native float32 kernels.
 */
import { attr, type Node, type Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { gradients } from '../autodiff';
import { add } from './elementwise';
import { matmul } from './linalg';
import { reduceSum } from './reduce';
import { reshape, transpose, unsqueeze, zerosLike } from './shape';
import { concat, pad, slice } from './slicing';

export interface Conv2dOptions {
  strides?: readonly [number, number];
  /** [top, left, bottom, right] (ONNX order). */
  pads?: readonly [number, number, number, number];
  dilations?: readonly [number, number];
  group?: number;
}

interface Geometry {
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
}

function geometry(node: Node): Geometry {
  return {
    strides: [...node.attr<readonly number[]>('strides', [1, 1])],
    pads: [...node.attr<readonly number[]>('pads', [0, 0, 0, 0])],
    dilations: [...node.attr<readonly number[]>('dilations', [1, 1])],
    group: node.attr<number>('group', 1),
  };
}

function geometryAttrs(g: Geometry) {
  return { strides: attr.ints(g.strides), pads: attr.ints(g.pads), dilations: attr.ints(g.dilations), group: attr.i(g.group) };
}

function spatial(v: Value, what: string): [number, number] {
  const [h, w] = v.shape.slice(2);
  if (v.rank !== 4 || typeof h !== 'number' || typeof w !== 'number') throw new Error(`${what}: ${v} must be NCHW with static H, W`);
  return [h, w];
}

/** Output size along one spatial axis (axis 0 = H, 1 = W). */
function convOut(size: number, kernel: number, geo: Geometry, axis: number): number {
  const extent = geo.dilations[axis] * (kernel - 1) + 1;
  return Math.floor((size + geo.pads[axis] + geo.pads[axis + 2] - extent) / geo.strides[axis]) + 1;
}

// ---- Conv ----------------------------------------------------------------------------------------

/** ONNX Conv 2-D: x [N, C, H, W], w [M, C/group, kh, kw], optional bias b [M]. */
export function conv2d(x: Value, w: Value, b?: Value, options: Conv2dOptions = {}): Value {
  const geo: Geometry = {
    strides: [...(options.strides ?? [1, 1])],
    pads: [...(options.pads ?? [0, 0, 0, 0])],
    dilations: [...(options.dilations ?? [1, 1])],
    group: options.group ?? 1,
  };
  const [kh, kw] = spatial(w, 'conv2d weight');
  return x.graph.op1('Conv', b ? [x, w, b] : [x, w], { ...geometryAttrs(geo), kernel_shape: attr.ints([kh, kw]) });
}
defineOp({
  type: 'Conv',
  infer: (inputs, node) => {
    const [x, w] = inputs as Value[];
    const geo = geometry(node);
    const [h, wd] = spatial(x, 'Conv input');
    const [kh, kw] = spatial(w, 'Conv weight');
    if (x.dtype !== w.dtype) throw new Error(`Conv dtype mismatch: ${x} vs ${w}`);
    const c = x.shape[1];
    if (typeof c === 'number' ? c !== (w.shape[1] as number) * geo.group : c !== w.shape[1] || geo.group !== 1)
      throw new Error(`Conv: ${x} has channels that ${w} with group ${geo.group} does not take`);
    return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], convOut(h, kh, geo, 0), convOut(wd, kw, geo, 1)] }];
  },
  grad: (ctx) => {
    const [x, w, b] = ctx.x as [Value, Value, Value | undefined];
    const dy = ctx.dy[0]!;
    const geo = geometry(ctx.node);
    return [
      ctx.needs(0) ? convInputGrad(dy, w, x, geo) : undefined,
      ctx.needs(1) ? convWeightGrad(dy, x, w, geo) : undefined,
      b && ctx.needs(2) ? reduceSum(dy, [0, 2, 3], false) : undefined,
    ];
  },
  lowerFloat64: (_g, node) => [convIm2col(node.inputs[0]!, node.inputs[1]!, node.inputs[2], geometry(node))],
});

/** dx: ConvTranspose of dy with the same weight; output_padding restores rows the stride dropped. */
function convInputGrad(dy: Value, w: Value, x: Value, geo: Geometry): Value {
  const [h, wd] = spatial(x, 'Conv input');
  const [kh, kw] = spatial(w, 'Conv weight');
  const [ho, wo] = spatial(dy, 'Conv output gradient');
  const reach = (i: number, out: number, k: number) => geo.strides[i] * (out - 1) + geo.dilations[i] * (k - 1) + 1 - geo.pads[i] - geo.pads[i + 2];
  const outputPadding = [h - reach(0, ho, kh), wd - reach(1, wo, kw)];
  return dy.graph.op1('ConvTranspose', [dy, w], { ...geometryAttrs(geo), kernel_shape: attr.ints([kh, kw]), output_padding: attr.ints(outputPadding) });
}

/**
 * dw[m, c, i, j] = sum over n, oh, ow of dy[n, m, oh, ow] x_pad[n, c, oh s + i d, ow s + j d]: a
 * Conv over x with batch and channels swapped and dy as the kernel, strides and dilations
 * exchanged. For groups, the group index joins the channel axis so one grouped Conv does it.
 */
function convWeightGrad(dy: Value, x: Value, w: Value, geo: Geometry): Value {
  const [kh, kw] = spatial(w, 'Conv weight');
  const [h, wd] = spatial(x, 'Conv input');
  const G = geo.group;
  let xs = transpose(x, [1, 0, 2, 3]); // [C, N, H, W]
  if (G > 1) {
    const n = x.shape[0];
    if (typeof n !== 'number') throw new Error(`grouped Conv weight gradient needs a static batch: ${x}`);
    const cg = (x.shape[1] as number) / G;
    xs = reshape(transpose(reshape(x, [n, G, cg, h, wd]), [2, 1, 0, 3, 4]), [cg, G * n, h, wd]);
  }
  const full = conv2d(xs, transpose(dy, [1, 0, 2, 3]), undefined, {
    strides: geo.dilations as [number, number],
    dilations: geo.strides as [number, number],
    pads: geo.pads as [number, number, number, number],
    group: G,
  }); // [C/G, M, kh', kw'] with kh' >= kh where the stride left rows unused
  const [fh, fw] = spatial(full, 'Conv weight gradient');
  const cropped = fh > kh || fw > kw ? slice(full, [0, 0], [kh, kw], [2, 3]) : full;
  return transpose(cropped, [1, 0, 2, 3]);
}

/** Conv as patches times weights (exact; used for float64, which the CPU Conv kernel lacks). */
function convIm2col(x: Value, w: Value, b: Value | undefined, geo: Geometry): Value {
  const [kh, kw] = spatial(w, 'Conv weight');
  const [h, wd] = spatial(x, 'Conv input');
  const [m, cg] = w.shape as number[];
  const G = geo.group;
  const [ho, wo] = [convOut(h, kh, geo, 0), convOut(wd, kw, geo, 1)];
  const [sh, sw] = geo.strides;
  const [dh, dw] = geo.dilations;
  const [pt, pl, pb, pr] = geo.pads;
  const xp = pad(x, [0, 0, pt, pl, 0, 0, pb, pr]);
  const taps: Value[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      taps.push(unsqueeze(slice(xp, [i * dh, j * dw], [i * dh + sh * (ho - 1) + 1, j * dw + sw * (wo - 1) + 1], [2, 3], [sh, sw]), [2]));
  const patches = reshape(concat(taps, 2), [0, G, cg * kh * kw, ho * wo]); // [N, G, Cg kh kw, L]
  const y = reshape(matmul(reshape(w, [G, m / G, cg * kh * kw]), patches), [0, m, ho, wo]);
  return b ? add(y, reshape(b, [m, 1, 1])) : y;
}

// ---- ConvTranspose (emitted by the Conv rule) ----------------------------------------------------

defineOp({
  type: 'ConvTranspose',
  infer: (inputs, node) => {
    const [x, w] = inputs as Value[];
    const geo = geometry(node);
    const [hi, wi] = spatial(x, 'ConvTranspose input');
    const [kh, kw] = spatial(w, 'ConvTranspose weight');
    const op = node.attr<readonly number[]>('output_padding', [0, 0]);
    const size = (i: number, inp: number, k: number) =>
      geo.strides[i] * (inp - 1) + op[i] + geo.dilations[i] * (k - 1) + 1 - geo.pads[i] - geo.pads[i + 2];
    return [{ dtype: x.dtype, shape: [x.shape[0], (w.shape[1] as number) * geo.group, size(0, hi, kh), size(1, wi, kw)] }];
  },
  // The adjoint (in x) of the im2col Conv with the same geometry, derived by autodiff.
  lowerFloat64: (_g, node) => {
    const [dy, w] = node.inputs as Value[];
    const out = node.outputs[0];
    if (out.shape.some((d) => typeof d !== 'number')) throw new Error(`float64 ConvTranspose needs static shapes: ${out}`);
    const x0 = zerosLike(out); // a stand-in input: the adjoint of a linear map does not read it
    return [gradients(convIm2col(x0, w, undefined, geometry(node)), [x0], dy).get(x0)!];
  },
});
