import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openRaster } from '../../../src-main/engine/raster/reader';
import { CancelledError, FieldMoeError } from '../../../src-main/engine/util/errors';
import { encodeHeader, encodeIfd, FIELD_TYPE, tiffFlavour } from '../../../src-main/engine/raster/tiffEncoder';
import { sharedData } from '../../helpers/paths';
import { makeRaster, run, tempDir } from './gdalTools';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Expects a one-line FieldMoeError that names the file and matches the problem. */
async function expectRasterError(action: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  const err = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FieldMoeError);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message).toMatch(problem);
  expect(message).not.toContain('\n');
}

const source = () => sharedData('nc-landsat7', 'landsat7_2000.tif');

describe('openRaster: bad input gives one clear line naming the file', () => {
  it('missing file', async () => {
    const file = path.join(tmp.dir, 'nope.tif');
    await expectRasterError(openRaster(file), file, /file not found/);
  });

  it('a folder', async () => {
    const dir = path.join(tmp.dir, 'folder.tif');
    mkdirSync(dir);
    await expectRasterError(openRaster(dir), dir, /is a folder/);
  });

  it('empty file', async () => {
    const file = path.join(tmp.dir, 'empty.tif');
    writeFileSync(file, '');
    await expectRasterError(openRaster(file), file, /empty file/);
  });

  it('not a TIFF at all', async () => {
    const file = path.join(tmp.dir, 'text.tif');
    writeFileSync(file, 'this is a text file, not an image\n'.repeat(20));
    await expectRasterError(openRaster(file), file, /not a TIFF file; FieldMoE reads GeoTIFF rasters/);
    const npy = sharedData('houston2013-pixels', 'y_train.npy');
    await expectRasterError(openRaster(npy), npy, /not a TIFF file/);
  });

  it('truncated in the pixel data', async () => {
    const file = path.join(tmp.dir, 'truncated.tif');
    const bytes = readFileSync(source());
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRasterError(openRaster(file), file, /truncated TIFF/);
  });

  it('truncated inside the header', async () => {
    const file = path.join(tmp.dir, 'truncated-header.tif');
    writeFileSync(file, readFileSync(source()).subarray(0, 60));
    await expectRasterError(openRaster(file), file, /corrupt|truncated|not a readable/);
  });

  it('corrupt compressed tile data fails on read, naming the file', async () => {
    const file = path.join(tmp.dir, 'corrupt-tile.tif');
    const bytes = Buffer.from(readFileSync(source()));
    // Overwrite the start of the first tile's DEFLATE stream (tile offsets start at 1130, see gdalinfo).
    bytes.fill(0xff, 1130, 1130 + 400);
    writeFileSync(file, bytes);
    const r = await openRaster(file);
    await expectRasterError(r.readWindow({ x: 0, y: 0, width: 64, height: 64 }), file, /could not read pixels/);
    await r.close();
  });

  for (const compression of ['LZMA', 'WEBP']) {
    it(`unsupported compression ${compression} is named with the fix`, async () => {
      const file = path.join(tmp.dir, `${compression}.tif`);
      makeRaster(file, { width: 32, height: 32, bands: 3, type: 'uint8', creationOptions: [`COMPRESS=${compression}`] });
      expect(run('gdalinfo', [file])).toContain(`COMPRESSION=${compression}`);
      await expectRasterError(openRaster(file), file, new RegExp(`${compression} compression.*gdal_translate -co COMPRESS=DEFLATE`));
    });
  }

  it('zero-size raster (crafted header with width 0)', async () => {
    const file = path.join(tmp.dir, 'zero.tif');
    const f = tiffFlavour(false);
    const { SHORT, LONG } = FIELD_TYPE;
    const ifd = encodeIfd(
      f,
      [
        { tag: 256, type: LONG, values: [0] },
        { tag: 257, type: LONG, values: [10] },
        { tag: 258, type: SHORT, values: [8] },
        { tag: 259, type: SHORT, values: [1] },
        { tag: 262, type: SHORT, values: [1] },
        { tag: 273, type: LONG, values: [8] },
        { tag: 277, type: SHORT, values: [1] },
        { tag: 278, type: LONG, values: [10] },
        { tag: 279, type: LONG, values: [0] },
      ],
      8,
    );
    writeFileSync(file, Buffer.concat([encodeHeader(f, 8), ifd]));
    await expectRasterError(openRaster(file), file, /zero-size raster \(0 x 10/);
  });

  it('1-bit, 12-bit and complex sample types are refused with the conversion to make', async () => {
    const bit = path.join(tmp.dir, 'onebit.tif');
    makeRaster(bit, { width: 16, height: 16, bands: 1, type: 'uint8', creationOptions: ['NBITS=1'], edit: 'a = a % 2' });
    await expectRasterError(openRaster(bit), bit, /unsupported sample type \(1-bit unsigned integer\); convert it with gdal_translate -ot Byte/);
    const twelve = path.join(tmp.dir, 'twelvebit.tif');
    makeRaster(twelve, { width: 16, height: 16, bands: 1, type: 'uint16', creationOptions: ['NBITS=12'] });
    await expectRasterError(openRaster(twelve), twelve, /unsupported sample type \(12-bit unsigned integer\); convert it with gdal_translate -ot UInt16/);
    const complex = path.join(tmp.dir, 'complex.tif');
    run('gdal_translate', ['-q', '-ot', 'CInt16', source(), complex]);
    await expectRasterError(openRaster(complex), complex, /unsupported sample type \(32-bit complex integer\); convert the values you need to real bands first/);
  });

  it('a cancelled read throws CancelledError; fractional windows are refused', async () => {
    const r = await openRaster(source());
    const controller = new AbortController();
    controller.abort();
    await expect(r.readWindow({ x: 0, y: 0, width: 300, height: 300 }, undefined, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    await expectRasterError(r.readWindow({ x: 0.5, y: 0, width: 4, height: 4 }), source(), /invalid read window/);
    await r.close();
  });

  it('band indices out of range', async () => {
    const file = path.join(tmp.dir, 'copy.tif');
    copyFileSync(source(), file);
    const r = await openRaster(file);
    await expectRasterError(r.readWindow({ x: 0, y: 0, width: 4, height: 4 }, [6]), file, /band index 6 out of range/);
    await r.close();
  });
});
