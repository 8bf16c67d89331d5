/**
 * Finite-difference checks (float64) of the gradients of every trainable parameter of a small
 * MaMOL model (modality embeddings, pattern embedding, router, static and dynamic LoRA experts,
 * head), with the shared ViT frozen, for both heads and two missing patterns in one batch.
 */
import { describe, expect, it } from 'vitest';
import { Graph, reshape, type Value } from '../../../src-main/engine/ml/index';
import { mamolForward, MAMOL_PAPER_EXPERTS, type MamolConfig } from '../../../src-main/engine/ml/models/mamol';
import { gradCheck, relError, type GradInput } from '../../helpers/gradcheck';
import { InputParams, RandomParams, trainableInputs } from '../../fixtures/models/moe-params';
import { tinyMamol } from '../../fixtures/models/moe-configs';

const B = 2;
// sample 0 has both sensors, sample 1 lacks LiDAR
const AVAILABLE = Float64Array.from([1, 1, 1, 0]);

async function check(cfg: MamolConfig) {
  const g0 = new Graph('discover');
  const recorded = new RandomParams(2, true);
  const mods0 = cfg.modalities.map((m) => g0.input(m.name, 'float64', [B, m.bands, cfg.size, cfg.size]));
  mamolForward(g0, new RandomParams(1, false), recorded, cfg, { modalities: mods0, available: g0.input('available', 'float64', [B, 2]) });
  const { inputs, names } = trainableInputs(recorded.trainable);
  const data: GradInput[] = [
    ...cfg.modalities.map((m) => ({ name: m.name, shape: [B, m.bands, cfg.size, cfg.size], wrt: false })),
    { name: 'available', shape: [B, 2], wrt: false, data: AVAILABLE },
  ];
  const res = await gradCheck([...inputs, ...data], (g, xs) => {
    const given = new Map(names.map((n, i) => [n, xs[i]]));
    const byName = new Map(xs.map((x) => [x.name, x]));
    const { logits } = mamolForward(g, new InputParams(1, false, given), new InputParams(2, true, given), cfg, {
      modalities: cfg.modalities.map((m) => byName.get(m.name)!),
      available: byName.get('available')!,
    });
    return reshape(logits, [-1]) as Value;
  }, { seed: 11, h: 1e-5 });
  return { res, names };
}

describe('MaMOL gradients of every trainable parameter (float64 finite differences)', () => {
  const experts = { ...MAMOL_PAPER_EXPERTS, rank: 2, routerHidden: 3, patternDim: 2 };
  const cases: [string, MamolConfig][] = [
    ['MaMOL, patch head', tinyMamol('patch', experts)],
    ['MaMOL, dense head', tinyMamol('dense', experts)],
  ];
  for (const [label, cfg] of cases)
    it(label, async () => {
      const { res, names } = await check(cfg);
      const worst = names.map((n, i) => [n, relError(res.analytic[i], res.numeric[i])] as const).sort((a, b) => b[1] - a[1])[0];
      expect(res.maxRelError, `worst: ${worst}`).toBeLessThan(1e-4);
      expect(res.adjointRelError).toBeLessThan(1e-6);
      names.forEach((n, i) => expect(Math.max(...res.analytic[i].map(Math.abs)), n).toBeGreaterThan(0));
      expect(names.some((n) => n.includes('router'))).toBe(true);
      expect(names.some((n) => n.startsWith('backbone.') && !n.includes('experts'))).toBe(false);
    });
});
