/**
 * The ablation and baseline switches: each preset builds the default config, and the parameters
 * it creates are exactly those its description implies (no silent fallbacks to the full model).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { buildModel, defaultMamol, defaultSpectralMoe, getArchitecture, MAMOL_PRESETS, modelSources, SEG_PRESETS, type ModelConfig } from '../../../src-main/engine/ml/models/index';

/** The default config with a narrow ViT (same depth, so block indices stay those of the default). */
function narrow(model: ModelConfig): ModelConfig {
  const small = { width: 16, heads: 2 };
  if (model.architecture === 'mamol') return { ...model, config: { ...model.config, vit: { ...model.config.vit, ...small }, embedHidden: 8 } };
  const c = model.config;
  return { ...model, config: { ...c, vit: { ...c.vit, ...small }, depthVit: c.depthVit && { ...c.depthVit, ...small }, decoder: { ...c.decoder, hidden: 8 } } };
}

function trainableNames(full: ModelConfig): { trainable: string[]; all: string[]; inputs: string[] } {
  const model = narrow(full);
  const g = new Graph('p');
  const { inputs } = buildModel(g, model, modelSources({ dtype: 'float32' }), 'float32');
  const all = [...g.params.keys()];
  return { trainable: all.filter((n) => g.params.get(n)!.trainable), all, inputs: Object.keys(inputs) };
}
const has = (names: string[], re: RegExp) => names.some((n) => re.test(n));

describe('SpectralMoE presets (paper Tables 1, 3, 4)', () => {
  const build = (preset: string) => trainableNames(defaultSpectralMoe({ bands: 4, classes: 5, tile: 32, preset }));

  it('the full model: dual gates, depth encoder, experts in every block, frozen backbones', () => {
    const { trainable, all, inputs } = build('spectralmoe');
    expect(inputs).toEqual(['image', 'depth']);
    for (let l = 0; l < 8; l++) {
      expect(trainable).toContain(`backbone.moe.${l}.gate.visual.w_gate`);
      expect(trainable).toContain(`backbone.moe.${l}.gate.depth.w_noise`);
      expect(trainable).toContain(`backbone.moe.${l}.experts.b`);
    }
    expect(has(all, /^depth_encoder\.blocks\.7\./)).toBe(true);
    expect(has(trainable, /^(backbone|depth_encoder)\.(blocks|patch_embed|pos_embed|cls_token)/)).toBe(false);
  });
  it('w/o MoE and Rein: one expert, no gate', () => {
    for (const p of ['wo-moe', 'rein']) expect(has(build(p).trainable, /gate/), p).toBe(false);
    expect(build('rein').inputs).toEqual(['image']);
  });
  it('w/o dual gating: one shared gate per layer', () => {
    const { trainable } = build('wo-dual-gating');
    expect(trainable).toContain('backbone.moe.0.gate.shared.w_gate');
    expect(has(trainable, /gate\.(visual|depth)/)).toBe(false);
  });
  it('w/o depth: no depth encoder, no depth input', () => {
    const { all, inputs } = build('wo-depth');
    expect(has(all, /^depth_encoder\./)).toBe(false);
    expect(inputs).toEqual(['image']);
  });
  it('depth from the bands nearest R, G, B (paper): no depth input, the encoder embeds those bands', () => {
    const { all, inputs } = trainableNames(defaultSpectralMoe({ bands: 4, classes: 5, tile: 32, depthSource: { source: 'rgb', bands: [2, 1, 0] } }));
    expect(inputs).toEqual(['image']);
    expect(all).toContain('depth_encoder.patch_embed.weight');
    expect(has(all, /depth_branch/)).toBe(false);
    const card = getArchitecture('spectralmoe').card(defaultSpectralMoe({ bands: 4, classes: 5, depthSource: { source: 'rgb', bands: [2, 1, 0] } }).config);
    expect(card).toContain('depth from the depth encoder on image bands 2, 1, 0');
  });
  it('w/o cross-attention builds the addition variant (card says so)', () => {
    const m = defaultSpectralMoe({ bands: 4, classes: 5, tile: 32, preset: 'wo-cross-attention' });
    expect(getArchitecture('spectralmoe').card(m.config)).toContain('w/o cross-attention');
  });
  it('LoRA and frozen baselines', () => {
    const lora = build('lora').trainable;
    expect(lora).toContain('backbone.blocks.0.lora.ffn.a');
    expect(has(lora, /moe/)).toBe(false);
    expect(build('frozen').trainable.every((n) => n.startsWith('decoder.'))).toBe(true);
  });
  it('unknown presets are refused by name', () => {
    expect(() => defaultSpectralMoe({ bands: 4, classes: 5, preset: 'vpt' })).toThrow(/preset "vpt": is unknown \(known: spectralmoe, /);
    expect(Object.keys(SEG_PRESETS)).toHaveLength(8);
  });
});

describe('MaMOL presets (paper Tables 1, 4, 5)', () => {
  const build = (preset: string) => trainableNames(defaultMamol({ modalities: [{ name: 'hs', bands: 6 }, { name: 'lidar', bands: 1 }], classes: 4, head: 'patch', size: 8, preset }));
  const adapted = (names: string[], kind: string) => [2, 3, 4, 5, 6, 7].every((b) => names.includes(`backbone.blocks.${b}.experts.${kind}`));

  it('MaMOL: static (shared + per modality) and dynamic experts in the last 6 blocks, pattern-aware router', () => {
    const { trainable, inputs } = build('mamol');
    expect(inputs).toEqual(['hs', 'lidar', 'available']);
    expect(adapted(trainable, 'static.a') && adapted(trainable, 'dynamic.a') && adapted(trainable, 'router.phi_t.weight')).toBe(true);
    expect(has(trainable, /blocks\.[01]\.experts/)).toBe(false);
    expect(trainable).toContain('experts.pattern_embed.weight');
    expect(has(trainable, /^backbone\.(blocks\.\d+\.(attn|mlp|norm)|pos_embed|cls_token)/)).toBe(false);
  });
  it('ablations and baselines create exactly their experts', () => {
    expect(has(build('wo-dynamic').trainable, /router|dynamic|pattern/)).toBe(false);
    expect(has(build('wo-static').trainable, /static/)).toBe(false);
    expect(has(build('moe-ada').trainable, /static|phi_t|pattern/)).toBe(false);
    expect(adapted(build('moe-task').trainable, 'router.phi_t.weight')).toBe(true);
    expect(has(build('frozen').trainable, /experts/)).toBe(false);
    expect(build('lora').trainable.filter((n) => n.endsWith('static.a'))).toHaveLength(6);
    expect(Object.keys(MAMOL_PRESETS)).toHaveLength(8);
  });
});
