/**
 * Feature caching by graph cut. A fine-tuning forward is built once on a scratch graph; every
 * value that depends on per-sample inputs but on no trainable parameter and no gate noise is
 * "static" (the frozen part of the model). The static values consumed by trainable computation
 * form the frontier: they are what the frozen part hands to the first trainable block. The
 * frontier is computed once per sample by a prefix model (the cache), and the train-step and
 * eval graphs are copies of the scratch graph in which each frontier value is a graph input
 * `cache:<k>`, so onnxruntime never recomputes the frozen part.
 *
 * The cut is generic: head-only caches the decoder's inputs, SpectralMoE caches the tokens after
 * the frozen patch embedding, MaMOL the tokens before its first adapted block, whatever the
 * architecture registry builds.
 */
import { Graph, type Value, type Node } from '../ml/graph/graph';
import type { Dim } from '../ml/graph/graph';
import type { DType } from '../ml/graph/dtype';
import type { ForwardContext } from '../ml/train/step';

export const CACHE_PREFIX = 'cache:';
export const NOISE_PREFIX = 'noise:';

export interface FrontierSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface Cut {
  /** Frontier values of the scratch graph, in build order. */
  frontier: Value[];
  specs: FrontierSpec[];
  /** The prefix model: scratch inputs -> `cache:<k>` outputs (undefined when nothing is cached). */
  prefixModel?: Uint8Array;
}

/** The symbolic batch axis of every architecture's inputs. */
export const BATCH_DIM = 'N';

const isBatchInput = (v: Value) => v.kind === 'input' && !v.name.startsWith(NOISE_PREFIX) && v.shape[0] === BATCH_DIM;

/**
 * The frontier of `outputs` in `g`: values with the batch axis first that depend on a
 * per-sample (batch) input but on no trainable parameter, no noise input and no `live` input
 * (targets: caching them gains nothing), and that the trainable computation needs. Static
 * values without a batch axis that depend on the batch (run-time shapes) are recomputed from
 * cached values, so the walk goes through them to the batch-shaped values they come from.
 */
export function findFrontier(g: Graph, outputs: readonly Value[], live: ReadonlySet<string> = new Set()): Value[] {
  const nodes = g.reachableNodes(outputs);
  const dynamic = new Set<Value>(); // depends on a trainable parameter, noise or a live input
  const batched = new Set<Value>(); // depends on a per-sample input
  const leafDynamic = (v: Value) =>
    (v.kind === 'param' && !!g.params.get(v.name)?.trainable) || (v.kind === 'input' && (v.name.startsWith(NOISE_PREFIX) || live.has(v.name)));
  const isDynamic = (v: Value) => dynamic.has(v) || leafDynamic(v);
  const isBatched = (v: Value) => batched.has(v) || isBatchInput(v);
  for (const n of nodes) {
    const ins = n.inputs.filter((v): v is Value => !!v);
    const dyn = ins.some(isDynamic);
    const bat = ins.some(isBatched);
    for (const o of n.outputs) {
      if (dyn) dynamic.add(o);
      if (bat) batched.add(o);
    }
  }
  const frontier = new Set<Value>();
  const visited = new Set<Value>();
  const cacheable = (v: Value) => v.kind === 'node' && !isDynamic(v) && isBatched(v) && v.shape[0] === BATCH_DIM;
  const need = (v: Value): void => {
    if (visited.has(v) || isDynamic(v) || !isBatched(v)) return;
    visited.add(v);
    if (cacheable(v)) frontier.add(v);
    else if (v.producer) for (const i of v.producer.inputs) if (i) need(i);
  };
  for (const n of nodes) {
    if (!n.outputs.some(isDynamic)) continue;
    for (const v of n.inputs) if (v) need(v);
  }
  for (const o of outputs) need(o);
  const order = new Map(nodes.map((n, i) => [n, i] as const));
  return [...frontier].sort((a, b) => order.get(a.producer!)! - order.get(b.producer!)! || a.producer!.outputs.indexOf(a) - b.producer!.outputs.indexOf(b));
}

/** The frontier of a scratch forward and the prefix model that computes it. */
export function planCut(g: Graph, outputs: readonly Value[], live: ReadonlySet<string> = new Set()): Cut {
  const frontier = findFrontier(g, outputs, live);
  const specs = frontier.map((v, k) => ({ name: `${CACHE_PREFIX}${k}`, dtype: v.dtype, shape: [...v.shape] }));
  const prefixModel = frontier.length ? g.toModel({ outputs: frontier.map((v, k) => [specs[k].name, v] as [string, Value]), metadata: { 'fieldmoe.graph': 'feature_cache' } }) : undefined;
  return { frontier, specs, prefixModel };
}

/**
 * Copies the computation of `outputs` from `src` into `ctx.g`, with the frontier values replaced
 * by `cache:<k>` inputs. Noise inputs become `ctx.noise` inputs, other inputs keep their names,
 * parameters keep their names, trainability and values.
 */
export function copyCut(src: Graph, outputs: readonly Value[], frontier: readonly Value[], ctx: ForwardContext): Value[] {
  const g = ctx.g;
  const map = new Map<Value, Value>();
  frontier.forEach((v, k) => map.set(v, g.input(`${CACHE_PREFIX}${k}`, v.dtype, v.shape)));
  const resolve = (v: Value): Value => {
    const hit = map.get(v);
    if (hit) return hit;
    let made: Value | undefined;
    if (v.kind === 'input') {
      // In an eval forward ctx.noise gives nothing: the noise stays an input (fed zeros).
      if (v.name.startsWith(NOISE_PREFIX)) made = ctx.noise(v.name.slice(NOISE_PREFIX.length), v.shape) ?? g.input(v.name, v.dtype, v.shape);
      else made = g.input(v.name, v.dtype, v.shape);
    } else if (v.kind === 'param') {
      const p = src.params.get(v.name)!;
      made = g.param(v.name, p.data, v.shape as number[], { trainable: p.trainable });
    } else if (v.kind === 'constant') {
      const c = src.constants.get(v.name)!;
      made = g.constant(c.data, v.shape as number[], 'c');
    } else throw new Error(`cut: value ${v.name} has no producer copied yet`);
    map.set(v, made);
    return made;
  };
  for (const n of neededNodes(src, outputs, new Set(frontier))) {
    const outs = g.op(n.opType, n.inputs.map((v) => (v ? resolve(v) : undefined)), { ...n.attributes });
    n.outputs.forEach((o, k) => map.set(o, outs[k]));
  }
  return outputs.map(resolve);
}

/** Nodes needed for `outputs` when the `stop` values are given, in build order. */
function neededNodes(g: Graph, outputs: readonly Value[], stop: ReadonlySet<Value>): Node[] {
  const needed = new Set<Node>();
  const stack = outputs.filter((o) => !stop.has(o)).map((o) => o.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    for (const i of n.inputs) if (i?.producer && !stop.has(i)) stack.push(i.producer);
  }
  return g.nodes.filter((n) => needed.has(n));
}
