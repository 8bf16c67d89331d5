import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../../src-main/engine/classify/blend';
import { blendWindow, tileCoverage, tileOrigins } from '../../../src-main/engine/classify/tiling';
import { sameBits } from './helpers';

/** Seeded uniform numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

interface Case {
  W: number;
  H: number;
  T: number;
  overlap: number;
  K: number;
}

/** Every tile's probabilities [K, T, T], different per tile (like a model with spatial context). */
function tileProbabilities(c: Case, xs: number[], ys: number[]): Float32Array[][] {
  const next = random(7);
  return ys.map(() => xs.map(() => Float32Array.from({ length: c.K * c.T * c.T }, () => next())));
}

/** No-data pixels: a block in the middle of the scene. */
const hasData = (c: Case, x: number, y: number) => !(x > c.W / 3 && x < c.W / 2 && y > c.H / 4 && y < c.H / 2);

/** The definition: per pixel, the window-weighted mean over every tile that covers it, then the argmax. */
function reference(c: Case, xs: number[], ys: number[], probs: Float32Array[][], classIds: Uint8Array) {
  const win = blendWindow(c.T, c.overlap);
  const classes = new Uint8Array(c.W * c.H);
  const confidence = new Float32Array(c.W * c.H);
  for (let y = 0; y < c.H; y++)
    for (let x = 0; x < c.W; x++) {
      const q = y * c.W + x;
      if (!hasData(c, x, y)) {
        confidence[q] = NaN;
        continue;
      }
      const sums = new Float64Array(c.K);
      let wsum = 0;
      ys.forEach((y0, ty) =>
        xs.forEach((x0, tx) => {
          if (x < x0 || x >= x0 + c.T || y < y0 || y >= y0 + c.T) return;
          const w = win[y - y0] * win[x - x0];
          wsum += w;
          for (let k = 0; k < c.K; k++) sums[k] += w * probs[ty][tx][k * c.T * c.T + (y - y0) * c.T + (x - x0)];
        }),
      );
      let best = 0;
      let bestP = -1;
      for (let k = 0; k < c.K; k++) {
        const p = Math.fround(sums[k] / wsum);
        if (p > bestP) [best, bestP] = [k, p];
      }
      classes[q] = classIds[best];
      confidence[q] = bestP;
    }
  return { classes, confidence };
}

/** Drives the accumulator as the pipeline does: band by band, tile by tile, finished rows out. */
function blended(c: Case, xs: number[], ys: number[], probs: Float32Array[][], classIds: Uint8Array) {
  const win = blendWindow(c.T, c.overlap);
  const acc = new Accumulator(c.W, c.T, c.K, xs, ys, c.H);
  const stats = { nodataPixels: 0, classCounts: new Array(c.K).fill(0) };
  const classes = new Uint8Array(c.W * c.H);
  const confidence = new Float32Array(c.W * c.H);
  ys.forEach((y, r) => {
    const rows = Math.min(c.T, c.H - y);
    const valid = new Uint8Array(c.W * rows).map((_, p) => (hasData(c, p % c.W, y + Math.floor(p / c.W)) ? 1 : 0));
    acc.markData(valid, rows);
    xs.forEach((x0, tx) => acc.blend(probs[r][tx], 0, x0, Math.min(c.T, c.W - x0), rows, win));
    const finished = (r + 1 < ys.length ? ys[r + 1] : c.H) - y;
    acc.finish(finished, classIds, stats);
    classes.set(acc.classes.subarray(0, finished * c.W), y * c.W);
    confidence.set(acc.confidence.subarray(0, finished * c.W), y * c.W);
    acc.shift(finished);
  });
  return { classes, confidence, stats };
}

describe('overlap blending', () => {
  const cases: Case[] = [
    { W: 100, H: 90, T: 32, overlap: 8, K: 3 },
    // overlap = tile / 2 and a pulled-back last tile: pixels under three tiles along an axis
    { W: 70, H: 45, T: 16, overlap: 8, K: 4 },
    { W: 40, H: 20, T: 64, overlap: 16, K: 2 },
    { W: 64, H: 64, T: 32, overlap: 0, K: 5 },
  ];
  for (const c of cases) {
    it(`equals the weighted mean over all covering tiles (${c.W} x ${c.H}, tile ${c.T}, overlap ${c.overlap})`, () => {
      const xs = tileOrigins(c.W, c.T, c.overlap);
      const ys = tileOrigins(c.H, c.T, c.overlap);
      const probs = tileProbabilities(c, xs, ys);
      const classIds = Uint8Array.from({ length: c.K }, (_, k) => 10 + k);
      const want = reference(c, xs, ys, probs, classIds);
      const got = blended(c, xs, ys, probs, classIds);
      expect(Buffer.compare(Buffer.from(got.classes), Buffer.from(want.classes))).toBe(0);
      expect(sameBits(got.confidence, want.confidence)).toBe(true);
      const nodata = want.classes.filter((v) => v === 0).length;
      expect(nodata).toBeGreaterThan(0);
      expect(got.stats.nodataPixels).toBe(nodata);
      expect(got.stats.classCounts).toEqual(Array.from({ length: c.K }, (_, k) => want.classes.filter((v) => v === 10 + k).length));
    });
  }

  it('counts the tiles over each coordinate', () => {
    expect([...tileCoverage(100, tileOrigins(100, 32, 8), 32)].slice(20, 52)).toEqual([...new Array(4).fill(1), ...new Array(8).fill(2), ...new Array(16).fill(1), ...new Array(4).fill(2)]);
    expect(Math.max(...tileCoverage(70, tileOrigins(70, 16, 8), 16))).toBe(3);
  });
});
