/**
 * Ops that cut tensors apart or join them: Concat, Split, Slice, Pad. Each gradient is the
 * op's adjoint written with the others (Concat <-> Split, Slice -> Pad, Pad -> Pad with negated
 * amounts). The sizes involved must be static; a symbolic batch dim is fine on the other axes.
 */
import { attr, type Dim, type Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { normAxis } from '../graph/shape';
import { constInts, reshape, unsqueeze, zerosLike } from './shape';

function staticDim(x: Value, axis: number, op: string): number {
  const d = x.shape[axis];
  if (typeof d !== 'number') throw new Error(`${op} along symbolic axis ${axis} of ${x}: needs a static size`);
  return d;
}

// ---- Concat / Split ------------------------------------------------------------------------------

export function concat(xs: readonly Value[], axis: number): Value {
  if (!xs.length) throw new Error('concat of no tensors');
  return xs[0].graph.op1('Concat', xs, { axis: attr.i(normAxis(axis, xs[0].rank)) });
}
defineOp({
  type: 'Concat',
  infer: (inputs, node) => {
    const xs = inputs as Value[];
    const axis = normAxis(node.attr<number>('axis'), xs[0].rank);
    for (const x of xs)
      if (x.rank !== xs[0].rank || x.dtype !== xs[0].dtype || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i]))
        throw new Error(`Concat along ${axis}: ${x} does not match ${xs[0]}`);
    const total = xs.reduce((n, x) => n + staticDim(x, axis, 'Concat'), 0);
    return [{ dtype: xs[0].dtype, shape: xs[0].shape.map((d, i) => (i === axis ? total : d)) }];
  },
  grad: (ctx) => {
    const axis = ctx.node.attr<number>('axis');
    return split(ctx.dy[0]!, (ctx.x as Value[]).map((x) => staticDim(x, axis, 'Concat')), axis);
  },
});

/** Splits `x` along `axis` into pieces of the given sizes (which must add up to the axis size). */
export function split(x: Value, sizes: readonly number[], axis: number): Value[] {
  return x.graph.op('Split', [x, x.graph.ints(sizes, 'split')], { axis: attr.i(normAxis(axis, x.rank)) });
}
defineOp({
  type: 'Split',
  infer: (inputs, node) => {
    const [x, s] = inputs as Value[];
    const axis = normAxis(node.attr<number>('axis', 0), x.rank);
    const sizes = constInts(s);
    if (!sizes) throw new Error('Split needs constant sizes');
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== staticDim(x, axis, 'Split')) throw new Error(`Split sizes [${sizes}] do not add up to axis ${axis} of ${x}`);
    return sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? n : d)) }));
  },
  grad: (ctx) => {
    // Pieces that received no gradient contribute zeros.
    const pieces = ctx.y.map((y, k) => ctx.dy[k] ?? zerosLike(y));
    return [concat(pieces, ctx.node.attr<number>('axis', 0)), undefined];
  },
});

// ---- Slice ---------------------------------------------------------------------------------------

interface AxisSlice {
  axis: number;
  /** First index taken. */
  start: number;
  step: number;
  /** Number of elements taken. */
  count: number;
  size: number;
}

/** ONNX Slice bounds resolved against static dims (clamping and negative indices included). */
function resolveSlice(x: Value, starts: number[], ends: number[], axes: number[], steps: number[]): AxisSlice[] {
  return axes.map((a, k) => {
    const axis = normAxis(a, x.rank);
    const size = staticDim(x, axis, 'Slice');
    const step = steps[k] ?? 1;
    if (step === 0) throw new Error('Slice step must not be 0');
    const norm = (v: number) => (v < 0 ? v + size : v);
    const [lo, hi] = step > 0 ? [0, size] : [0, size - 1];
    const start = Math.min(Math.max(norm(starts[k]), lo), hi);
    const end = Math.min(Math.max(norm(ends[k]), step > 0 ? 0 : -1), step > 0 ? size : size - 1);
    const count = Math.max(0, Math.ceil((end - start) / step));
    return { axis, start, step, count, size };
  });
}

