/**
 * A whole train step of a small attention + MLP + noisy top-k-gated expert model (float64):
 * its gradient outputs match central differences of its loss output, it overfits a fixed batch
 * with AdamW, its eval graph shares the forward, and frozen weights stay initializers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { adamw, buildEvalModel, buildTrainStep, crossEntropy, accuracyCounts, loadBalancingLoss, Trainer, Rng, type ForwardFn } from '../../../src-main/engine/ml/index';
import { centralDifferences, relError } from '../../helpers/gradcheck';

const D = 4; // 1/sqrt(D) = 0.5 is exact in float32 (see the parity fixture script)
const N = 3;
const E = 3;
const R = 2;
const C = 3;
const TOP_K = 2;
const HIDDEN = 8;

/** The test model; `B` is the batch size, `lambda` the load-balancing weight. */
function moeModel(B: number, lambda: number): ForwardFn {
  return ({ g, noise }) => {
    const rng = new Rng(7); // same initial weights in every graph built from this forward
    const p = (name: string, shape: number[], scale = 0.5, options: { trainable?: boolean; offset?: number } = {}) =>
      g.param(name, Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (options.offset ?? 0) + scale * rng.normal()), shape, options);
    const x = g.input('x', 'float64', [B, N, D]);
    const labels = g.input('labels', 'int64', [B]);
    let h = ml.matmul(x, p('embed.weight', [D, D], 0.5, { trainable: false }));
    // attention
    const a = ml.layerNorm(h, p('ln1.weight', [D], 0.1, { offset: 1 }), p('ln1.bias', [D], 0.1));
    const q = ml.matmul(a, p('attn.q', [D, D]));
    const k = ml.matmul(a, p('attn.k', [D, D]));
    const v = ml.matmul(a, p('attn.v', [D, D]));
    const att = ml.softmax(ml.mul(ml.matmul(q, ml.transposeLast2(k)), 1 / Math.sqrt(D)), -1);
    h = ml.add(h, ml.matmul(ml.matmul(att, v), p('attn.proj', [D, D])));
    // MLP
    const m = ml.layerNorm(h, p('ln2.weight', [D], 0.1, { offset: 1 }), p('ln2.bias', [D], 0.1));
    const hidden = ml.gelu(ml.add(ml.matmul(m, p('mlp.fc1.weight', [D, HIDDEN])), p('mlp.fc1.bias', [HIDDEN], 0.1)));
    h = ml.add(h, ml.add(ml.matmul(hidden, p('mlp.fc2.weight', [HIDDEN, D])), p('mlp.fc2.bias', [D], 0.1)));
    // noisy top-k gated LoRA experts over the B*N tokens
    const T = B * N;
    const t = ml.reshape(h, [T, D]);
    const clean = ml.matmul(t, p('moe.gate.weight', [D, E]));
    const std = ml.softplus(ml.matmul(t, p('moe.gate.noise', [D, E])));
    const eps = noise('moe.gate', [T, E]);
    const noisy = eps ? ml.add(clean, ml.mul(eps, std)) : clean;
    const gates = ml.topkGate(noisy, TOP_K, 1);
    const dz = ml.matmul(ml.matmul(ml.unsqueeze(t, [0]), p('moe.experts.A', [E, D, R])), p('moe.experts.B', [E, R, D])); // [E,T,D]
    const gatesT = ml.unsqueeze(ml.transpose(gates, [1, 0]), [2]); // [E,T,1]
    const out = ml.add(t, ml.reduceSum(ml.mul(gatesT, dz), [0], false));
    const pooled = ml.reduceMean(ml.reshape(out, [B, N, D]), [1], false);
    const logits = ml.add(ml.matmul(pooled, p('head.weight', [D, C])), p('head.bias', [C], 0.1));
    const ce = crossEntropy(logits, labels);
    const balance = loadBalancingLoss({ gates, k: TOP_K, noisy: eps ? { clean, noisy, noiseStd: std } : undefined });
    const { correct, labelled } = accuracyCounts(logits, labels);
    return { loss: ml.add(ce, ml.mul(balance, lambda)), metrics: { ce, correct, labelled } };
  };
}

function batch(B: number, seed: number) {
  const rng = new Rng(seed);
  return {
    x: new ort.Tensor('float64', rng.fillNormal(new Float64Array(B * N * D)), [B, N, D]),
    labels: new ort.Tensor('int64', BigInt64Array.from({ length: B }, (_, i) => BigInt(i % C)), [B]),
  };
}

