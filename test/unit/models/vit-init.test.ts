import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { ParamSource, init, initTensor, nameSeed } from '../../../src-main/engine/ml/models/init';
import { vitConfig, vitForward, vitParamShapes } from '../../../src-main/engine/ml/models/vit';

describe('seeded initialisers and ParamSource', () => {
  it('gives the same values for the same seed and name, other values for another name', () => {
    const a = initTensor(init.normal(1), [64], 'float64', nameSeed(3, 'blocks.0.attn.qkv.weight'));
    const b = initTensor(init.normal(1), [64], 'float64', nameSeed(3, 'blocks.0.attn.qkv.weight'));
    const c = initTensor(init.normal(1), [64], 'float64', nameSeed(3, 'blocks.1.attn.qkv.weight'));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('draws with the requested statistics', () => {
    const n = 20000;
    const t = initTensor(init.truncNormal(0.02), [n], 'float64', 7);
    expect(Math.max(...t.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-12);
    const u = initTensor(init.kaimingUniform, [100, 25], 'float64', 7); // bound 1/sqrt(25) = 0.2
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(0.2);
    expect(Math.max(...u.map(Math.abs))).toBeGreaterThan(0.19);
    const g = Array.from(initTensor(init.normal(2, 1), [n], 'float64', 9));
    const mean = g.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(g.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(mean).toBeCloseTo(1, 1);
    expect(sd).toBeCloseTo(2, 1);
  });

  it('takes checkpoint values by scoped name, checks shapes and reports unused tensors', () => {
    const weights = new Map([
      ['enc.w', { shape: [2, 2], data: [1, 2, 3, 4] }],
      ['enc.extra', { shape: [1], data: [0] }],
    ]);
    const src = new ParamSource({ dtype: 'float64', weights, trainable: (n) => !n.endsWith('.w'), source: 'ckpt.safetensors' });
    const g = new Graph();
    g.scope('enc', () => {
      src.param(g, 'w', [2, 2], init.zeros);
      src.param(g, 'b', [2], init.ones);
    });
    expect(Array.from(g.params.get('enc.w')!.data as Float64Array)).toEqual([1, 2, 3, 4]);
    expect(g.params.get('enc.w')!.trainable).toBe(false);
    expect(Array.from(g.params.get('enc.b')!.data as Float64Array)).toEqual([1, 1]);
    expect(g.params.get('enc.b')!.trainable).toBe(true);
    expect(src.unused()).toEqual(['enc.extra']);
    const g2 = new Graph();
    expect(() => g2.scope('enc', () => src.param(g2, 'w', [4], init.zeros))).toThrow(/ckpt.safetensors: tensor enc.w has shape \[2,2\], the model needs \[4\]/);
  });
});

describe('ViT parameter names', () => {
  it('vitForward creates exactly the names and shapes vitParamShapes lists (what checkpoint import relies on)', () => {
    for (const cfg of [
      vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 2, imageSize: 4, registers: 2, layerScale: 1e-5, preNorm: true }),
      vitConfig({ width: 8, depth: 1, heads: 1, patchSize: 2, imageSize: 4, clsToken: false, qkvBias: false, patchBias: false, finalNorm: false }),
    ]) {
      const g = new Graph();
      vitForward(g, new ParamSource({ dtype: 'float32' }), g.input('x', 'float32', ['batch', 3, 6, 6]), cfg);
      const made = new Map([...g.params].map(([n, p]) => [n, [...p.value.shape]]));
      expect(made).toEqual(vitParamShapes(cfg));
    }
  });
});
