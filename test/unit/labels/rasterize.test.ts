import { describe, expect, it } from 'vitest';
import { rasterizePoint, rasterizePolygon } from '../../../src-main/engine/labels/rasterize';
import { seededRng } from '../../../src-main/engine/labels/random';

/** Even-odd point-in-polygon, the reference for the scanline fill. */
function insideEvenOdd(rings: number[][][], px: number, py: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

function collect(fn: (visit: (x: number, y: number) => void) => void): Set<string> {
  const out = new Set<string>();
  fn((x, y) => {
    expect(out.has(`${x},${y}`)).toBe(false);
    out.add(`${x},${y}`);
  });
  return out;
}

describe('polygon rasterisation', () => {
  it('fills the pixels whose centres are inside, holes excluded', () => {
    const outer = [[1, 1], [9, 1], [9, 7], [1, 7]];
    const hole = [[3, 3], [5, 3], [5, 5], [3, 5]];
    const px = collect((v) => rasterizePolygon([outer, hole], 20, 20, v));
    expect(px.size).toBe(8 * 6 - 4);
    expect(px.has('1,1')).toBe(true);
    expect(px.has('8,6')).toBe(true);
    expect(px.has('9,1')).toBe(false);
    expect(px.has('3,3')).toBe(false);
  });

  it('matches an even-odd point-in-polygon test on random polygons, clipped to the grid', () => {
    const rand = seededRng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 3 + Math.floor(rand() * 8);
      const ring = Array.from({ length: n }, () => [rand() * 30 - 5, rand() * 24 - 4]);
      const got = collect((v) => rasterizePolygon([ring], 20, 16, v));
      const want = new Set<string>();
      for (let y = 0; y < 16; y++) for (let x = 0; x < 20; x++) if (insideEvenOdd([ring], x + 0.5, y + 0.5)) want.add(`${x},${y}`);
      expect([...got].sort()).toEqual([...want].sort());
    }
  });
});

describe('point rasterisation', () => {
  it('labels the pixel holding the point, or a disk around it', () => {
    expect([...collect((v) => rasterizePoint([3.9, 2.1], 0, 10, 10, v))]).toEqual(['3,2']);
    expect(collect((v) => rasterizePoint([3.9, 2.1], 1, 10, 10, v)).size).toBe(5);
    expect(collect((v) => rasterizePoint([3.9, 2.1], 1.5, 10, 10, v)).size).toBe(9);
    expect(collect((v) => rasterizePoint([0.2, 0.2], 1, 10, 10, v)).size).toBe(3);
    expect(collect((v) => rasterizePoint([-0.5, 3], 0, 10, 10, v)).size).toBe(0);
  });
});
