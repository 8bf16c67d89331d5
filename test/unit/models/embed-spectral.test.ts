/**
 * Spectral and per-kind patch embeddings against independent float64 computations in plain
 * TypeScript (sin/cos from Math, GELU from a series erf, the conv as explicit loops).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { ParamSource } from '../../../src-main/engine/ml/models/init';
import { vitConfig, vitForward } from '../../../src-main/engine/ml/models/vit';
import {
  adaptRgbWeightsToBands,
  interpolateRgbKernel,
  sensorKindPatchEmbed,
  sinCosTurns,
  spectralEmbedConfig,
  spectralPatchEmbed,
  wavelengthsUm,
  type SpectralEmbedConfig,
} from '../../../src-main/engine/ml/models/embed';
import { geluRef, linearRef, randn, randomWeights, relativeError, runGraph } from './vit-run';

const cfg: SpectralEmbedConfig = spectralEmbedConfig({ width: 5, patchSize: 2, frequencies: 3, hidden: 4, minPeriodUm: 0.05, maxPeriodUm: 20 });
const TILE = 4;

/** The reference: per band, encoding -> MLP -> kernel; tokens = bias + mean over bands of the conv. */
function reference(w: Map<string, { data: Float64Array }>, x: Float64Array, batch: number, wl: number[]): Float64Array {
  const c = wl.length;
  const { width: d, patchSize: p, frequencies: f } = cfg;
  const get = (n: string) => w.get(`spectral_embed.${n}`)!.data;
  const periods = Array.from({ length: f }, (_, i) => cfg.minPeriodUm * Math.pow(cfg.maxPeriodUm / cfg.minPeriodUm, i / (f - 1)));
  const kernels = wl.map((l) => {
    const enc = [...periods.map((t) => Math.sin((2 * Math.PI * l) / t)), ...periods.map((t) => Math.cos((2 * Math.PI * l) / t))];
    const h1 = linearRef(enc, get('fc1.weight'), get('fc1.bias'), cfg.hidden).map(geluRef);
    const h2 = linearRef(h1, get('fc2.weight'), get('fc2.bias'), cfg.hidden).map((v, i) => h1[i] + geluRef(v));
    return linearRef(h2, get('kernel.weight'), get('kernel.bias'), d * p * p); // (d, i, j)
  });
  const g = TILE / p;
  const out = new Float64Array(batch * g * g * d);
  for (let b = 0; b < batch; b++)
    for (let gy = 0; gy < g; gy++)
      for (let gx = 0; gx < g; gx++)
        for (let o = 0; o < d; o++) {
          let s = 0;
          for (let ch = 0; ch < c; ch++)
            for (let i = 0; i < p; i++)
              for (let j = 0; j < p; j++) s += kernels[ch][(o * p + i) * p + j] * x[((b * c + ch) * TILE + gy * p + i) * TILE + gx * p + j];
          out[((b * g + gy) * g + gx) * d + o] = get('bias')[o] + s / c;
        }
  return out;
}

const build = (dtype: 'float32' | 'float64', bands: number | string, weights?: Map<string, { shape: number[]; data: Float64Array }>) => {
  const g = new Graph('embed');
  const params = new ParamSource({ dtype, weights });
  const x = g.input('x', dtype, ['batch', bands, TILE, TILE]);
  const wl = g.input('wavelengths', dtype, [bands]);
  const out = spectralPatchEmbed(g, params, x, wl, cfg);
  return { g, out, params };
};

describe('wavelength encoding', () => {
  it('sin/cos of 2 pi t from the graph polynomial equal Math.sin/cos to 1e-12 for t in [0, 800)', async () => {
    const g = new Graph('sincos');
    const t = g.input('t', 'float64', [300]);
    const { sin, cos } = sinCosTurns(t);
    const turns = Float64Array.from({ length: 300 }, (_, i) => (i < 10 ? i * 0.25 : ((i * 7919) % 800) + ((i * 0.618) % 1)));
    const r = await runGraph(g, { sin, cos }, { t: { data: turns, shape: [300] } });
    let worst = 0;
    turns.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(r.sin.data[i] - Math.sin(2 * Math.PI * v)), Math.abs(r.cos.data[i] - Math.cos(2 * Math.PI * v)));
    });
    expect(worst).toBeLessThan(1e-12);
  });
});

