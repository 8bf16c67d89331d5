/**
 * Optional elevation (depthOptional): a sample whose depth availability is 0 must get exactly
 * the output of the same weights built as the "w/o depth" variant, and a sample with depth must
 * not. Run on onnxruntime-node CPU through the pack inference graph (export.ts).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { buildModel, getArchitecture, modelSources, SEG_PRESETS, SPECTRALMOE_PAPER_DEFAULTS, type ModelConfig } from '../../../src-main/engine/ml/models/index';
import { graphWeights, inferenceGraph } from '../../../src-main/engine/ml/models/export';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';
import type { WeightMap } from '../../../src-main/engine/ml/models/init';
import { rng, gaussian } from '../../helpers/gradcheck';

const TILE = 16;
const BANDS = 3;

function model(depth: boolean, fusion: 'cross-attention' | 'add' = 'cross-attention'): ModelConfig {
  const vit = vitConfig({ width: 16, depth: 2, heads: 2, patchSize: 4, imageSize: TILE, inChannels: BANDS });
  const base = { ...SPECTRALMOE_PAPER_DEFAULTS, experts: 3, tokensPerExpert: 4, rank: 2, fusion };
  const adapters = SEG_PRESETS[depth ? 'spectralmoe' : 'wo-depth'].apply(base);
  return {
    architecture: 'spectralmoe',
    config: {
      vit,
      depthVit: null,
      depthSource: depth ? { source: 'elevation', kind: 'dem' } : { source: 'none' },
      ...(depth ? { depthOptional: true } : {}),
      adapters,
      decoder: { levels: [0, 1], hidden: 8, classes: 3 },
      tile: TILE,
      embedding: { kind: 'patch' },
    },
  };
}

/** Seeded weights of the depth model, every one randomised (B = 0 and alpha = 1e-3 would hide depth). */
function randomWeights(m: ModelConfig): WeightMap {
  const g = new Graph('init');
  buildModel(g, m, modelSources({ dtype: 'float32', seed: 3 }), 'float32');
  const w = graphWeights(g);
  const rand = rng(11);
  for (const [name, t] of w) t.data.forEach((v, i) => (t.data[i] = name.endsWith('alpha') ? 0.5 : v + 0.2 * gaussian(rand)));
  return w;
}

async function run(m: ModelConfig, weights: WeightMap, feeds: Record<string, { data: Float32Array; shape: number[] }>): Promise<Float32Array> {
  const { graph, probabilities, inputs } = inferenceGraph(m, weights);
  const session = await ort.InferenceSession.create(graph.toModel({ outputs: [['p', probabilities]] }));
  const f: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(inputs)) f[name] = new ort.Tensor('float32', feeds[name].data, feeds[name].shape);
  const out = (await session.run(f)).p.data as Float32Array;
  await session.release();
  return out;
}

function noise(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => gaussian(r));
}

describe('SpectralMoE with optional elevation', () => {
  it('declares the depth and availability inputs only when depth is optional', () => {
    const names = (m: ModelConfig) => getArchitecture('spectralmoe').inputs(m.config).map((s) => `${s.name}:${s.role}`);
    expect(names(model(true))).toEqual(['image:image', 'depth:depth', 'available:availability']);
    expect(names(model(false))).toEqual(['image:image']);
  });

  for (const fusion of ['cross-attention', 'add'] as const) {
    it(`${fusion}: absent depth gives the w/o-depth output of the same weights, present depth differs`, async () => {
      const withDepth = model(true, fusion);
      const weights = randomWeights(withDepth);
      // The w/o-depth variant has the same parameters minus the depth branch and the depth gate.
      const g = new Graph('names');
      buildModel(g, model(false, fusion), modelSources({ dtype: 'float32' }), 'float32');
      const shared: WeightMap = new Map([...weights].filter(([n]) => g.params.has(n)));
      expect(shared.size).toBeLessThan(weights.size);

      const B = 2;
      const px = TILE * TILE;
      const image = { data: noise(B * BANDS * px, 1), shape: [B, BANDS, TILE, TILE] };
      // sample 0: elevation present; sample 1: absent (zeros, as the classify pipeline feeds it)
      const dem = noise(B * px, 2).fill(0, px);
      const available = Float32Array.of(1, 1, 1, 0);
      const gated = await run(withDepth, weights, { image, depth: { data: dem, shape: [B, 1, TILE, TILE] }, available: { data: available, shape: [B, 2] } });
      const plain = await run(model(false, fusion), shared, { image });

      const per = gated.length / B;
      const maxDiff = (s: number) => Math.max(...Array.from({ length: per }, (_, i) => Math.abs(gated[s * per + i] - plain[s * per + i])));
      expect(maxDiff(1)).toBeLessThan(1e-6);
      expect(maxDiff(0)).toBeGreaterThan(1e-3);

      // Availability decides, not the data: non-zero elevation with availability 0 is ignored.
      const ignored = await run(withDepth, weights, { image, depth: { data: noise(B * px, 4), shape: [B, 1, TILE, TILE] }, available: { data: Float32Array.of(1, 0, 1, 0), shape: [B, 2] } });
      for (let i = 0; i < gated.length; i++) expect(Math.abs(ignored[i] - plain[i])).toBeLessThan(1e-6);
    });
  }
});
