/** Shape ops: they move values around, so their gradients move them back. */
import { attr, type Dim, type Shape, type Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { normAxis, sumToShape } from '../graph/shape';

export function shapeOf(x: Value): Value {
  return x.graph.op1('Shape', [x]);
}
defineOp({ type: 'Shape', infer: (inputs) => [{ dtype: 'int64', shape: [inputs[0]!.rank] }] });

/**
 * Reshape to a static target; one dim may be -1 and 0 copies the input dim (ONNX semantics),
 * which is how symbolic batch dims survive a reshape.
 */
export function reshape(x: Value, target: readonly number[]): Value {
  return x.graph.op1('Reshape', [x, x.graph.ints(target, 'shape')]);
}
defineOp({
  type: 'Reshape',
  infer: (inputs) => {
    const [x, s] = inputs as Value[];
    const like = shapeSource(s);
    if (like) return [{ dtype: x.dtype, shape: like.shape }];
    return [{ dtype: x.dtype, shape: reshapeShape(x.shape, constInts(s)) }];
  },
  grad: (ctx) => [reshapeLike(ctx.dy[0]!, ctx.x[0]!), undefined],
});

/** Reshape `x` back to the (possibly symbolic) shape of `like`. */
export function reshapeLike(x: Value, like: Value): Value {
  const g = x.graph;
  const symbolic = like.shape.some((d) => typeof d !== 'number');
  if (!symbolic) return reshape(x, like.shape as number[]);
  return g.op1('Reshape', [x, shapeOf(like)]);
}

function reshapeShape(input: Shape, target: readonly number[] | undefined): Dim[] {
  if (!target) throw new Error('Reshape needs a constant target shape');
  const out: Dim[] = target.map((d, i) => (d === 0 ? input[i] : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const whole = product(input);
    const rest = product(out.filter((_, i) => i !== minus));
    const symbols = [...whole.symbols];
    for (const s of rest.symbols) {
      const at = symbols.indexOf(s);
      if (at < 0) throw new Error(`Reshape of [${input.join(',')}] to [${target.join(',')}]: symbolic dim ${s} is not in the input`);
      symbols.splice(at, 1);
    }
    out[minus] = dimOf(symbols, whole.factor / rest.factor);
  }
  return out;
}

/**
 * A shape's element count as symbols times a number: a symbolic dim like 'N*145' (what a
 * reshape of [N, 145, D] to [-1, D] names) reads as the symbol N and the factor 145.
 */
function product(dims: readonly Dim[]): { symbols: string[]; factor: number } {
  const symbols: string[] = [];
  let factor = 1;
  for (const d of dims)
    for (const part of String(d).split('*')) {
      if (/^\d+(\.\d+)?$/.test(part)) factor *= Number(part);
      else symbols.push(part);
    }
  return { symbols, factor };
}

function dimOf(symbols: string[], factor: number): Dim {
  if (!symbols.length) return factor;
  return factor === 1 ? symbols.join('*') : `${symbols.join('*')}*${factor}`;
}

/** For a run-time shape computed as Shape(v), the value v (its static type names the dims). */
function shapeSource(s: Value): Value | undefined {
  return s.producer?.opType === 'Shape' ? s.producer.inputs[0] : undefined;
}

/** The int64 values of a constant, or undefined if it is computed at run time. */
export function constInts(v: Value | undefined): number[] | undefined {
  if (!v || v.kind !== 'constant') return undefined;
  const c = v.graph.constants.get(v.name);
  return c ? Array.from(c.data as BigInt64Array, Number) : undefined;
}

export function transpose(x: Value, perm: readonly number[]): Value {
  return x.graph.op1('Transpose', [x], { perm: attr.ints(perm) });
}
/** Swaps the last two axes (matrix transpose over batch dims). */
export function transposeLast2(x: Value): Value {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}
defineOp({
  type: 'Transpose',
  infer: (inputs, node) => {
    const x = inputs[0]!;
    const perm = node.attr<readonly number[]>('perm', [...x.shape.keys()].reverse());
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  grad: (ctx) => {
    const perm = ctx.node.attr<readonly number[]>('perm', [...ctx.x[0]!.shape.keys()].reverse());
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(ctx.dy[0]!, inverse)];
  },
});

/** Zeros of `like`'s dtype and (possibly symbolic) shape. */
export function zerosLike(like: Value): Value {
  const zero = like.graph.scalar(0, like.dtype);
  const staticShape = like.shape.every((d) => typeof d === 'number');
  return staticShape ? expand(zero, like.shape as number[]) : like.graph.op1('Expand', [zero, shapeOf(like)]);
}

/** Broadcasts `x` to a static shape. */
export function expand(x: Value, shape: readonly number[]): Value {
  return x.graph.op1('Expand', [x, x.graph.ints(shape, 'shape')]);
}
defineOp({
  type: 'Expand',
  infer: (inputs) => {
    const [x, s] = inputs as Value[];
    const target = constInts(s);
    if (!target) {
      // Expand to a run-time shape (zeros-like): the result has the shape of whatever made `s`.
      const src = shapeSource(s);
      if (!src) throw new Error('Expand needs a constant shape or Shape(x)');
      return [{ dtype: x.dtype, shape: src.shape }];
    }
    const rank = Math.max(target.length, x.rank);
    const out: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const t = target[i - (rank - target.length)] ?? 1;
      const d = x.shape[i - (rank - x.rank)] ?? 1;
      out.push(t === 1 ? d : t);
    }
    return [{ dtype: x.dtype, shape: out }];
  },
  grad: (ctx) => [sumToShape(ctx.g, ctx.dy[0]!, ctx.x[0]!.shape), undefined],
});

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  return x.graph.op1('Unsqueeze', [x, x.graph.ints(axes, 'axes')]);
}
defineOp({
  type: 'Unsqueeze',
  infer: (inputs) => {
    const [x, a] = inputs as Value[];
    const rank = x.rank + constInts(a)!.length;
    const axes = constInts(a)!.map((ax) => normAxis(ax, rank));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x.shape[k++]);
    return [{ dtype: x.dtype, shape: out }];
  },
  grad: (ctx) => [reshapeLike(ctx.dy[0]!, ctx.x[0]!), undefined],
});

export function squeeze(x: Value, axes: readonly number[]): Value {
  return x.graph.op1('Squeeze', [x, x.graph.ints(axes, 'axes')]);
}
defineOp({
  type: 'Squeeze',
  infer: (inputs) => {
    const [x, a] = inputs as Value[];
    const axes = constInts(a)!.map((ax) => normAxis(ax, x.rank));
    for (const ax of axes) if (x.shape[ax] !== 1) throw new Error(`Squeeze: axis ${ax} of ${x} is not 1`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
  grad: (ctx) => [reshapeLike(ctx.dy[0]!, ctx.x[0]!), undefined],
});
