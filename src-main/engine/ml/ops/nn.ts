/**
 * Neural-network building blocks: softmax, layer norm, GELU, Gemm. Each is one ONNX op (or a
 * short composition of ops that have their own rules), with its gradient rule next to it.
 */
import { attr, type Value } from '../graph/graph';
import { isFloat } from '../graph/dtype';
import { defineOp } from '../graph/registry';
import { normAxis, sumToShape } from '../graph/shape';
import { add, div, erf, exp, mul, sigmoid, sqrt, sub } from './elementwise';
import { reduceMean, reduceSum } from './reduce';

// ---- softmax -----------------------------------------------------------------------------------

/** Softmax along one axis (opset-13 semantics: that axis only). */
export function softmax(x: Value, axis = -1): Value {
  return x.graph.op1('Softmax', [x], { axis: attr.i(normAxis(axis, x.rank)) });
}
defineOp({
  type: 'Softmax',
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
  grad: (ctx) => {
    // dx = y * (dy - sum(dy * y, axis))
    const y = ctx.y[0];
    const dy = ctx.dy[0]!;
    const axis = ctx.node.attr<number>('axis', -1);
    return [mul(y, sub(dy, reduceSum(mul(dy, y), [axis], true)))];
  },
});

/** log(softmax(x)) along one axis, computed stably by onnxruntime. */
export function logSoftmax(x: Value, axis = -1): Value {
  return x.graph.op1('LogSoftmax', [x], { axis: attr.i(normAxis(axis, x.rank)) });
}
defineOp({
  type: 'LogSoftmax',
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
  grad: (ctx) => {
    // dx = dy - softmax(x) * sum(dy, axis), with softmax(x) = exp(y)
    const dy = ctx.dy[0]!;
    const axis = ctx.node.attr<number>('axis', -1);
    return [sub(dy, mul(exp(ctx.y[0]), reduceSum(dy, [axis], true)))];
  },
});

// ---- layer normalization -------------------------------------------------------------------------

export interface LayerNormOptions {
  /** First normalized axis; all axes from it to the last are normalized (ONNX semantics). */
  axis?: number;
  epsilon?: number;
}

/**
 * ONNX LayerNormalization: (x - mean) / sqrt(var + eps) * scale + bias over axes [axis, rank).
 * float32 nodes also output Mean and InvStdDev, which the gradient rule reuses. onnxruntime's CPU
 * provider runs float64 LayerNormalization only with the single output (its Mean/InvStdDev are
 * float32 there), so float64 nodes have one output and the rule recomputes both; a unit test
 * checks that the two paths give the same gradients.
 */
export function layerNorm(x: Value, scale: Value, bias?: Value, options: LayerNormOptions = {}): Value {
  const axis = normAxis(options.axis ?? -1, x.rank);
  const attributes = { axis: attr.i(axis), epsilon: attr.f(options.epsilon ?? 1e-5) };
  return x.graph.op('LayerNormalization', bias ? [x, scale, bias] : [x, scale], attributes)[0];
}
defineOp({
  type: 'LayerNormalization',
  infer: (inputs, node) => {
    const x = inputs[0]!;
    if (!isFloat(x.dtype)) throw new Error(`LayerNormalization of ${x}: needs float32 or float64`);
    const axis = normAxis(node.attr<number>('axis', -1), x.rank);
    const stats = { dtype: x.dtype, shape: x.shape.map((d, i) => (i < axis ? d : 1)) };
    return x.dtype === 'float32' ? [{ dtype: x.dtype, shape: x.shape }, stats, stats] : [{ dtype: x.dtype, shape: x.shape }];
  },
  grad: (ctx) => {
    const [x, scale, bias] = ctx.x as [Value, Value, Value | undefined];
    const dy = ctx.dy[0]!;
    const axis = normAxis(ctx.node.attr<number>('axis', -1), x.rank);
    const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
    const eps = Math.fround(ctx.node.attr<number>('epsilon', 1e-5)); // float attributes are float32
    let mean = ctx.y[1];
    let rstd = ctx.y[2];
    if (!mean || !rstd) {
      mean = reduceMean(x, axes, true);
      const xc = sub(x, mean);
      rstd = div(1, sqrt(add(reduceMean(mul(xc, xc), axes, true), eps)));
    }
    const xhat = mul(sub(x, mean), rstd);
    // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = dy * scale
    const gIn = mul(dy, scale);
    const dx = ctx.needs(0)
      ? mul(rstd, sub(sub(gIn, reduceMean(gIn, axes, true)), mul(xhat, reduceMean(mul(gIn, xhat), axes, true))))
      : undefined;
    return [
      dx,
      ctx.needs(1) ? sumToShape(ctx.g, mul(dy, xhat), scale.shape) : undefined,
      bias && ctx.needs(2) ? sumToShape(ctx.g, dy, bias.shape) : undefined,
    ];
  },
});

