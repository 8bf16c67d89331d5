import type { DType } from './dtype';
import type { Node, Shape, Value, Graph } from './graph';

export interface ValueType {
  dtype: DType;
  shape: Shape;
}

/** What a gradient rule sees: the forward node and the gradients flowing into its outputs. */
export interface GradContext {
  g: Graph;
  node: Node;
  /** The node's inputs (undefined for omitted optional inputs). */
  x: readonly (Value | undefined)[];
  /** The node's outputs. */
  y: readonly Value[];
  /** Gradient of the loss w.r.t. each output; undefined where no gradient flows. */
  dy: readonly (Value | undefined)[];
  /** Whether input `i` leads to a value we differentiate for (skip the work when not). */
  needs(i: number): boolean;
}

/**
 * One ONNX operator as the builder knows it: how to type its outputs, and (for differentiable
 * ops) its reverse-mode rule. Rules return one entry per input: the gradient, or undefined for
 * inputs that are not differentiable (indices, shapes) or not needed.
 */
export interface OpDef {
  type: string;
  domain?: string;
  infer(inputs: readonly (Value | undefined)[], node: Node): ValueType[];
  grad?(ctx: GradContext): (Value | undefined)[];
  /**
   * A decomposition into ops that onnxruntime's CPU provider runs in float64, for ops that it
   * has no double kernel for (Erf, Conv, Resize, ...). `toModel` swaps it in for float64 nodes
   * only, so float32 graphs keep the fast native op while gradient checks (float64) still test
   * the op's own gradient rule. It must return one value per node output, computed from
   * `node.inputs`, mathematically identical to the op.
   */
  lowerFloat64?(g: Graph, node: Node): Value[];
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.type)) throw new Error(`op ${def.type} is defined twice`);
  registry.set(def.type, def);
  return def;
}

export function getOp(type: string): OpDef {
  const def = registry.get(type);
  if (!def) throw new Error(`op ${type} is not registered; import ml/ops before building graphs`);
  return def;
}

export function registeredOps(): OpDef[] {
  return [...registry.values()];
}
