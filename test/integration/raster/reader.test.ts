import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { openRaster } from '../../../src-main/engine/raster/reader';
import { SAMPLE_TYPES } from '../../../src-main/engine/scene/types';
import { sharedData } from '../../helpers/paths';
import { makeRaster, makeRasters, patternValue, python, readWithGdal, run, tempDir } from './gdalTools';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Checks every pixel of a read window against the deterministic pattern. */
function expectPattern(data: Float32Array, type: string, window: { x: number; y: number; width: number; height: number }, bands: number[], size: { width: number; height: number }) {
  let mismatches = 0;
  let checked = 0;
  bands.forEach((b, bi) => {
    for (let y = 0; y < window.height; y++) {
      for (let x = 0; x < window.width; x++) {
        const gx = window.x + x;
        const gy = window.y + y;
        const v = data[bi * window.width * window.height + y * window.width + x];
        const inside = gx >= 0 && gy >= 0 && gx < size.width && gy < size.height;
        const expected = inside ? Math.fround(patternValue(type, b, gy, gx)) : NaN;
        checked++;
        if (!Object.is(v, expected)) mismatches++;
      }
    }
  });
  expect(checked).toBe(bands.length * window.width * window.height);
  expect(mismatches).toBe(0);
}

const LAYOUTS: Record<string, string[]> = {
  'tiled pixel-interleaved': ['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=16', 'INTERLEAVE=PIXEL', 'COMPRESS=DEFLATE'],
  'tiled band-interleaved': ['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=32', 'INTERLEAVE=BAND', 'COMPRESS=LZW'],
  'striped uncompressed': ['INTERLEAVE=PIXEL', 'BLOCKYSIZE=3'],
  'striped big-endian': ['INTERLEAVE=BAND', 'ENDIANNESS=BIG', 'BLOCKYSIZE=5'],
};

describe('openRaster: sample types and layouts', () => {
  const size = { width: 70, height: 45 };
  const fileFor = (type: string, layout: string) => path.join(tmp.dir, `${type}-${layout.replace(/\W+/g, '_')}.tif`);
  beforeAll(() => {
    makeRasters(SAMPLE_TYPES.flatMap((type) => Object.entries(LAYOUTS).map(([layout, co]) => ({ file: fileFor(type, layout), ...size, bands: 3, type, creationOptions: co }))));
  });
  for (const type of SAMPLE_TYPES) {
    for (const layout of Object.keys(LAYOUTS)) {
      it(`reads ${type} ${layout} exactly, across block edges and outside the raster`, async () => {
        const r = await openRaster(fileFor(type, layout));
        try {
          expect(r.info.sampleType).toBe(type);
          expect([r.info.width, r.info.height, r.info.bandCount]).toEqual([70, 45, 3]);
          expectPattern(await r.readWindow({ x: 0, y: 0, ...size }), type, { x: 0, y: 0, ...size }, [0, 1, 2], size);
          const w = { x: 13, y: 7, width: 40, height: 30 };
          expectPattern(await r.readWindow(w, [2, 0]), type, w, [2, 0], size);
          const edge = { x: 60, y: -4, width: 20, height: 10 };
          expectPattern(await r.readWindow(edge, [1]), type, edge, [1], size);
        } finally {
          await r.close();
        }
      });
    }
  }
});

describe('openRaster: big-endian files with large block tables', () => {
  it('reads the right tiles (geotiff.js alone decodes their lazily loaded offsets as little-endian)', async () => {
    const size = { width: 1200, height: 700 };
    const file = path.join(tmp.dir, 'big-endian-many-tiles.tif');
    makeRaster(file, { ...size, bands: 2, type: 'int16', creationOptions: ['ENDIANNESS=BIG', 'TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16', 'INTERLEAVE=BAND', 'COMPRESS=DEFLATE'] });
    const r = await openRaster(file);
    const w = { x: 1100, y: 600, width: 100, height: 100 };
    expectPattern(await r.readWindow(w), 'int16', w, [0, 1], size);
    await r.close();
  });
});

