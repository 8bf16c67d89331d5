import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import { ParamSource } from '../../../src-main/engine/ml/models/init';
import { vitConfig, vitForward, type VitConfig } from '../../../src-main/engine/ml/models/vit';
import { TORCHVISION, mapCheckpoint } from '../../../src-main/engine/ml/models/weights';
import { fixturePath, loadFixture, relativeError, runGraph, splitFixture } from './vit-run';

describe('ViT against torchvision VisionTransformer (same random weights, float32)', () => {
  it('matches block 0 and the encoder output to 1e-4 relative, for a symbolic batch', async () => {
    const file = await loadFixture('vit_torchvision.safetensors');
    const meta = JSON.parse(file.metadata.config);
    const cfg: VitConfig = vitConfig({ ...meta, posInterpolation: { mode: 'bicubic', alignCorners: true } });
    const { checkpoint, io } = splitFixture(file.tensors);
    const weights = mapCheckpoint(checkpoint, TORCHVISION, cfg, fixturePath('vit_torchvision.safetensors'));
    const params = new ParamSource({ dtype: 'float32', weights, trainable: false });

    const g = new Graph('vit');
    const x = g.input('x', 'float32', ['batch', 3, cfg.imageSize, cfg.imageSize]);
    const out = vitForward(g, params, x, cfg, { hooks: [0] });
    expect(params.unused()).toEqual([]);
    expect([...g.params.values()].every((p) => !p.trainable)).toBe(true);
    expect(out.final.shape).toEqual(['batch', 17, 32]);

    const input = io('input');
    const r = await runGraph(g, { final: out.final, block0: out.blocks.get(0)! }, { x: { data: input.data as Float32Array, shape: input.shape } });
    const errFinal = relativeError(r.final.data, io('final').data as Float32Array);
    const errBlock0 = relativeError(r.block0.data, io('block0').data as Float32Array);
    expect(errFinal).toBeLessThan(1e-4);
    expect(errBlock0).toBeLessThan(1e-4);
    // The comparison can fail: a perturbed weight moves the output far beyond the tolerance.
    expect(relativeError(r.final.data.map((v, i) => (i === 5 ? v * 1.01 : v)), io('final').data as Float32Array)).toBeGreaterThan(1e-3);

    // Batch size is a run-time choice: sample 1 alone gives the second half of the batch output.
    const per = input.data.length / 2;
    const one = await runGraph(g, { final: out.final }, { x: { data: (input.data as Float32Array).slice(per), shape: [1, ...input.shape.slice(1)] } });
    const half = (io('final').data as Float32Array).slice(io('final').data.length / 2);
    expect(relativeError(one.final.data, half)).toBeLessThan(1e-4);
  });
});
