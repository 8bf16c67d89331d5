import { describe, expect, it } from 'vitest';
import { stripeFraction, suggestFailures, type BandStats, type SceneStats } from '../../../src-main/engine/scene/stats';

function band(over: Partial<BandStats>): BandStats {
  return { index: 0, name: 'b', wavelengthNm: null, count: 100, validCount: 100, min: 0, max: 10, mean: 5, std: 2, nodataFraction: 0, nanFraction: 0, saturatedFraction: 0, stripeScore: 0, ...over };
}

function stats(bands: BandStats[], failed = false): SceneStats {
  return { step: 1, sampledPixels: 100, sensors: [{ sensor: 's', kind: 'multispectral', failed, sampleType: 'uint8', nodata: null, bands }] };
}

describe('suggestFailures', () => {
  it('flags each problem per band with a message', () => {
    const s = suggestFailures(
      stats([
        band({ index: 0 }),
        band({ index: 1, name: 'B2', validCount: 0, nanFraction: 1, min: null, max: null, mean: null, std: null }),
        band({ index: 2, std: 0, min: 7, max: 7 }),
        band({ index: 3, saturatedFraction: 0.4, max: 255 }),
        band({ index: 4, stripeScore: 0.1 }),
      ]),
    );
    expect(s.map((x) => [x.band, x.problem, x.wholeSensor])).toEqual([
      [1, 'all-nodata', false],
      [2, 'constant', false],
      [3, 'saturated', false],
      [4, 'striped', false],
    ]);
    expect(s[1].message).toBe('sensor "s" band 3 (b): constant value 7');
  });

  it('one sensor-level suggestion when every band fails the same check; nothing for failed sensors or clean bands', () => {
    const dead = [band({ index: 0, validCount: 0, nodataFraction: 1 }), band({ index: 1, validCount: 0, nodataFraction: 1 })];
    const s = suggestFailures(stats(dead));
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ sensor: 's', problem: 'all-nodata', wholeSensor: true });
    expect(s[0].band).toBeUndefined();
    expect(suggestFailures(stats(dead, true))).toEqual([]);
    expect(suggestFailures(stats([band({}), band({ index: 1, saturatedFraction: 0.05 })]))).toEqual([]);
  });
});

describe('stripeFraction', () => {
  const profile = (values: number[]) => ({ sum: Float64Array.from(values), n: new Uint32Array(values.length).fill(1) });

  it('finds single lines that break from both neighbours and dead lines', () => {
    const smooth = Array.from({ length: 50 }, (_, i) => 100 + i * 0.5 + Math.sin(i));
    expect(stripeFraction(profile(smooth).sum, profile(smooth).n)).toBe(0);
    const striped = smooth.map((v, i) => (i % 10 === 5 ? v + 40 : v));
    const p = profile(striped);
    expect(stripeFraction(p.sum, p.n)).toBeCloseTo(5 / 50, 10);
    const deadN = new Uint32Array(50).fill(1);
    deadN[20] = 0;
    expect(stripeFraction(profile(smooth).sum, deadN)).toBeCloseTo(1 / 50, 10);
  });

  it('ignores steps (edges, blocky upsampled bands)', () => {
    const blocky = Array.from({ length: 60 }, (_, i) => 100 + Math.floor(i / 6) * (i % 12 < 6 ? 3 : -2));
    const p = profile(blocky);
    expect(stripeFraction(p.sum, p.n)).toBe(0);
  });
});
