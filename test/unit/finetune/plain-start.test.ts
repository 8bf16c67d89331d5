import { describe, expect, it } from 'vitest';
import { startBetter, withZeroed } from '../../../src-main/engine/finetune/fit';
import type { TrainLoop } from '../../../src-main/engine/ml/train/loop';
import type { Dataset } from '../../../src-main/engine/ml/train/loop';
import type { StoredTensor } from '../../../src-main/engine/ml/index';

/** A loop whose validation losses per pixel are `alone` when the head's output weights are zero, else `withHead`; `plain` zeroes them. */
function fakeLoop(withHead: number[], alone: number[]) {
  const params = new Map<string, StoredTensor>([
    ['pixel_head.out.weight', { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, -0.5]) }],
    ['decoder.adapter.weight', { dtype: 'float32', shape: [1], data: Float32Array.from([2]) }],
  ]);
  const seenAdapter: number[] = [];
  const trainer = {
    parameters: () => params,
    setParameters: (m: Map<string, StoredTensor>) => {
      for (const [k, t] of m) params.set(k, { ...t, data: t.data.slice() });
    },
  };
  const loop = {
    trainer,
    evaluateSamples: async () => {
      seenAdapter.push(Number(params.get('decoder.adapter.weight')!.data[0]));
      const headZero = Array.from(params.get('pixel_head.out.weight')!.data as Float32Array).every((v) => v === 0);
      const samples = headZero ? alone : withHead;
      return { loss: samples.reduce((a, b) => a + b, 0) / samples.length, samples, metrics: {} };
    },
  };
  const plain = new Map([['pixel_head.out.weight', { dtype: 'float32' as const, shape: [2], data: new Float32Array(2) }]]);
  return { loop: loop as unknown as TrainLoop, params, seenAdapter, plain };
}

describe('startBetter', () => {
  const pixels = [0, 1, 2, 3];
  it('says so when the pack alone has clearly lower losses at the validation pixels, and puts the weights back', async () => {
    const { loop, params, seenAdapter, plain } = fakeLoop([1.2, 1.4, 1.1, 1.3], [0.8, 0.9, 0.7, 1.0]);
    expect(await startBetter(loop, {} as Dataset, pixels, plain)).toBe(true);
    expect(Array.from(params.get('pixel_head.out.weight')!.data as Float32Array)).toEqual([0.5, -0.5]);
    // only the weights in `plain` were swapped in for the comparison
    expect(seenAdapter).toEqual([2, 2]);
  });

  it('keeps the head when the pack alone is not clearly better (lower on average but not on every pixel group)', async () => {
    for (const [withHead, alone] of [[[1, 1, 1, 1], [0.2, 1.8, 0.3, 1.6]], [[0.8, 0.9, 0.7, 1.0], [1.2, 1.4, 1.1, 1.3]]]) {
      const f = fakeLoop(withHead, alone);
      expect(await startBetter(f.loop, {} as Dataset, pixels, f.plain)).toBe(false);
    }
  });
});

describe('withZeroed', () => {
  it("adds the trainer's parameters that it names, at zero, to the candidate start", () => {
    const trainer = {
      parameters: () =>
        new Map<string, StoredTensor>([
          ['head.classifier.weight', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
          ['head.classifier.bias', { dtype: 'float32', shape: [2], data: Float32Array.from([1, -1]) }],
          ['adapter.lora_a', { dtype: 'float32', shape: [1], data: Float32Array.from([7]) }],
        ]),
    };
    const linear = new Map<string, StoredTensor>([['pixel_head.linear.bias', { dtype: 'float32', shape: [1, 2], data: Float32Array.from([0.3, -0.3]) }]]);
    const out = withZeroed(linear, trainer, (name) => name.startsWith('head.classifier.'));
    expect([...out.keys()]).toEqual(['pixel_head.linear.bias', 'head.classifier.weight', 'head.classifier.bias']);
    expect(out.get('head.classifier.weight')).toEqual({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) });
    expect(Array.from(out.get('pixel_head.linear.bias')!.data as Float32Array)).toEqual([0.30000001192092896, -0.30000001192092896]);
  });
});
