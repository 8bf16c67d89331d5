import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/engine/ml/train/rng';
import { simulateMissing } from '../../../src-main/engine/finetune/fit';

const NAMES = ['optical', 'sar', 'elevation'];

describe('missing-rate simulation', () => {
  it('rate 0 keeps the observed pattern', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 100; i++) expect(simulateMissing([true, true, false], { rate: 0, mode: 'both' }, NAMES, rng)).toEqual([true, true, false]);
  });

  it('"both" drops exactly one input per incomplete sample, each about equally often', () => {
    const rng = new Rng(2);
    const dropped = [0, 0, 0];
    let incomplete = 0;
    const n = 6000;
    for (let i = 0; i < n; i++) {
      const p = simulateMissing([true, true, true], { rate: 0.5, mode: 'both' }, NAMES, rng);
      const missing = p.map((a, k) => (a ? -1 : k)).filter((k) => k >= 0);
      expect(missing.length).toBeLessThanOrEqual(1);
      if (missing.length) {
        incomplete++;
        dropped[missing[0]]++;
      }
    }
    expect(incomplete / n).toBeGreaterThan(0.47);
    expect(incomplete / n).toBeLessThan(0.53);
    for (const d of dropped) expect(d / incomplete).toBeGreaterThan(0.3);
    for (const d of dropped) expect(d / incomplete).toBeLessThan(0.37);
  });

  it('a named mode drops only that input', () => {
    const rng = new Rng(3);
    let dropped = 0;
    for (let i = 0; i < 1000; i++) {
      const p = simulateMissing([true, true, true], { rate: 0.7, mode: 'sar' }, NAMES, rng);
      expect(p[0]).toBe(true);
      expect(p[2]).toBe(true);
      if (!p[1]) dropped++;
    }
    expect(dropped).toBeGreaterThan(650);
    expect(dropped).toBeLessThan(750);
  });

  it('rejects a mode that is not an input', () => {
    expect(() => simulateMissing([true], { rate: 1, mode: 'lidar' }, ['optical'], new Rng(0))).toThrow(/lidar.*not an input/);
  });
});
