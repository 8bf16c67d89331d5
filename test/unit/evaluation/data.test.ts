/** The protocols' data loaders on the shared data, splits and tiling. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectedTestFraction, featureStats, groupedSplit, lidarNeighbourGroups, loadHoustonPixels, stratifiedSplit } from '../../../src-main/engine/evaluation/index';
import { loadSloveniaScene, sharedClassIds, tileOrigins, validPixel } from '../../../src-main/engine/evaluation/slovenia';
import { writeNpy } from '../../../src-main/engine/eval/npy';
import { sharedData } from '../../helpers/paths';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('Houston 2013 pixels', () => {
  it('loads HSI, LiDAR, 7x7 LiDAR patches and labels with the README counts; patch centres equal the LiDAR pixels', async () => {
    const px = await loadHoustonPixels(sharedData('houston2013-pixels'));
    expect(px.count).toBe(2832);
    expect(px.hsiBands).toBe(144);
    expect(px.lidarFeatures).toBe(21);
    expect(px.patchSide).toBe(7);
    expect(px.classes).toHaveLength(15);
    const counts = new Array(15).fill(0);
    px.labels.forEach((c) => counts[c]++);
    expect(counts).toEqual([198, 190, 192, 188, 186, 182, 196, 191, 193, 191, 181, 192, 184, 181, 187]);
    // The README's layout check: patch[:, 3, 3, :] == lidar_train (this also checks the Fortran-order read).
    let maxDiff = 0;
    for (let i = 0; i < px.count; i++)
      for (let f = 0; f < 21; f++) maxDiff = Math.max(maxDiff, Math.abs(px.lidarPatches[((i * 7 + 3) * 7 + 3) * 21 + f] - px.lidar[i * 21 + f]));
    expect(maxDiff).toBe(0);
    // Reflectance range stated in the README.
    expect(Math.max(...px.hsi.subarray(0, 144 * 50))).toBeLessThanOrEqual(0.653);
  });

  it('names the file when an array has the wrong shape', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-houston-'));
    dirs.push(dir);
    await writeNpy(path.join(dir, 'y_train.npy'), Uint8Array.of(1, 2, 3), [3]);
    await writeNpy(path.join(dir, 'hsi_train.npy'), new Float32Array(8), [2, 4]);
    await expect(loadHoustonPixels(dir)).rejects.toThrow(/hsi_train\.npy: expected a rank-2 array of 3 rows, got shape 2x4/);
  });

  it('splits per class in proportion, disjoint and complete, deterministic per seed', () => {
    const labels = Int32Array.from({ length: 300 }, (_, i) => (i < 200 ? 0 : 1));
    const a = stratifiedSplit(labels, 0.5, 3);
    expect(a.train.filter((i) => labels[i] === 0)).toHaveLength(100);
    expect(a.train.filter((i) => labels[i] === 1)).toHaveLength(50);
    expect(new Set([...a.train, ...a.test]).size).toBe(300);
    expect(a.train.some((i) => a.test.includes(i))).toBe(false);
    expect(stratifiedSplit(labels, 0.5, 3)).toEqual(a);
    expect(stratifiedSplit(labels, 0.5, 4).train).not.toEqual(a.train);
  });

  it('feature statistics use only the given rows', () => {
    const x = Float32Array.of(1, 10, 3, 10, 100, -5);
    const s = featureStats(x, 2, [0, 1]);
    expect(Array.from(s.mean)).toEqual([2, 10]);
    expect(Array.from(s.std)).toEqual([1, 1]); // zero spread falls back to 1
  });
});

describe('eolearn-slovenia scene', () => {
  it('reads S2, DEM and LULC on one grid; the halves share forest, grassland, shrubland and artificial surface', async () => {
    const scene = await loadSloveniaScene(sharedData('eolearn-slovenia'));
    expect([scene.width, scene.height, scene.bands]).toEqual([100, 101, 13]);
    const counts = new Array(6).fill(0);
    scene.lulc.forEach((v) => counts[v]++);
    expect(counts).toEqual([155, 11, 7601, 1777, 358, 198]); // README
    expect(Math.min(...scene.dem)).toBe(664);
    expect(Math.max(...scene.dem)).toBe(801);
    const valid = Array.from({ length: 100 * 101 }, (_, p) => validPixel(scene, p)).filter(Boolean).length;
    expect(valid).toBeLessThan(100 * 101 - 155); // NaN spectra are excluded too
    const ids = sharedClassIds(scene, [{ name: 'n', y0: 0, y1: 50 }, { name: 's', y0: 50, y1: 101 }], 20);
    expect(ids).toEqual([2, 3, 4, 5]);
  });

  it('tile origins cover the region exactly, the last row and column pushed to its edge', () => {
    const o = tileOrigins({ name: 's', y0: 50, y1: 101 }, 100, 16, 16);
    const ys = [...new Set(o.map(([y]) => y))];
    const xs = [...new Set(o.map(([, x]) => x))];
    expect(ys).toEqual([50, 66, 82, 85]);
    expect(xs).toEqual([0, 16, 32, 48, 64, 80, 84]);
    expect(() => tileOrigins({ name: 'thin', y0: 0, y1: 10 }, 100, 16, 16)).toThrow(/smaller than the 16-pixel tile/);
  });
});

describe('Houston regions recovered from the LiDAR windows', () => {
  it('finds the labelled regions, splits by whole regions, and measures what the random split shares', async () => {
    const px = await loadHoustonPixels(sharedData('houston2013-pixels'));
    const g = lidarNeighbourGroups(px);
    // DFC2013 labels a few polygons per class: far fewer regions than pixels, more than classes.
    expect(g.groups).toBeGreaterThan(15 * 3);
    expect(g.groups).toBeLessThan(400);
    expect(g.links).toBeGreaterThan(px.count);
    for (let i = 0; i < px.count; i++) expect(px.labels[i]).toBe(px.labels[g.group.indexOf(g.group[i])]); // regions are single-class
    const byRegion = groupedSplit(px.labels, g.group, 0.5, 0);
    expect(byRegion.train.length + byRegion.test.length).toBe(px.count);
    expect(connectedTestFraction(g.group, byRegion.train, byRegion.test)).toBe(0);
    expect(byRegion.train.length / px.count).toBeGreaterThan(0.4);
    expect(byRegion.train.length / px.count).toBeLessThan(0.65);
    const random = stratifiedSplit(px.labels, 0.5, 0);
    expect(connectedTestFraction(g.group, random.train, random.test)).toBeGreaterThan(0.95);
  });

  it('grouped split: whole groups per side, about the fraction per class, a one-group class kept in train', () => {
    const labels = [0, 0, 0, 0, 0, 0, 1, 1, 1];
    const group = [10, 10, 11, 11, 12, 12, 20, 20, 20];
    const s = groupedSplit(labels, group, 0.5, 1);
    const side = (i: number) => (s.train.includes(i) ? 'train' : 'test');
    for (const [a, b] of [[0, 1], [2, 3], [4, 5], [6, 7], [7, 8]]) expect(side(a)).toBe(side(b));
    expect(s.train.filter((i) => labels[i] === 0).length).toBeGreaterThanOrEqual(2);
    expect(s.test.filter((i) => labels[i] === 0).length).toBeGreaterThanOrEqual(2);
    expect([6, 7, 8].every((i) => s.train.includes(i))).toBe(true);
  });
});
