import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { ParamSource } from '../../../src-main/engine/ml/models/init';
import { interpolationMatrix, vitConfig, vitForward, type VitConfig } from '../../../src-main/engine/ml/models/vit';
import { CHECKPOINT_LAYOUTS, CLIP_HF, DINOV2_HF, DINOV2_ORIGINAL, TIMM, TORCHVISION, importVitCheckpoint, inferVitShape, mapCheckpoint, type CheckpointLayout } from '../../../src-main/engine/ml/models/weights';
import type { StoredTensor } from '../../../src-main/engine/ml/io/safetensors';
import { fixturePath, loadFixture, relativeError, runGraph, splitFixture } from './vit-run';

async function runVit(checkpoint: ReadonlyMap<string, StoredTensor>, layout: CheckpointLayout, cfg: VitConfig, input: StoredTensor, hooks: number[] = [0]) {
  const weights = mapCheckpoint(checkpoint, layout, cfg, 'fixture');
  const params = new ParamSource({ dtype: 'float32', weights, trainable: false });
  const g = new Graph('vit');
  const x = g.input('x', 'float32', ['batch', 3, input.shape[2], input.shape[3]]);
  const out = vitForward(g, params, x, cfg, { hooks });
  expect(params.unused()).toEqual([]);
  const outputs = { final: out.final, ...Object.fromEntries(hooks.map((h) => [`block${h}`, out.blocks.get(h)!])) };
  return await runGraph(g, outputs, { x: { data: input.data as Float32Array, shape: input.shape } });
}

describe('checkpoint import: Hugging Face DINOv2 layout (with registers, LayerScale)', () => {
  it('infers the architecture and reproduces the reference forward at the stored and at another tile size', async () => {
    const file = await loadFixture('vit_dinov2_hf.safetensors');
    const meta = JSON.parse(file.metadata.config);
    const { checkpoint, io } = splitFixture(file.tensors);
    const shape = inferVitShape(checkpoint, DINOV2_HF);
    expect(shape).toMatchObject({ width: 32, depth: 2, patchSize: 8, imageSize: 32, registers: 2, mlpRatio: 4, clsToken: true, preNorm: false });
    expect(shape.layerScale).not.toBeNull();
    const cfg = vitConfig({ ...(shape as VitConfig), heads: meta.heads, layerScale: 1 });
    const r = await runVit(checkpoint, DINOV2_HF, cfg, io('input'));
    expect(relativeError(r.block0.data, io('block0').data as Float32Array)).toBeLessThan(1e-4);
    expect(relativeError(r.final.data, io('final').data as Float32Array)).toBeLessThan(1e-4);
    // 48 x 40 pixels = a 6 x 5 patch grid: position embeddings resized bicubic, align_corners false.
    const resized = await runVit(checkpoint, DINOV2_HF, cfg, io('input_resized'), []);
    expect(resized.final.dims).toEqual([1, 1 + 2 + 30, 32]);
    expect(relativeError(resized.final.data, io('final_resized').data as Float32Array)).toBeLessThan(1e-4);
  });
});

describe('checkpoint import: Hugging Face CLIP vision layout (pre-norm, QuickGELU, no patch bias)', () => {
  it('skips the text tower and reproduces the reference forward', async () => {
    const file = await loadFixture('vit_clip_hf.safetensors');
    const meta = JSON.parse(file.metadata.config);
    const { checkpoint, io } = splitFixture(file.tensors);
    const shape = inferVitShape(checkpoint, CLIP_HF);
    expect(shape).toMatchObject({ width: 32, depth: 2, patchSize: 8, imageSize: 32, registers: 0, preNorm: true, patchBias: false, layerScale: null });
    const cfg = vitConfig({ ...(shape as VitConfig), heads: meta.heads, activation: 'quick_gelu', layerNormEps: 1e-5 });
    const r = await runVit(checkpoint, CLIP_HF, cfg, io('input'));
    expect(relativeError(r.block0.data, io('block0').data as Float32Array)).toBeLessThan(1e-4);
    expect(relativeError(r.final.data, io('final').data as Float32Array)).toBeLessThan(1e-4);
    // Exact GELU instead of QuickGELU is measurably different: the activation setting matters.
    const wrong = await runVit(checkpoint, CLIP_HF, { ...cfg, activation: 'gelu' }, io('input'));
    expect(relativeError(wrong.final.data, io('final').data as Float32Array)).toBeGreaterThan(1e-3);
  });
});

