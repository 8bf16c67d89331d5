/**
 * Gradient checks through onnxruntime in float64: the autodiff graph and the forward graph run
 * in the same session, so what is checked is exactly what a train step would execute.
 *
 * For inputs x and a fixed random cotangent r, the loss is L = <r, f(x)>; autodiff gives
 * J^T r. We compare it with (1) central differences of L per element and (2) the adjoint
 * (dot-product) identity <J v, r> = <v, J^T r> along a random direction v.
 */
import * as ort from 'onnxruntime-node';
import { Graph, gradients, mul, reduceSum, type Value } from '../../src-main/engine/ml/index';

export interface GradInput {
  name: string;
  shape: number[];
  /** Values; random N(0,1) (or from `sample`) when omitted. */
  data?: Float64Array;
  /** Draws one input element; e.g. positive values for Log. */
  sample?: (rand: () => number) => number;
  /** Differentiate w.r.t. this input (default true). */
  wrt?: boolean;
  dtype?: 'float64' | 'int64' | 'bool';
  intData?: BigInt64Array | Uint8Array;
}

export interface GradCheckResult {
  maxRelError: number;
  adjointRelError: number;
  analytic: Float64Array[];
  numeric: Float64Array[];
}

/** The engine's seeded generator, so test inputs are reproducible on every machine. */
export { seededRng as rng, gaussian } from '../../src-main/engine/util/random';
import { seededRng as rng, gaussian } from '../../src-main/engine/util/random';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A named gradient check: inputs and the function whose rules it exercises. */
export interface GradCase {
  name: string;
  inputs: GradInput[];
  f: (g: Graph, x: Value[]) => Value;
  /** Finite-difference step (default 1e-6). */
  h?: number;
}

/**
 * The op types whose gradient rules a case exercises: nodes between a differentiated input and
 * the output. Builds the graph only (no session), so a coverage test can list them cheaply.
 */
export function differentiatedOpTypes(c: GradCase): Set<string> {
  const g = new Graph('coverage');
  const xs = c.inputs.map((i) => g.input(i.name, i.dtype ?? 'float64', i.shape));
  const y = c.f(g, xs);
  const live = new Set<Value>(xs.filter((_, k) => c.inputs[k].wrt !== false && (c.inputs[k].dtype ?? 'float64') === 'float64'));
  const types = new Set<string>();
  for (const n of g.reachableNodes([y]))
    if (n.inputs.some((x) => x && live.has(x))) {
      types.add(n.opType);
      for (const o of n.outputs) live.add(o);
    }
  return types;
}

export async function gradCheck(
  inputs: GradInput[],
  f: (g: Graph, xs: Value[]) => Value,
  options: { seed?: number; h?: number } = {},
): Promise<GradCheckResult> {
  const rand = rng(options.seed ?? 1);
  const h = options.h ?? 1e-6;
  const g = new Graph('gradcheck');
  const xs = inputs.map((i) => g.input(i.name, i.dtype ?? 'float64', i.shape));
  const y = f(g, xs);
  if (y.dtype !== 'float64') throw new Error(`gradCheck: f must return float64, got ${y}`);
  const yShape = y.shape.map((d) => {
    if (typeof d !== 'number') throw new Error('gradCheck: output shape must be static');
    return d;
  });
  const r = g.input('cotangent', 'float64', yShape);
  const loss = reduceSum(mul(y, r), [...yShape.keys()], false);
  const wrtIdx = inputs.map((i, k) => (i.wrt === false || (i.dtype ?? 'float64') !== 'float64' ? -1 : k)).filter((k) => k >= 0);
  const grads = gradients(loss, wrtIdx.map((k) => xs[k]));
  const model = g.toModel({
    outputs: [['loss', loss], ...wrtIdx.map((k) => [`grad_${k}`, grads.get(xs[k])!] as [string, Value])],
    keepInputs: [...xs, r],
  });
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });

  const feeds: Record<string, ort.Tensor> = {};
  const values: Float64Array[] = inputs.map((i) =>
    i.data ?? Float64Array.from({ length: numel(i.shape) }, () => (i.sample ? i.sample(rand) : gaussian(rand))),
  );
  inputs.forEach((i, k) => {
    const dtype = i.dtype ?? 'float64';
    feeds[i.name] = dtype === 'float64' ? new ort.Tensor('float64', values[k], i.shape) : new ort.Tensor(dtype, i.intData!, i.shape);
  });
  feeds.cotangent = new ort.Tensor('float64', Float64Array.from({ length: numel(yShape) }, () => gaussian(rand)), yShape);

  const run = async () => await session.run(feeds);
  const base = await run();
  const analytic = wrtIdx.map((k) => Float64Array.from(base[`grad_${k}`].data as Float64Array));
  const lossAt = async () => ((await run()).loss.data as Float64Array)[0];

  // (1) central differences, element by element
  const numeric: Float64Array[] = [];
  let maxRelError = 0;
  for (const [j, k] of wrtIdx.entries()) {
    const num = await centralDifferences(values[k], lossAt, h);
    numeric.push(num);
    maxRelError = Math.max(maxRelError, relError(analytic[j], num));
  }

  // (2) adjoint identity along a random direction v of all inputs at once
  const dirs = wrtIdx.map((k) => Float64Array.from({ length: values[k].length }, () => gaussian(rand)));
  const shift = async (sign: number) => {
    wrtIdx.forEach((k, j) => values[k].forEach((_, e) => (values[k][e] += sign * h * dirs[j][e])));
  };
  await shift(1);
  const lp = await lossAt();
  await shift(-2);
  const lm = await lossAt();
  await shift(1);
  const jvp = (lp - lm) / (2 * h);
  const vjp = wrtIdx.reduce((s, _k, j) => s + dot(dirs[j], analytic[j]), 0);
  const adjointRelError = Math.abs(jvp - vjp) / Math.max(Math.abs(jvp), Math.abs(vjp), 1e-12);
  await session.release();
  return { maxRelError, adjointRelError, analytic, numeric };
}

