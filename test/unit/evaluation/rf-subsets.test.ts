import { describe, expect, it } from 'vitest';
import { missingPatterns, randomForestPerSubset, patternMask, type MissingPatterns } from '../../../src-main/engine/evaluation/index';
import { Rng } from '../../../src-main/engine/ml/train/rng';

const CLASSES = [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }];

/** Sensor "good" carries the class (plus noise); sensor "noise" carries nothing. */
function samples(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const good = Float32Array.from({ length: n * 2 }, (_, k) => labels[k >> 1] + 0.1 * rng.normal());
  const noise = Float32Array.from({ length: n * 3 }, () => rng.normal());
  return { labels, good, noise };
}

/** The two sensors' features, train and test side by side. */
function sensors(train: ReturnType<typeof samples>, test: ReturnType<typeof samples>) {
  return [
    { name: 'good', size: 2, train: train.good, test: test.good },
    { name: 'noise', size: 3, train: train.noise, test: test.noise },
  ];
}

describe('random forest per sensor subset', () => {
  it('classifies each test sample with the forest of its sensors, trained on the samples that have them', async () => {
    const train = samples(300, 1);
    const test = samples(150, 2);
    const setting = { rate: 0.5, condition: { kind: 'any-one' } as const };
    const trainAvail = missingPatterns(300, 2, setting, 11);
    const testAvail = missingPatterns(150, 2, setting, 12);
    const r = await randomForestPerSubset(
      sensors(train, test),
      { labels: train.labels, available: trainAvail },
      { labels: test.labels, available: testAvail },
      CLASSES,
      { seed: 0, trees: 20 },
    );
    const has = (p: MissingPatterns, n: number, mask: number) => Array.from({ length: n }, (_, s) => (patternMask(p, s) & mask) === mask).filter(Boolean).length;
    const bySensors = new Map(r.forests.map((f) => [f.sensors.join('+'), f]));
    expect([...bySensors.keys()].sort()).toEqual(['good', 'good+noise', 'noise']);
    expect(bySensors.get('good+noise')!.trainSamples).toBe(has(trainAvail, 300, 0b11));
    expect(bySensors.get('good')!.trainSamples).toBe(has(trainAvail, 300, 0b01));
    expect(bySensors.get('noise')!.trainSamples).toBe(has(trainAvail, 300, 0b10));
    expect(r.forests.reduce((s, f) => s + f.testSamples, 0)).toBe(150);
    // Samples with the informative sensor are right; those with only noise are near chance.
    const correct = (mask: number) => {
      const idx = Array.from({ length: 150 }, (_, s) => s).filter((s) => patternMask(testAvail, s) === mask);
      return idx.filter((s) => r.predictions[s] === test.labels[s]).length / idx.length;
    };
    expect(correct(0b01)).toBe(1);
    expect(correct(0b11)).toBe(1);
    expect(correct(0b10)).toBeLessThan(0.7);
    expect(r.metrics.n).toBe(150);
    expect(r.metrics.oa).toBeCloseTo(r.predictions.filter((p, s) => p === test.labels[s]).length / 150, 12);
  });

  it('fails clearly when no training sample has a sensor subset that a test sample needs', async () => {
    const train = samples(30, 1);
    const test = samples(30, 2);
    const allGood = missingPatterns(30, 2, { rate: 1, condition: { kind: 'only', modality: 1 } }, 0); // "noise" never present in training
    const testAvail = missingPatterns(30, 2, { rate: 0.5, condition: { kind: 'only', modality: 0 } }, 0); // some test samples have only "noise"
    await expect(
      randomForestPerSubset(
        sensors(train, test),
        { labels: train.labels, available: allGood },
        { labels: test.labels, available: testAvail },
        CLASSES,
        { seed: 0, trees: 5 },
      ),
    ).rejects.toThrow(/no training sample has all of good \+ noise/);
  });
});