describe('checkpoint import errors', () => {
  it('lists missing, unexpected and wrong-shaped tensors in one error naming the file', async () => {
    const file = await loadFixture('vit_torchvision.safetensors');
    const { checkpoint } = splitFixture(file.tensors);
    const cfg = vitConfig({ width: 32, depth: 2, heads: 4, patchSize: 8, mlpRatio: 2, imageSize: 32 });
    const broken = new Map(checkpoint);
    broken.delete('encoder.layers.encoder_layer_1.ln_2.bias');
    broken.set('encoder.layers.encoder_layer_7.ln_1.weight', { dtype: 'float32', shape: [32], data: new Float32Array(32) });
    broken.set('encoder.ln.weight', { dtype: 'float32', shape: [16], data: new Float32Array(16) });
    const path = fixturePath('vit_torchvision.safetensors');
    let message = '';
    try {
      mapCheckpoint(broken, TORCHVISION, cfg, path);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(path);
    expect(message).toMatch(/missing 1 tensor\(s\): encoder\.layers\.encoder_layer_1\.ln_2\.bias/);
    expect(message).toMatch(/unexpected 1 tensor\(s\): encoder\.layers\.encoder_layer_7\.ln_1\.weight/);
    expect(message).toMatch(/wrong shape: encoder\.ln\.weight is float32\[16\], norm\.weight needs \[32\]/);
    // The head is ignored, not unexpected, and a complete checkpoint maps without error.
    expect(mapCheckpoint(checkpoint, TORCHVISION, cfg, path).size).toBe(4 + 2 * 12 + 2);
  });

  it('maps checkpoints saved under a wrapper prefix and places weights under our scope', async () => {
    const file = await loadFixture('vit_dinov2_hf.safetensors');
    const { checkpoint } = splitFixture(file.tensors);
    const wrapped = new Map([...checkpoint].map(([k, v]) => [`dinov2.${k}`, v]));
    const cfg = vitConfig({ width: 32, depth: 2, heads: 4, patchSize: 8, imageSize: 32, registers: 2, layerScale: 1 });
    const mapped = mapCheckpoint(wrapped, DINOV2_HF, cfg, 'cls.safetensors', { theirPrefix: 'dinov2.', ourPrefix: 'backbone.' });
    expect(mapped.get('backbone.blocks.1.attn.qkv.weight')!.shape).toEqual([96, 32]);
    // fused qkv = [query; key; value] rows
    const q = checkpoint.get('encoder.layer.1.attention.attention.key.weight')!.data;
    expect(Array.from(mapped.get('backbone.blocks.1.attn.qkv.weight')!.data.slice(32 * 32, 64 * 32))).toEqual(Array.from(q as Float32Array));
    expect(() => mapCheckpoint(wrapped, DINOV2_HF, cfg, 'cls.safetensors')).toThrow(/cls\.safetensors: .*missing/);
  });

  it('reads checkpoint files: a missing file and foreign tensors are one-line errors naming the file', async () => {
    const cfg = vitConfig({ width: 32, depth: 2, heads: 4, patchSize: 8, mlpRatio: 2, imageSize: 32 });
    await expect(importVitCheckpoint(fixturePath('no-such.safetensors'), TORCHVISION, cfg)).rejects.toThrow(/no-such\.safetensors: .*ENOENT/);
    // the torchvision fixture also holds io.* reference tensors, which a plain import must report
    await expect(importVitCheckpoint(fixturePath('vit_torchvision.safetensors'), TORCHVISION, cfg)).rejects.toThrow(/vit_torchvision\.safetensors: .*unexpected 3 tensor\(s\): io\./);
  });

  it('maps the original DINOv2 / Depth Anything layout (prefix pretrained., head outside) and timm names to the same weights', async () => {
    const file = await loadFixture('vit_dinov2_hf.safetensors');
    const { checkpoint } = splitFixture(file.tensors);
    const cfg = vitConfig({ width: 32, depth: 2, heads: 4, patchSize: 8, imageSize: 32, registers: 2, layerScale: 1 });
    const ours = mapCheckpoint(checkpoint, DINOV2_HF, cfg, 'hf');
    // Written by hand from facebookresearch/dinov2's module names, not from our rules.
    const rename = (n: string) =>
      n.replace('patch_embed.weight', 'patch_embed.proj.weight').replace('patch_embed.bias', 'patch_embed.proj.bias').replace('reg_tokens', 'register_tokens');
    const stored = (v: { shape: number[]; data: Float32Array | Float64Array }): StoredTensor => ({ dtype: 'float32', shape: v.shape, data: Float32Array.from(v.data) });
    const original = new Map([...ours].map(([k, v]) => [`pretrained.${rename(k)}`, stored(v)]));
    original.set('pretrained.mask_token', { dtype: 'float32', shape: [1, 32], data: new Float32Array(32) });
    original.set('depth_head.projects.0.weight', { dtype: 'float32', shape: [4, 32], data: new Float32Array(128) });
    const back = mapCheckpoint(original, DINOV2_ORIGINAL, cfg, 'depth_anything.safetensors', { theirPrefix: 'pretrained.' });
    expect([...back.keys()].sort()).toEqual([...ours.keys()].sort());
    for (const [k, v] of ours) expect(Array.from(back.get(k)!.data), k).toEqual(Array.from(v.data));
    const timm = new Map([...ours].map(([k, v]) => [rename(k).replace('register_tokens', 'reg_token'), stored(v)]));
    timm.set('head.weight', { dtype: 'float32', shape: [2, 32], data: new Float32Array(64) });
    expect(mapCheckpoint(timm, TIMM, cfg, 'timm.safetensors').size).toBe(ours.size);
    expect(Object.keys(CHECKPOINT_LAYOUTS).sort()).toEqual(['clip-hf', 'dinov2-hf', 'dinov2-original', 'timm', 'torchvision']);
  });

  it('rejects a config that does not fit the checkpoint (depth 3 vs 2 blocks)', async () => {
    const file = await loadFixture('vit_dinov2_hf.safetensors');
    const { checkpoint } = splitFixture(file.tensors);
    const cfg = vitConfig({ width: 32, depth: 3, heads: 4, patchSize: 8, imageSize: 32, registers: 2, layerScale: 1 });
    expect(() => mapCheckpoint(checkpoint, DINOV2_HF, cfg, 'dinov2.safetensors')).toThrow(/dinov2\.safetensors: .*missing \d+ tensor\(s\): encoder\.layer\.2\./);
  });
});

describe('position-embedding resampling matrices', () => {
  it('equal torch F.interpolate for bicubic/bilinear, align_corners on/off, up and down, and the DINOv2 offset', async () => {
    const file = await loadFixture('vit_interp.safetensors');
    const cases: string[] = JSON.parse(file.metadata.cases);
    const grid = file.tensors.get('grid')!; // [1, C, 5, 5]
    const [, ch, h, w] = grid.shape;
    expect(cases.length).toBe(18);
    for (const name of cases) {
      const ref = file.tensors.get(name)!;
      const [, , oh, ow] = ref.shape;
      const parts = name.split('.');
      const how = parts[1] === 'offset'
        ? { mode: 'bicubic' as const, alignCorners: false, offset: 0.1 }
        : { mode: parts[0] as 'bicubic' | 'bilinear', alignCorners: parts[1] === '1' };
      const mh = interpolationMatrix(h, oh, how);
      const mw = interpolationMatrix(w, ow, how);
      const ours = new Float64Array(ch * oh * ow);
      for (let c = 0; c < ch; c++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let s = 0;
            for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) s += mh[i * h + a] * mw[j * w + b] * (grid.data[(c * h + a) * w + b] as number);
            ours[(c * oh + i) * ow + j] = s;
          }
      expect(relativeError(ours, ref.data as Float32Array), name).toBeLessThan(1e-5);
    }
  });
});
