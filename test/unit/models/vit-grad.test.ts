/**
 * Finite-difference checks (float64) of the gradients of every trainable parameter of the ViT
 * backbone (all options on, and with interpolated position embeddings), the wavelength-
 * conditioned and per-kind embeddings, and the elevation depth branch. Tiny sizes keep it fast.
 */
import { describe, expect, it } from 'vitest';
import { concat, Graph, gradients, mul, reduceSum, reshape, type Value } from '../../../src-main/engine/ml/index';
import { ParamSource } from '../../../src-main/engine/ml/models/init';
import { vitConfig, vitForward, type VitConfig } from '../../../src-main/engine/ml/models/vit';
import { sensorKindPatchEmbed, spectralEmbedConfig, spectralPatchEmbed } from '../../../src-main/engine/ml/models/embed';
import { depthTokens } from '../../../src-main/engine/ml/models/depth';
import { gradCheck, relError, type GradInput } from '../../helpers/gradcheck';
import { InputParams, RandomParams, trainableInputs } from '../../fixtures/models/moe-params';
import { randn, randomWeights, relativeError, runGraph } from './vit-run';

interface Model {
  /** Data inputs (not differentiated): name and shape. */
  data: { name: string; shape: number[]; sample?: (r: () => number) => number }[];
  /** Builds the model from a ParamSource and the data inputs; returns the output. */
  build: (g: Graph, params: ParamSource, data: Map<string, Value>) => Value;
}

async function checkModel(m: Model) {
  const g0 = new Graph('discover');
  const recorded = new RandomParams(5, true, 0.4);
  m.build(g0, recorded, new Map(m.data.map((d) => [d.name, g0.input(d.name, 'float64', d.shape)])));
  const { inputs, names } = trainableInputs(recorded.trainable);
  const all: GradInput[] = [...inputs, ...m.data.map((d) => ({ name: d.name, shape: d.shape, wrt: false, sample: d.sample }))];
  const res = await gradCheck(
    all,
    (g, xs) => {
      const byName = new Map(xs.map((x) => [x.name, x]));
      const values = new Map(names.map((n, i) => [n, xs[i]]));
      return m.build(g, new InputParams(5, true, values, 0.4), byName);
    },
    { seed: 3, h: 1e-5 },
  );
  return { res, names };
}

function expectGood(res: Awaited<ReturnType<typeof checkModel>>['res'], names: string[]) {
  const worst = names.map((n, i) => [n, relError(res.analytic[i], res.numeric[i])] as const).sort((a, b) => b[1] - a[1])[0];
  expect(res.maxRelError, `worst: ${worst}`).toBeLessThan(1e-5);
  expect(res.adjointRelError).toBeLessThan(1e-6);
  // Every parameter is reached (none silently detached).
  names.forEach((n, i) => expect(Math.max(...res.analytic[i].map(Math.abs)), n).toBeGreaterThan(0));
}

const flatten = (xs: Value[]) => (xs.length > 1 ? concat(xs.map((x) => reshape(x, [-1])), 0) : reshape(xs[0], [-1]));

describe('ViT backbone gradients (float64 finite differences)', () => {
  it('cls + registers + LayerScale + pre-norm + GELU, hooked block and final output', async () => {
    const cfg: VitConfig = vitConfig({ width: 4, depth: 2, heads: 2, patchSize: 2, imageSize: 4, mlpRatio: 1, inChannels: 2, registers: 1, layerScale: 0.5, preNorm: true });
    const { res, names } = await checkModel({
      data: [{ name: 'image', shape: [1, 2, 4, 4] }],
      build: (g, params, d) => {
        const out = g.scope('backbone', () => vitForward(g, params, d.get('image'), cfg, { hooks: [0] }));
        return flatten([out.blocks.get(0)!, out.final]);
      },
    });
    expect(names).toEqual(expect.arrayContaining(['backbone.pos_embed', 'backbone.reg_tokens', 'backbone.cls_token', 'backbone.blocks.1.ls2.gamma', 'backbone.norm_pre.weight', 'backbone.blocks.0.attn.qkv.bias']));
    expectGood(res, names);
  });

  it('position embeddings interpolated (bicubic) to a larger tile, QuickGELU, no cls token', async () => {
    const cfg: VitConfig = vitConfig({ width: 4, depth: 1, heads: 1, patchSize: 2, imageSize: 4, mlpRatio: 2, inChannels: 1, clsToken: false, activation: 'quick_gelu', patchBias: false });
    const { res, names } = await checkModel({
      data: [{ name: 'image', shape: [1, 1, 6, 6] }],
      build: (g, params, d) => vitForward(g, params, d.get('image'), cfg).final,
    });
    expect(names).toContain('pos_embed');
    expect(names).not.toContain('cls_token');
    expectGood(res, names);
  });
});