function sliceParams(inputs: readonly (Value | undefined)[]): AxisSlice[] {
  const [x, s, e, a, st] = inputs;
  const starts = constInts(s);
  const ends = constInts(e);
  if (!starts || !ends) throw new Error('Slice needs constant starts and ends');
  const axes = constInts(a) ?? starts.map((_, i) => i);
  const steps = constInts(st) ?? axes.map(() => 1);
  return resolveSlice(x!, starts, ends, axes, steps);
}

/** x[starts:ends:steps] along `axes` (ONNX Slice; negative indices count from the end). */
export function slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
  const g = x.graph;
  const ins = [x, g.ints(starts, 'starts'), g.ints(ends, 'ends')];
  if (axes || steps) ins.push(g.ints(axes ?? starts.map((_, i) => i), 'axes'));
  if (steps) ins.push(g.ints(steps, 'steps'));
  return g.op1('Slice', ins);
}
defineOp({
  type: 'Slice',
  infer: (inputs) => {
    const x = inputs[0]!;
    const shape: Dim[] = [...x.shape];
    for (const s of sliceParams(inputs)) shape[s.axis] = s.count;
    return [{ dtype: x.dtype, shape }];
  },
  grad: (ctx) => {
    // Put dy back where it came from: a negative step is a positive one over the reversed
    // dy; a step k > 1 interleaves k - 1 zeros; then Pad places it inside the axis.
    const x = ctx.x[0]!;
    let d = ctx.dy[0]!;
    const pads = new Array<number>(2 * x.rank).fill(0);
    for (const s of sliceParams(ctx.x)) {
      if (s.count === 0) return [zerosLike(x)];
      let first = s.start;
      let step = s.step;
      if (step < 0) {
        d = slice(d, [-1], [-Number.MAX_SAFE_INTEGER], [s.axis], [-1]);
        step = -step;
        first = s.start - (s.count - 1) * step;
      }
      if (step > 1) d = dilate(d, s.axis, step, s.count);
      pads[s.axis] = first;
      pads[x.rank + s.axis] = s.size - first - ((s.count - 1) * step + 1);
    }
    return [pad(d, pads), undefined, undefined, undefined, undefined];
  },
});

/** Inserts `step - 1` zeros between the `count` entries of `axis`: length (count - 1) * step + 1. */
function dilate(x: Value, axis: number, step: number, count: number): Value {
  const spread = pad(unsqueeze(x, [axis + 1]), padsOn(x.rank + 1, axis + 1, 0, step - 1));
  const merged = reshape(spread, x.shape.map((d, i) => (i === axis ? count * step : typeof d === 'number' ? d : 0)));
  return slice(merged, [0], [(count - 1) * step + 1], [axis]);
}

function padsOn(rank: number, axis: number, before: number, after: number): number[] {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis] = before;
  pads[rank + axis] = after;
  return pads;
}

// ---- Pad -----------------------------------------------------------------------------------------

/**
 * Constant padding, ONNX order [begin_0, ..., begin_n, end_0, ..., end_n]; negative amounts
 * crop. Its adjoint is Pad with the amounts negated (padding becomes cropping and back).
 */
export function pad(x: Value, pads: readonly number[], value = 0): Value {
  if (pads.length !== 2 * x.rank) throw new Error(`pad of ${x} needs ${2 * x.rank} amounts, got ${pads.length}`);
  if (pads.every((p) => p === 0)) return x;
  const g = x.graph;
  return g.op1('Pad', [x, g.ints(pads, 'pads'), g.scalar(value, x.dtype)], { mode: attr.s('constant') });
}
defineOp({
  type: 'Pad',
  infer: (inputs, node) => {
    const [x, p] = inputs as Value[];
    if (node.attr<string>('mode', 'constant') !== 'constant') throw new Error('Pad: only constant mode is supported');
    const pads = constInts(p);
    if (!pads) throw new Error('Pad needs constant pads');
    const shape = x.shape.map((d, i) => {
      if (pads[i] === 0 && pads[x.rank + i] === 0) return d;
      return staticDim(x, i, 'Pad') + pads[i] + pads[x.rank + i];
    });
    return [{ dtype: x.dtype, shape }];
  },
  grad: (ctx) => {
    const pads = constInts(ctx.x[1])!;
    return [pad(ctx.dy[0]!, pads.map((p) => -p)), undefined, undefined];
  },
});
