import { describe, expect, it } from 'vitest';
import { availabilityLabel, availabilityRates, missingPatterns, patternMask, type MissingSetting } from '../../../src-main/engine/evaluation/index';

const HS = 0;
const LIDAR = 1;

/** Samples per availability mask (bit i = modality i present). */
function census(n: number, setting: MissingSetting, seed = 0, modalities = 2): Map<number, number> {
  const p = missingPatterns(n, modalities, setting, seed);
  const out = new Map<number, number>();
  for (let s = 0; s < n; s++) out.set(patternMask(p, s), (out.get(patternMask(p, s)) ?? 0) + 1);
  return out;
}

describe('missing-modality patterns (MaMOL section 5.1)', () => {
  it.each([0.5, 0.7, 0.9])('rate %s, both: eta/2 miss HS, eta/2 miss LiDAR, 1-eta complete, none misses both', (rate) => {
    const n = 1000;
    const c = census(n, { rate, condition: { kind: 'any-one' } });
    expect(c.get(0b10)).toBe(Math.round((rate / 2) * n)); // LiDAR only: HS missing
    expect(c.get(0b01)).toBe(Math.round((rate / 2) * n)); // HS only: LiDAR missing
    expect(c.get(0b11)).toBe(Math.round((1 - rate) * n));
    expect(c.get(0)).toBeUndefined();
  });

  it('one named modality missing: eta of the samples lack it, the rest complete', () => {
    const c = census(1416, { rate: 0.7, condition: { kind: 'only', modality: LIDAR } });
    expect(c.get(0b01)).toBe(Math.round(0.7 * 1416));
    expect(c.get(0b11)).toBe(1416 - Math.round(0.7 * 1416));
    expect(c.size).toBe(2);
    const h = census(1416, { rate: 0.5, condition: { kind: 'only', modality: HS } });
    expect(h.get(0b10)).toBe(708);
    expect(h.get(0b11)).toBe(708);
  });

  it('an odd number of incomplete samples is split within one sample', () => {
    const c = census(11, { rate: 0.9, condition: { kind: 'any-one' } }); // 10 incomplete of 11
    expect(c.get(0b01)! + c.get(0b10)!).toBe(10);
    expect(Math.abs(c.get(0b01)! - c.get(0b10)!)).toBeLessThanOrEqual(1);
    const odd = census(13, { rate: 0.5, condition: { kind: 'any-one' } }); // round(6.5) = 7 incomplete
    expect(Math.abs(odd.get(0b01)! - odd.get(0b10)!)).toBe(1);
    expect(odd.get(0b11)).toBe(6);
  });

  it('with three modalities, incomplete samples are spread evenly over the three one-missing configurations', () => {
    const c = census(900, { rate: 0.6, condition: { kind: 'any-one' } }, 0, 3);
    expect(c.get(0b110)).toBe(180);
    expect(c.get(0b101)).toBe(180);
    expect(c.get(0b011)).toBe(180);
    expect(c.get(0b111)).toBe(360);
  });

  it('is deterministic per seed, and another seed picks other samples', () => {
    const s: MissingSetting = { rate: 0.5, condition: { kind: 'any-one' } };
    expect(Array.from(missingPatterns(200, 2, s, 7).available)).toEqual(Array.from(missingPatterns(200, 2, s, 7).available));
    expect(Array.from(missingPatterns(200, 2, s, 8).available)).not.toEqual(Array.from(missingPatterns(200, 2, s, 7).available));
  });

  it('availability rates and labels read like Table 1 (HS / LiDAR present)', () => {
    const rows: [number, MissingSetting['condition'], string][] = [
      [0.5, { kind: 'only', modality: LIDAR }, '100% / 50%'],
      [0.5, { kind: 'only', modality: HS }, '50% / 100%'],
      [0.5, { kind: 'any-one' }, '75% / 75%'],
      [0.7, { kind: 'only', modality: LIDAR }, '100% / 30%'],
      [0.7, { kind: 'any-one' }, '65% / 65%'],
      [0.9, { kind: 'only', modality: HS }, '10% / 100%'],
      [0.9, { kind: 'any-one' }, '55% / 55%'],
    ];
    for (const [rate, condition, label] of rows) {
      const setting = { rate, condition };
      expect(availabilityLabel(setting, 2)).toBe(label);
      const measured = availabilityRates(missingPatterns(1000, 2, setting, 1)).map((r) => `${Math.round(r * 100)}%`).join(' / ');
      expect(measured).toBe(label);
    }
  });

  it('rejects rates outside 0..1, unknown modalities and single-modality data', () => {
    expect(() => missingPatterns(10, 2, { rate: 1.2, condition: { kind: 'any-one' } }, 0)).toThrow(/not in 0\.\.1/);
    expect(() => missingPatterns(10, 2, { rate: 0.5, condition: { kind: 'only', modality: 2 } }, 0)).toThrow(/not one of the 2 modalities/);
    expect(() => missingPatterns(10, 1, { rate: 0.5, condition: { kind: 'any-one' } }, 0)).toThrow(/at least 2 modalities/);
  });
});
