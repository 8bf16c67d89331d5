import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGeoTiff } from '../../../src-main/engine/raster/index';
import { openScene, sceneStats, suggestFailures } from '../../../src-main/engine/scene/index';
import { CancelledError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { python } from '../raster/gdalTools';

interface NumpyStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  nodata: number;
  nan: number;
  count: number;
}

/** Per-band statistics by numpy over every `step`-th row and column, nodata and NaN excluded. */
function numpyStats(file: string, step: number, nodata: number | null): NumpyStats[] {
  return python<NumpyStats[]>(
    `ds = gdal.Open(args['f'])
a = ds.ReadAsArray().astype('float64')
if a.ndim == 2: a = a[None]
a = a[:, ::args['step'], ::args['step']]
out = []
for b in a:
    nan = np.isnan(b)
    nd = (b == args['nodata']) if args['nodata'] is not None else np.zeros_like(nan)
    v = b[~nan & ~nd]
    out.append(dict(min=float(v.min()), max=float(v.max()), mean=float(v.mean()), std=float(v.std()), nodata=float(nd.mean()), nan=float(nan.mean()), count=int(b.size)))
print(json.dumps(out))`,
    { f: file, step, nodata },
  );
}

describe('sceneStats', () => {
  it('counts infinite values with NaN, out of the mean, and the scene reads them as nodata', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-inf-'));
    const file = path.join(dir, 'inf.tif');
    const data = Float32Array.from({ length: 2 * 8 * 8 }, (_, i) => i % 64);
    data[5] = Infinity;
    data[64 + 9] = -Infinity;
    await writeGeoTiff(file, { width: 8, height: 8, bands: 2, sampleType: 'float32' }, data);
    const scene = await openScene(file);
    try {
      const stats = await sceneStats(scene);
      const [b1, b2] = stats.sensors[0].bands;
      expect(b1.nanFraction).toBeCloseTo(1 / 64, 6);
      expect(b1.mean).toBeCloseTo((63 * 64 / 2 - 5) / 63, 6);
      expect(b2.max).toBe(63);
      const block = (await scene.readWindow({ x: 0, y: 0, width: 8, height: 8 })).values().next().value!;
      expect([...block.valid].flatMap((v, i) => (v ? [] : [i]))).toEqual([5, 9]);
    } finally {
      await scene.close();
    }
  });

  it('matches numpy on every pixel of sen1floods11 (S2 int16 nodata 0, S1 float32 NaN)', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    const stats = await sceneStats(scene);
    expect(stats.step).toBe(1);
    for (const [i, file, nodata] of [[0, 'S2Hand.tif', 0], [1, 'S1Hand.tif', null]] as const) {
      const expected = numpyStats(sharedData('sen1floods11-spain', file), 1, nodata);
      const got = stats.sensors[i].bands;
      expect(got).toHaveLength(expected.length);
      got.forEach((b, k) => {
        const e = expected[k];
        expect(b.count).toBe(e.count);
        expect(b.min).toBeCloseTo(e.min, 4);
        expect(b.max).toBeCloseTo(e.max, 4);
        expect(b.mean!).toBeCloseTo(e.mean, 3);
        expect(b.std! / e.std).toBeCloseTo(1, 4);
        expect(b.nodataFraction).toBeCloseTo(e.nodata, 10);
        expect(b.nanFraction).toBeCloseTo(e.nan, 10);
      });
    }
    expect(suggestFailures(stats)).toEqual([]);
    await scene.close();
  });

  it('decimates to at most maxPixels with bounded windows, matching numpy on the same sample', async () => {
    const scene = await openScene(sharedData('nc-landsat7'));
    const stats = await sceneStats(scene, { maxPixels: 10_000, maxWindowValues: 50_000 });
    expect(stats.step).toBe(Math.ceil(Math.sqrt((489 * 443) / 10_000)));
    expect(stats.sampledPixels).toBeLessThanOrEqual(10_000);
    const expected = numpyStats(sharedData('nc-landsat7', 'landsat7_2000.tif'), stats.step, 0);
    stats.sensors[0].bands.forEach((b, k) => {
      expect(b.count).toBe(expected[k].count);
      expect(b.mean!).toBeCloseTo(expected[k].mean, 6);
      expect(b.nodataFraction).toBeCloseTo(expected[k].nodata, 10);
    });
    await scene.close();
  });

  it('describes only the sensors asked for', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    const stats = await sceneStats(scene, { sensors: ['s1'] });
    expect(stats.sensors.map((s) => [s.sensor, s.bands.length])).toEqual([['s1', 2]]);
    await expect(sceneStats(scene, { sensors: ['s9'] })).rejects.toThrow(/unknown sensor "s9"/);
    await scene.close();
  });

  it('reports progress and stops on cancel', async () => {
    const scene = await openScene(sharedData('nc-landsat7'));
    const fractions: number[] = [];
    await sceneStats(scene, { maxWindowValues: 100_000, onProgress: (p) => fractions.push(p.fraction) });
    expect(fractions.at(-1)).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expect(sceneStats(scene, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    await scene.close();
  });
});
