/** Depth-branch sources: band choice, source order, elevation normalisation, per-block tokens. */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { ParamSource } from '../../../src-main/engine/ml/models/init';
import { chooseDepthSource, depthTokens, nearestRgbBands, normaliseElevation, type DepthCandidate } from '../../../src-main/engine/ml/models/depth';
import { vitConfig, vitForward, patchTokensOf } from '../../../src-main/engine/ml/models/vit';
import type { BandInfo } from '../../../src-main/engine/scene/types';
import { linearRef, randn, randomWeights, relativeError, runGraph } from './vit-run';

const bandsAt = (nm: (number | undefined)[]): BandInfo[] => nm.map((w, index) => ({ index, name: `B${index + 1}`, wavelengthNm: w }));
const S2 = bandsAt([443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190]);
const LANDSAT8 = bandsAt([443, 482, 561, 655, 865, 1609, 2201]);
const HYPER = bandsAt(Array.from({ length: 211 }, (_, i) => 400 + 10 * i));

describe('bands nearest red, green, blue', () => {
  it('picks R, G, B in that order for Sentinel-2, Landsat 8, a 211-band hyperspectral sensor and plain RGB', () => {
    expect(nearestRgbBands(S2)).toEqual([3, 2, 1]);
    expect(nearestRgbBands(LANDSAT8)).toEqual([3, 2, 1]);
    expect(nearestRgbBands(HYPER)).toEqual([(660 - 400) / 10 /* 660 and 670 tie at 5 nm: first wins */, 16, 9]);
    expect(nearestRgbBands(bandsAt([640, 550, 470]))).toEqual([0, 1, 2]);
    // order-independent: bands listed blue first
    expect(nearestRgbBands(bandsAt([470, 550, 640]))).toEqual([2, 1, 0]);
  });

  it('refuses sensors that lack a colour within tolerance, or have no wavelengths', () => {
    expect(nearestRgbBands(bandsAt([560, 665, 842]))).toBeUndefined(); // no blue
    expect(nearestRgbBands(bandsAt([undefined, undefined]))).toBeUndefined(); // SAR
    expect(nearestRgbBands(bandsAt([600]))).toBeUndefined(); // one band cannot be three colours
  });
});

describe('depth source order', () => {
  const s2: DepthCandidate = { id: 's2', kind: 'multispectral', bands: S2, failed: false };
  const lidar: DepthCandidate = { id: 'lidar', kind: 'lidar', bands: bandsAt([undefined]), failed: false };
  const sar: DepthCandidate = { id: 'sar', kind: 'sar', bands: bandsAt([undefined, undefined]), failed: false };
  it('prefers elevation, then RGB bands (visual sensor first), then none', () => {
    expect(chooseDepthSource([s2, lidar], { hasDepthEncoder: true })).toEqual({ source: 'elevation', sensor: 'lidar', kind: 'lidar' });
    expect(chooseDepthSource([s2, lidar], { hasDepthEncoder: false })).toEqual({ source: 'elevation', sensor: 'lidar', kind: 'lidar' });
    expect(chooseDepthSource([s2, { ...lidar, failed: true }], { hasDepthEncoder: true })).toEqual({ source: 'rgb', sensor: 's2', bands: [3, 2, 1] });
    const l8: DepthCandidate = { id: 'l8', kind: 'multispectral', bands: LANDSAT8, failed: false };
    expect(chooseDepthSource([s2, l8], { hasDepthEncoder: true, visual: 'l8' })).toMatchObject({ source: 'rgb', sensor: 'l8' });
    expect(chooseDepthSource([s2, sar], { hasDepthEncoder: false })).toMatchObject({ source: 'none', reason: expect.stringMatching(/no depth encoder/) });
    expect(chooseDepthSource([sar], { hasDepthEncoder: true })).toMatchObject({ source: 'none', reason: expect.stringMatching(/red, green and blue/) });
  });
});

describe('elevation normalisation (relative height, 10 m = 1)', () => {
  it('subtracts the median of valid pixels, scales, clips, zeroes invalid pixels', () => {
    const z = Float32Array.from([100, 102, 130, 99, NaN, 5000, 101]);
    const valid = Uint8Array.from([1, 1, 1, 1, 1, 0, 1]);
    // valid finite values: 100, 102, 130, 99, 101 -> median 101
    const out = normaliseElevation(z, valid, { clip: 2 });
    expect(Array.from(out)).toEqual([-0.1, 0.1, 2, -0.2, 0, 0, 0].map(Math.fround));
    expect(Array.from(normaliseElevation(Float32Array.from([1, 2]), Uint8Array.from([0, 0])))).toEqual([0, 0]);
  });
});

