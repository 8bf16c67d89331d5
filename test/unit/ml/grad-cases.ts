/**
 * Gradient-check cases, one list per op family. Each list runs in its own grad-*.test.ts file
 * (vitest spreads the files over workers), and grad-coverage.test.ts checks that together they
 * exercise every registered op that has a gradient rule.
 */
import * as ml from '../../../src-main/engine/ml/index';
import type { GradCase, GradInput } from '../../helpers/gradcheck';

export const positive = (r: () => number) => 0.5 + 2 * r();
// Values kept away from the kinks of Abs/Relu/Max so central differences are valid.
export const awayFromZero = (r: () => number) => (r() < 0.5 ? -1 : 1) * (0.2 + r());

/** Element-wise, matrix, reduction and shape-moving rules of the core ops. */
export const coreCases: GradCase[] = [
  { name: 'Add broadcast', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [3, 1] }], f: (_g, [a, b]) => ml.add(a, b) },
  { name: 'Sub broadcast', inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [2, 3, 4] }], f: (_g, [a, b]) => ml.sub(a, b) },
  { name: 'Mul broadcast', inputs: [{ name: 'a', shape: [2, 1, 4] }, { name: 'b', shape: [3, 1] }], f: (_g, [a, b]) => ml.mul(a, b) },
  { name: 'Div broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [1, 3], sample: positive }], f: (_g, [a, b]) => ml.div(a, b) },
  { name: 'Pow both operands', inputs: [{ name: 'a', shape: [2, 3], sample: positive }, { name: 'b', shape: [3] }], f: (_g, [a, b]) => ml.pow(a, b) },
  { name: 'Pow constant exponent', inputs: [{ name: 'a', shape: [5], sample: positive }], f: (_g, [a]) => ml.pow(a, 2.5) },
  { name: 'Max broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }], f: (_g, [a, b]) => ml.max(a, b) },
  { name: 'Min broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }], f: (_g, [a, b]) => ml.min(a, b) },
  { name: 'Neg', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.neg(a) },
  { name: 'Exp', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.exp(a) },
  { name: 'Log', inputs: [{ name: 'a', shape: [3, 2], sample: positive }], f: (_g, [a]) => ml.log(a) },
  { name: 'Sqrt', inputs: [{ name: 'a', shape: [3, 2], sample: positive }], f: (_g, [a]) => ml.sqrt(a) },
  { name: 'Reciprocal', inputs: [{ name: 'a', shape: [4], sample: positive }], f: (_g, [a]) => ml.reciprocal(a) },
  { name: 'Abs', inputs: [{ name: 'a', shape: [3, 2], sample: awayFromZero }], f: (_g, [a]) => ml.abs(a) },
  { name: 'Tanh', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.tanh(a) },
  { name: 'Sigmoid', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.sigmoid(a) },
  {
    // Both branches of the float64 decomposition (series below 2.5, continued fraction above);
    // h = 1e-5 because erf saturates: with 1e-6 the rounding of erf near 1 dominates.
    name: 'Erf (float64 decomposition)',
    inputs: [{ name: 'a', shape: [12], data: Float64Array.from([-4, -2.7, -2.4, -1.3, -0.4, 0.05, 0.3, 1.1, 2.2, 2.6, 3.1, 5]) }],
    f: (_g, [a]) => ml.erf(a),
    h: 1e-5,
  },
  { name: 'Softplus', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.softplus(a) },
  { name: 'Sign (zero gradient)', inputs: [{ name: 'a', shape: [4], sample: awayFromZero }], f: (_g, [a]) => ml.mul(ml.sign(a), a) },
  { name: 'Identity', inputs: [{ name: 'a', shape: [3] }], f: (_g, [a]) => ml.mul(ml.identity(a), a) },
  { name: 'Cast float64 to float64', inputs: [{ name: 'a', shape: [3] }], f: (g, [a]) => ml.mul(g.op1('Cast', [a], { to: ml.attr.i(11) }), a) },
  { name: 'Relu', inputs: [{ name: 'a', shape: [3, 2], sample: awayFromZero }], f: (_g, [a]) => ml.relu(a) },
  {
    name: 'Where broadcast',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }, { name: 'c', shape: [2, 3] }],
    f: (_g, [a, b, c]) => ml.where(ml.greater(c, 0), a, b),
  },
  { name: 'MatMul 2D', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'MatMul batch broadcast', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 5] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'MatMul batch both', inputs: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 4, 2] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'ReduceSum keepdims', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceSum(a, [1], true) },
  { name: 'ReduceSum drop', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceSum(a, [0, 2], false) },
  { name: 'ReduceMean', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceMean(a, [-1], false) },
  { name: 'ReduceMax', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceMax(a, [1], false) },
  { name: 'Reshape', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.mul(ml.reshape(a, [6, -1]), ml.reshape(a, [6, 4])) },
  { name: 'Transpose', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.transpose(a, [2, 0, 1]) },
  { name: 'Expand', inputs: [{ name: 'a', shape: [3, 1] }], f: (_g, [a]) => ml.expand(a, [2, 3, 4]) },
  { name: 'Unsqueeze/Squeeze', inputs: [{ name: 'a', shape: [3, 4] }], f: (_g, [a]) => ml.squeeze(ml.mul(ml.unsqueeze(a, [0]), ml.unsqueeze(a, [0])), [0]) },
  { name: 'shared input on two paths', inputs: [{ name: 'a', shape: [3, 3] }], f: (_g, [a]) => ml.matmul(a, ml.tanh(a)) },
];


