/**
 * Optimizer pieces on hand-computable cases (the PyTorch parity test covers full runs):
 * decoupled decay and the no-decay set, clipping arithmetic, plain SGD, the step counter.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { adamw, buildTrainStep, defaultNoDecay, sgd, Trainer, type ForwardFn } from '../../../src-main/engine/ml/index';

describe('defaultNoDecay', () => {
  it.each([
    ['blocks.0.attn.qkv.bias', [576], true],
    ['blocks.0.norm1.weight', [192], true],
    ['blocks.3.moe.gate.w_gate', [192, 6], true],
    ['pos_embed', [1, 197, 192], true],
    ['cls_token', [1, 1, 192], true],
    ['blocks.0.ln_2.weight', [8, 8], true],
    ['blocks.0.moe.alpha', [], true],
    ['blocks.0.attn.qkv.lora_A', [192, 16], false],
    ['head.weight', [192, 10], false],
  ] as const)('%s %j -> %s', (name, shape, expected) => {
    expect(defaultNoDecay(name, shape)).toBe(expected);
  });
});

/** y = x w (w trained) with an unused decayed matrix and an unused no-decay matrix. */
const forward: ForwardFn = ({ g }) => {
  const x = g.input('x', 'float64', [1, 2]);
  const w = g.param('w', Float64Array.of(1, -2), [2, 1]);
  g.param('unused.weight', Float64Array.of(2, 4, 6, 8), [2, 2]);
  g.param('unused.gate', Float64Array.of(2, 4, 6, 8), [2, 2]);
  const y = ml.matmul(x, w);
  // The unused params join the loss with weight 0 so they are graph parameters with zero gradient.
  const g0 = ml.mul(ml.reduceSum(ml.add(g.params.get('unused.weight')!.value, g.params.get('unused.gate')!.value), [0, 1], false), 0);
  return { loss: ml.add(ml.reduceSum(ml.mul(y, y), [0, 1], false), g0) };
};
const x = () => ({ x: new ort.Tensor('float64', Float64Array.of(3, 4), [1, 2]) });
const param = (t: Trainer, name: string) => Array.from(t.parameters().get(name)!.data as Float64Array);

describe('optimizer updates', () => {
  it('AdamW decays weights by (1 - lr wd) without touching the no-decay set; counter advances', async () => {
    const t = await Trainer.open(buildTrainStep(forward, { optimizer: adamw({ weightDecay: 0.5 }) }), undefined, { threads: 1 });
    await t.step(x(), 0.1);
    expect(param(t, 'unused.weight')).toEqual([2, 4, 6, 8].map((v) => v * (1 - 0.1 * 0.5)));
    expect(param(t, 'unused.gate')).toEqual([2, 4, 6, 8]);
    // Step 1 of Adam moves every coordinate by lr * sign(grad) (bias-corrected m / sqrt(v)).
    // loss = (3 w0 + 4 w1)^2 = 25, grad = 2 * (-5) * [3, 4] < 0, and w decays first.
    const w = param(t, 'w');
    expect(w[0]).toBeCloseTo(1 * 0.95 + 0.1, 6);
    expect(w[1]).toBeCloseTo(-2 * 0.95 + 0.1, 6);
    expect(t.snapshot().get('step')).toEqual(Float64Array.of(2));
    await t.release();
  });

  it('clipping scales the gradient to maxNorm and SGD applies lr * grad', async () => {
    const step = buildTrainStep(forward, { optimizer: sgd(), clipGradNorm: 1, outputGradients: true });
    const t = await Trainer.open(step, undefined, { threads: 1 });
    await t.step(x(), 0.5);
    // grad w = 2 (3 - 8) [3, 4] = [-30, -40], norm 50 -> clipped to [-0.6, -0.8] (1 / (50 + 1e-6) of it)
    const scale = 1 / (50 + 1e-6);
    const w = param(t, 'w');
    expect(w[0]).toBeCloseTo(1 + 0.5 * 30 * scale, 12);
    expect(w[1]).toBeCloseTo(-2 + 0.5 * 40 * scale, 12);
    expect(Array.from(t.lastGradients().get('w')!)).toEqual([-30, -40]);
    await t.release();
  });
});
