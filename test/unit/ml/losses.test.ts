/**
 * Loss functions beyond the PyTorch values (train-parity.test.ts): finite-difference gradients,
 * the edge cases that PyTorch handles differently on purpose, metric counts, clear misuse errors.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { accuracyCounts, crossEntropy, cvSquared, loadBalancingLoss, normalCdf } from '../../../src-main/engine/ml/index';
import { gradCheck } from '../../helpers/gradcheck';

async function run(g: ml.Graph, outputs: [string, ml.Value][], feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(g.toModel({ outputs }));
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(outputs.map(([k]) => [k, Array.from(out[k].data as Float64Array)]));
  } finally {
    await s.release();
  }
}

const labelsTensor = (values: number[], shape: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);

describe('cross-entropy', () => {
  it('per-pixel with class weights and ignored pixels: gradient matches finite differences', async () => {
    const labels = [0, 2, 255, 1, 1, 0, 2, 255, 0, 1, 2, 2];
    const r = await gradCheck([{ name: 'logits', shape: [2, 3, 2, 3] }, { name: 'labels', shape: [2, 2, 3], dtype: 'int64', intData: BigInt64Array.from(labels.map(BigInt)) }], (_g, [logits, y]) =>
      crossEntropy(logits, y, { ignoreIndex: 255, classWeights: [0.5, 2, 1] }),
    );
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.adjointRelError).toBeLessThan(1e-6);
  });

  it('gives 0 (not NaN) and zero gradient when every element is ignored', async () => {
    const g = new ml.Graph('ce');
    const logits = g.input('logits', 'float64', [2, 3]);
    const y = g.input('y', 'int64', [2]);
    const loss = crossEntropy(logits, y, { ignoreIndex: -1 });
    const grad = ml.gradients(loss, [logits]).get(logits)!;
    const out = await run(g, [['loss', loss], ['grad', grad]], { logits: new ort.Tensor('float64', Float64Array.of(1, 2, 3, 4, 5, 6), [2, 3]), y: labelsTensor([-1, -1], [2]) });
    expect(out.loss).toEqual([0]);
    expect(out.grad.every((v) => v === 0)).toBe(true);
  });

  it('accuracyCounts counts correct and labelled elements, skipping ignored ones', async () => {
    const g = new ml.Graph('acc');
    const logits = g.input('logits', 'float64', [4, 3]);
    const y = g.input('y', 'int64', [4]);
    const { correct, labelled } = accuracyCounts(logits, y, { ignoreIndex: 9 });
    const out = await run(g, [['correct', correct], ['labelled', labelled]], {
      logits: new ort.Tensor('float64', Float64Array.of(3, 1, 0, 0, 1, 5, 2, 2, 1, 0, 7, 1), [4, 3]),
      y: labelsTensor([0, 1, 9, 1], [4]),
    });
    expect(out).toEqual({ correct: [2], labelled: [3] });
  });

  it('refuses float labels, wrong ranks and a wrong number of class weights', () => {
    const g = new ml.Graph('bad');
    const logits = g.input('logits', 'float32', [2, 3]);
    expect(() => crossEntropy(logits, g.input('f', 'float32', [2]))).toThrow(/labels must be int64/);
    expect(() => crossEntropy(logits, g.input('r', 'int64', [2, 1]))).toThrow(/need rank labels\+1/);
    expect(() => crossEntropy(logits, g.input('w', 'int64', [2]), { classWeights: [1, 2] })).toThrow(/2 class weights for 3 classes/);
  });
});

describe('load-balancing pieces', () => {
  it('cvSquared is var/mean^2 (unbiased) and 0 for one expert', async () => {
    const g = new ml.Graph('cv');
    const x = g.input('x', 'float64', [4]);
    const one = g.input('one', 'float64', [1]);
    const out = await run(g, [['cv', cvSquared(x)], ['cv1', cvSquared(one)]], {
      x: new ort.Tensor('float64', Float64Array.of(1, 2, 3, 6), [4]),
      one: new ort.Tensor('float64', Float64Array.of(5), [1]),
    });
    expect(out.cv[0]).toBeCloseTo(14 / 3 / (9 + 1e-10), 14); // mean 3, unbiased variance 14/3, torch eps 1e-10
    expect(out.cv1).toEqual([0]);
  });

  it('normalCdf matches known values', async () => {
    const g = new ml.Graph('cdf');
    const x = g.input('x', 'float64', [3]);
    const out = await run(g, [['phi', normalCdf(x)]], {
      x: new ort.Tensor('float64', Float64Array.of(0, 1.959963984540054, -1), [3]),
    });
    expect(out.phi[0]).toBeCloseTo(0.5, 14);
    expect(out.phi[1]).toBeCloseTo(0.975, 12);
    expect(out.phi[2]).toBeCloseTo(0.15865525393145707, 12);
  });

  it('the load term refuses k >= experts (every expert is always in)', () => {
    const g = new ml.Graph('k');
    const v = g.input('v', 'float64', [4, 2]);
    expect(() => loadBalancingLoss({ gates: v, k: 2, noisy: { clean: v, noisy: v, noiseStd: v } })).toThrow(/needs more than k = 2 experts/);
  });

  it('the load term has finite-difference gradients w.r.t. clean logits, noise std and gates', async () => {
    const T = 6;
    const E = 4;
    const r = await gradCheck(
      [
        { name: 'gates', shape: [T, E], sample: (rand) => rand() },
        { name: 'clean', shape: [T, E] },
        { name: 'noise', shape: [T, E], wrt: false },
        { name: 'std', shape: [T, E], sample: (rand) => 0.3 + rand() },
      ],
      (_g, [gates, clean, noise, std]) => {
        const noisy = ml.add(clean, ml.mul(noise, std));
        return loadBalancingLoss({ gates, k: 2, noisy: { clean, noisy, noiseStd: std } });
      },
      { seed: 4, h: 1e-5 },
    );
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.adjointRelError).toBeLessThan(1e-6);
  });
});
