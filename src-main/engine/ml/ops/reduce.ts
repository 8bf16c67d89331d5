/** Reductions and their gradients: broadcast the output gradient back over the reduced axes. */
import { attr, type Dim, type Node, type Value } from '../graph/graph';
import { defineOp, type GradContext } from '../graph/registry';
import { normAxis } from '../graph/shape';
import { constInts, expand, shapeOf, unsqueeze } from './shape';
import { div, equal, greater, mul, sign, where } from './elementwise';
import { cast } from './elementwise';

function reduceAxes(x: Value, axesInput: Value | undefined): number[] {
  const axes = constInts(axesInput);
  return axes ? axes.map((a) => normAxis(a, x.rank)) : [...x.shape.keys()];
}

function reduceInfer(inputs: readonly (Value | undefined)[], node: Node) {
  const x = inputs[0]!;
  const axes = reduceAxes(x, inputs[1]);
  const keep = node.attr<number>('keepdims', 1) === 1;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
}

/** dy brought back to x's rank (reduced axes as size 1), ready to broadcast against x. */
function keepDimsGrad(ctx: GradContext): Value {
  const x = ctx.x[0]!;
  const dy = ctx.dy[0]!;
  const keep = ctx.node.attr<number>('keepdims', 1) === 1;
  return keep || dy.rank === x.rank ? dy : unsqueeze(dy, reduceAxes(x, ctx.x[1]));
}

/** The reduction's output at x's rank (reduced axes as size 1), for rules that compare with x. */
function keptOutput(ctx: GradContext): Value {
  return keepDimsGrad({ ...ctx, dy: [ctx.y[0]] });
}

function broadcastTo(v: Value, like: Value): Value {
  const staticShape = like.shape.every((d) => typeof d === 'number');
  return staticShape ? expand(v, like.shape as number[]) : like.graph.op1('Expand', [v, shapeOf(like)]);
}

function reducer(type: string) {
  return (x: Value, axes: readonly number[], keepdims = true): Value =>
    x.graph.op1(type, [x, x.graph.ints(axes, 'axes')], { keepdims: attr.i(keepdims ? 1 : 0) });
}

export const reduceSum = reducer('ReduceSum');
defineOp({
  type: 'ReduceSum',
  infer: reduceInfer,
  grad: (ctx) => [broadcastTo(keepDimsGrad(ctx), ctx.x[0]!), undefined],
});

export const reduceMean = reducer('ReduceMean');
defineOp({
  type: 'ReduceMean',
  infer: reduceInfer,
  grad: (ctx) => {
    const x = ctx.x[0]!;
    const count = reduceAxes(x, ctx.x[1]).reduce((n, a) => {
      const d = x.shape[a];
      if (typeof d !== 'number') throw new Error(`ReduceMean gradient over symbolic axis ${a} of ${x}`);
      return n * d;
    }, 1);
    return [broadcastTo(div(keepDimsGrad(ctx), count), x), undefined];
  },
});

export const reduceMax = reducer('ReduceMax');
defineOp({
  type: 'ReduceMax',
  infer: reduceInfer,
  grad: (ctx) => {
    // The gradient is shared equally between tied maxima, as in PyTorch's amax.
    const x = ctx.x[0]!;
    const isMax = cast(equal(x, keptOutput(ctx)), x.dtype);
    const ties = reduceSum(isMax, reduceAxes(x, ctx.x[1]), true);
    return [mul(div(isMax, ties), keepDimsGrad(ctx)), undefined];
  },
});


export const reduceL1 = reducer('ReduceL1');
defineOp({
  type: 'ReduceL1',
  infer: reduceInfer,
  // d|x|/dx = sign(x) (0 at 0, the subgradient PyTorch uses).
  grad: (ctx) => [mul(keepDimsGrad(ctx), sign(ctx.x[0]!)), undefined],
});

export const reduceL2 = reducer('ReduceL2');
defineOp({
  type: 'ReduceL2',
  infer: reduceInfer,
  grad: (ctx) => {
    // d||x||/dx = x / ||x||, taken as 0 where the norm is 0 (as PyTorch's norm backward).
    const x = ctx.x[0]!;
    const norm = keptOutput(ctx);
    const safe = where(greater(norm, 0), norm, 1);
    return [mul(div(x, safe), keepDimsGrad(ctx)), undefined];
  },
});