describe('DOFA-style wavelength-conditioned patch embedding', () => {
  const weights = randomWeights((g, ps) => {
    const x = g.input('x', 'float64', [1, 3, TILE, TILE]);
    spectralPatchEmbed(g, ps, x, g.input('wl', 'float64', [3]), cfg);
  }, 11);

  it('creates its generator parameters under spectral_embed.*', () => {
    expect([...weights.keys()].sort()).toEqual(
      ['bias', 'fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'kernel.bias', 'kernel.weight'].map((n) => `spectral_embed.${n}`),
    );
  });

  it('applies its run-time kernel with MatMul, never as a Conv weight (WebGPU computes such Convs wrongly)', () => {
    const { g, out } = build('float32', 'C', weights);
    const ops = g.reachableNodes([out.tokens]).map((n) => n.opType);
    expect(ops).toContain('MatMul');
    expect(ops).not.toContain('Conv');
  });

  it('float64 graph equals the reference (3 bands)', async () => {
    const { g, out } = build('float64', 3, weights);
    const x = randn(2 * 3 * TILE * TILE, 1);
    const wl = [0.665, 0.56, 0.49];
    const r = await runGraph(g, { tokens: out.tokens }, { x: { data: x, shape: [2, 3, TILE, TILE] }, wavelengths: { data: Float64Array.from(wl), shape: [3] } });
    expect(r.tokens.dims).toEqual([2, 4, 5]);
    expect(relativeError(r.tokens.data, reference(weights, x, 2, wl))).toBeLessThan(1e-9);
  });

  it('one float32 graph with a symbolic band count serves 4 and 9 bands, and band order does not matter', async () => {
    const { g, out } = build('float32', 'bands', weights);
    expect(out.tokens.shape).toEqual(['batch', 4, 5]);
    for (const wl of [[0.49, 0.56, 0.665, 0.842], [0.443, 0.49, 0.56, 0.665, 0.705, 0.74, 0.783, 0.842, 1.61]]) {
      const c = wl.length;
      const x = randn(c * TILE * TILE, c);
      const feeds = { x: { data: Float32Array.from(x), shape: [1, c, TILE, TILE] }, wavelengths: { data: Float32Array.from(wl), shape: [c] } };
      const r = await runGraph(g, { tokens: out.tokens }, feeds);
      expect(relativeError(r.tokens.data, reference(weights, x, 1, wl))).toBeLessThan(1e-4);
      // Reversing the bands together with their wavelengths gives the same tokens.
      const rev = new Float32Array(x.length);
      for (let ch = 0; ch < c; ch++) rev.set(feeds.x.data.subarray((c - 1 - ch) * 16, (c - ch) * 16), ch * 16);
      const r2 = await runGraph(g, { tokens: out.tokens }, { x: { data: rev, shape: [1, c, TILE, TILE] }, wavelengths: { data: Float32Array.from([...wl].reverse()), shape: [c] } });
      expect(relativeError(r2.tokens.data, r.tokens.data)).toBeLessThan(1e-5);
      // ...while moving a band to another wavelength changes them.
      const shifted = Float32Array.from(wl.map((v, i) => (i === 0 ? v + 0.3 : v)));
      const r3 = await runGraph(g, { tokens: out.tokens }, { ...feeds, wavelengths: { data: shifted, shape: [c] } });
      expect(relativeError(r3.tokens.data, r.tokens.data)).toBeGreaterThan(1e-3);
    }
  });

  it('feeds a ViT: one float32 model runs Landsat-like (7) and hyperspectral-like (40) tiles', async () => {
    const vcfg = vitConfig({ width: 5, depth: 1, heads: 1, patchSize: 2, imageSize: TILE, mlpRatio: 1 });
    const g = new Graph('spectral-vit');
    const params = new ParamSource({ dtype: 'float32', weights });
    const x = g.input('x', 'float32', ['batch', 'bands', TILE, TILE]);
    const wl = g.input('wavelengths', 'float32', ['bands']);
    const out = vitForward(g, params, undefined, vcfg, { patchTokens: spectralPatchEmbed(g, params, x, wl, cfg) });
    expect(out.final.shape).toEqual(['batch', 5, 5]);
    for (const c of [7, 40]) {
      const r = await runGraph(g, { y: out.final }, {
        x: { data: Float32Array.from(randn(2 * c * TILE * TILE, c)), shape: [2, c, TILE, TILE] },
        wavelengths: { data: Float32Array.from({ length: c }, (_, i) => 0.4 + (2.1 * i) / c), shape: [c] },
      });
      expect(r.y.dims).toEqual([2, 5, 5]);
      expect(Array.from(r.y.data).every(Number.isFinite)).toBe(true);
    }
  });

  it('reads wavelengths from band metadata and names bands without one', () => {
    expect(Array.from(wavelengthsUm([{ index: 0, name: 'B4', wavelengthNm: 665 }], 's2.tif'))).toEqual([Math.fround(0.665)]);
    expect(() => wavelengthsUm([{ index: 0, name: 'B4', wavelengthNm: 665 }, { index: 1, name: 'VV' }], 'scene.tif')).toThrow(/scene\.tif: band\(s\) VV have no wavelength/);
  });
});

describe('per-kind embeddings for sensors without wavelengths', () => {
  it('SAR (VV, VH) embeds as a learned stride-p conv, and the band count is checked', async () => {
    const weights = randomWeights((g, ps) => sensorKindPatchEmbed(g, ps, g.input('x', 'float64', [1, 2, TILE, TILE]), 'sar', cfg), 5);
    const g = new Graph('sar');
    const x = g.input('x', 'float64', ['batch', 2, TILE, TILE]);
    const out = sensorKindPatchEmbed(g, new ParamSource({ dtype: 'float64', weights }), x, 'sar', cfg);
    const data = randn(2 * TILE * TILE, 3);
    const r = await runGraph(g, { t: out.tokens }, { x: { data, shape: [1, 2, TILE, TILE] } });
    const w = weights.get('sensor_embed.sar.weight')!.data;
    const b = weights.get('sensor_embed.sar.bias')!.data;
    const ref = new Float64Array(4 * 5);
    for (let gy = 0; gy < 2; gy++)
      for (let gx = 0; gx < 2; gx++)
        for (let o = 0; o < 5; o++) {
          let s = b[o];
          for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) s += w[((o * 2 + c) * 2 + i) * 2 + j] * data[(c * TILE + gy * 2 + i) * TILE + gx * 2 + j];
          ref[(gy * 2 + gx) * 5 + o] = s;
        }
    expect(relativeError(r.t.data, ref)).toBeLessThan(1e-12);
    const g2 = new Graph();
    expect(() => sensorKindPatchEmbed(g2, new ParamSource({ dtype: 'float64' }), g2.input('x', 'float64', [1, 3, TILE, TILE]), 'sar', cfg)).toThrow(/sar: expects 2 band\(s\), the tile has 3/);
    expect(() => sensorKindPatchEmbed(g2, new ParamSource({ dtype: 'float64' }), g2.input('y', 'float64', [1, 3, TILE, TILE]), 'multispectral', cfg)).toThrow(/has no learned embedding/);
  });
});

