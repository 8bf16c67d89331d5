/**
 * TopK and the top-k gate of mixture-of-experts routing. The gate is differentiable in the
 * logits through a mask that is constant for each evaluation: TopK only chooses which experts
 * are kept; the weights are a softmax over the kept logits.
 */
import { attr, type Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { normAxis } from '../graph/shape';
import { greater, where } from './elementwise';
import { scatterElementsAdd } from './gather';
import { softmax } from './nn';
import { expand, shapeOf, zerosLike } from './shape';

/** The k largest (or smallest) entries along `axis`, sorted, and their int64 indices. */
export function topk(x: Value, k: number, axis = -1, largest = true): { values: Value; indices: Value } {
  const [values, indices] = x.graph.op('TopK', [x, x.graph.ints([k], 'k')], {
    axis: attr.i(normAxis(axis, x.rank)),
    largest: attr.i(largest ? 1 : 0),
    sorted: attr.i(1),
  });
  return { values, indices };
}
defineOp({
  type: 'TopK',
  infer: (inputs, node) => {
    const [x, kv] = inputs as Value[];
    const axis = normAxis(node.attr<number>('axis', -1), x.rank);
    const k = kv.kind === 'constant' ? Number((x.graph.constants.get(kv.name)!.data as BigInt64Array)[0]) : undefined;
    if (k === undefined) throw new Error('TopK needs a constant k');
    const shape = x.shape.map((d, i) => (i === axis ? k : d));
    return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
  },
  grad: (ctx) => {
    // Values go back to the positions they were taken from (distinct within each slice).
    const dv = ctx.dy[0];
    const x = ctx.x[0]!;
    if (!dv) return [undefined, undefined];
    return [scatterElementsAdd(zerosLike(x), ctx.y[1], dv, ctx.node.attr<number>('axis', -1)), undefined];
  },
});

/**
 * Softmax over the k largest logits along `axis`, exactly zero elsewhere. Exactly k entries
 * are kept even with ties (the mask comes from TopK's indices, not from a threshold).
 */
export function topkGate(logits: Value, k: number, axis = -1): Value {
  const a = normAxis(axis, logits.rank);
  const { indices } = topk(logits, k, a);
  const g = logits.graph;
  const one = g.scalar(1, logits.dtype);
  const staticShape = indices.shape.every((d) => typeof d === 'number');
  const ones = staticShape ? expand(one, indices.shape as number[]) : g.op1('Expand', [one, shapeOf(indices)]);
  const kept = greater(scatterElementsAdd(zerosLike(logits), indices, ones, a), 0.5);
  return softmax(where(kept, logits, -Infinity), a);
}
