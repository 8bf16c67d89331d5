/**
 * Parameter groups of fine-tuning's optimizer (fit.ts paramGroups): each group's optimizer runs
 * at its own multiple of the step's learning rate, with its own weight decay.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { adamw, buildTrainStep, sgd, Trainer, type ForwardFn } from '../../../src-main/engine/ml/index';
import { paramGroups } from '../../../src-main/engine/finetune/fit';

/** loss = (x a)^2 + (x b)^2 with a in group 0 and b in group 1. */
const forward: ForwardFn = ({ g }) => {
  const x = g.input('x', 'float64', [1, 2]);
  const a = g.param('a.weight', Float64Array.of(1, -2), [2, 1]);
  const b = g.param('head.weight', Float64Array.of(1, -2), [2, 1]);
  const sq = (v: ml.Value) => ml.reduceSum(ml.mul(v, v), [0, 1], false);
  return { loss: ml.add(sq(ml.matmul(x, a)), sq(ml.matmul(x, b))) };
};
const feeds = () => ({ x: new ort.Tensor('float64', Float64Array.of(3, 4), [1, 2]) });
const param = (t: Trainer, name: string) => Array.from(t.parameters().get(name)!.data as Float64Array);
const groupOf = (name: string) => (name.startsWith('head.') ? 1 : 0);

describe('paramGroups', () => {
  it('runs each group at its learning-rate multiple and weight decay', async () => {
    const optimizer = paramGroups([{ optimizer: adamw({ weightDecay: 0 }), lrScale: 1 }, { optimizer: adamw({ weightDecay: 0.5 }), lrScale: 10 }], groupOf);
    const t = await Trainer.open(buildTrainStep(forward, { optimizer }), undefined, { threads: 1 });
    await t.step(feeds(), 0.01);
    // Step 1 of Adam moves every coordinate by lr * sign(grad); grad = 2 (3 - 8) [3, 4] < 0.
    const [a, b] = [param(t, 'a.weight'), param(t, 'head.weight')];
    expect(a[0]).toBeCloseTo(1 + 0.01, 9);
    expect(a[1]).toBeCloseTo(-2 + 0.01, 9);
    // group 1: lr 0.1, decoupled decay (1 - 0.1 * 0.5) first
    expect(b[0]).toBeCloseTo(1 * 0.95 + 0.1, 9);
    expect(b[1]).toBeCloseTo(-2 * 0.95 + 0.1, 9);
    await t.release();
  });

  it('refuses optimizers with different state', () => {
    expect(() => paramGroups([{ optimizer: adamw(), lrScale: 1 }, { optimizer: sgd(), lrScale: 1 }], groupOf)).toThrow(/state slots/);
  });
});