describe('interpolating a pretrained RGB kernel to other bands (paper alternative)', () => {
  const d = 2;
  const k = 3; // 3 x 1 kernels keep it small
  const rgb = randn(d * 3 * k, 9);
  const rgbUm = [0.665, 0.56, 0.49]; // channel order R, G, B as in most checkpoints

  /** Independent formulation: piecewise-linear "hat" basis over the sorted source wavelengths. */
  function hat(t: number, i: number, sorted: number[]): number {
    const x = Math.min(Math.max(t, sorted[0]), sorted[sorted.length - 1]);
    const left = i > 0 ? sorted[i - 1] : -Infinity;
    const right = i < sorted.length - 1 ? sorted[i + 1] : Infinity;
    if (x === sorted[i]) return 1;
    if (x > left && x < sorted[i]) return (x - left) / (sorted[i] - left);
    if (x > sorted[i] && x < right) return (right - x) / (right - sorted[i]);
    return 0;
  }

  it('matches the hat-basis reference, with the 3 / C magnitude scale', () => {
    const target = [0.443, 0.49, 0.52, 0.56, 0.6, 0.665, 0.842, 1.61];
    const ours = interpolateRgbKernel(rgb, [d, 3, k, 1], rgbUm, target);
    expect(ours.shape).toEqual([d, 8, k, 1]);
    const sorted = [...rgbUm].sort((a, b) => a - b);
    const channelOf = sorted.map((w) => rgbUm.indexOf(w));
    const ref = new Float64Array(d * 8 * k);
    for (let o = 0; o < d; o++)
      for (let t = 0; t < 8; t++)
        for (let e = 0; e < k; e++) {
          let s = 0;
          for (let i = 0; i < 3; i++) s += hat(target[t], i, sorted) * rgb[(o * 3 + channelOf[i]) * k + e];
          ref[(o * 8 + t) * k + e] = (3 / 8) * s;
        }
    expect(relativeError(ours.data, ref)).toBeLessThan(1e-12);
  });

  it('adapts an imported checkpoint so a ViT takes the scene bands', () => {
    const weights = new Map([
      ['backbone.patch_embed.weight', { shape: [d, 3, k, 1], data: rgb }],
      ['backbone.cls_token', { shape: [1, 1, d], data: new Float64Array(d) }],
    ]);
    const target = [0.49, 0.56, 0.665, 0.842];
    const adapted = adaptRgbWeightsToBands(weights, 'backbone.', rgbUm, target);
    expect(adapted.get('backbone.patch_embed.weight')!.shape).toEqual([d, 4, k, 1]);
    expect(Array.from(adapted.get('backbone.patch_embed.weight')!.data)).toEqual(Array.from(interpolateRgbKernel(rgb, [d, 3, k, 1], rgbUm, target).data));
    expect(adapted.get('backbone.cls_token')).toBe(weights.get('backbone.cls_token'));
    expect(() => adaptRgbWeightsToBands(weights, '', rgbUm, target)).toThrow(/no 4-D patch_embed.weight/);
  });

  it('returns the kernel itself for the source bands, and rejects mismatched inputs', () => {
    const same = interpolateRgbKernel(rgb, [d, 3, k, 1], rgbUm, rgbUm, { preserveMagnitude: false });
    expect(Array.from(same.data)).toEqual(Array.from(rgb));
    expect(() => interpolateRgbKernel(rgb, [d, 3, k, 1], [0.6, 0.5], [0.5])).toThrow(/3 channels but 2 source wavelengths/);
    expect(() => interpolateRgbKernel(rgb, [d, 3, k, 1], rgbUm, [])).toThrow(/no target bands/);
  });
});
