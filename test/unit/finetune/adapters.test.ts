import { describe, expect, it } from 'vitest';
import { architectureAdapters, presetFor } from '../../../src-main/engine/finetune/adapters';
import { uniteClasses } from '../../../src-main/engine/training/train';
import { MAMOL_PAPER_EXPERTS, SEG_PRESETS, SPECTRALMOE_PAPER_DEFAULTS, type ModelConfig, type SpectralMoeModelConfig } from '../../../src-main/engine/ml/models/index';
import { LINEAR_PATH_CONTEXT, CONTEXT_MAX_BANDS, PIXEL_HEAD_CONTEXT, pixelHeadHidden, withPixelHead } from '../../../src-main/engine/finetune/finetune';
import type { InputBinding } from '../../../src-main/engine/packs/bandmap';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';
import type { LabelSet } from '../../../src-main/engine/labels/types';

describe('adapter choices', () => {
  it('maps each choice to a preset of the pack architecture', () => {
    expect(presetFor('spectralmoe', 'head-only').preset).toBe('frozen');
    expect(presetFor('spectralmoe', 'rein').preset).toBe('rein');
    expect(presetFor('mamol', 'mamol').preset).toBe('mamol');
    expect(presetFor('mamol', 'lora').preset).toBe('lora');
  });

  it('rejects a choice the architecture lacks, naming the valid ones', () => {
    expect(() => presetFor('mamol', 'rein')).toThrow(/--adapter.*rein.*mamol pack.*mamol, lora, head-only/);
    expect(() => presetFor('spectralmoe', 'mamol')).toThrow(/choices for this pack: spectralmoe, lora, rein, head-only/);
    expect(() => presetFor('spectralmoe', 'foo')).toThrow(/"foo" is not an adapter \(spectralmoe, mamol, lora, rein, head-only\)/);
    expect(() => architectureAdapters('lda')).toThrow(/cannot be fine-tuned/);
  });

  it('head-only trains only the head; other choices keep the embedding frozen', () => {
    const s = architectureAdapters('spectralmoe');
    expect(s.trains('head-only', 'decoder.classifier.weight')).toBe(true);
    expect(s.trains('head-only', 'backbone.moe.0.experts.a')).toBe(false);
    expect(s.trains('spectralmoe', 'backbone.moe.0.experts.a')).toBe(true);
    expect(s.trains('spectralmoe', 'backbone.spectral_embed.fc1.weight')).toBe(false);
    const m = architectureAdapters('mamol');
    expect(m.trains('mamol', 'embed.optical.fc1.weight')).toBe(false);
    expect(m.trains('mamol', 'head.classifier.weight')).toBe(true);
  });
});

describe('SpectralMoE depth under fine-tuning', () => {
  const vit = vitConfig({ width: 16, depth: 2, heads: 2, patchSize: 4, imageSize: 16 });
  const pack = (depthSource: SpectralMoeModelConfig['depthSource'], preset: string): ModelConfig => ({
    architecture: 'spectralmoe',
    config: { vit, depthVit: null, depthSource, adapters: SEG_PRESETS[preset].apply(SPECTRALMOE_PAPER_DEFAULTS), decoder: { levels: [0, 1], hidden: 8, classes: 2 }, tile: 16, embedding: { kind: 'patch' } },
  });
  const depthAfter = (m: ModelConfig, preset: string) => {
    const out = architectureAdapters('spectralmoe').apply(m, preset);
    return out.architecture === 'spectralmoe' ? out.config.adapters.moe?.depth : undefined;
  };

  it('keeps depth on for an elevation source without a depth encoder', () => {
    expect(depthAfter(pack({ source: 'elevation', kind: 'dem' }, 'spectralmoe'), 'spectralmoe')).toBe(true);
  });

  it('turns depth off where the pack has no depth source', () => {
    expect(depthAfter(pack({ source: 'none' }, 'wo-depth'), 'spectralmoe')).toBe(false);
  });
});

function labelSet(names: string[]): LabelSet {
  return { source: 'x', kind: 'raster', width: 1, height: 1, classes: names.map((name, i) => ({ id: i + 1, name, color: [10, 20, 30] })), x: new Uint32Array(), y: new Uint32Array(), classIndex: new Uint16Array(), featureId: new Int32Array(), featureCount: 0, classCounts: [], warnings: [] };
}

