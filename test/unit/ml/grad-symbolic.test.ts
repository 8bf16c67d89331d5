import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as ml from '../../../src-main/engine/ml/index';
import { gaussian, relError, rng } from '../../helpers/gradcheck';

/**
 * Train steps take a symbolic batch dim. The same small network, built once with batch 'B' and
 * once with a static batch, must give the same gradients: this exercises the rules' symbolic
 * paths (reshape with copied dims, Shape-driven Expand, zeros of run-time shape).
 */
function network(g: ml.Graph, batch: number | string): { loss: ml.Value; params: ml.Value[] } {
  const rand = rng(11);
  const p = (name: string, shape: number[]) =>
    g.param(name, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.5 * gaussian(rand)), shape);
  const x = g.input('x', 'float32', [batch, 4, 6]);
  const w = p('w', [6, 6]);
  const scale = p('ln.scale', [6]);
  const bias = p('ln.bias', [6]);
  const emb = p('emb', [5, 6]);
  const conv = p('conv.w', [3, 1, 2, 3]);
  let h = ml.layerNorm(ml.matmul(x, w), scale, bias);
  h = ml.add(h, ml.gather(emb, [0, 2, 2, 4], 0));
  const attn = ml.softmax(ml.matmul(h, ml.transpose(h, [0, 2, 1])), -1);
  h = ml.gelu(ml.matmul(attn, h));
  const [left, right] = ml.split(h, [2, 4], -1);
  h = ml.concat([ml.slice(right, [1], [4], [1]), ml.pad(left, [0, 0, 0, 0, -1, 0])], 2);
  const img = ml.conv2d(ml.unsqueeze(h, [1]), conv, undefined, { pads: [1, 1, 0, 1] });
  const gate = ml.topkGate(ml.reduceMean(img, [2], false), 2, -1);
  const loss = ml.reduceSum(ml.mul(ml.unsqueeze(gate, [2]), ml.resizeBilinear(img, { sizes: [3, 6] })), [0, 1, 2, 3], false);
  return { loss, params: [w, scale, bias, emb, conv] };
}

async function grads(batch: number | string): Promise<Float32Array[]> {
  const g = new ml.Graph();
  const { loss, params } = network(g, batch);
  const d = ml.gradients(loss, params);
  const model = g.toModel({ outputs: params.map((v, k) => [`g${k}`, d.get(v)!] as [string, ml.Value]) });
  // float32, as train steps run (the float64 Conv lowerings need static shapes).
  const session = await ort.InferenceSession.create(model);
  const rand = rng(5);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 24 }, () => gaussian(rand)), [2, 4, 6]);
  const out = await session.run({ x });
  await session.release();
  return params.map((_, k) => out[`g${k}`].data as Float32Array);
}

describe('symbolic batch dims', () => {
  it('gradients with batch "B" equal those with a static batch', async () => {
    const fixed = await grads(2);
    const symbolic = await grads('B');
    fixed.forEach((f, k) => {
      expect(f.some((v) => Math.abs(v) > 1e-6)).toBe(true);
      expect(relError(symbolic[k], f)).toBeLessThan(1e-5);
    });
  });
});

describe('reshape with -1 over symbolic dims', () => {
  const shapeAfter = (input: (number | string)[], ...targets: number[][]) => {
    const g = new ml.Graph('reshape');
    return targets.reduce((v, t) => ml.reshape(v, t), g.input('x', 'float32', input)).shape;
  };

  it('names the -1 dim by the symbols and the factor it holds', () => {
    expect(shapeAfter(['N', 145, 192], [-1, 192])).toEqual(['N*145', 192]);
    expect(shapeAfter(['N', 145, 192], [-1, 192], [-1, 145, 192])).toEqual(['N', 145, 192]);
    expect(shapeAfter(['N', 8, 8, 'C', 4, 4], [0, 64, -1])).toEqual(['N', 64, 'C*16']);
    expect(shapeAfter(['C', 64, 4, 4], [64, -1])).toEqual([64, 'C*16']);
    expect(shapeAfter([2, 3, 4], [-1, 4])).toEqual([6, 4]);
  });
});
