import { describe, expect, it } from 'vitest';
import { blendWindow, tileOrigins } from '../../../src-main/engine/classify';

describe('tiling', () => {
  it('covers the axis with a stride of tile - overlap, the last tile ending at the edge', () => {
    expect(tileOrigins(100, 32, 8)).toEqual([0, 24, 48, 68]);
    expect(tileOrigins(96, 32, 0)).toEqual([0, 32, 64]);
    expect(tileOrigins(20, 32, 8)).toEqual([0]);
    for (const [n, t, o] of [[489, 128, 32], [8192, 256, 32], [443, 64, 16]]) {
      const xs = tileOrigins(n, t, o);
      expect(xs[xs.length - 1] + t).toBe(n);
      for (let i = 1; i < xs.length; i++) expect(xs[i] - xs[i - 1]).toBeLessThanOrEqual(t - o);
    }
  });

  it('blends with a smooth window that is 1 in the middle and never 0', () => {
    const w = blendWindow(64, 16);
    expect(Math.min(...w)).toBeGreaterThan(0);
    expect(w[0]).toBeCloseTo(0.5 - 0.5 * Math.cos(Math.PI / 32), 12);
    expect(w.slice(16, 48).every((v) => v === 1)).toBe(true);
    for (let i = 0; i < 64; i++) expect(w[i]).toBe(w[63 - i]);
    for (let i = 1; i < 16; i++) expect(w[i]).toBeGreaterThan(w[i - 1]);
    // Two tiles overlapping by 16 pixels: their ramps sum to 1 across the overlap (a partition of unity).
    for (let i = 0; i < 16; i++) expect(w[48 + i] + w[i]).toBeCloseTo(1, 12);
    expect([...blendWindow(8, 0)]).toEqual(new Array(8).fill(1));
  });
});