/** Softmax, layer norm, GELU and Gemm (ops/nn.ts). */
export const nnCases: GradCase[] = [
  { name: 'Softmax last axis', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.softmax(a) },
  { name: 'Softmax axis 1', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.softmax(a, 1) },
  { name: 'LogSoftmax negative axis', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.logSoftmax(a, -2) },
  { name: 'LogSoftmax axis 0', inputs: [{ name: 'a', shape: [3, 4] }], f: (_g, [a]) => ml.logSoftmax(a, 0) },
  {
    name: 'LayerNormalization last axis with bias',
    inputs: [{ name: 'x', shape: [2, 3, 5] }, { name: 'scale', shape: [5] }, { name: 'bias', shape: [5] }],
    f: (_g, [x, s, b]) => ml.layerNorm(x, s, b),
  },
  {
    name: 'LayerNormalization over two axes, broadcast scale, no bias',
    inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 'scale', shape: [1, 4] }],
    f: (_g, [x, s]) => ml.layerNorm(x, s, undefined, { axis: -2, epsilon: 1e-3 }),
  },
  { name: 'GELU', inputs: [{ name: 'a', shape: [3, 4], sample: (r) => 6 * r() - 3 }], f: (_g, [a]) => ml.gelu(a) },
  { name: 'QuickGELU', inputs: [{ name: 'a', shape: [3, 4] }], f: (_g, [a]) => ml.quickGelu(a) },
  {
    name: 'Gemm plain with broadcast C',
    inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }, { name: 'c', shape: [2] }],
    f: (_g, [a, b, c]) => ml.gemm(a, b, c),
  },
  {
    name: 'Gemm transA, alpha, beta, column C',
    inputs: [{ name: 'a', shape: [4, 3] }, { name: 'b', shape: [4, 2] }, { name: 'c', shape: [3, 1] }],
    f: (_g, [a, b, c]) => ml.gemm(a, b, c, { transA: true, alpha: 0.7, beta: 0.3 }),
  },
  {
    name: 'Gemm transB, no C',
    inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [2, 4] }],
    f: (_g, [a, b]) => ml.gemm(a, b, undefined, { transB: true, alpha: 1.5 }),
  },
  {
    name: 'Gemm transA and transB, scalar C',
    inputs: [{ name: 'a', shape: [4, 3] }, { name: 'b', shape: [2, 4] }, { name: 'c', shape: [] }],
    f: (_g, [a, b, c]) => ml.gemm(a, b, c, { transA: true, transB: true }),
  },
];

