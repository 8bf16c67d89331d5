/**
 * Where does an execution provider disagree with CPU on a model pack? Rebuilds the pack's graph
 * from its config and weights with every node's output exposed, runs it on CPU and on the other
 * provider (optimisations off, so each node is computed as written) on seeded tiles, and prints
 * the first outputs that differ, in graph order; then the final probabilities at full
 * optimisation, as classify runs them. It found the WebGPU Conv fault that embed.ts works around.
 *
 *   npx tsx scripts/provider-diff.ts <pack-dir> [provider=webgpu] [availability of odd tiles=0]
 *
 * Inputs: 4 tiles of seeded values in -1..1; a wavelengths input gets 6 Landsat-7 bands (nm),
 * elevation inputs zeros, availability 1 on even tiles.
 */
import * as ort from 'onnxruntime-node';
import { loadModelPack, inferenceGraph } from '../src-main/engine/ml/models/export';
import type { Value } from '../src-main/engine/ml/graph/graph';
import { getArchitecture } from '../src-main/engine/ml/models/index';
import { maxAbsDiff } from '../test/fixtures/models/moe-reference';
const [packDir, provider = 'webgpu', avail = '0'] = process.argv.slice(2);
const { model, weights } = await loadModelPack(packDir);
const { graph, probabilities } = inferenceGraph(model, weights);
const N = 4, C = 6, WL = [485, 560, 660, 835, 1650, 2220];
let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const feeds: Record<string, ort.Tensor> = {};
for (const s of getArchitecture(model.architecture).inputs(model.config)) {
  const shape = s.shape.map((d) => (d === 'N' ? N : d === 'C' ? C : (d as number)));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = s.role === 'wavelengths' ? Float32Array.from(WL) : s.role === 'availability' ? Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : Number(avail))) : s.role === 'depth' ? new Float32Array(n) : Float32Array.from({ length: n }, rnd);
  feeds[s.name] = new ort.Tensor('float32', data, shape);
}
const reach = new Set<string>();
const outs: [string, Value][] = [];
for (const node of graph.nodes) for (const v of node.outputs) if (!reach.has(v.name)) { reach.add(v.name); outs.push([`o${outs.length}_${node.opType}`, v]); }
outs.push(['probabilities', probabilities]);
const bytes = graph.toModel({ outputs: outs });
const run = async (p: string) => (await ort.InferenceSession.create(bytes, { executionProviders: [p], graphOptimizationLevel: 'disabled' })).run(feeds);
const a = await run('cpu');
const b = await run(provider);
let shown = 0;
for (const [name] of outs) {
  const x = a[name]?.data as ArrayLike<number | bigint | boolean> | undefined, y = b[name]?.data as ArrayLike<number | bigint | boolean> | undefined;
  if (!x || !y) continue;
  let m = 0, scale = 0, nanA = 0, nanB = 0;
  for (let i = 0; i < x.length; i++) { const p = Number(x[i]), q = Number(y[i]); if (p !== p) nanA++; if (q !== q) nanB++; if (p === p && q === q) { m = Math.max(m, Math.abs(p - q)); scale = Math.max(scale, Math.abs(p)); } }
  if (m > 1e-3 * Math.max(1, scale) || nanA !== nanB) { console.log('DIFF', name, a[name].dims.join('x'), a[name].type, 'maxdiff', m, 'scale', scale, 'nan', nanA, nanB, 'cpu', Array.from(x).slice(0, 4).map(String).join(','), provider, Array.from(y).slice(0, 4).map(String).join(',')); if (++shown >= 12) break; }
}
console.log('outputs compared', outs.length, 'first differences shown', shown);
// The same graph at full optimisation (as classify runs it), final output only.
const final = graph.toModel({ outputs: [['probabilities', probabilities]] });
const runAll = async (p: string) => (await (await ort.InferenceSession.create(final, { executionProviders: [p], graphOptimizationLevel: 'all' })).run(feeds)).probabilities.data as Float32Array;
const pa = await runAll('cpu'), pb = await runAll(provider);
console.log('optimisation all: probabilities max diff', maxAbsDiff(pa, pb));
