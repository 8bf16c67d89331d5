import { describe, expect, it } from 'vitest';
import { randomForestBaseline, type PixelSamples } from '../../../src-main/engine/eval';
import { seededRng } from '../../../src-main/engine/labels/random';

/** Three Gaussian blobs in 4 features; `spread` controls the overlap. */
function blobs(n: number, seed: number, spread: number): PixelSamples {
  const rand = seededRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const features = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let f = 0; f < 4; f++) features[i * 4 + f] = (f === labels[i] ? 2 : 0) + spread * gauss();
  }
  return { features, featureCount: 4, labels };
}

const classes = [
  { id: 1, name: 'a' },
  { id: 2, name: 'b' },
  { id: 3, name: 'c' },
];

describe('random-forest baseline (scikit-learn)', () => {
  it('learns separable classes, agrees with sklearn on OA and kappa, and is deterministic for a seed', async () => {
    const train = blobs(300, 1, 0.8);
    const test = blobs(300, 2, 0.8);
    const a = await randomForestBaseline(train, test, classes, { seed: 3, trees: 50 });
    expect(a.metrics.oa).toBeGreaterThan(0.8);
    expect(a.metrics.oa).toBeLessThan(1);
    expect(a.metrics.oa).toBeCloseTo(a.sklearn.oa, 12);
    expect(a.metrics.kappa).toBeCloseTo(a.sklearn.kappa, 12);
    expect(a.predictions.length).toBe(300);
    const b = await randomForestBaseline(train, test, classes, { seed: 3, trees: 50, jobs: 2 });
    expect(Array.from(b.predictions)).toEqual(Array.from(a.predictions));
    const c = await randomForestBaseline(blobs(300, 1, 1.5), blobs(300, 2, 1.5), classes, { seed: 4, trees: 5 });
    const d = await randomForestBaseline(blobs(300, 1, 1.5), blobs(300, 2, 1.5), classes, { seed: 5, trees: 5 });
    expect(Array.from(c.predictions)).not.toEqual(Array.from(d.predictions));
  });

  it('says clearly when python or scikit-learn is missing, or the samples are inconsistent', async () => {
    const s = blobs(30, 1, 1);
    await expect(randomForestBaseline(s, s, classes, { python: '/nonexistent/python3' })).rejects.toThrow(/^\/nonexistent\/python3: not found; the random-forest baseline needs python3 with numpy and scikit-learn/);
    await expect(randomForestBaseline(s, s, classes, { python: '/bin/false' })).rejects.toThrow(/cannot import numpy\/scikit-learn/);
    await expect(randomForestBaseline({ ...s, featureCount: 5 }, s, classes)).rejects.toThrow(/train features hold 120 values, expected 30 x 5/);
  });
});