describe('embedding gradients (float64 finite differences)', () => {
  const ecfg = spectralEmbedConfig({ width: 3, patchSize: 2, frequencies: 2, hidden: 3 });

  it('wavelength-conditioned kernel generator and bias', async () => {
    const { res, names } = await checkModel({
      data: [
        { name: 'image', shape: [1, 2, 4, 4] },
        { name: 'wavelengths', shape: [2], sample: (r) => 0.4 + 2 * r() },
      ],
      build: (g, params, d) => spectralPatchEmbed(g, params, d.get('image')!, d.get('wavelengths')!, ecfg).tokens,
    });
    expect(names.sort()).toEqual(['bias', 'fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'kernel.bias', 'kernel.weight'].map((n) => `spectral_embed.${n}`));
    expectGood(res, names);
  });

  it('one float32 train graph with a symbolic band count gives the float64 static-C gradients for 4 and 9 bands', async () => {
    const weights = randomWeights((g, ps) => spectralPatchEmbed(g, ps, g.input('x', 'float64', [1, 2, 4, 4]), g.input('wl', 'float64', [2]), ecfg), 21, 0.4);
    // (float64 Conv runs as an exact im2col lowering that needs static dims: the reference has a static batch)
    const trainGraph = (dtype: 'float32' | 'float64', bands: number | string, batch: number | string) => {
      const g = new Graph('train');
      const ps = new ParamSource({ dtype, weights });
      const t = spectralPatchEmbed(g, ps, g.input('x', dtype, [batch, bands, 4, 4]), g.input('wavelengths', dtype, [bands]), ecfg).tokens;
      const wrt = [...g.params.values()].map((p) => p.value);
      const grads = gradients(reduceSum(mul(t, t), [0, 1, 2], false), wrt);
      return { g, outputs: Object.fromEntries(wrt.map((w) => [w.name.replace(/\./g, '_'), grads.get(w)!])) };
    };
    const symbolic = trainGraph('float32', 'bands', 'batch');
    for (const c of [4, 9]) {
      const x = randn(2 * c * 16, c);
      const wl = Float64Array.from({ length: c }, (_, i) => 0.45 + (1.5 * i) / c);
      const a = await runGraph(symbolic.g, symbolic.outputs, { x: { data: Float32Array.from(x), shape: [2, c, 4, 4] }, wavelengths: { data: Float32Array.from(wl), shape: [c] } });
      const ref = trainGraph('float64', c, 2);
      const b = await runGraph(ref.g, ref.outputs, { x: { data: x, shape: [2, c, 4, 4] }, wavelengths: { data: wl, shape: [c] } });
      const same = trainGraph('float32', c, 2);
      const s32 = await runGraph(same.g, same.outputs, { x: { data: Float32Array.from(x), shape: [2, c, 4, 4] }, wavelengths: { data: Float32Array.from(wl), shape: [c] } });
      for (const k of Object.keys(ref.outputs)) {
        // symbolic and static float32 graphs agree to rounding; both agree with float64 to float32 accuracy
        expect(relativeError(a[k].data, s32[k].data), `${k} at ${c} bands vs static float32`).toBeLessThan(1e-5);
        expect(relativeError(a[k].data, b[k].data), `${k} at ${c} bands vs float64`).toBeLessThan(1e-2);
      }
    }
  });

  it('per-kind SAR embedding, and the elevation depth branch (embedding + per-block projections)', async () => {
    const visual = vitConfig({ width: 3, depth: 2, heads: 1, patchSize: 2, imageSize: 4, mlpRatio: 1 });
    const { res, names } = await checkModel({
      data: [
        { name: 'sar', shape: [1, 2, 4, 4] },
        { name: 'z', shape: [1, 1, 4, 4] },
      ],
      build: (g, params, d) => {
        const sar = sensorKindPatchEmbed(g, params, d.get('sar')!, 'sar', ecfg).tokens;
        const depth = depthTokens(g, { encoder: params, branch: params }, { visual, encoder: null, tile: 4 }, { source: 'elevation', x: d.get('z')!, kind: 'dem' })!;
        return flatten([sar, depth.get(0)!, depth.get(1)!]);
      },
    });
    expect(names).toEqual(expect.arrayContaining(['sensor_embed.sar.weight', 'depth_branch.sensor_embed.dem.weight', 'depth_branch.proj.1.linear.weight', 'depth_branch.proj.0.norm.weight']));
    expectGood(res, names);
  });
});
