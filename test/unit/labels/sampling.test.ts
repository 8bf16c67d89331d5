import { describe, expect, it } from 'vitest';
import { LabelLookup, samplePatches, splitLabels, subsamplePerClass } from '../../../src-main/engine/labels';
import { syntheticSet } from './helpers';

/** Unbalanced: class 0 everywhere on even rows, class 1 in a small corner, class 2 a single pixel. */
const set = syntheticSet(40, 30, 3, (x, y) => (x === 39 && y === 29 ? 2 : x < 4 && y < 3 ? 1 : y % 2 === 0 ? 0 : -1));

describe('patch sampling', () => {
  it('draws the same number of patches per class, oversampling rare classes', () => {
    const patches = samplePatches(set, { patchSize: 7, seed: 1 });
    const perClass = [0, 0, 0];
    for (const p of patches) perClass[p.classIndex]++;
    const most = Math.max(...set.classCounts);
    expect(perClass).toEqual([most, most, most]);
    // Distinct centres first: the majority class is used without repeats.
    expect(new Set(patches.filter((p) => p.classIndex === 0).map((p) => p.index)).size).toBe(most);
  });

  it('without oversampling, stops at the available pixels', () => {
    const patches = samplePatches(set, { patchSize: 5, perClass: 10, oversample: false, seed: 2 });
    const perClass = [0, 0, 0];
    for (const p of patches) perClass[p.classIndex]++;
    expect(set.classCounts[1]).toBe(12);
    expect(perClass).toEqual([10, 10, 1]);
  });

  it('centres patches on labelled pixels and clips them at the edges', () => {
    for (const p of samplePatches(set, { patchSize: 8, perClass: 50, seed: 3 })) {
      const { window: w } = p;
      expect(w.x + p.centerX).toBe(set.x[p.index]);
      expect(w.y + p.centerY).toBe(set.y[p.index]);
      expect(set.classIndex[p.index]).toBe(p.classIndex);
      expect(w.x).toBeGreaterThanOrEqual(0);
      expect(w.y).toBeGreaterThanOrEqual(0);
      expect(w.x + w.width).toBeLessThanOrEqual(set.width);
      expect(w.y + w.height).toBeLessThanOrEqual(set.height);
      const clipped = set.x[p.index] < 4 || set.y[p.index] < 4 || set.x[p.index] + 4 > set.width || set.y[p.index] + 4 > set.height;
      if (!clipped) expect([w.width, w.height]).toEqual([8, 8]);
    }
    const corner = samplePatches(set, { patchSize: 8, seed: 0 }).find((p) => p.classIndex === 2)!;
    expect(corner.window).toEqual({ x: 35, y: 25, width: 5, height: 5 });
    expect([corner.centerX, corner.centerY]).toEqual([4, 4]);
  });

  it('only uses the given pixels (e.g. the training split) and is deterministic', () => {
    const split = splitLabels(set, { blockSize: 10, seed: 4 });
    const train = new Set(split.train);
    const a = samplePatches(set, { patchSize: 5, indices: split.train, seed: 9 });
    for (const p of a) expect(train.has(p.index)).toBe(true);
    expect(samplePatches(set, { patchSize: 5, indices: split.train, seed: 9 })).toEqual(a);
    expect(samplePatches(set, { patchSize: 5, indices: split.train, seed: 10 })).not.toEqual(a);
    expect(() => samplePatches(set, { patchSize: 0 })).toThrow(/patch size/);
  });

  it('gives dense class targets of a window, -1 outside the chosen pixels', () => {
    const lookup = new LabelLookup(set);
    const w = lookup.window({ x: 2, y: 1, width: 3, height: 2 });
    expect(Array.from(w)).toEqual([1, 1, -1, 1, 1, 0]);
    const onlyFirst = new LabelLookup(set, [0]);
    expect(onlyFirst.classAt(set.x[0], set.y[0])).toBe(set.classIndex[0]);
    expect(onlyFirst.classAt(set.x[1], set.y[1])).toBe(-1);
  });
});

describe('few-shot subsampling', () => {
  it('keeps at most n pixels of each class from the given pixels, deterministically', () => {
    const split = splitLabels(set, { blockSize: 10, seed: 4 });
    const picked = subsamplePerClass(set, split.train, 5, 1);
    const train = new Set(split.train);
    const perClass = [0, 0, 0];
    for (const i of picked) {
      expect(train.has(i)).toBe(true);
      perClass[set.classIndex[i]]++;
    }
    const available = [0, 1, 2].map((c) => Array.from(split.train).filter((i) => set.classIndex[i] === c).length);
    expect(perClass).toEqual(available.map((n) => Math.min(5, n)));
    expect(Array.from(subsamplePerClass(set, split.train, 5, 1))).toEqual(Array.from(picked));
    expect(Array.from(subsamplePerClass(set, split.train, 5, 2))).not.toEqual(Array.from(picked));
  });
});
