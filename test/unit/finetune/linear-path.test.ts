/**
 * The start of the pixel head's linear path when it may read context features (fit.ts): the
 * window statistics it computes at a tile's pixel against the head's own graph (windowStats),
 * the one-standard-error rule that compares two feature sets sample by sample, and the choice
 * of feature set: context kept where it carries the class, left out where it is noise, and the
 * model config without the context the start left out.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../src-main/engine/util/random';
import { Graph, concat } from '../../../src-main/engine/ml/index';
import { contextIntoHidden, linearReadsContext, windowStats } from '../../../src-main/engine/ml/models/pixelhead';
import type { ModelConfig } from '../../../src-main/engine/ml/models/index';
import { clearlyLower, linearPathFeatures, windowStatsAt, withoutLinearExtras } from '../../../src-main/engine/finetune/fit';
import { runGraph } from '../models/vit-run';

/** Deterministic pseudo-random numbers in [-1, 1), from the engine's one seeded generator. */
function noise(seed: number): () => number {
  const r = seededRng(seed);
  return () => 2 * r() - 1;
}

describe('linear path start', () => {
  it('computes the window statistics of a pixel as the head graph does, clipped at the tile edges', async () => {
    const [T, C, windows] = [6, 2, [3, 5]];
    const data = Float64Array.from({ length: C * T * T }, (_, k) => Math.sin(k * 0.9) * 2 + (k % 7));
    const g = new Graph('window-stats');
    const z = g.input('z', 'float64', [1, C, T, T]);
    const features = concat(windows.flatMap((k) => windowStats(g, z, k, T, T)), 1);
    const out = (await runGraph(g, { features }, { z: { data, shape: [1, C, T, T] } })).features.data;
    const F = 2 * windows.length * C;
    // a corner, an edge and an inner pixel
    for (const centre of [0, T + 5, 2 * T + 3]) {
      const got = windowStatsAt((c, p) => data[c * T * T + p], C, T, centre, windows);
      expect(got.length).toBe(F);
      got.forEach((v, f) => expect(v).toBeCloseTo(out[f * T * T + centre], 9));
    }
  });

  it('calls a loss clearly lower only beyond one standard error of the paired difference, pixel copies averaged first', () => {
    const b = Float64Array.from({ length: 40 }, (_, i) => 0.5 + 0.1 * Math.sin(i));
    const lower = b.map((v, i) => v - 0.05 + 0.01 * Math.cos(3 * i));
    const noisy = b.map((v, i) => v - 0.01 + (i % 2 ? 0.3 : -0.3));
    const groups = Array.from({ length: 40 }, (_, i) => i);
    expect(clearlyLower(lower, b, groups)).toBe(true);
    expect(clearlyLower(b, lower, groups)).toBe(false);
    // a small mean gain swamped by its spread
    expect(clearlyLower(noisy, b, groups)).toBe(false);
    // one pixel's copies are one sample: two groups whose means differ in sign give no clear gain
    const pairs = Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 1));
    const split = b.map((v, i) => v + (i < 20 ? -0.2 : 0.1));
    expect(clearlyLower(split, b, groups)).toBe(true);
    expect(clearlyLower(split, b, pairs)).toBe(false);
    // NaN (unscored) samples are left out
    const withNaN = lower.slice();
    withNaN[3] = NaN;
    expect(clearlyLower(withNaN, b, groups)).toBe(true);
  });

  it('keeps context features that carry the class and leaves out those that are noise', () => {
    // 2 band columns and 2 context columns; the class is in the context (texture) or in the bands
    const columns = [
      { input: 'a', part: 'bands' as const, width: 2 },
      { input: 'a', part: 'context' as const, width: 2 },
    ];
    const problem = (inContext: boolean, seed: number) => {
      const r = noise(seed);
      const n = 80;
      const y = Int32Array.from({ length: n }, (_, i) => i % 2);
      const x = new Float64Array(n * 4);
      for (let i = 0; i < n; i++) {
        const signal = y[i] ? 1.2 : -1.2;
        for (let j = 0; j < 4; j++) x[i * 4 + j] = r() * 1.5 + ((j >= 2) === inContext && j % 2 === 0 ? signal : 0);
      }
      return { x, n, d: 4, k: 2, y };
    };
    const groups = Array.from({ length: 80 }, (_, i) => i);
    for (const seed of [1, 2, 3]) {
      const texture = linearPathFeatures(problem(true, seed), columns, groups);
      expect(texture.kept).toEqual(columns);
      expect(texture.problem.d).toBe(4);
      const spectra = linearPathFeatures(problem(false, seed), columns, groups);
      expect(spectra.kept).toEqual([columns[0]]);
      expect(spectra.problem.d).toBe(2);
      // the bands alone: each row's first two features
      expect(Array.from(spectra.problem.x.subarray(2, 4))).toEqual(Array.from(problem(false, seed).x.subarray(4, 6)));
    }
  });
});

describe('the linear path without context', () => {
  it('drops the context of the named inputs from the linear path, and the context itself where nothing else reads it', () => {
    const model = {
      architecture: 'spectralmoe',
      config: {
        pixelHead: {
          hidden: 16,
          linear: true,
          inputs: [
            { name: 'image', bands: 4, context: [3, 7], contextInto: ['linear'] },
            { name: 'sar', bands: 2, context: [3, 7], contextInto: ['hidden', 'linear'] },
            { name: 'dem', bands: 1, relative: true, context: [3], contextInto: ['hidden', 'linear'] },
            { name: 'lidar', bands: 21, relative: true, tileMeanIntoLinear: true },
          ],
        },
      },
    } as unknown as ModelConfig;
    const out = withoutLinearExtras(model, new Set(['image', 'sar', 'lidar']));
    expect(out.config.pixelHead!.inputs).toEqual([
      { name: 'image', bands: 4 },
      { name: 'sar', bands: 2, context: [3, 7], contextInto: ['hidden'] },
      { name: 'dem', bands: 1, relative: true, context: [3], contextInto: ['hidden', 'linear'] },
      { name: 'lidar', bands: 21, relative: true },
    ]);
    expect(out.config.pixelHead!.inputs.map(linearReadsContext)).toEqual([false, false, true, false]);
    expect(out.config.pixelHead!.inputs.map(contextIntoHidden)).toEqual([false, true, true, false]);
    // the model given is left as it was
    expect(model.config.pixelHead!.inputs[0].contextInto).toEqual(['linear']);
  });
});
