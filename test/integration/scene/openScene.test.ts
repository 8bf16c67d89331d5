import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { describeScene, openScene, type SensorBlock } from '../../../src-main/engine/scene/index';
import { sharedData } from '../../helpers/paths';
import { makeRaster, readWithGdal, tempDir, writeJson } from '../raster/gdalTools';

const tmp = tempDir('fieldmoe-scene-');
afterAll(() => tmp.cleanup());

function validCount(b: SensorBlock): number {
  return b.valid.reduce((n, v) => n + v, 0);
}

describe('openScene: spec forms', () => {
  it('a folder with sensors.json (sen1floods11: S2 + S1 on one grid)', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const i = scene.info;
      expect(i.source).toBe(path.join(sharedData('sen1floods11-spain'), 'sensors.json'));
      expect([i.width, i.height, i.referenceSensor, i.crs?.epsg]).toEqual([512, 512, 's2', 4326]);
      expect(i.sensors.map((s) => [s.id, s.kind, s.bands.length, s.failed, s.resampled])).toEqual([
        ['s2', 'multispectral', 13, false, false],
        ['s1', 'sar', 2, false, false],
      ]);
      expect(i.sensors[0].bands[7]).toEqual({ index: 7, name: 'B08', wavelengthNm: 842 });
      expect(i.georeferencing?.geoKeyDirectory?.length).toBeGreaterThan(4);
      const blocks = await scene.readWindow({ x: 100, y: 200, width: 64, height: 32 });
      const s2 = blocks.get('s2')!;
      const s1 = blocks.get('s1')!;
      expect([s2.bands, s2.width, s2.height, s2.data.length]).toEqual([13, 64, 32, 13 * 64 * 32]);
      expect([s1.bands, s1.data.length]).toEqual([2, 2 * 64 * 32]);
      // Values are GDAL's, band-major.
      const gdal = readWithGdal(sharedData('sen1floods11-spain', 'S1Hand.tif'));
      for (const [b, y, x] of [[0, 0, 0], [1, 31, 63], [1, 5, 17]]) {
        const expected = gdal[b * 512 * 512 + (200 + y) * 512 + (100 + x)];
        const got = s1.data[b * 64 * 32 + y * 64 + x];
        if (Number.isNaN(expected)) expect(got).toBeNaN();
        else expect(got).toBe(Math.fround(expected));
        expect(s1.valid[y * 64 + x]).toBe(Number.isNaN(expected) ? 0 : 1);
      }
    } finally {
      await scene.close();
    }
  });

  it('the sensors.json file itself, and only the sensors asked for', async () => {
    const scene = await openScene(sharedData('eolearn-slovenia', 'sensors.json'));
    expect(scene.info.sensors.map((s) => `${s.id}:${s.kind}`)).toEqual(['s2:multispectral', 'dem:dem']);
    expect(scene.info.crs?.epsg).toBe(32633);
    const blocks = await scene.readWindow({ x: 0, y: 0, width: 100, height: 101 }, { sensors: ['dem'] });
    expect([...blocks.keys()]).toEqual(['dem']);
    expect(validCount(blocks.get('dem')!)).toBe(100 * 101);
    await scene.close();
  });

  it('a single GeoTIFF: one sensor named after the file, kind guessed, names and wavelengths from metadata', async () => {
    const scene = await openScene(sharedData('nc-landsat7', 'landsat7_2000.tif'));
    const [s] = scene.info.sensors;
    expect([s.id, s.kind, s.bands.length, s.bands[3].wavelengthNm]).toEqual(['landsat7_2000', 'multispectral', 6, 835]);
    expect(scene.info.crs?.epsg).toBe(3358);
    expect(scene.info.geoTransform).toEqual([630534, 28.5, 0, 228114, 0, -28.5]);
    await scene.close();
    const salinas = await openScene(sharedData('salinas-a', 'salinasA_corrected.tif'));
    expect(salinas.info.sensors[0].kind).toBe('hyperspectral');
    expect(salinas.info.sensors[0].bands.length).toBe(204);
    expect(salinas.info.crs).toBeUndefined();
    await salinas.close();
  });

  it('CLI sensor specs, a chosen reference and --missing', async () => {
    const scene = await openScene(
      { sensors: [{ id: 'radar', file: sharedData('sen1floods11-spain', 'S1Hand.tif'), kind: 'sar' }, { id: 'optical', file: sharedData('sen1floods11-spain', 'S2Hand.tif') }] },
      { referenceSensor: 'optical', missing: ['radar'] },
    );
    // errors name the scene by its sensors' files
    expect(scene.info.source).toBe(`the scene of radar (${sharedData('sen1floods11-spain', 'S1Hand.tif')}), optical (${sharedData('sen1floods11-spain', 'S2Hand.tif')})`);
    expect(scene.info.referenceSensor).toBe('optical');
    expect(scene.info.sensors.map((s) => [s.id, s.kind, s.failed])).toEqual([
      ['radar', 'sar', true],
      ['optical', 'multispectral', false],
    ]);
    const blocks = await scene.readWindow({ x: 0, y: 0, width: 16, height: 16 });
    expect(validCount(blocks.get('radar')!)).toBe(0);
    expect(blocks.get('radar')!.data.some((v) => v !== 0)).toBe(true);
    expect(validCount(blocks.get('optical')!)).toBe(256);
    await scene.close();
  });

  it('bands named by colour in the scene spec get the wavelengths those names stand for', async () => {
    const bare = path.join(tmp.dir, 'four-bands.tif');
    makeRaster(bare, { width: 4, height: 4, bands: 4, type: 'uint16' });
    const named = [{ name: 'Red' }, { name: 'Green' }, { name: 'Blue' }, { name: 'NIR' }];
    const scene = await openScene({ sensors: [{ id: 'cam', file: bare, bands: named }] });
    expect(scene.info.sensors[0].bands.map((b) => [b.name, b.wavelengthNm])).toEqual([['Red', 665], ['Green', 560], ['Blue', 490], ['NIR', 842]]);
    await scene.close();
    // a wavelength the file states wins over the name (NAIP's descriptions say "NIR 876nm")
    const naip = await openScene({ sensors: [{ id: 'naip', file: sharedData('chesapeake-naip', 'id_000051_naip.tif'), bands: named }] });
    expect(naip.info.sensors[0].bands[3].wavelengthNm).toBe(876);
    await naip.close();
  });

  it('windows reaching outside the scene are invalid there', async () => {
    const scene = await openScene(sharedData('eolearn-slovenia'));
    const blocks = await scene.readWindow({ x: 90, y: 95, width: 20, height: 10 }, { sensors: ['dem'] });
    const dem = blocks.get('dem')!;
    // 10 x 6 pixels of the window lie inside the 100 x 101 grid.
    expect(validCount(dem)).toBe(10 * 6);
    expect(dem.valid[0]).toBe(1);
    expect(dem.valid[19]).toBe(0);
    expect(Number.isNaN(dem.data[19])).toBe(true);
    await scene.close();
  });

  it('nodata: a pixel is invalid when every band is nodata, not when one band is', async () => {
    const file = path.join(tmp.dir, 'partial-nodata.tif');
    makeRaster(file, { width: 10, height: 10, bands: 3, type: 'uint8', nodata: 0, edit: 'a[:, 0, :] = 0\na[2, 1, :] = 0' });
    const scene = await openScene(file);
    const b = (await scene.readWindow({ x: 0, y: 0, width: 10, height: 10 })).values().next().value as SensorBlock;
    expect(Array.from(b.valid.subarray(0, 10))).toEqual(new Array(10).fill(0));
    expect(Array.from(b.valid.subarray(10, 20))).toEqual(new Array(10).fill(1));
    expect(validCount(b)).toBe(90);
    await scene.close();
  });

  it('describeScene is plain JSON (NaN nodata as "NaN")', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    const d = describeScene(scene);
    const json = JSON.parse(JSON.stringify(d));
    expect(json).toEqual(d);
    expect(d.sensors.map((s) => [s.id, s.nodata, s.sampleType, s.bandCount])).toEqual([
      ['s2', 0, 'int16', 13],
      ['s1', 'NaN', 'float32', 2],
    ]);
    expect(d.crs?.epsg).toBe(4326);
    expect(d.sensors[0].bands[0]).toEqual({ index: 0, name: 'B01', wavelengthNm: 443 });
    await scene.close();
  });

  it('failure regions (GeoJSON in the scene CRS) clear validity of their sensor only', async () => {
    const gt = [630534, 28.5, 0, 228114, 0, -28.5];
    // A 10 x 10-pixel square at columns 20..29, rows 30..39, with a 2 x 2 hole at columns 24..25, rows 34..35.
    const X = (c: number) => gt[0] + c * gt[1];
    const Y = (r: number) => gt[3] + r * gt[5];
    const square = [[X(20), Y(30)], [X(30), Y(30)], [X(30), Y(40)], [X(20), Y(40)], [X(20), Y(30)]];
    const hole = [[X(24), Y(34)], [X(26), Y(34)], [X(26), Y(36)], [X(24), Y(36)], [X(24), Y(34)]];
    const manifest = path.join(tmp.dir, 'regions.json');
    writeJson(manifest, {
      sensors: [
        { id: 'l7', kind: 'multispectral', file: sharedData('nc-landsat7', 'landsat7_2000.tif') },
        { id: 'labels', kind: 'other', file: sharedData('nc-landsat7', 'labels.tif') },
      ],
      failure_regions: [{ type: 'Feature', properties: { sensor: 'l7' }, geometry: { type: 'Polygon', coordinates: [square, hole] } }],
    });
    const scene = await openScene(manifest);
    expect(scene.info.failureRegions).toHaveLength(1);
    const win = { x: 15, y: 25, width: 20, height: 20 };
    const blocks = await scene.readWindow(win);
    const l7 = blocks.get('l7')!;
    const unmasked = await openScene({
      sensors: [
        { id: 'l7', file: sharedData('nc-landsat7', 'landsat7_2000.tif') },
        { id: 'labels', file: sharedData('nc-landsat7', 'labels.tif') },
      ],
    });
    const unmaskedBlocks = await unmasked.readWindow(win);
    const base = unmaskedBlocks.get('l7')!;
    for (let r = 0; r < 20; r++) {
      for (let c = 0; c < 20; c++) {
        const col = win.x + c;
        const row = win.y + r;
        const inSquare = col >= 20 && col < 30 && row >= 30 && row < 40;
        const inHole = col >= 24 && col < 26 && row >= 34 && row < 36;
        const expected = inSquare && !inHole ? 0 : base.valid[r * 20 + c];
        expect(l7.valid[r * 20 + c], `pixel ${col},${row}`).toBe(expected);
      }
    }
    // The other sensor is untouched.
    expect(Array.from(blocks.get('labels')!.valid)).toEqual(Array.from(unmaskedBlocks.get('labels')!.valid));
    expect(validCount(l7)).toBeLessThan(validCount(base));
    await Promise.all([scene.close(), unmasked.close()]);
  });
});
