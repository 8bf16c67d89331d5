import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openRaster } from '../../../src-main/engine/raster/reader';
import { GeoTiffWriter, withGeoTiffWriter, writeGeoTiff } from '../../../src-main/engine/raster/writer';
import { georeferencingFromGeoTransform } from '../../../src-main/engine/raster/georeferencing';
import { FieldMoeError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { gdalinfo, readWithGdal, tempDir } from './gdalTools';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const PALETTE: [number, number, number][] = [
  [0, 0, 0],
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
];

function noTempLeft(dir: string): void {
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}

describe('GeoTiffWriter: class maps GDAL reads as written', () => {
  it('uint8 class map of nc-landsat7: size, EPSG, geotransform, palette, nodata, tiles, DEFLATE, values', async () => {
    const src = await openRaster(sharedData('nc-landsat7', 'landsat7_2000.tif'));
    const { width, height } = src.info;
    const classes = new Uint8Array(width * height);
    for (let i = 0; i < classes.length; i++) classes[i] = (i * 7 + Math.floor(i / width)) % PALETTE.length;
    const out = path.join(tmp.dir, 'classes.tif');
    await writeGeoTiff(out, { width, height, sampleType: 'uint8', georeferencing: src.georeferencing, nodata: 0, colorMap: PALETTE, bandDescriptions: ['class'] }, classes);
    await src.close();

    const info = gdalinfo(out);
    expect(info.size).toEqual([489, 443]);
    expect(info.stac?.['proj:epsg']).toBe(3358);
    expect(info.geoTransform).toEqual([630534, 28.5, 0, 228114, 0, -28.5]);
    expect(info.metadata.IMAGE_STRUCTURE.COMPRESSION).toBe('DEFLATE');
    const band = info.bands[0];
    expect(band.block).toEqual([256, 256]);
    expect(band.type).toBe('Byte');
    expect(band.noDataValue).toBe(0);
    expect(band.description).toBe('class');
    expect(band.colorInterpretation).toBe('Palette');
    expect(band.colorTable?.count).toBe(256);
    expect(band.colorTable?.entries.slice(1, PALETTE.length).map((e) => e.slice(0, 3))).toEqual(PALETTE.slice(1));
    const back = readWithGdal(out);
    expect(Array.from(back)).toEqual(Array.from(classes));
    noTempLeft(tmp.dir);
  });

  it('takes metadata added after the pixels and before finish(), and none after', async () => {
    const out = path.join(tmp.dir, 'added-metadata.tif');
    const w = await GeoTiffWriter.create(out, { width: 20, height: 10, sampleType: 'uint8', tileSize: 16, metadata: [{ name: 'FIRST', value: 'from create' }] });
    await w.writeTileRow(new Uint8Array(20 * 10).fill(3));
    w.addMetadata([{ name: 'OUTCOME', value: 'known at the end' }, { name: 'wavelength_nm', sample: 0, value: '665' }]);
    await w.finish();
    expect(() => w.addMetadata([{ name: 'LATE', value: 'x' }])).toThrow(`${out}: writer already finished or aborted`);
    const info = gdalinfo(out);
    expect(info.metadata?.['']).toMatchObject({ FIRST: 'from create', OUTCOME: 'known at the end' });
    expect(info.metadata?.['']?.LATE).toBeUndefined();
    expect((info.bands[0] as { metadata?: Record<string, Record<string, string>> }).metadata?.['']?.wavelength_nm).toBe('665');
  });

  it('float32 multi-band with NaN nodata, descriptions and wavelengths, streamed by rows of tiles of 64', async () => {
    const geo = georeferencingFromGeoTransform([465180, 10, 0, 5080250, 0, -10], 32633);
    const width = 150;
    const height = 130;
    const bands = 3;
    const out = path.join(tmp.dir, 'conf.tif');
    const expected = new Float32Array(bands * width * height);
    for (let b = 0; b < bands; b++) for (let i = 0; i < width * height; i++) expected[b * width * height + i] = i % 97 === 0 ? NaN : b + i / 1000;
    await withGeoTiffWriter(
      out,
      { width, height, bands, sampleType: 'float32', tileSize: 64, georeferencing: geo, nodata: NaN, bandDescriptions: ['a', 'b', 'c'], bandWavelengthsNm: [490, 560, undefined] },
      async (w) => {
        expect(w.tileRows).toBe(3);
        for (let row = 0; row < w.tileRows; row++) {
          const h = w.rowHeight(row);
          const chunk = new Float32Array(bands * h * width);
          for (let b = 0; b < bands; b++) chunk.set(expected.subarray(b * width * height + row * 64 * width, b * width * height + (row * 64 + h) * width), b * h * width);
          await w.writeTileRow(chunk);
        }
      },
    );
    const info = gdalinfo(out);
    expect(info.size).toEqual([150, 130]);
    expect(info.stac?.['proj:epsg']).toBe(32633);
    expect(info.geoTransform).toEqual([465180, 10, 0, 5080250, 0, -10]);
    expect(info.bands.map((b) => [b.type, b.block, b.description, b.noDataValue])).toEqual([
      ['Float32', [64, 64], 'a', 'NaN'],
      ['Float32', [64, 64], 'b', 'NaN'],
      ['Float32', [64, 64], 'c', 'NaN'],
    ]);
    const back = readWithGdal(out);
    let diff = 0;
    for (let i = 0; i < expected.length; i++) if (!Object.is(Math.fround(back[i]), expected[i])) diff++;
    expect(diff).toBe(0);
    const ours = await openRaster(out);
    expect(ours.info.bands.map((b) => b.wavelengthNm)).toEqual([490, 560, undefined]);
    await ours.close();
  });

  for (const sampleType of ['uint16', 'int16', 'int32', 'float64'] as const) {
    it(`${sampleType}: values are rounded and clamped to the type`, async () => {
      const width = 40;
      const height = 20;
      const data = Float64Array.from({ length: width * height }, (_, i) => (i - 400) * 123.4);
      const out = path.join(tmp.dir, `t-${sampleType}.tif`);
      await writeGeoTiff(out, { width, height, sampleType, tileSize: 16 }, data);
      const range: Record<string, [number, number]> = { uint16: [0, 65535], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1], float64: [-Infinity, Infinity] };
      const [lo, hi] = range[sampleType];
      const expected = Array.from(data, (v) => (sampleType === 'float64' ? v : Math.min(hi, Math.max(lo, Math.round(v)))));
      expect(Array.from(readWithGdal(out))).toEqual(expected);
    });
  }

  it('copies the georeferencing of a geographic raster (sen1floods11, EPSG:4326) exactly', async () => {
    const src = await openRaster(sharedData('sen1floods11-spain', 'S1Hand.tif'));
    const out = path.join(tmp.dir, 's1-copy.tif');
    await writeGeoTiff(out, { width: 512, height: 512, sampleType: 'uint8', georeferencing: src.georeferencing, nodata: 255 }, new Uint8Array(512 * 512));
    const ref = gdalinfo(sharedData('sen1floods11-spain', 'S1Hand.tif'));
    const info = gdalinfo(out);
    expect(info.stac?.['proj:epsg']).toBe(4326);
    expect(info.geoTransform).toEqual(ref.geoTransform);
    expect(info.bands[0].noDataValue).toBe(255);
    await src.close();
  });

  it('writes BigTIFF when asked and GDAL reads it', async () => {
    const out = path.join(tmp.dir, 'big.tif');
    const data = Uint8Array.from({ length: 300 * 200 }, (_, i) => i % 251);
    await writeGeoTiff(out, { width: 300, height: 200, sampleType: 'uint8', bigTiff: true, georeferencing: georeferencingFromGeoTransform([0, 1, 0, 0, 0, -1], 3857) }, data);
    const header = readFileSync(out).subarray(0, 4);
    expect(header.readUInt16LE(2)).toBe(43);
    expect(gdalinfo(out).stac?.['proj:epsg']).toBe(3857);
    expect(Array.from(readWithGdal(out))).toEqual(Array.from(data));
  });
});