// ---- GELU --------------------------------------------------------------------------------------

/**
 * Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), from Erf/Div/Add/Mul: opset 18 has no
 * Gelu op (it came in opset 20), and onnxruntime fuses exactly this pattern into its own Gelu
 * kernel for float32, so staying on opset 18 costs nothing. Gradients come from the parts.
 */
export function gelu(x: Value): Value {
  return mul(mul(x, add(erf(div(x, Math.SQRT2)), 1)), 0.5);
}

/** The sigmoid approximation of GELU used by CLIP: x * sigmoid(1.702 x). */
export function quickGelu(x: Value): Value {
  return mul(x, sigmoid(mul(x, 1.702)));
}

// ---- Gemm --------------------------------------------------------------------------------------

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** ONNX Gemm: alpha * A' B' + beta * C for 2-D A, B (A' = A^T when transA), C broadcast to [M, N]. */
export function gemm(a: Value, b: Value, c?: Value, options: GemmOptions = {}): Value {
  return a.graph.op1('Gemm', c ? [a, b, c] : [a, b], {
    transA: attr.i(options.transA ? 1 : 0),
    transB: attr.i(options.transB ? 1 : 0),
    alpha: attr.f(options.alpha ?? 1),
    beta: attr.f(options.beta ?? 1),
  });
}
defineOp({
  type: 'Gemm',
  infer: (inputs, node) => {
    const [a, b] = inputs as Value[];
    if (a.rank !== 2 || b.rank !== 2) throw new Error(`Gemm of ${a} and ${b}: operands must be 2-D`);
    if (a.dtype !== b.dtype) throw new Error(`Gemm dtype mismatch: ${a} vs ${b}`);
    const [m, ka] = node.attr<number>('transA', 0) ? [a.shape[1], a.shape[0]] : a.shape;
    const [kb, n] = node.attr<number>('transB', 0) ? [b.shape[1], b.shape[0]] : b.shape;
    if (ka !== kb) throw new Error(`Gemm inner dims differ: ${a} x ${b}`);
    return [{ dtype: a.dtype, shape: [m, n] }];
  },
  grad: (ctx) => {
    // With A' = op(A), B' = op(B): dA' = alpha dY B'^T, dB' = alpha A'^T dY; each is written as
    // one Gemm whose trans flags absorb the transposes, so no Transpose node is emitted.
    const [a, b, c] = ctx.x as [Value, Value, Value | undefined];
    const dy = ctx.dy[0]!;
    const tA = ctx.node.attr<number>('transA', 0) === 1;
    const tB = ctx.node.attr<number>('transB', 0) === 1;
    const alpha = ctx.node.attr<number>('alpha', 1);
    const beta = Math.fround(ctx.node.attr<number>('beta', 1)); // float attributes are float32
    const da = () => (tA ? gemm(b, dy, undefined, { transA: tB, transB: true, alpha }) : gemm(dy, b, undefined, { transB: !tB, alpha }));
    const db = () => (tB ? gemm(dy, a, undefined, { transA: true, transB: tA, alpha }) : gemm(a, dy, undefined, { transA: !tA, alpha }));
    return [
      ctx.needs(0) ? da() : undefined,
      ctx.needs(1) ? db() : undefined,
      c && ctx.needs(2) ? sumToShape(ctx.g, beta === 1 ? dy : mul(dy, beta), c.shape) : undefined,
    ];
  },
});
