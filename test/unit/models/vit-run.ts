/** Shared by the ViT/embedding tests: run builder graphs on onnxruntime CPU, read fixtures, compare. */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph as GraphCtor, type Graph, type Value } from '../../../src-main/engine/ml/index';
import { ParamSource, init, initTensor, nameSeed } from '../../../src-main/engine/ml/models/init';
import type { SafetensorsFile, StoredTensor } from '../../../src-main/engine/ml/io/safetensors';
import { readSafetensors } from '../../../src-main/engine/ml/io/safetensors';
import { REPO_ROOT } from '../../helpers/paths';

export const fixturePath = (name: string) => path.join(REPO_ROOT, 'test', 'fixtures', 'models', name);

export async function loadFixture(name: string): Promise<SafetensorsFile> {
  return await readSafetensors(fixturePath(name));
}

export type Feed = { data: Float32Array | Float64Array | BigInt64Array; shape: number[] };

/** Exports `outputs` (with every graph input kept) and runs it once; returns outputs by name. */
export async function runGraph(
  g: Graph,
  outputs: Record<string, Value>,
  feeds: Record<string, Feed>,
): Promise<Record<string, { data: Float32Array | Float64Array; dims: readonly number[] }>> {
  const model = g.toModel({ outputs: Object.entries(outputs), keepInputs: g.inputs.filter((i) => i.name in feeds) });
  const session = await ort.InferenceSession.create(model);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    const type = f.data instanceof Float32Array ? 'float32' : f.data instanceof Float64Array ? 'float64' : 'int64';
    ortFeeds[name] = new ort.Tensor(type, f.data, f.shape);
  }
  const result = await session.run(ortFeeds);
  await session.release();
  const out: Record<string, { data: Float32Array | Float64Array; dims: readonly number[] }> = {};
  for (const name of Object.keys(outputs)) out[name] = { data: result[name].data as Float32Array | Float64Array, dims: result[name].dims };
  return out;
}

/** max |a - b| / max(|b|max, tiny): relative to the reference's scale (elementwise relative
 * error is meaningless where a LayerNorm output crosses zero). Also returns the elementwise
 * relative error with a floor of 1e-2 of the scale, for a stricter view. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), scale * 1e-2, 1e-30));
  return worst;
}

/** Splits a fixture into the checkpoint and its io.* reference tensors. */
export function splitFixture(tensors: ReadonlyMap<string, StoredTensor>) {
  const checkpoint = new Map([...tensors].filter(([k]) => !k.startsWith('io.')));
  const io = (k: string) => {
    const t = tensors.get(`io.${k}`);
    if (!t) throw new Error(`fixture has no io.${k}`);
    return t;
  };
  return { checkpoint, io };
}

/**
 * Weights for every parameter `build` creates, drawn N(0, std) from `seed` (so zero-initialised
 * biases take part too), by full name: pass as ParamSource `weights`.
 */
export function randomWeights(build: (g: Graph, params: ParamSource) => void, seed: number, std = 0.5): Map<string, { shape: number[]; data: Float64Array }> {
  const g = new GraphCtor('discover');
  build(g, new ParamSource({ dtype: 'float64' }));
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, p] of g.params) {
    const shape = p.value.shape as number[];
    out.set(name, { shape, data: initTensor(init.normal(std), shape, 'float64', nameSeed(seed, name)) as Float64Array });
  }
  return out;
}

/** Deterministic N(0, 1) data. */
export function randn(n: number, seed: number): Float64Array {
  return initTensor(init.normal(1), [n], 'float64', seed) as Float64Array;
}

/** erf: Maclaurin series for |x| <= 3, erfc continued fraction beyond (float64 to ~1e-13). */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax > 3) {
    let k = ax;
    for (let n = 80; n >= 1; n--) k = ax + n / 2 / k;
    return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / k);
  }
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const geluRef = (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2));

/** y = W x + b for one vector, W [out, in] row-major. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | undefined, out: number): number[] {
  const inF = x.length;
  return Array.from({ length: out }, (_, o) => {
    let s = b ? b[o] : 0;
    for (let i = 0; i < inF; i++) s += w[o * inF + i] * x[i];
    return s;
  });
}