const int64 = (name: string, shape: number[], values: number[]): GradInput => ({
  name,
  shape,
  dtype: 'int64',
  intData: BigInt64Array.from(values.map(BigInt)),
});

/** Concat, Split, Slice, Pad, Gather, GatherElements (ops/slicing.ts, ops/gather.ts). */
export const shapeCases: GradCase[] = [
  {
    name: 'Concat three inputs, negative axis',
    inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [2, 2, 3] }, { name: 'c', shape: [2, 3, 3] }],
    f: (_g, [a, b, c]) => ml.concat([a, b, c], -2),
  },
  {
    name: 'Split with an unused piece',
    inputs: [{ name: 'a', shape: [3, 5] }],
    f: (_g, [a]) => {
      const [p, , q] = ml.split(a, [2, 1, 2], -1);
      return ml.mul(p, q);
    },
  },
  {
    name: 'Slice two axes, negative start, clamped end',
    inputs: [{ name: 'a', shape: [4, 5, 3] }],
    f: (_g, [a]) => ml.slice(a, [1, -4], [3, 100], [0, -2]),
  },
  {
    name: 'Slice with steps 2 and -2',
    inputs: [{ name: 'a', shape: [5, 7] }],
    f: (_g, [a]) => ml.slice(a, [0, 6], [5, 0], [0, 1], [2, -2]),
  },
  {
    name: 'Slice step 3 with a remainder, reversed axis',
    inputs: [{ name: 'a', shape: [2, 8] }],
    f: (_g, [a]) => ml.slice(a, [-1, 1], [-3, 8], [0, 1], [-1, 3]),
  },
  { name: 'Pad positive amounts', inputs: [{ name: 'a', shape: [2, 3] }], f: (_g, [a]) => ml.pad(a, [1, 0, 2, 3], 0.5) },
  { name: 'Pad negative amounts (crop)', inputs: [{ name: 'a', shape: [4, 5] }], f: (_g, [a]) => ml.pad(a, [-1, 2, 0, -2]) },
  {
    name: 'Gather rows with repeated and negative indices (axis 0)',
    inputs: [{ name: 'table', shape: [5, 3] }],
    f: (_g, [t]) => ml.gather(t, [1, 3, 1, -1, 1], 0),
  },
  {
    name: 'Gather axis 1 with 2-D indices and repeats',
    inputs: [{ name: 'x', shape: [2, 4, 3] }, int64('idx', [2, 3], [0, 2, 2, -1, 0, 0])],
    f: (_g, [x, idx]) => ml.gather(x, idx, -2),
  },
  { name: 'Gather a scalar index', inputs: [{ name: 'x', shape: [3, 4] }], f: (g, [x]) => ml.gather(x, g.constant(new BigInt64Array([2n]), []), 1) },
  {
    name: 'GatherElements axis 1 with repeats',
    inputs: [{ name: 'x', shape: [3, 4] }, int64('idx', [3, 2], [0, 0, 3, 1, 2, 2])],
    f: (_g, [x, idx]) => ml.gatherElements(x, idx, 1),
  },
  {
    name: 'MatMul 3-D by 3-D weight (general batched rule)',
    inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [2, 4, 5] }],
    f: (_g, [a, b]) => ml.matmul(a, b),
  },
  {
    name: 'MatMul 4-D activations by 2-D weight (Gemm rule)',
    inputs: [{ name: 'a', shape: [2, 2, 3, 4] }, { name: 'b', shape: [4, 5] }],
    f: (_g, [a, b]) => ml.matmul(a, b),
  },
];

/**
 * Conv 2-D (ops/conv.ts): float64 runs the im2col lowering, with the Conv rule's own dx/dw/db.
 * Conv is linear in each input, so central differences have no truncation error at any step; a
 * large step (1e-3) keeps the rounding noise of the long sums far below the 1e-6 bound.
 */
