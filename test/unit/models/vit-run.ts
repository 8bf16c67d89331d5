/** Shared by the ViT/embedding tests: run builder graphs on onnxruntime CPU, read fixtures, compare. */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Graph, Value } from '../../../src-main/engine/ml/index';
import type { SafetensorsFile, StoredTensor } from '../../../src-main/engine/ml/io/safetensors';
import { readCheckpoint } from '../../../src-main/engine/ml/models/weights';
import { REPO_ROOT } from '../../helpers/paths';

export const fixturePath = (name: string) => path.join(REPO_ROOT, 'test', 'fixtures', 'models', name);

export async function loadFixture(name: string): Promise<SafetensorsFile> {
  return await readCheckpoint(fixturePath(name));
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
