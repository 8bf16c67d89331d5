import type { Graph, Node, Value } from './graph/graph';
import { getOp } from './graph/registry';
import { add } from './ops/elementwise';
import { zerosLike } from './ops/shape';

/**
 * Reverse-mode automatic differentiation over the builder's graph. Walks the nodes between
 * `wrt` and `loss` backwards, asks each op's registered rule for its input gradients, and sums
 * gradients that reach a value along several paths. The result is more nodes in the same graph,
 * in standard ONNX ops, so a train step is one ordinary model.
 */
export function gradients(loss: Value, wrt: readonly Value[], seed?: Value): Map<Value, Value> {
  const g = loss.graph;
  if (!seed && loss.shape.some((d) => d !== 1)) throw new Error(`loss ${loss} must be a scalar`);

  const dependsOnWrt = forwardReach(g, wrt);
  const onPath = backwardReach(loss, dependsOnWrt);
  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, d: Value) => {
    const prev = grads.get(v);
    grads.set(v, prev ? add(prev, d) : d);
  };
  grads.set(loss, seed ?? ones(g, loss));

  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i];
    if (!onPath.has(node)) continue;
    const dy = node.outputs.map((o) => grads.get(o));
    if (dy.every((d) => !d)) continue;
    const def = getOp(node.opType);
    if (!def.grad) throw new Error(`no gradient rule for ${node.opType} (node ${node.name}) on the path to the loss`);
    const needs = (k: number) => {
      const x = node.inputs[k];
      return !!x && dependsOnWrt.values.has(x);
    };
    const dx = def.grad({ g, node, x: node.inputs, y: node.outputs, dy, needs });
    node.inputs.forEach((x, k) => {
      const d = dx[k];
      if (x && d && needs(k)) {
        if (d.dtype !== x.dtype) throw new Error(`gradient rule of ${node.opType} returned ${d.dtype} for a ${x.dtype} input`);
        accumulate(x, d);
      }
    });
  }

  const out = new Map<Value, Value>();
  for (const w of wrt) out.set(w, grads.get(w) ?? zerosLike(w));
  return out;
}

function forwardReach(g: Graph, wrt: readonly Value[]): { values: Set<Value> } {
  const values = new Set<Value>(wrt);
  for (const n of g.nodes) if (n.inputs.some((x) => x && values.has(x))) for (const o of n.outputs) values.add(o);
  return { values };
}

function backwardReach(loss: Value, dep: { values: Set<Value> }): Set<Node> {
  const nodes = new Set<Node>();
  const stack: Value[] = [loss];
  const seen = new Set<Value>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = v.producer;
    if (!p || !dep.values.has(v)) continue;
    nodes.add(p);
    for (const x of p.inputs) if (x) stack.push(x);
  }
  return nodes;
}

function ones(g: Graph, like: Value): Value {
  const one = g.scalar(1, like.dtype);
  return like.rank === 0 ? one : g.op1('Expand', [one, g.ints(like.shape as number[])]);
}