const linearStep = 1e-3;
export const convCases: GradCase[] = [
  {
    name: 'Conv 3x3, pad 1, bias',
    inputs: [{ name: 'x', shape: [2, 3, 5, 5] }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }],
    f: (_g, [x, w, b]) => ml.conv2d(x, w, b, { pads: [1, 1, 1, 1] }),
    h: linearStep,
  },
  {
    name: 'Conv stride 2, asymmetric pads, 3x2 kernel, dropped edge rows',
    inputs: [{ name: 'x', shape: [1, 2, 6, 7] }, { name: 'w', shape: [3, 2, 3, 2] }],
    f: (_g, [x, w]) => ml.conv2d(x, w, undefined, { strides: [2, 2], pads: [1, 0, 0, 1] }),
    h: linearStep,
  },
  {
    name: 'Conv groups 2, dilation 2, stride (2, 1), bias',
    inputs: [{ name: 'x', shape: [2, 4, 7, 6] }, { name: 'w', shape: [6, 2, 3, 3] }, { name: 'b', shape: [6] }],
    f: (_g, [x, w, b]) => ml.conv2d(x, w, b, { strides: [2, 1], dilations: [2, 2], pads: [2, 1, 1, 2], group: 2 }),
    h: linearStep,
  },
  {
    name: 'Conv depthwise 2x2 stride 2 (patch embedding shape)',
    inputs: [{ name: 'x', shape: [2, 3, 4, 4] }, { name: 'w', shape: [3, 1, 2, 2] }],
    f: (_g, [x, w]) => ml.conv2d(x, w, undefined, { strides: [2, 2], group: 3 }),
    h: linearStep,
  },
];

/** Resizing, TopK, the top-k gate and the norm reductions (ops/resize.ts, ops/topk.ts, ops/reduce.ts). */
export const routingCases: GradCase[] = [
  {
    name: 'resizeBilinear half_pixel upsampling by sizes (MatMul form)',
    inputs: [{ name: 'x', shape: [2, 3, 3, 4] }],
    f: (_g, [x]) => ml.resizeBilinear(x, { sizes: [7, 6] }),
    h: linearStep,
  },
  {
    name: 'resizeBilinear align_corners, downsampling by scales',
    inputs: [{ name: 'x', shape: [1, 2, 6, 5] }],
    f: (_g, [x]) => ml.resizeBilinear(x, { scales: [0.5, 0.8], coordinates: 'align_corners' }),
    h: linearStep,
  },
  { name: 'TopK values, last axis', inputs: [{ name: 'x', shape: [3, 5] }], f: (_g, [x]) => ml.topk(x, 2).values },
  { name: 'TopK smallest along axis 0', inputs: [{ name: 'x', shape: [4, 3, 2] }], f: (_g, [x]) => ml.topk(x, 3, 0, false).values },
  { name: 'top-k gate, k = 2 of 6', inputs: [{ name: 'logits', shape: [4, 6] }], f: (_g, [l]) => ml.topkGate(l, 2) },
  { name: 'top-k gate along axis 1 of 3-D logits', inputs: [{ name: 'logits', shape: [2, 5, 3] }], f: (_g, [l]) => ml.topkGate(l, 3, 1) },
  { name: 'ReduceL2 over two axes', inputs: [{ name: 'x', shape: [2, 3, 4] }], f: (_g, [x]) => ml.reduceL2(x, [1, 2], false) },
  { name: 'ReduceL2 keepdims, negative axis', inputs: [{ name: 'x', shape: [3, 4] }], f: (_g, [x]) => ml.reduceL2(x, [-1], true) },
  { name: 'ReduceL1', inputs: [{ name: 'x', shape: [2, 3, 4], sample: awayFromZero }], f: (_g, [x]) => ml.reduceL1(x, [0, -1], false) },
];
