/**
 * Fine-tuning's side of the pixel head's spatial context: the scene statistics that initialise
 * its standardisation (samples.ts contextSums, against a brute-force window computation); and
 * validation of a model trained with missing sensors on each sensor subset (fit.ts).
 */
import { describe, expect, it } from 'vitest';
import { contextSums } from '../../../src-main/engine/finetune/samples';
import { averagingFor, missingVariants, withMissingVariants } from '../../../src-main/engine/finetune/fit';
import type { InputBinding } from '../../../src-main/engine/packs/bandmap';
import type { SensorBlock } from '../../../src-main/engine/scene/types';

describe('pixel head context statistics', () => {
  it('sums each band window mean and standard deviation over valid pixels, as the head computes them', () => {
    const [W, H, bands] = [7, 5, 2];
    const data = Float32Array.from({ length: 3 * W * H }, (_, k) => 100 + 40 * Math.sin(k * 1.3) + (k % 5));
    const valid = Uint8Array.from({ length: W * H }, (_, p) => (p % 6 === 4 ? 0 : 1));
    data[2 * W * H + 3] = NaN; // band 2 (the binding's second channel) NaN at a valid pixel: the model's fill, 0
    const block = { sensor: 's', bands: 3, width: W, height: H, data, valid } as unknown as SensorBlock;
    const binding = { bandIndices: [0, 2], channels: bands } as unknown as InputBinding;
    const norm = { mean: 101, std: 20 };
    const head = { shift: [0.1, -0.2], scale: [1.5, 0.8], windows: [3, 5], varianceEps: 1e-4 };
    const got = contextSums(block, binding, norm, head);
    // brute force: z per pixel as the head standardises the model input, windows clipped at the edges
    const z = (c: number, x: number, y: number) => {
      const p = y * W + x;
      const v = data[binding.bandIndices[c] * W * H + p];
      const input = valid[p] && v === v ? (v - norm.mean) / norm.std : 0;
      return (input - head.shift[c]) * head.scale[c];
    };
    const F = 2 * head.windows.length * bands;
    const sum = new Float64Array(F);
    const sumSq = new Float64Array(F);
    const count = new Float64Array(F);
    head.windows.forEach((k, wi) => {
      const r = (k - 1) / 2;
      for (let c = 0; c < bands; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            if (!valid[y * W + x]) continue;
            const vals: number[] = [];
            for (let yy = Math.max(0, y - r); yy <= Math.min(H - 1, y + r); yy++) for (let xx = Math.max(0, x - r); xx <= Math.min(W - 1, x + r); xx++) vals.push(z(c, xx, yy));
            const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
            const sd = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length + head.varianceEps);
            for (const [f, v] of [[2 * wi * bands + c, mean], [(2 * wi + 1) * bands + c, sd]]) {
              sum[f] += v;
              sumSq[f] += v * v;
              count[f]++;
            }
          }
    });
    expect(Array.from(got.count)).toEqual(Array.from(count));
    for (let f = 0; f < F; f++) {
      expect(got.sum[f]).toBeCloseTo(sum[f], 8);
      expect(got.sumSq[f]).toBeCloseTo(sumSq[f], 8);
    }
  });
});

describe('validation under the missing-rate simulation', () => {
  it("scores each droppable input in turn, only where another stays", () => {
    expect(missingVariants({ rate: 0.5, mode: 'both' }, ['optical', 'sar'])).toEqual([0, 1]);
    expect(missingVariants({ rate: 0.5, mode: 'sar' }, ['optical', 'sar', 'elevation'])).toEqual([1]);
    expect(missingVariants({ rate: 0.5, mode: 'both' }, ['optical', undefined, 'elevation'])).toEqual([0, 2]);
    expect(missingVariants({ rate: 0.5, mode: 'both' }, [undefined, 'sar'])).toEqual([]);
  });

  it('adds one copy of the validation tiles per dropped input', () => {
    const tiles = [{ source: 0, index: 4, x0: 1, y0: 2 }, { source: 0, index: 9, x0: 5, y0: 6 }];
    const out = withMissingVariants(tiles, [0, 2]);
    expect(out).toHaveLength(6);
    expect(out.slice(0, 2)).toEqual(tiles);
    expect(out.slice(2).map((t) => [t.index, t.drop])).toEqual([[4, 0], [9, 0], [4, 2], [9, 2]]);
    expect(withMissingVariants(tiles, [])).toEqual(tiles);
  });
});

describe('weight averaging in fine-tuning', () => {
  const binding = (kind: string | undefined, available = true) => ({ available, sensor: kind ? { kind } : undefined }) as unknown as InputBinding;
  it('averages the weights only when every sensor read is elevation', () => {
    expect(averagingFor([{ bindings: [binding('multispectral', false), binding('dem')] }])).toEqual({ decay: 0.98 });
    expect(averagingFor([{ bindings: [binding('lidar')] }, { bindings: [binding('dem')] }])).toEqual({ decay: 0.98 });
    expect(averagingFor([{ bindings: [binding('multispectral'), binding('dem')] }])).toBeUndefined();
    expect(averagingFor([{ bindings: [binding('sar')] }])).toBeUndefined();
    expect(averagingFor([{ bindings: [binding('dem', false)] }])).toBeUndefined();
  });
});
