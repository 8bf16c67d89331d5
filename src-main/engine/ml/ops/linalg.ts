/** Matrix products. */
import type { Dim, Value } from '../graph/graph';
import { defineOp } from '../graph/registry';
import { broadcastShapes, sumToShape } from '../graph/shape';
import { reshape, reshapeLike, transposeLast2 } from './shape';
import { gemm } from './nn';

export function matmul(a: Value, b: Value): Value {
  return a.graph.op1('MatMul', [a, b]);
}
defineOp({
  type: 'MatMul',
  infer: (inputs) => {
    const [a, b] = inputs as Value[];
    if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul of ${a} and ${b}: use rank >= 2 operands`);
    if (a.dtype !== b.dtype) throw new Error(`MatMul dtype mismatch: ${a} vs ${b}`);
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (k1 !== k2) throw new Error(`MatMul inner dims differ: ${a} x ${b}`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const shape: Dim[] = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
    return [{ dtype: a.dtype, shape }];
  },
  grad: (ctx) => {
    const [a, b] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    const [k, n] = b.shape;
    if (b.rank === 2 && typeof k === 'number' && typeof n === 'number') {
      // x W with a 2-D weight (the common layer): fold x's batch dims into rows so each
      // gradient is one 2-D Gemm, its trans flags replacing Transpose nodes, and dW needs no
      // batched product followed by a ReduceSum.
      const rows = (v: Value, cols: number) => (v.rank === 2 ? v : reshape(v, [-1, cols]));
      const da = () => {
        const d = gemm(rows(dy, n), b, undefined, { transB: true });
        return a.rank === 2 ? d : reshapeLike(d, a);
      };
      return [ctx.needs(0) ? da() : undefined, ctx.needs(1) ? gemm(rows(a, k), rows(dy, n), undefined, { transA: true }) : undefined];
    }
    // dA = dY B^T, dB = A^T dY, each summed over the batch dims it was broadcast along.
    return [
      ctx.needs(0) ? sumToShape(ctx.g, matmul(dy, transposeLast2(b)), a.shape) : undefined,
      ctx.needs(1) ? sumToShape(ctx.g, matmul(transposeLast2(a), dy), b.shape) : undefined,
    ];
  },
});