const sessions: { release(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

describe('train step of an attention + MLP + top-k-gated expert model (float64)', () => {
  const B = 2;
  const step = buildTrainStep(moeModel(B, 0.05), { optimizer: adamw({ weightDecay: 0.01 }), outputGradients: true });

  it('takes trainable params, state, step, lr, batch and noise as inputs; frozen weights stay inside', async () => {
    const session = await ort.InferenceSession.create(step.model);
    sessions.push(session);
    const params = step.carried.filter((c) => c.role === 'param').map((c) => c.input);
    expect(params).not.toContain('embed.weight');
    expect(step.frozen.has('embed.weight')).toBe(true);
    expect(params).toEqual(expect.arrayContaining(['attn.q', 'moe.gate.weight', 'moe.experts.A', 'head.bias']));
    expect([...session.inputNames].sort()).toEqual(
      [...step.carried.map((c) => c.input), 'lr', 'x', 'labels', 'noise:moe.gate'].sort(),
    );
    for (const c of step.carried) expect(session.outputNames).toContain(c.output);
    expect(step.carried.filter((c) => c.role === 'state').map((c) => c.input)).toContain('exp_avg_sq:attn.q');
    expect(step.noiseInputs.map((n) => n.name)).toEqual(['noise:moe.gate']);
  });

  it('outputs gradients that match central differences of its loss', async () => {
    const session = await ort.InferenceSession.create(step.model, { graphOptimizationLevel: 'disabled' });
    sessions.push(session);
    const feeds: Record<string, ort.Tensor> = { ...batch(B, 1), lr: new ort.Tensor('float64', Float64Array.of(0), []) };
    feeds['noise:moe.gate'] = new ort.Tensor('float64', new Rng(3).fillNormal(new Float64Array(B * N * E)), [B * N, E]);
    const values = new Map<string, Float64Array>();
    for (const c of step.carried) {
      const data = Float64Array.from(c.init as Float64Array);
      values.set(c.input, data);
      feeds[c.input] = new ort.Tensor('float64', data, c.shape);
    }
    const out = await session.run(feeds);
    const lossAt = async () => ((await session.run(feeds)).loss.data as Float64Array)[0];
    const h = 1e-5; // loss ~1: round-off (1e-16 / h) and truncation (h^2) balance near here
    let worst = 0;
    let checked = 0;
    for (const c of step.carried.filter((x) => x.role === 'param')) {
      const x = values.get(c.input)!;
      const analytic = out[`grad:${c.input}`].data as Float64Array;
      const numeric = await centralDifferences(x, lossAt, h);
      const err = relError(analytic, numeric);
      expect(err, c.input).toBeLessThan(1e-6);
      worst = Math.max(worst, err);
      checked += x.length;
      // Every trainable parameter, router and noise weights included, receives gradient.
      expect(Math.max(...Array.from(numeric, Math.abs)), c.input).toBeGreaterThan(1e-8);
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('shares its forward with the eval graph (zero noise gives the same task loss)', async () => {
    const evalModel = buildEvalModel(moeModel(B, 0.05));
    expect(evalModel.paramInputs).toEqual(step.trainable);
    const trainer = await Trainer.open(step, evalModel, { threads: 1 });
    sessions.push(trainer);
    const b = batch(B, 5);
    const before = await trainer.evaluate(b);
    // Zero noise through the train step: same forward, so the same cross-entropy.
    const zeroNoiseStep = buildTrainStep(moeModel(B, 0.05), { optimizer: adamw() });
    const session = await ort.InferenceSession.create(zeroNoiseStep.model);
    sessions.push(session);
    const feeds: Record<string, ort.Tensor> = { ...b, lr: new ort.Tensor('float64', Float64Array.of(0), []), 'noise:moe.gate': new ort.Tensor('float64', new Float64Array(B * N * E), [B * N, E]) };
    for (const c of zeroNoiseStep.carried) feeds[c.input] = new ort.Tensor('float64', c.init as Float64Array, c.shape);
    const out = await session.run(feeds);
    expect(relError([(out['metric:ce'].data as Float64Array)[0]], [before.metrics.ce])).toBeLessThan(1e-12);
    expect(before.metrics.labelled).toBe(B);
    // Weight export: trainable only by default, frozen too on request.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldmoe-step-'));
    await trainer.saveWeights(path.join(dir, 'a.safetensors'));
    await trainer.saveWeights(path.join(dir, 'b.safetensors'), { includeFrozen: true });
    const a = await ml.readSafetensors(path.join(dir, 'a.safetensors'));
    const b2 = await ml.readSafetensors(path.join(dir, 'b.safetensors'));
    expect([...a.tensors.keys()].sort()).toEqual([...step.trainable].sort());
    expect(b2.tensors.get('embed.weight')!.data).toEqual(step.frozen.get('embed.weight')!.data);
    await rm(dir, { recursive: true, force: true });
  });

  it('overfits a fixed batch: loss below 1% of its start within 50 AdamW steps', async () => {
    const Bfit = 6;
    const fit = buildTrainStep(moeModel(Bfit, 1e-4), { optimizer: adamw({ weightDecay: 0.01 }), clipGradNorm: 5 });
    const trainer = await Trainer.open(fit, undefined, { threads: 1, seed: 11 });
    sessions.push(trainer);
    const b = batch(Bfit, 9);
    const losses: number[] = [];
    for (let i = 0; i < 50; i++) losses.push((await trainer.step(b, 0.05)).loss);
    expect(trainer.stepCount).toBe(50);
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses[49]).toBeLessThan(0.01 * losses[0]);
  });
});
