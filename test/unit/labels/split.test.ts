import { describe, expect, it } from 'vitest';
import { splitLabels } from '../../../src-main/engine/labels';
import type { LabelSet } from '../../../src-main/engine/labels';
import { syntheticSet } from './helpers';

/** Smallest Euclidean distance between any train and any validation pixel (brute force). */
function minTrainValDistance(set: LabelSet, train: ArrayLike<number>, val: ArrayLike<number>): number {
  let best = Infinity;
  for (const t of Array.from(train)) {
    for (const v of Array.from(val)) best = Math.min(best, Math.hypot(set.x[t] - set.x[v], set.y[t] - set.y[v]));
  }
  return best;
}

/** A dense raster-like label set: 4 classes in vertical stripes with noise, 96 x 64 px, every 2nd pixel labelled. */
const raster = syntheticSet(96, 64, 4, (x, y) => ((x * 7 + y * 3) % 2 === 0 ? Math.floor(x / 24 + ((x * y) % 5 === 0 ? 1 : 0)) % 4 : -1));

/** Polygon-like labels: 24 squares of 6 x 6 px in a 6 x 4 layout, 3 classes. */
const polygons = syntheticSet(
  96,
  64,
  3,
  (x, y) => (x % 16 < 6 && y % 16 < 6 ? (Math.floor(x / 16) + Math.floor(y / 16)) % 3 : -1),
  (x, y) => (x % 16 < 6 && y % 16 < 6 ? Math.floor(y / 16) * 6 + Math.floor(x / 16) : -1),
);

describe('spatial validation split', () => {
  it('splits raster labels by whole blocks, never by pixel', () => {
    const s = splitLabels(raster, { blockSize: 16, bufferPixels: 0, seed: 3 });
    expect(s.by).toBe('block');
    const blockOf = (i: number) => `${Math.floor(raster.x[i] / 16)},${Math.floor(raster.y[i] / 16)}`;
    const trainBlocks = new Set(Array.from(s.train, blockOf));
    const valBlocks = new Set(Array.from(s.val, blockOf));
    for (const b of valBlocks) expect(trainBlocks.has(b)).toBe(false);
    expect(s.train.length + s.val.length).toBe(raster.x.length);
    expect(s.val.length / raster.x.length).toBeGreaterThan(0.1);
    expect(s.val.length / raster.x.length).toBeLessThan(0.35);
  });

  it('splits polygon labels by feature', () => {
    const s = splitLabels(polygons, { bufferPixels: 0, seed: 1, valFraction: 0.25 });
    expect(s.by).toBe('feature');
    const trainFeatures = new Set(Array.from(s.train, (i) => polygons.featureId[i]));
    for (const i of s.val) expect(trainFeatures.has(polygons.featureId[i])).toBe(false);
    expect(s.val.length).toBe(6 * 36);
  });

  it('splits polygons of hundreds of thousands of pixels (they once overflowed the call stack)', () => {
    // two fields of 600 x 400 px per class, 4 features; a split must keep each whole
    const fields = syntheticSet(1200, 800, 2, (_x, y) => (y < 400 ? 0 : 1), (x, y) => (y < 400 ? 0 : 2) + (x < 600 ? 0 : 1));
    const s = splitLabels(fields, { bufferPixels: 0, seed: 0 });
    expect(s.by).toBe('feature');
    expect(s.train.length + s.val.length).toBe(1200 * 800);
    expect(s.val.length).toBe(2 * 600 * 400);
  });

  it.each([1, 2, 4.5, 8])('keeps every training pixel more than %s px from validation', (buffer) => {
    for (const set of [raster, polygons]) {
      const s = splitLabels(set, { blockSize: 16, bufferPixels: buffer, seed: 5 });
      expect(s.val.length).toBeGreaterThan(0);
      expect(s.train.length).toBeGreaterThan(0);
      expect(minTrainValDistance(set, s.train, s.val)).toBeGreaterThan(buffer);
      expect(s.train.length + s.val.length + s.droppedForBuffer).toBe(set.x.length);
    }
  });

  it('without a buffer, raster blocks touch: the buffer is what separates them', () => {
    const none = splitLabels(raster, { blockSize: 16, bufferPixels: 0, seed: 5 });
    expect(none.droppedForBuffer).toBe(0);
    expect(minTrainValDistance(raster, none.train, none.val)).toBeLessThanOrEqual(Math.SQRT2);
  });

  it('puts every class in both train and validation where it spans two groups', () => {
    for (let seed = 0; seed < 10; seed++) {
      for (const set of [raster, polygons]) {
        const s = splitLabels(set, { blockSize: 16, seed });
        expect(s.missingInTrain).toEqual([]);
        expect(s.missingInVal).toEqual([]);
        for (let c = 0; c < set.classes.length; c++) {
          expect(Array.from(s.val).some((i) => set.classIndex[i] === c)).toBe(true);
          expect(Array.from(s.train).some((i) => set.classIndex[i] === c)).toBe(true);
        }
      }
    }
  });

  it('trains on a class confined to one group, never validates it alone, and says so', () => {
    const set = syntheticSet(64, 16, 2, (x) => (x < 8 ? 1 : 0));
    for (let seed = 0; seed < 8; seed++) {
      const s = splitLabels(set, { blockSize: 16, bufferPixels: 0, seed });
      expect(Array.from(s.val).some((i) => set.classIndex[i] === 1)).toBe(false);
      expect(s.missingInTrain).toEqual([]);
      expect(s.missingInVal).toEqual([1]);
      expect(s.warnings.join(' ')).toMatch(/no validation pixels for: c2/);
    }
  });

  it('splits polygons by block when every class is a single shape, else by feature', () => {
    // Three 24 x 24 shapes, one per class: a feature split could validate nothing.
    const shapeOf = (x: number, y: number) => (y >= 8 && y < 32 && x % 32 < 24 ? Math.floor(x / 32) : -1);
    const onePerClass = syntheticSet(96, 64, 3, shapeOf, shapeOf);
    const s = splitLabels(onePerClass, { blockSize: 8, seed: 2 });
    expect(s.by).toBe('block');
    expect(s.missingInTrain).toEqual([]);
    expect(s.missingInVal).toEqual([]);
    expect(splitLabels(polygons, { seed: 2 }).by).toBe('feature');
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = splitLabels(raster, { blockSize: 8, seed: 11 });
    const b = splitLabels(raster, { blockSize: 8, seed: 11 });
    const c = splitLabels(raster, { blockSize: 8, seed: 12 });
    expect(Array.from(a.val)).toEqual(Array.from(b.val));
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    expect(Array.from(a.val)).not.toEqual(Array.from(c.val));
  });

  it('rejects a bad fraction and a feature split of raster labels', () => {
    expect(() => splitLabels(raster, { valFraction: 1.5 })).toThrow(/--val-split: must be between 0 and 1/);
    expect(() => splitLabels(raster, { by: 'feature' })).toThrow(/no features to split by/);
  });
});
