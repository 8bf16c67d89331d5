import type { Dim, Graph, Shape, Value } from './graph';

export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => sameDim(d, b[i]));
}

/** Numpy broadcasting of static shapes; symbolic dims broadcast only with 1 or themselves. */
export function broadcastShapes(...shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (!sameDim(d, e)) throw new Error(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] do not broadcast`);
    }
    out.push(d);
  }
  return out;
}

/** Static element count, or undefined when a dim is symbolic. */
export function numel(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= Math.max(rank, 1)) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/**
 * Reduces a gradient of a broadcast result back to the shape of the operand that was
 * broadcast: sums the leading axes the operand lacked and the axes where it had size 1.
 * This is the one place every binary gradient rule handles broadcasting.
 */
export function sumToShape(g: Graph, grad: Value, target: Shape): Value {
  if (sameShape(grad.shape, target)) return grad;
  const lead = grad.rank - target.length;
  let out = grad;
  if (lead > 0) {
    const axes = Array.from({ length: lead }, (_, i) => i);
    out = g.op1('ReduceSum', [out, g.ints(axes, 'axes')], { keepdims: { kind: 'int', value: 0 } });
  }
  const ones = target.map((d, i) => (d === 1 && out.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (ones.length) out = g.op1('ReduceSum', [out, g.ints(ones, 'axes')], { keepdims: { kind: 'int', value: 1 } });
  return out;
}