/**
 * Central differences of a scalar loss w.r.t. every element of `x`, perturbed in place (and
 * restored): `lossAt` must read `x` when it runs.
 */
export async function centralDifferences(x: Float64Array, lossAt: () => Promise<number>, h: number): Promise<Float64Array> {
  const num = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const x0 = x[e];
    x[e] = x0 + h;
    const lp = await lossAt();
    x[e] = x0 - h;
    const lm = await lossAt();
    x[e] = x0;
    num[e] = (lp - lm) / (2 * h);
  }
  return num;
}

/** Element-wise relative error, with a floor of 1e-4 of the largest entry for near-zero entries. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  const floor = Math.max(scale * 1e-4, 1e-12);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), floor));
  return worst;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface PrecisionResult {
  /** max |float32 - float64| / max |float64| of the output. */
  outputRelError: number;
  /** The same for each gradient, worst of them. */
  gradRelError: number;
}

/**
 * Builds `f` once in float32 and once in float64 and compares values and gradients on the same
 * inputs. Ops that emit a different form per dtype (a native float32 kernel versus a float64
 * decomposition, or extra saved outputs) are checked this way for being the same function.
 */
export async function float32Agreement(inputs: GradInput[], f: (g: Graph, xs: Value[]) => Value, seed = 3): Promise<PrecisionResult> {
  const rand = rng(seed);
  const values = inputs.map((i) => i.data ?? Float64Array.from({ length: numel(i.shape) }, () => (i.sample ? i.sample(rand) : gaussian(rand))));
  let cot: Float64Array | undefined;
  const run = async (dtype: 'float32' | 'float64') => {
    const g = new Graph(`agreement_${dtype}`);
    const xs = inputs.map((i) => g.input(i.name, i.dtype && i.dtype !== 'float64' ? i.dtype : dtype, i.shape));
    const y = f(g, xs);
    const yShape = y.shape as number[];
    cot ??= Float64Array.from({ length: numel(yShape) }, () => gaussian(rand));
    const r = g.input('cotangent', dtype, yShape);
    const loss = reduceSum(mul(y, r), [...yShape.keys()], false);
    const wrt = xs.filter((_, k) => inputs[k].wrt !== false && (inputs[k].dtype ?? 'float64') === 'float64');
    const grads = gradients(loss, wrt);
    const model = g.toModel({ outputs: [['y', y], ...wrt.map((w, k) => [`grad_${k}`, grads.get(w)!] as [string, Value])], keepInputs: [...xs, r] });
    const session = await ort.InferenceSession.create(model);
    const floats = (a: Float64Array) => (dtype === 'float32' ? Float32Array.from(a) : a);
    const feeds: Record<string, ort.Tensor> = { cotangent: new ort.Tensor(dtype, floats(cot), yShape) };
    inputs.forEach((i, k) => {
      feeds[i.name] = i.dtype && i.dtype !== 'float64' ? new ort.Tensor(i.dtype, i.intData!, i.shape) : new ort.Tensor(dtype, floats(values[k]), i.shape);
    });
    const out = await session.run(feeds);
    await session.release();
    return [out.y, ...wrt.map((_, k) => out[`grad_${k}`])].map((t) => Float64Array.from(t.data as Float32Array));
  };
  const single = await run('float32');
  const double = await run('float64');
  // Norm-wise, not element-wise: float32 rounding is relative to the largest values (e.g. GELU
  // of very negative x cancels in 1 + erf), while a wrong form is off by O(1).
  const scaled = (a: Float64Array, b: Float64Array) => {
    let diff = 0;
    let scale = 1e-30;
    b.forEach((v, i) => ((diff = Math.max(diff, Math.abs(a[i] - v))), (scale = Math.max(scale, Math.abs(v)))));
    return diff / scale;
  };
  return {
    outputRelError: scaled(single[0], double[0]),
    gradRelError: Math.max(0, ...single.slice(1).map((s, k) => scaled(s, double[k + 1]))),
  };
}
