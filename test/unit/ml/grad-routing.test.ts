import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as ml from '../../../src-main/engine/ml/index';
import { encodeModel } from '../../../src-main/engine/ml/graph/proto';
import { gaussian, rng } from '../../helpers/gradcheck';
import { routingCases } from './grad-cases';
import { expectGradCases } from './grad-run';

expectGradCases('resize, TopK, top-k gate and norm gradient rules (float64, onnxruntime CPU)', routingCases);

async function runGraph(g: ml.Graph, y: ml.Value, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(g.toModel({ outputs: [['y', y]] }));
  const out = await session.run(feeds);
  await session.release();
  return out.y.data as Float32Array;
}

/** onnxruntime's own Resize (linear, float32) on x, as a one-node model. */
async function nativeResize(x: ort.Tensor, outShape: number[], mode: string): Promise<Float32Array> {
  const model = encodeModel({
    graphName: 'resize',
    opset: 18,
    producer: 'test',
    nodes: [{ name: 'r', opType: 'Resize', inputs: ['x', '', '', 'sizes'], outputs: ['y'], attributes: { mode: { kind: 'string', value: 'linear' }, coordinate_transformation_mode: { kind: 'string', value: mode } } }],
    initializers: [{ name: 'sizes', dtype: 'int64', dims: [4], data: BigInt64Array.from(outShape.map(BigInt)) }],
    inputs: [{ name: 'x', dtype: 'float32', shape: x.dims }],
    outputs: [{ name: 'y', dtype: 'float32', shape: outShape }],
    metadata: {},
  });
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ x });
  await session.release();
  return out.y.data as Float32Array;
}

describe('resizeBilinear matches onnxruntime Resize (linear, float32)', () => {
  const rand = rng(7);
  for (const [mode, sizes] of [
    ['half_pixel', [9, 5]],
    ['half_pixel', [2, 7]],
    ['align_corners', [8, 3]],
  ] as const)
    it(`${mode} to ${sizes.join('x')}`, async () => {
      const shape = [2, 3, 4, 6];
      const x = new ort.Tensor('float32', Float32Array.from({ length: 144 }, () => gaussian(rand)), shape);
      const g = new ml.Graph();
      const y = ml.resizeBilinear(g.input('x', 'float32', shape), { sizes: [sizes[0], sizes[1]], coordinates: mode });
      const ours = await runGraph(g, y, { x });
      const native = await nativeResize(x, [2, 3, sizes[0], sizes[1]], mode);
      expect(ours.length).toBe(native.length);
      let worst = 0;
      ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - native[i]))));
      expect(worst).toBeLessThan(1e-5);
    });
});

describe('topkGate', () => {
  it('keeps exactly k entries per row, summing to 1, even when logits tie', async () => {
    const g = new ml.Graph();
    const logits = g.input('logits', 'float32', [3, 5]);
    const gate = ml.topkGate(logits, 2);
    const data = Float32Array.from([1, 1, 1, 1, 1, 0.5, 3, -1, 3, 2, -2, 0, 4, 1, 0]);
    const y = await runGraph(g, gate, { logits: new ort.Tensor('float32', data, [3, 5]) });
    for (let r = 0; r < 3; r++) {
      const row = Array.from(y.slice(5 * r, 5 * r + 5));
      expect(row.filter((v) => v > 0).length).toBe(2);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    // Row 1: the two 3s share the gate; row 2: softmax over logits 4 and 1.
    expect(Array.from(y.slice(5, 10))).toEqual([0, 0.5, 0, 0.5, 0]);
    expect(y[12]).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
  });
});
