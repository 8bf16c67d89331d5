import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { openScene } from '../../../src-main/engine/scene/index';
import { FieldMoeError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { gdalinfo, readWithGdal, run, tempDir, writeJson } from '../raster/gdalTools';

const tmp = tempDir('fieldmoe-resample-');
afterAll(() => tmp.cleanup());

const S2 = () => sharedData('eolearn-slovenia', 'reference_composite_ndvi.tif');
const DEM = () => sharedData('eolearn-slovenia', 'dem.tif');
const LULC = () => sharedData('eolearn-slovenia', 'lulc.tif');

/** A two-sensor manifest: the S2 composite as reference and `file` as sensor "x". */
function manifestWith(file: string, kind: string, resampling?: string): string {
  const m = path.join(tmp.dir, `m-${path.basename(file)}-${resampling ?? 'default'}.json`);
  const x: Record<string, unknown> = { id: 'x', kind, file };
  if (resampling) x.resampling = resampling;
  writeJson(m, [{ id: 's2', kind: 'multispectral', file: S2() }, x]);
  return m;
}

describe('openScene: sensors on another grid in the same CRS are resampled to the reference grid', () => {
  it('nearest: a 30 m copy of the DEM read on the 10 m grid picks the source pixel under each centre', async () => {
    const coarse = path.join(tmp.dir, 'dem30.tif');
    run('gdal_translate', ['-q', '-tr', '30', '30', '-r', 'average', DEM(), coarse]);
    const refGt = gdalinfo(S2()).geoTransform!;
    const cInfo = gdalinfo(coarse);
    const cGt = cInfo.geoTransform!;
    const [cw, ch] = cInfo.size;
    const coarseValues = readWithGdal(coarse);

    const scene = await openScene(manifestWith(coarse, 'dem', 'nearest'));
    expect(scene.info.sensors[1].resampled).toBe(true);
    const { width, height } = scene.info;
    const x = (await scene.readWindow({ x: 0, y: 0, width, height }, { sensors: ['x'] })).get('x')!;
    let compared = 0;
    let wrong = 0;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const X = refGt[0] + (c + 0.5) * refGt[1];
        const Y = refGt[3] + (r + 0.5) * refGt[5];
        const sc = Math.floor((X - cGt[0]) / cGt[1]);
        const sr = Math.floor((Y - cGt[3]) / cGt[5]);
        const inside = sc >= 0 && sr >= 0 && sc < cw && sr < ch;
        expect(x.valid[r * width + c]).toBe(inside ? 1 : 0);
        if (!inside) continue;
        compared++;
        if (x.data[r * width + c] !== Math.fround(coarseValues[sr * cw + sc])) wrong++;
      }
    }
    expect(compared).toBeGreaterThan(width * height * 0.9);
    expect(wrong).toBe(0);
    await scene.close();
  });

  it('bilinear (default for float data) agrees with gdalwarp -r bilinear inside the raster', async () => {
    const coarse = path.join(tmp.dir, 'dem30b.tif');
    run('gdal_translate', ['-q', '-tr', '30', '30', '-r', 'average', DEM(), coarse]);
    const ref = gdalinfo(S2());
    const gt = ref.geoTransform!;
    const [w, h] = ref.size;
    const warped = path.join(tmp.dir, 'dem30-warped.tif');
    run('gdalwarp', ['-q', '-r', 'bilinear', '-te', String(gt[0]), String(gt[3] + h * gt[5]), String(gt[0] + w * gt[1]), String(gt[3]), '-ts', String(w), String(h), coarse, warped]);
    const expected = readWithGdal(warped);

    const scene = await openScene(manifestWith(coarse, 'dem'));
    const x = (await scene.readWindow({ x: 0, y: 0, width: w, height: h }, { sensors: ['x'] })).get('x')!;
    let compared = 0;
    let maxDiff = 0;
    // Skip a 3-pixel border, where GDAL and we treat missing neighbours differently.
    for (let r = 3; r < h - 3; r++) {
      for (let c = 3; c < w - 3; c++) {
        const i = r * w + c;
        if (x.valid[i] !== 1) continue;
        compared++;
        maxDiff = Math.max(maxDiff, Math.abs(x.data[i] - expected[i]));
      }
    }
    expect(compared).toBeGreaterThan(w * h * 0.8);
    expect(maxDiff).toBeLessThan(1e-3);
    // It really interpolates: values differ from a nearest read.
    const nearest = await openScene(manifestWith(coarse, 'dem', 'nearest'));
    const n = (await nearest.readWindow({ x: 0, y: 0, width: w, height: h }, { sensors: ['x'] })).get('x')!;
    expect(n.data.some((v, i) => x.valid[i] === 1 && Math.abs(v - x.data[i]) > 0.01)).toBe(true);
    await Promise.all([scene.close(), nearest.close()]);
  });

  it('a categorical uint8 sensor with another extent (cropped) is shifted exactly, nearest by default', async () => {
    const cropped = path.join(tmp.dir, 'lulc-crop.tif');
    run('gdal_translate', ['-q', '-srcwin', '7', '11', '60', '50', LULC(), cropped]);
    const full = readWithGdal(LULC());
    const scene = await openScene(manifestWith(cropped, 'other'));
    expect(scene.info.sensors[1].resampled).toBe(true);
    const win = { x: 0, y: 0, width: 100, height: 101 };
    const x = (await scene.readWindow(win, { sensors: ['x'] })).get('x')!;
    for (let r = 0; r < 101; r++) {
      for (let c = 0; c < 100; c++) {
        const inside = c >= 7 && c < 67 && r >= 11 && r < 61;
        const i = r * 100 + c;
        if (!inside) {
          expect(x.valid[i]).toBe(0);
          continue;
        }
        expect(x.data[i]).toBe(full[i]);
        expect(x.valid[i]).toBe(full[i] === 0 ? 0 : 1);
      }
    }
    await scene.close();
  });

  it('a different CRS is a clear error that says how to reproject', async () => {
    const m = path.join(tmp.dir, 'crs.json');
    writeJson(m, [
      { id: 'l7', kind: 'multispectral', file: sharedData('nc-landsat7', 'landsat7_2000.tif') },
      { id: 's1', kind: 'sar', file: sharedData('sen1floods11-spain', 'S1Hand.tif') },
    ]);
    const err = await openScene(m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldMoeError);
    const msg = (err as Error).message;
    expect(msg).toContain(m);
    expect(msg).toMatch(/mismatched CRS: sensor "s1" .* is in EPSG:4326 but the reference sensor "l7" is in EPSG:3358; reproject it first, e\.g\. gdalwarp -t_srs EPSG:3358 -tr 28\.5 28\.5/);
    expect(msg).not.toContain('\n');
  });

  it('ungeoreferenced sensors of different sizes cannot be aligned', async () => {
    const err = await openScene({
      sensors: [
        { id: 'aviris', file: sharedData('salinas-a', 'salinasA_corrected.tif') },
        { id: 'naip', file: sharedData('chesapeake-naip', 'id_000051_naip.tif') },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldMoeError);
    expect((err as Error).message).toMatch(/mismatched grids: sensor "naip" .* is 256 x 256 but the reference sensor "aviris" is 86 x 83/);
  });
});

describe('openScene: a finer sensor under a coarse reference', () => {
  it('is read in row chunks within the resampling budget, with the same values as in one go', async () => {
    const coarse = path.join(tmp.dir, 'dem30-ref.tif');
    run('gdal_translate', ['-q', '-tr', '30', '30', DEM(), coarse]);
    const m = path.join(tmp.dir, 'coarse-ref.json');
    writeJson(m, [{ id: 'dem', kind: 'dem', file: coarse }, { id: 's2', kind: 'multispectral', file: S2(), resampling: 'bilinear' }]);
    const oneGo = await openScene(m);
    const chunked = await openScene(m, { resampleBudget: 13 * 100 * 3 * 2 });
    const { width, height } = oneGo.info;
    const win = { x: -1, y: 2, width: width + 2, height: height - 3 };
    const a = (await oneGo.readWindow(win, { sensors: ['s2'] })).get('s2')!;
    const b = (await chunked.readWindow(win, { sensors: ['s2'] })).get('s2')!;
    expect(Array.from(b.valid)).toEqual(Array.from(a.valid));
    expect(b.data.every((v, i) => Object.is(v, a.data[i]))).toBe(true);
    expect(a.valid.some((v) => v === 1)).toBe(true);
    await Promise.all([oneGo.close(), chunked.close()]);
  });
});