describe('per-block depth tokens', () => {
  const visual = vitConfig({ width: 4, depth: 2, heads: 2, patchSize: 4, imageSize: 8, mlpRatio: 1 });
  const encoder = vitConfig({ width: 4, depth: 2, heads: 2, patchSize: 2, imageSize: 4, mlpRatio: 1, registers: 1 });
  const TILE = 8; // visual grid 2 x 2; the encoder (patch 2) sees the tile resized to 4 x 4

  it('RGB source equals the depth encoder run on the picked bands (indices as a graph input), on the visual grid', async () => {
    const weights = randomWeights((g, ps) => g.scope('depth_encoder', () => vitForward(g, ps, g.input('x', 'float64', [1, 3, 4, 4]), encoder)), 3, 0.3);
    const g = new Graph('depth');
    const x = g.input('x', 'float64', ['batch', 5, TILE, TILE]);
    const idx = g.input('rgb_bands', 'int64', [3]);
    const params = { encoder: new ParamSource({ dtype: 'float64', weights, trainable: false }), branch: new ParamSource({ dtype: 'float64' }) };
    const tokens = depthTokens(g, params, { visual, encoder, tile: TILE }, { source: 'rgb', x, bands: idx })!;
    expect([...tokens.keys()]).toEqual([0, 1]);
    expect(tokens.get(1)!.shape).toEqual(['batch', 4, 4]);
    // Reference: the same encoder on a graph fed the 3 chosen bands, already resized (constant-by-block tile).
    const data = new Float64Array(5 * TILE * TILE);
    const bands = [3, 2, 1];
    for (let c = 0; c < 5; c++) for (let i = 0; i < TILE; i++) for (let j = 0; j < TILE; j++) data[(c * TILE + i) * TILE + j] = c * 10 + Math.floor(i / 2) * 4 + Math.floor(j / 2);
    const r = await runGraph(g, { t0: tokens.get(0)!, t1: tokens.get(1)! }, { x: { data, shape: [1, 5, TILE, TILE] }, rgb_bands: { data: BigInt64Array.from(bands.map(BigInt)), shape: [3] } });
    const g2 = new Graph('ref');
    const x2 = g2.input('x', 'float64', [1, 3, 4, 4]);
    const ref = g2.scope('depth_encoder', () => vitForward(g2, new ParamSource({ dtype: 'float64', weights }), x2, encoder, { hooks: [0, 1] }));
    // 2x2-constant blocks downsample exactly to their values under half-pixel bilinear resizing.
    const small = new Float64Array(3 * 16);
    bands.forEach((b, c) => {
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) small[(c * 4 + i) * 4 + j] = b * 10 + i * 4 + j;
    });
    const rr = await runGraph(g2, { t0: patchTokensOf(ref.blocks.get(0)!, ref.prefix), t1: patchTokensOf(ref.blocks.get(1)!, ref.prefix) }, { x: { data: small, shape: [1, 3, 4, 4] } });
    expect(relativeError(r.t0.data, rr.t0.data)).toBeLessThan(1e-12);
    expect(relativeError(r.t1.data, rr.t1.data)).toBeLessThan(1e-12);
  });

  it('elevation without an encoder: per-block LN + linear of the LiDAR embedding, against a plain-TS reference', async () => {
    const build = (g: Graph, ps: ParamSource) => depthTokens(g, { encoder: ps, branch: ps }, { visual, encoder: null, tile: TILE }, { source: 'elevation', x: g.input('z', 'float64', [1, 1, TILE, TILE]), kind: 'lidar' });
    const weights = randomWeights(build, 8);
    expect([...weights.keys()].sort()).toEqual([
      'depth_branch.proj.0.linear.bias', 'depth_branch.proj.0.linear.weight', 'depth_branch.proj.0.norm.bias', 'depth_branch.proj.0.norm.weight',
      'depth_branch.proj.1.linear.bias', 'depth_branch.proj.1.linear.weight', 'depth_branch.proj.1.norm.bias', 'depth_branch.proj.1.norm.weight',
      'depth_branch.sensor_embed.lidar.bias', 'depth_branch.sensor_embed.lidar.weight',
    ]);
    const g = new Graph('elev');
    const tokens = build(g, new ParamSource({ dtype: 'float64', weights }))!;
    const z = randn(TILE * TILE, 4);
    const r = await runGraph(g, { t1: tokens.get(1)! }, { z: { data: z, shape: [1, 1, TILE, TILE] } });
    const w = (n: string) => weights.get(`depth_branch.${n}`)!.data;
    const ref: number[] = [];
    for (let gy = 0; gy < 2; gy++)
      for (let gx = 0; gx < 2; gx++) {
        const patch: number[] = [];
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) patch.push(z[(gy * 4 + i) * TILE + gx * 4 + j]);
        const e = linearRef(patch, w('sensor_embed.lidar.weight'), w('sensor_embed.lidar.bias'), 4);
        const mean = e.reduce((a, b) => a + b, 0) / 4;
        const sd = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / 4 + 1e-6);
        const n = e.map((v, k) => ((v - mean) / sd) * w('proj.1.norm.weight')[k] + w('proj.1.norm.bias')[k]);
        ref.push(...linearRef(n, w('proj.1.linear.weight'), w('proj.1.linear.bias'), 4));
      }
    expect(relativeError(r.t1.data, ref)).toBeLessThan(1e-10);
  });

  it('elevation with an encoder: trained LiDAR embedding feeds the frozen encoder blocks; none gives no tokens', () => {
    const g = new Graph('elev-enc');
    const params = { encoder: new ParamSource({ dtype: 'float32', trainable: false }), branch: new ParamSource({ dtype: 'float32' }) };
    const tokens = depthTokens(g, params, { visual, encoder, tile: TILE }, { source: 'elevation', x: g.input('z', 'float32', ['batch', 1, TILE, TILE]), kind: 'dem' })!;
    expect(tokens.get(0)!.shape).toEqual(['batch', 4, 4]);
    const trainable = [...g.params].filter(([, p]) => p.trainable).map(([n]) => n);
    expect(trainable.sort()).toEqual(['depth_branch.sensor_embed.dem.bias', 'depth_branch.sensor_embed.dem.weight']);
    expect(g.params.has('depth_encoder.blocks.1.mlp.fc2.weight')).toBe(true);
    expect(g.params.has('depth_encoder.patch_embed.weight')).toBe(false);
    expect(depthTokens(g, params, { visual, encoder, tile: TILE }, { source: 'none' })).toBeUndefined();
    expect(() => depthTokens(g, params, { visual, encoder: { ...encoder, depth: 3 }, tile: TILE }, { source: 'rgb', x: g.input('x', 'float32', [1, 3, TILE, TILE]), bands: [0, 1, 2] })).toThrow(/must match the visual ViT/);
  });
});
