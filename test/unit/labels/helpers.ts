import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LabelGrid, LabelSet } from '../../../src-main/engine/labels';
import { REPO_ROOT } from '../../helpers/paths';

export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/labels');

/** 50 x 20 px of 10 m in UTM 33N, origin (1000, 2000): the grid of the shape fixtures. */
export const UTM_GRID: LabelGrid = { width: 50, height: 20, geoTransform: [1000, 10, 0, 2000, 0, -10], crs: { epsg: 32633 } };

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-labels-'));
}

/** "x,y" keys of the labelled pixels, per class name. */
export function pixelsByClass(set: LabelSet): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < set.x.length; i++) {
    const name = set.classes[set.classIndex[i]].name;
    if (!out.has(name)) out.set(name, []);
    out.get(name)!.push(`${set.x[i]},${set.y[i]}`);
  }
  return out;
}

export function rectPixels(x0: number, y0: number, w: number, h: number): string[] {
  const out: string[] = [];
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) out.push(`${x},${y}`);
  return out;
}

/**
 * A synthetic LabelSet: `classOf(x, y)` gives the class index or -1, `featureOf` the feature id.
 */
export function syntheticSet(
  width: number,
  height: number,
  classCount: number,
  classOf: (x: number, y: number) => number,
  featureOf: (x: number, y: number) => number = () => -1,
): LabelSet {
  const xs: number[] = [];
  const ys: number[] = [];
  const cs: number[] = [];
  const fs: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = classOf(x, y);
      if (c < 0) continue;
      xs.push(x);
      ys.push(y);
      cs.push(c);
      fs.push(featureOf(x, y));
    }
  }
  const classCounts = new Array(classCount).fill(0);
  for (const c of cs) classCounts[c]++;
  const featureCount = fs.reduce((m, f) => Math.max(m, f), -1) + 1;
  return {
    source: 'synthetic',
    kind: featureCount > 0 ? 'polygons' : 'raster',
    width,
    height,
    classes: Array.from({ length: classCount }, (_, i) => ({ id: i + 1, name: `c${i + 1}`, color: [0, 0, 0] as [number, number, number] })),
    x: Uint32Array.from(xs),
    y: Uint32Array.from(ys),
    classIndex: Uint16Array.from(cs),
    featureId: Int32Array.from(fs),
    featureCount,
    classCounts,
    warnings: [],
  };
}