describe('class sets of several scenes', () => {
  it('unites classes by normalised name and maps each scene onto the union', () => {
    const { classes, maps } = uniteClasses([labelSet(['Forest', 'water']), labelSet(['not water', 'Water', 'forest'])]);
    expect(classes.map((c) => c.name)).toEqual(['Forest', 'water', 'not water']);
    expect(classes.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(Array.from(maps[0])).toEqual([0, 1]);
    expect(Array.from(maps[1])).toEqual([2, 1, 0]);
    for (const c of classes) expect(c.color).toMatch(/^#[0-9a-f]{6}$/);
  });
});

describe('pixel head of a fine-tuned model', () => {
  const binding = (name: string, channels: number, available: boolean, kind = 'multispectral') => ({ input: { name }, sensor: { id: name, kind }, index: 0, bandIndices: [], wavelengths: [], mean: new Float32Array(), invStd: new Float32Array(), available, channels }) as unknown as InputBinding;
  const mamol = (head: 'patch' | 'dense'): ModelConfig => ({
    architecture: 'mamol',
    config: { vit: vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 2, imageSize: 8 }), modalities: [{ name: 'optical', bands: 4 }, { name: 'sar', bands: 2 }, { name: 'elevation', bands: 1 }], size: 8, tokenPatch: 2, embedHidden: 8, experts: MAMOL_PAPER_EXPERTS, adaptedBlocks: 1, head, classes: 3 },
  });

  it('reads the band inputs the scene provides (not elevation-as-depth, not absent sensors)', () => {
    const m = withPixelHead(mamol('dense'), [binding('optical', 4, true), binding('sar', 2, false), binding('elevation', 1, true, 'lidar'), binding('available', 3, true)], { hidden: 16 });
    // Elevation enters relative to the tile's mean, with its spatial context into both paths; optical bands' context goes to the linear path alone.
    const optical = { name: 'optical', bands: 4, context: LINEAR_PATH_CONTEXT, contextInto: ['linear'] };
    const both = ['hidden', 'linear'];
    expect(m.architecture === 'mamol' && m.config.pixelHead).toEqual({ hidden: 16, inputs: [optical, { name: 'elevation', bands: 1, relative: true, context: PIXEL_HEAD_CONTEXT.lidar, contextInto: both }], linear: true });
    // SAR (speckle) reads its window statistics too.
    const sar = withPixelHead(mamol('dense'), [binding('optical', 4, false), binding('sar', 2, true, 'sar')]);
    expect(sar.architecture === 'mamol' && sar.config.pixelHead).toEqual({ hidden: pixelHeadHidden([{ bands: 2, context: PIXEL_HEAD_CONTEXT.sar }]), inputs: [{ name: 'sar', bands: 2, context: PIXEL_HEAD_CONTEXT.sar, contextInto: both }], linear: true });
    expect(PIXEL_HEAD_CONTEXT.sar?.length).toBeGreaterThan(0);
    const vit = vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 2, imageSize: 8 });
    const seg: ModelConfig = { architecture: 'spectralmoe', config: { vit, depthVit: null, depthSource: { source: 'elevation', kind: 'dem' }, adapters: SEG_PRESETS.spectralmoe.apply(SPECTRALMOE_PAPER_DEFAULTS), decoder: { levels: [1], hidden: 8, classes: 3 }, tile: 8, embedding: { kind: 'spectral' } } };
    const s = withPixelHead(seg, [binding('image', 5, true), binding('depth', 1, true)], { hidden: 16 });
    expect(s.architecture === 'spectralmoe' && s.config.pixelHead).toEqual({ hidden: 16, inputs: [{ name: 'image', bands: 5, context: LINEAR_PATH_CONTEXT, contextInto: ['linear'] }], linear: true });
    // a hyperspectral cube's bands carry no linear-path context
    const cube = withPixelHead(seg, [binding('image', CONTEXT_MAX_BANDS + 1, true)], { hidden: 16 });
    expect(cube.architecture === 'spectralmoe' && cube.config.pixelHead).toEqual({ hidden: 16, inputs: [{ name: 'image', bands: CONTEXT_MAX_BANDS + 1 }], linear: true });
    // nor a LiDAR stack of as many bands, in either path: its linear path reads its tile means instead
    const stack = withPixelHead(mamol('dense'), [binding('elevation', CONTEXT_MAX_BANDS + 1, true, 'lidar')], { hidden: 16 });
    expect(stack.architecture === 'mamol' && stack.config.pixelHead).toEqual({ hidden: 16, inputs: [{ name: 'elevation', bands: CONTEXT_MAX_BANDS + 1, relative: true, tileMeanIntoLinear: true }], linear: true });
  });

  it('gives the linear path weights of its own for the absence of each input the missing-sensor simulation drops', () => {
    const bindings = [binding('optical', 4, true), binding('sar', 2, true, 'sar'), binding('elevation', 1, false, 'dem')];
    const head = (missing?: { rate: number; mode: string }) => {
      const m = withPixelHead(mamol('dense'), bindings, { missing });
      return m.architecture === 'mamol' ? m.config.pixelHead?.linearWithout : undefined;
    };
    expect(head({ rate: 0.5, mode: 'both' })).toEqual(['optical', 'sar']);
    expect(head({ rate: 0.5, mode: 'sar' })).toEqual(['sar']);
    expect(head()).toBeUndefined();
    // one input alone: nothing to be missing beside
    const alone = withPixelHead(mamol('dense'), [binding('optical', 4, true)], { missing: { rate: 0.5, mode: 'both' } });
    expect(alone.architecture === 'mamol' && alone.config.pixelHead?.linearWithout).toBeUndefined();
  });

  it('is as wide as its input features allow: 4 units per band or context feature, 16 to 64', () => {
    expect(pixelHeadHidden([{ bands: 1, context: [3, 7] }])).toBe(20); // elevation: 1 + 2 x 2 features
    expect(pixelHeadHidden([{ bands: 2 }])).toBe(16);
    expect(pixelHeadHidden([{ bands: 6 }])).toBe(24);
    expect(pixelHeadHidden([{ bands: 13 }, { bands: 2, context: [3, 7] }])).toBe(64);
    expect(pixelHeadHidden([{ bands: 204 }])).toBe(64);
    // context the linear path alone reads does not widen the hidden layer
    expect(pixelHeadHidden([{ bands: 4, context: [3, 7], contextInto: ['linear'] }])).toBe(16);
    expect(pixelHeadHidden([{ bands: 1, context: [3, 7], contextInto: ['hidden', 'linear'] }])).toBe(20);
    const m = withPixelHead(mamol('dense'), [binding('elevation', 1, true, 'dem')]);
    expect(m.architecture === 'mamol' && m.config.pixelHead && m.config.pixelHead.hidden).toBe(20);
  });

  it('leaves patch classifiers and scenes without a band input unchanged', () => {
    expect(withPixelHead(mamol('patch'), [binding('optical', 4, true)])).toEqual(mamol('patch'));
    expect(withPixelHead(mamol('dense'), [binding('optical', 4, false)])).toEqual(mamol('dense'));
  });
});

describe('branches of inputs the scene never provides', () => {
  const vit = vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 2, imageSize: 8 });
  const seg = (depthOptional: boolean): ModelConfig => ({
    architecture: 'spectralmoe',
    config: { vit, depthVit: null, depthSource: { source: 'elevation', kind: 'dem' }, depthOptional, adapters: SEG_PRESETS.spectralmoe.apply(SPECTRALMOE_PAPER_DEFAULTS), decoder: { levels: [1], hidden: 8, classes: 3 }, tile: 8, embedding: { kind: 'spectral' } },
  });
  const depthOf = (m: ModelConfig) => (m.architecture === 'spectralmoe' ? m.config.adapters.moe?.depth : undefined);

  it('SpectralMoE drops its optional depth branch when the scene has no elevation (test/unit/models/spectralmoe-optional-depth: the same function)', () => {
    const s = architectureAdapters('spectralmoe');
    expect(depthOf(s.withoutAbsent(seg(true), (input) => input === 'image'))).toBe(false);
    expect(depthOf(s.withoutAbsent(seg(true), () => true))).toBe(true);
    // Depth that is not optional is part of the function: kept.
    expect(depthOf(s.withoutAbsent(seg(false), (input) => input === 'image'))).toBe(true);
  });
});
