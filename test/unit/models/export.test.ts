/**
 * Model packs of configured models: export, load back through the packs loader, run the
 * inference graph on onnxruntime-node CPU (full graph optimisation), and the errors for packs
 * that cannot be made or do not match.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { buildModel, defaultMamol, defaultSpectralMoe, modelSources, type ModelConfig } from '../../../src-main/engine/ml/models/index';
import { classSoftmax, exportModelPack, graphWeights, loadModelPack, PACK_MODEL_FILE, type PackExportSpec } from '../../../src-main/engine/ml/models/export';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';
import { rng, gaussian } from '../../helpers/gradcheck';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-pack-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A small SpectralMoE (3 bands + elevation, 3 classes) and its freshly initialised weights. */
function tinySpectral(preset = 'spectralmoe'): ModelConfig {
  const m = defaultSpectralMoe({ bands: 3, classes: 3, tile: 16, preset });
  if (m.architecture !== 'spectralmoe') throw new Error('unreachable');
  const vit = vitConfig({ width: 16, depth: 4, heads: 2, patchSize: 4, imageSize: 16, inChannels: 3 });
  return { architecture: 'spectralmoe', config: { ...m.config, vit, depthVit: m.config.depthVit ? vit : null, adapters: { ...m.config.adapters, moe: m.config.adapters.moe && { ...m.config.adapters.moe, tokensPerExpert: 5, rank: 2 } }, decoder: { ...m.config.decoder, levels: [0, 1, 2, 3], hidden: 8 } } };
}
function tinyMamolDense(): ModelConfig {
  const m = defaultMamol({ modalities: [{ name: 'hs', bands: 5 }, { name: 'lidar', bands: 1 }], classes: 2, size: 8, tokenPatch: 2 });
  if (m.architecture !== 'mamol') throw new Error('unreachable');
  return { architecture: 'mamol', config: { ...m.config, vit: vitConfig({ width: 16, depth: 3, heads: 2, patchSize: 2, imageSize: 8 }), embedHidden: 8, adaptedBlocks: 2 } };
}

/** Initial weights of a model (seeded), as export takes them. */
function initialWeights(model: ModelConfig) {
  const g = new Graph('init');
  buildModel(g, model, modelSources({ dtype: 'float32', seed: 3 }), 'float32');
  // non-zero adapters so the exported model differs from the frozen backbone alone
  const w = graphWeights(g);
  const rand = rng(5);
  for (const [name, t] of w) if (name.includes('.b') || name.endsWith('alpha')) t.data.forEach((_, i) => (t.data[i] = 0.1 * gaussian(rand)));
  return w;
}

const CLASSES = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `class ${i + 1}`, color: '#00ff00' }));
const spectralSpec: PackExportSpec = {
  name: 'tiny-spectralmoe',
  version: '0.0.1',
  classes: CLASSES(3),
  inputs: {
    image: { sensorKinds: ['rgb'], bands: { mode: 'fixed', list: [{ wavelengthNm: 665, toleranceNm: 30 }, { wavelengthNm: 560, toleranceNm: 30 }, { wavelengthNm: 490, toleranceNm: 30 }] }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: false },
    depth: { sensorKinds: ['lidar', 'dem'], bands: { mode: 'fixed', list: [{ index: 0 }] }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: false },
  },
  metrics: { 'train.overall_accuracy': 0.5 },
  training: 'Random weights (test).',
};
const mamolSpec: PackExportSpec = {
  name: 'tiny-mamol',
  version: '0.0.1',
  classes: CLASSES(2),
  inputs: {
    hs: { sensorKinds: ['hyperspectral'], bands: { mode: 'fixed', list: [0, 1, 2, 3, 4].map((index) => ({ index })) }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: true },
    lidar: { sensorKinds: ['lidar'], bands: { mode: 'fixed', list: [{ index: 0 }] }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: true },
  },
};

async function runPack(dir: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path.join(dir, PACK_MODEL_FILE), { graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
  const out = await s.run(feeds);
  await s.release();
  return out.probabilities.data as Float32Array;
}
const randTensor = (shape: number[], seed: number) => {
  const r = rng(seed);
  return new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gaussian(r)), shape);
};