describe('GeoTiffWriter: rows written without awaiting each one', () => {
  it('keeps call order', async () => {
    const out = path.join(tmp.dir, 'unawaited.tif');
    const w = await GeoTiffWriter.create(out, { width: 40, height: 40, sampleType: 'uint8', tileSize: 16 });
    const rows = [0, 1, 2].map((r) => new Uint8Array(w.rowHeight(r) * 40).fill(r + 1));
    await Promise.all(rows.map((r) => w.writeTileRow(r)));
    await w.finish();
    const back = readWithGdal(out);
    expect([back[0], back[16 * 40], back[32 * 40], back[39 * 40 + 39]]).toEqual([1, 2, 3, 3]);
  });
});

describe('GeoTiffWriter: nothing partial is ever left behind', () => {
  it('abort deletes the temp file and creates nothing', async () => {
    const dir = path.join(tmp.dir, 'abort');
    const out = path.join(dir, 'x.tif');
    const w = await GeoTiffWriter.create(out, { width: 64, height: 64, sampleType: 'uint8', tileSize: 32 });
    await w.writeTileRow(new Uint8Array(32 * 64));
    expect(readdirSync(dir).length).toBe(1);
    await w.abort();
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an error inside withGeoTiffWriter removes the temp file and rethrows', async () => {
    const dir = path.join(tmp.dir, 'error');
    const out = path.join(dir, 'x.tif');
    await expect(
      withGeoTiffWriter(out, { width: 64, height: 64, sampleType: 'uint8', tileSize: 32 }, async (w) => {
        await w.writeTileRow(new Uint8Array(32 * 64));
        throw new Error('model crashed');
      }),
    ).rejects.toThrow('model crashed');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('finishing before every row is written fails and leaves nothing', async () => {
    const dir = path.join(tmp.dir, 'short');
    const out = path.join(dir, 'x.tif');
    const w = await GeoTiffWriter.create(out, { width: 64, height: 64, sampleType: 'uint8', tileSize: 32 });
    await w.writeTileRow(new Uint8Array(32 * 64));
    await expect(w.finish()).rejects.toThrow(/only 1 of 2 rows/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a row of the wrong length is a clear error and the output is dropped', async () => {
    const dir = path.join(tmp.dir, 'wrong');
    const out = path.join(dir, 'x.tif');
    const w = await GeoTiffWriter.create(out, { width: 64, height: 40, sampleType: 'uint8', tileSize: 32 });
    await w.writeTileRow(new Uint8Array(32 * 64));
    const err = await w.writeTileRow(new Uint8Array(32 * 64)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldMoeError);
    expect((err as Error).message).toMatch(/expected 1 x 8 x 64/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('invalid options are refused before any file is created', async () => {
    const out = path.join(tmp.dir, 'invalid', 'x.tif');
    await expect(GeoTiffWriter.create(out, { width: 10, height: 10, bands: 3, sampleType: 'uint8', colorMap: PALETTE })).rejects.toThrow(/colour map needs a single/);
    await expect(GeoTiffWriter.create(out, { width: 0, height: 10, sampleType: 'uint8' })).rejects.toThrow(/invalid size/);
    await expect(GeoTiffWriter.create(out, { width: 10, height: 10, sampleType: 'uint8', nodata: -1 })).rejects.toThrow(/nodata -1 is not a uint8 value/);
    await expect(GeoTiffWriter.create(out, { width: 10, height: 10, sampleType: 'int16', nodata: NaN })).rejects.toThrow(/nodata NaN is not a int16 value/);
    expect(existsSync(out)).toBe(false);
  });
});
