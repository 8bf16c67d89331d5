/**
 * Finite-difference checks (float64) of the gradients of every trainable parameter of a small
 * SpectralMoE segmentation model: expert tokens, both gates (clean and noise prototypes), the
 * shared W_T, b_T, MLP and alpha, and the decoder, through the task output and the
 * load-balancing loss together (the gates with k = 1 learn only through the latter).
 */
import { describe, expect, it } from 'vitest';
import { concat, Graph, reshape, type Value } from '../../../src-main/engine/ml/index';
import { loadBalancingLoss, spectralMoeForward, SPECTRALMOE_PAPER_DEFAULTS, type SpectralMoeConfig, type SpectralMoeModelConfig } from '../../../src-main/engine/ml/models/spectralmoe';
import { SEG_PRESETS } from '../../../src-main/engine/ml/models/adapters';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';
import { gradCheck, relError, type GradInput } from '../../helpers/gradcheck';
import { InputParams, RandomParams, trainableInputs } from '../../fixtures/models/moe-params';

const TILE = 4;
const base: Omit<SpectralMoeConfig, 'dim'> = { ...SPECTRALMOE_PAPER_DEFAULTS, experts: 3, tokensPerExpert: 2, rank: 2, loadLambda: 0.7 };

function tinyModel(moe: Omit<SpectralMoeConfig, 'dim'>, preset = 'spectralmoe'): SpectralMoeModelConfig {
  const vit = vitConfig({ width: 4, depth: 2, heads: 1, patchSize: 2, imageSize: TILE, mlpRatio: 1, inChannels: 2 });
  const adapters = SEG_PRESETS[preset].apply(moe);
  return {
    vit,
    depthVit: vit,
    depthSource: adapters.moe?.depth ? { source: 'elevation', kind: 'lidar' } : { source: 'none' },
    adapters,
    decoder: { levels: [0, 1], hidden: 3, classes: 2 },
    tile: TILE,
    embedding: { kind: 'patch' },
  };
}

/** Logits and the load loss as one vector, so one check covers both paths. */
function build(g: Graph, cfg: SpectralMoeModelConfig, xs: Value[], names: string[]): Value {
  const values = new Map(names.map((n, i) => [n, xs[i]]));
  const byName = new Map(xs.map((x) => [x.name, x]));
  const src = { backbone: new InputParams(1, false, values), depthEncoder: new InputParams(2, false, values), adapters: new InputParams(3, true, values) };
  const { logits, records } = spectralMoeForward(g, src, cfg, { image: byName.get('image')!, depth: byName.get('depth') }, { noise: (name) => byName.get(name) });
  const parts = [reshape(logits, [-1])];
  if (records.length && cfg.adapters.moe!.experts > 1) parts.push(reshape(loadBalancingLoss(records, cfg.adapters.moe!), [1]));
  return parts.length > 1 ? concat(parts, 0) : parts[0];
}

async function check(cfg: SpectralMoeModelConfig, noisy: boolean) {
  // Pass 1: discover the trainable parameters and their (random, non-zero) values.
  const g0 = new Graph('discover');
  const recorded = new RandomParams(3, true);
  const image0 = g0.input('image', 'float64', [1, 2, TILE, TILE]);
  const depth0 = g0.input('depth', 'float64', [1, 1, TILE, TILE]);
  spectralMoeForward(g0, { backbone: new RandomParams(1, false), depthEncoder: new RandomParams(2, false), adapters: recorded }, cfg, { image: image0, depth: depth0 });
  const { inputs, names } = trainableInputs(recorded.trainable);
  const e = cfg.adapters.moe?.experts ?? 1;
  const noise: GradInput[] = [];
  if (noisy && e > 1)
    for (let l = 0; l < cfg.vit.depth; l++)
      for (const m of cfg.adapters.moe!.depth ? ['visual', 'depth'] : ['visual']) noise.push({ name: `moe.${l}.${m}.noise`, shape: [1, 4, e], wrt: false });
  const all: GradInput[] = [...inputs, { name: 'image', shape: [1, 2, TILE, TILE], wrt: false }, { name: 'depth', shape: [1, 1, TILE, TILE], wrt: false }, ...noise];
  const res = await gradCheck(all, (g, xs) => build(g, cfg, xs, names), { seed: 7, h: 1e-5 });
  return { res, names };
}

describe('SpectralMoE gradients of every trainable parameter (float64 finite differences)', () => {
  const cases: [string, SpectralMoeModelConfig, boolean][] = [
    ['p = 2, k = 2, dual gates, cross-attention, noisy', tinyModel({ ...base, topK: 2, p: 2 }), true],
    ['p = 1, k = 1 (smooth load term), one shared gate, addition fusion, noisy', tinyModel({ ...base, topK: 1, p: 1, fusion: 'add' }, 'wo-dual-gating'), true],
    ['Rein baseline (one expert, no depth)', tinyModel(base, 'rein'), false],
    ['LoRA baseline', tinyModel(base, 'lora'), false],
  ];
  for (const [label, cfg, noisy] of cases)
    it(label, async () => {
      const { res, names } = await check(cfg, noisy);
      const worst = names.map((n, i) => [n, relError(res.analytic[i], res.numeric[i])] as const).sort((a, b) => b[1] - a[1])[0];
      expect(res.maxRelError, `worst: ${worst}`).toBeLessThan(1e-4);
      expect(res.adjointRelError).toBeLessThan(1e-6);
      // every trainable parameter is reached (no silently detached weight)
      names.forEach((n, i) => expect(Math.max(...res.analytic[i].map(Math.abs)), n).toBeGreaterThan(0));
      if (cfg.adapters.moe) {
        expect(names).toContain('moe.shared.alpha');
        expect(names).toContain('backbone.moe.0.experts.a');
      }
    });
});