describe('model packs of configured models', () => {
  it('SpectralMoE: export, load back, run on onnxruntime CPU; the loaded weights rebuild the same model', async () => {
    const model = tinySpectral();
    const weights = initialWeights(model);
    const dir = tmp();
    const { manifest } = await exportModelPack(dir, model, weights, spectralSpec);
    expect(manifest.card).toContain('## Deviations from the paper');
    expect(manifest.card).toContain('Mask2Former');
    expect(manifest.card).toContain('"experts": 6');
    expect(manifest.tile).toMatchObject({ size: 16, fixedSize: true, multipleOf: 4 });

    const loaded = await loadModelPack(dir);
    expect(loaded.model).toEqual(model);
    expect(loaded.pack.manifest.inputs.map((i) => i.name)).toEqual(['image', 'depth']);
    for (const [k, w] of weights) expect(Array.from(loaded.weights.get(k)!.data)).toEqual(Array.from(w.data));

    const feeds = { image: randTensor([2, 3, 16, 16], 1), depth: randTensor([2, 1, 16, 16], 2) };
    const probs = await runPack(dir, feeds);
    expect(probs.length).toBe(2 * 3 * 16 * 16);
    for (let i = 0; i < 16 * 16; i++) expect(probs[i] + probs[256 + i] + probs[512 + i]).toBeCloseTo(1, 5);

    // a pack re-exported from the loaded weights computes the same probabilities
    const dir2 = tmp();
    await exportModelPack(dir2, loaded.model, loaded.weights, spectralSpec);
    expect(Array.from(await runPack(dir2, feeds))).toEqual(Array.from(probs));
  });

  it('MaMOL dense: availability input declared; a missing sensor fed as zeros changes nothing', async () => {
    const model = tinyMamolDense();
    const dir = tmp();
    const { manifest } = await exportModelPack(dir, model, initialWeights(model), mamolSpec);
    expect(manifest.availabilityInput).toBe('available');
    const hs = randTensor([1, 5, 8, 8], 3);
    const lidar = randTensor([1, 1, 8, 8], 4);
    const zeros = new ort.Tensor('float32', new Float32Array(64), [1, 1, 8, 8]);
    const missing = new ort.Tensor('float32', Float32Array.of(1, 0), [1, 2]);
    const full = new ort.Tensor('float32', Float32Array.of(1, 1), [1, 2]);
    const a = await runPack(dir, { hs, lidar, available: missing });
    const b = await runPack(dir, { hs, lidar: zeros, available: missing });
    const c = await runPack(dir, { hs, lidar, available: full });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Math.max(...a.map((x, i) => Math.abs(x - c[i])))).toBeGreaterThan(1e-6);
  });

  it('every ablation/baseline preset exports and runs', async () => {
    for (const preset of ['wo-moe', 'wo-dual-gating', 'wo-depth', 'wo-cross-attention', 'rein', 'lora', 'frozen']) {
      const model = tinySpectral(preset);
      const dir = tmp();
      const spec = 'depthSource' in model.config && model.config.depthSource?.source === 'elevation' && model.config.adapters.moe?.depth ? spectralSpec : { ...spectralSpec, inputs: { image: spectralSpec.inputs.image } };
      await exportModelPack(dir, model, initialWeights(model), spec);
      const loaded = await loadModelPack(dir);
      const feeds: Record<string, ort.Tensor> = { image: randTensor([1, 3, 16, 16], 1) };
      if (loaded.pack.manifest.inputs.some((i) => i.name === 'depth')) feeds.depth = randTensor([1, 1, 16, 16], 2);
      expect((await runPack(dir, feeds)).length, preset).toBe(3 * 16 * 16);
    }
  });

  it('SpectralMoE with the wavelength-conditioned embedding: one pack takes any band set', async () => {
    const base = tinySpectral('wo-depth');
    if (base.architecture !== 'spectralmoe') throw new Error('unreachable');
    const model: ModelConfig = { architecture: 'spectralmoe', config: { ...base.config, embedding: { kind: 'spectral', frequencies: 4, hidden: 8 } } };
    const dir = tmp();
    const spec: PackExportSpec = {
      ...spectralSpec,
      inputs: { image: { sensorKinds: ['multispectral', 'hyperspectral'], bands: { mode: 'any', minBands: 3, maxBands: 300 }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: false } },
    };
    const { manifest } = await exportModelPack(dir, model, initialWeights(model), spec);
    expect(manifest.inputs[0].bands).toMatchObject({ mode: 'any', wavelengthsInput: 'wavelengths' });
    for (const bands of [4, 7]) {
      const wl = new ort.Tensor('float32', Float32Array.from({ length: bands }, (_, i) => 0.45 + 0.2 * i), [bands]);
      const probs = await runPack(dir, { image: randTensor([1, bands, 16, 16], bands), wavelengths: wl });
      expect(probs.length).toBe(3 * 16 * 16);
      expect(probs.every(Number.isFinite)).toBe(true);
    }
  });

  it('refuses the patch head, unknown inputs, and weights that do not match', async () => {
    const patch = defaultMamol({ modalities: [{ name: 'hs', bands: 2 }, { name: 'lidar', bands: 1 }], classes: 2, head: 'patch', size: 4, tokenPatch: 1 });
    if (patch.architecture !== 'mamol') throw new Error('unreachable');
    patch.config.vit = vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 1, imageSize: 4 });
    patch.config.adaptedBlocks = 1;
    await expect(exportModelPack(tmp(), patch, initialWeights(patch), mamolSpec)).rejects.toThrow(/patch head/);

    const model = tinySpectral();
    const weights = initialWeights(model);
    const fewer = new Map(weights);
    fewer.delete('decoder.classifier.weight');
    await expect(exportModelPack(tmp(), model, fewer, spectralSpec)).rejects.toThrow(/lacks 1 weight\(s\) the model needs: decoder.classifier.weight/);
    await expect(exportModelPack(tmp(), model, weights, { ...spectralSpec, inputs: { ...spectralSpec.inputs, sar: spectralSpec.inputs.depth } })).rejects.toThrow(/"sar", which the model does not have/);

    const dir = tmp();
    await exportModelPack(dir, model, weights, spectralSpec);
    const cfgPath = path.join(dir, 'model-config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.config.decoder.hidden = 9;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    await expect(loadModelPack(dir)).rejects.toThrow(/weights\.safetensors: tensor decoder\.proj\.0\.weight has shape/);
  });

  it('class probabilities: softmax over axis 1 of [B, C, H, W], stable for large logits (float64 reference)', async () => {
    const [b, c, h, w] = [2, 5, 3, 4];
    const rand = rng(9);
    // one pixel with huge logits: exp overflows unless the maximum is taken out first
    const x = Float32Array.from({ length: b * c * h * w }, (_, i) => 3 * gaussian(rand) + (i % (h * w) === 7 ? 500 : 0));
    const g = new Graph('p');
    const logits = g.input('x', 'float32', [b, c, h, w]);
    const session = await ort.InferenceSession.create(g.toModel({ outputs: [['p', classSoftmax(logits)]] }));
    const got = (await session.run({ x: new ort.Tensor('float32', x, [b, c, h, w]) })).p.data as Float32Array;
    let worst = 0;
    for (let n = 0; n < b; n++)
      for (let p = 0; p < h * w; p++) {
        const at = (k: number) => (n * c + k) * h * w + p;
        const max = Math.max(...Array.from({ length: c }, (_, k) => x[at(k)]));
        const sum = Array.from({ length: c }, (_, k) => Math.exp(x[at(k)] - max)).reduce((s, v) => s + v, 0);
        for (let k = 0; k < c; k++) worst = Math.max(worst, Math.abs(got[at(k)] - Math.exp(x[at(k)] - max) / sum));
      }
    expect(worst).toBeLessThan(1e-6);
    await session.release();
  });
});