describe('openRaster: compressions and predictors', () => {
  const cases: Record<string, string[]> = {
    'DEFLATE + horizontal predictor': ['COMPRESS=DEFLATE', 'PREDICTOR=2', 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'],
    'LZW + floating-point predictor': ['COMPRESS=LZW', 'PREDICTOR=3', 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'],
    PACKBITS: ['COMPRESS=PACKBITS'],
    ZSTD: ['COMPRESS=ZSTD', 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'],
  };
  for (const [name, co] of Object.entries(cases)) {
    it(`reads ${name}`, async () => {
      const type = name.includes('floating') ? 'float32' : 'uint16';
      const size = { width: 50, height: 40 };
      const file = path.join(tmp.dir, `comp-${name.replace(/\W+/g, '_')}.tif`);
      makeRaster(file, { ...size, bands: 2, type, creationOptions: co });
      const r = await openRaster(file);
      expectPattern(await r.readWindow({ x: 0, y: 0, ...size }), type, { x: 0, y: 0, ...size }, [0, 1], size);
      await r.close();
    });
  }
});

describe('openRaster: shared datasets', () => {
  it('nc-landsat7: EPSG:3358, geotransform, nodata 0, band names and wavelengths from GDAL metadata, values as GDAL reads them', async () => {
    const file = sharedData('nc-landsat7', 'landsat7_2000.tif');
    const r = await openRaster(file);
    expect(r.info.crs?.epsg).toBe(3358);
    expect(r.info.crs?.proj4).toContain('+proj=lcc');
    expect(r.info.geoTransform).toEqual([630534, 28.5, 0, 228114, 0, -28.5]);
    expect(r.info.nodata).toBe(0);
    expect(r.info.bands.map((b) => b.wavelengthNm)).toEqual([485, 560, 660, 835, 1650, 2220]);
    expect(r.info.bands[0].name).toBe('B1 485nm');
    expect([r.info.blockWidth, r.info.blockHeight, r.info.compression]).toEqual([256, 256, 'DEFLATE']);
    const window = { x: 200, y: 150, width: 120, height: 130 };
    const ours = await r.readWindow(window, [3, 5]);
    const theirs = python<number[]>(
      `ds = gdal.Open(args['f'])\nw = args['w']\nout = [ds.GetRasterBand(b + 1).ReadAsArray(w['x'], w['y'], w['width'], w['height']).astype(float).ravel().tolist() for b in (3, 5)]\nprint(json.dumps(sum(out, [])))`,
      { f: file, w: window },
    );
    expect(Array.from(ours)).toEqual(theirs);
    await r.close();
  });

  it('sen1floods11 S1: EPSG:4326, NaN nodata and float32 values', async () => {
    const r = await openRaster(sharedData('sen1floods11-spain', 'S1Hand.tif'));
    expect(r.info.crs?.epsg).toBe(4326);
    expect(r.info.crs?.proj4).toBe('+proj=longlat +datum=WGS84 +no_defs');
    expect(Number.isNaN(r.info.nodata)).toBe(true);
    expect(r.info.sampleType).toBe('float32');
    const gt = r.info.geoTransform!;
    expect(gt[0]).toBeCloseTo(-0.7818936232976315, 12);
    expect(gt[3]).toBeCloseTo(38.12881257139627, 12);
    expect(gt[1]).toBeCloseTo(8.983152841195215e-5, 15);
    expect(r.info.bands.map((b) => b.name)).toEqual(['VV dB', 'VH dB']);
    await r.close();
  });

  it('eolearn-slovenia: EPSG:32633 with a derived UTM proj4, NaN nodata', async () => {
    const r = await openRaster(sharedData('eolearn-slovenia', 'reference_composite_ndvi.tif'));
    expect(r.info.crs?.epsg).toBe(32633);
    expect(r.info.crs?.proj4).toBe('+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs');
    expect(r.info.geoTransform?.[0]).toBeCloseTo(465181.0522318204, 6);
    expect(r.info.bandCount).toBe(13);
    await r.close();
  });

  it('salinas-a: 204 int16 bands without georeferencing; every value equals GDAL', async () => {
    const file = sharedData('salinas-a', 'salinasA_corrected.tif');
    const r = await openRaster(file);
    expect([r.info.bandCount, r.info.sampleType, r.info.crs, r.info.geoTransform]).toEqual([204, 'int16', undefined, undefined]);
    const ours = await r.readWindow({ x: 0, y: 0, width: 86, height: 83 });
    const gdalValues = readWithGdal(file);
    expect(ours.length).toBe(gdalValues.length);
    let diff = 0;
    for (let i = 0; i < ours.length; i++) if (ours[i] !== gdalValues[i]) diff++;
    expect(diff).toBe(0);
    await r.close();
  });

  it('samples: SIRGAS 2000 UTM 25S (EPSG:31985) and WGS 84 UTM 18N (EPSG:32618)', async () => {
    const l7 = await openRaster(sharedData('samples', 'L7_ETMs.tif'));
    expect(l7.info.crs?.epsg).toBe(31985);
    expect(l7.info.crs?.proj4).toBe('+proj=utm +zone=25 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs');
    const rgb = await openRaster(sharedData('samples', 'rasterio_RGB.byte.tif'));
    expect(rgb.info.crs?.epsg).toBe(32618);
    expect(rgb.info.compression).toBe('NONE');
    await Promise.all([l7.close(), rgb.close()]);
  });
});

describe('openRaster: band metadata', () => {
  it('takes band names from descriptions and wavelengths from per-band items in micrometres', async () => {
    const file = path.join(tmp.dir, 'meta.tif');
    makeRaster(file, { width: 8, height: 8, bands: 3, type: 'uint16' });
    python(`ds = gdal.Open(args['f'], gdal.GA_Update)
for i, (name, wl) in enumerate([('blue', 0.49), ('green', 0.56), ('nir', 0.842)]):
    b = ds.GetRasterBand(i + 1); b.SetDescription(name); b.SetMetadataItem('wavelength', str(wl)); b.SetMetadataItem('wavelength_units', 'micrometers')
ds = None
print('null')`, { f: file });
    const r = await openRaster(file);
    expect(r.info.bands.map((b) => [b.name, b.wavelengthNm])).toEqual([['blue', 490], ['green', 560], ['nir', 842]]);
    await r.close();
  });

  it('reads ENVI-style dataset lists (wavelength = {..}, band names)', async () => {
    const file = path.join(tmp.dir, 'envi.tif');
    makeRaster(file, { width: 8, height: 8, bands: 3, type: 'float32' });
    python(`ds = gdal.Open(args['f'], gdal.GA_Update)
ds.SetMetadataItem('wavelength', '{ 450.5, 550, 650 }')
ds.SetMetadataItem('wavelength_units', 'Nanometers')
ds.SetMetadataItem('band_names', '{ b1, b2, b3 }')
ds = None
print('null')`, { f: file });
    const r = await openRaster(file);
    expect(r.info.bands.map((b) => [b.name, b.wavelengthNm])).toEqual([['b1', 450.5], ['b2', 550], ['b3', 650]]);
    await r.close();
  });

  it('reports PixelIsPoint rasters with the half-pixel shift GDAL applies', async () => {
    const file = path.join(tmp.dir, 'point.tif');
    makeRaster(file, { width: 8, height: 8, bands: 1, type: 'uint8', epsg: 32633, geoTransform: [1000, 10, 0, 5000, 0, -10] });
    python(`ds = gdal.Open(args['f'], gdal.GA_Update)\nds.SetMetadataItem('AREA_OR_POINT', 'Point')\nds = None\nprint('null')`, { f: file });
    const gdalGt = JSON.parse(run('gdalinfo', ['-json', file])).geoTransform as number[];
    const r = await openRaster(file);
    expect(r.info.geoTransform).toEqual(gdalGt);
    await r.close();
  });
});

describe('openRaster: lossy and LERC encodings', () => {
  it('LERC (lossless, MAX_Z_ERROR=0) reads exactly', async () => {
    const file = path.join(tmp.dir, 'lerc.tif');
    run('gdal_translate', ['-q', '-co', 'COMPRESS=LERC', '-co', 'MAX_Z_ERROR=0', sharedData('eolearn-slovenia', 'dem.tif'), file]);
    const r = await openRaster(file);
    expect(r.info.compression).toBe('LERC');
    const ours = await r.readWindow({ x: 0, y: 0, width: r.info.width, height: r.info.height });
    expect(Array.from(ours)).toEqual(Array.from(readWithGdal(file), Math.fround));
    await r.close();
  });

  for (const photometric of ['RGB', 'YCBCR']) {
    it(`JPEG with ${photometric} colour reads as RGB close to GDAL's decoding`, async () => {
      const file = path.join(tmp.dir, `jpeg-${photometric}.tif`);
      run('gdal_translate', ['-q', '-co', 'COMPRESS=JPEG', '-co', `PHOTOMETRIC=${photometric}`, '-co', 'TILED=YES', sharedData('samples', 'rasterio_RGB.byte.tif'), file]);
      const r = await openRaster(file);
      const ours = await r.readWindow({ x: 0, y: 0, width: r.info.width, height: r.info.height });
      const gdal = readWithGdal(file);
      let sum = 0;
      for (let i = 0; i < ours.length; i++) sum += Math.abs(ours[i] - gdal[i]);
      // Decoders differ in chroma upsampling and IDCT rounding, so compare on average.
      expect(sum / ours.length).toBeLessThan(1);
      const green = await r.readWindow({ x: 300, y: 300, width: 50, height: 50 }, [1]);
      let g = 0;
      for (let y = 0; y < 50; y++) for (let x = 0; x < 50; x++) g += Math.abs(green[y * 50 + x] - gdal[r.info.width * r.info.height + (300 + y) * r.info.width + 300 + x]);
      expect(g / 2500).toBeLessThan(2);
      await r.close();
    });
  }
});

describe('readWindow into a caller buffer', () => {
  it('fills the buffer (or its prefix) with the same values as a fresh read, for chunky and planar files', async () => {
    const files = (['PIXEL', 'BAND'] as const).map((il) => path.join(tmp.dir, `out-buffer-${il}.tif`));
    makeRasters(files.map((file, i) => ({ file, width: 70, height: 50, bands: 4, type: 'uint16', creationOptions: ['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32', `INTERLEAVE=${['PIXEL', 'BAND'][i]}`] })));
    for (const file of files) {
      const r = await openRaster(file);
      try {
        const win = { x: 10, y: -4, width: 64, height: 40 };
        const fresh = await r.readWindow(win, [3, 1]);
        const buffer = new Float32Array(2 * 64 * 40 + 100).fill(7);
        const into = await r.readWindow(win, [3, 1], undefined, buffer);
        expect(into.buffer).toBe(buffer.buffer);
        expect(into.length).toBe(fresh.length);
        expect(Buffer.from(into.slice().buffer)).toEqual(Buffer.from(fresh.buffer));
        expect([...buffer.subarray(fresh.length)]).toEqual(new Array(100).fill(7));
        expectPattern(into, 'uint16', win, [3, 1], { width: 70, height: 50 });
        const exact = new Float32Array(fresh.length);
        expect(await r.readWindow(win, [3, 1], undefined, exact)).toBe(exact);
        await expect(r.readWindow(win, [3, 1], undefined, new Float32Array(10))).rejects.toThrow(`${file}: read buffer holds 10 values, the window needs ${fresh.length}`);
      } finally {
        await r.close();
      }
    }
  });
});
