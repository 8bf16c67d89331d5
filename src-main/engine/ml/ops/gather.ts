/**
 * Indexing: Gather and GatherElements, differentiable in the data (not the indices). Their
 * gradients scatter dy back with reduction 'add' (opset 16+), so repeated indices accumulate.
 * The Scatter ops are registered for use by those rules and have no rule of their own.
 */
import { attr, type Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { normAxis } from '../graph/shape';
import { reshape, shapeOf, zerosLike } from './shape';

function indexValue(like: Value, indices: Value | readonly number[]): Value {
  if (!Array.isArray(indices)) return indices as Value;
  return like.graph.ints(indices as readonly number[], 'indices');
}

/** ONNX Gather: x.take(indices, axis); `indices` is an int64 value or a constant list. */
export function gather(x: Value, indices: Value | readonly number[], axis = 0): Value {
  return x.graph.op1('Gather', [x, indexValue(x, indices)], { axis: attr.i(normAxis(axis, x.rank)) });
}
defineOp({
  type: 'Gather',
  infer: (inputs, node) => {
    const [x, idx] = inputs as Value[];
    const axis = normAxis(node.attr<number>('axis', 0), x.rank);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
  },
  grad: (ctx) => {
    const [x, idx] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    const axis = normAxis(ctx.node.attr<number>('axis', 0), x.rank);
    const post = x.shape.slice(axis + 1).map((d) => {
      if (typeof d !== 'number') throw new Error(`Gather gradient: dims after axis ${axis} of ${x} must be static`);
      return d;
    });
    if (axis === 0) {
      // Rows of a table (embeddings): ScatterND adds each dy row into its indexed row.
      const rows = reshape(dy, [-1, ...post]);
      return [scatterNDAdd(zerosLike(x), reshape(idx, [-1, 1]), rows), undefined];
    }
    // Otherwise ScatterElements along `axis`, with the indices broadcast over dy's other axes.
    const pre = x.shape.slice(0, axis).map(() => 0); // 0 = keep that dim (it may be symbolic)
    const flat = reshape(dy, [...pre, -1, ...post]);
    const idxShape = [...pre.map(() => 1), -1, ...post.map(() => 1)];
    const spread = ctx.g.op1('Expand', [reshape(idx, idxShape), shapeOf(flat)]);
    return [scatterElementsAdd(zerosLike(x), spread, flat, axis), undefined];
  },
});

/** ONNX GatherElements: out[i][j] = x[idx[i][j]][j] (for axis 0), indices of out's shape. */
export function gatherElements(x: Value, indices: Value, axis: number): Value {
  return x.graph.op1('GatherElements', [x, indices], { axis: attr.i(normAxis(axis, x.rank)) });
}
defineOp({
  type: 'GatherElements',
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[1]!.shape }],
  grad: (ctx) => {
    const [x, idx] = ctx.x as Value[];
    return [scatterElementsAdd(zerosLike(x), idx, ctx.dy[0]!, ctx.node.attr<number>('axis', 0)), undefined];
  },
});

/** data with `updates` added at `indices` along `axis` (ScatterElements, reduction add). */
export function scatterElementsAdd(data: Value, indices: Value, updates: Value, axis: number): Value {
  return data.graph.op1('ScatterElements', [data, indices, updates], { axis: attr.i(normAxis(axis, data.rank)), reduction: attr.s('add') });
}
defineOp({ type: 'ScatterElements', infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }] });

/** data with `updates` added at the index tuples in `indices` (ScatterND, reduction add). */
export function scatterNDAdd(data: Value, indices: Value, updates: Value): Value {
  return data.graph.op1('ScatterND', [data, indices, updates], { reduction: attr.s('add') });
}
defineOp({ type: 'ScatterND', infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }] });
