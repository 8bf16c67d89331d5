import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { bandsWithoutData, openScene, type SensorBlock } from '../../../src-main/engine/scene/index';
import { makeRasters, tempDir } from '../raster/gdalTools';

const tmp = tempDir('fieldmoe-subset-');
afterAll(() => tmp.cleanup());

const FLOAT = path.join(tmp.dir, 'float.tif');
const INT = path.join(tmp.dir, 'int.tif');
const EMPTY = path.join(tmp.dir, 'empty-band.tif');
const tiled = ['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16'];
makeRasters([
  // Band 1 is NaN in a stripe; pixels in rows 0-1 are nodata in every band; band 4 is nodata alone in row 2.
  { file: FLOAT, width: 50, height: 40, bands: 5, type: 'float32', nodata: -1, creationOptions: [...tiled, 'INTERLEAVE=PIXEL'], edit: 'a[1, 10:14, :] = np.nan\na[:, 0:2, 5:9] = -1\na[4, 2, :] = -1' },
  { file: INT, width: 50, height: 40, bands: 3, type: 'int16', nodata: 0, creationOptions: [...tiled, 'INTERLEAVE=BAND'], edit: 'a[:, 5, :] = 0\na[1, 6, :] = 0' },
  // Band 3 holds NaN everywhere but one pixel in a corner; band 2 is NaN everywhere.
  { file: EMPTY, width: 70, height: 60, bands: 3, type: 'float32', creationOptions: tiled, edit: 'a[1] = np.nan\na[2] = np.nan\na[2, 59, 0] = 4' },
]);

function plane(block: SensorBlock, k: number): Float32Array {
  const n = block.width * block.height;
  return block.data.subarray(k * n, (k + 1) * n);
}

describe('Scene.readWindow with a band subset', () => {
  for (const [file, subset] of [[FLOAT, [4, 1]], [INT, [2, 0]]] as const) {
    it(`${path.basename(file)}: holds just the bands asked, in that order, with validity judged on them`, async () => {
      const scene = await openScene(file);
      try {
        const id = scene.info.sensors[0].id;
        // A window reaching past the raster's left and top edge: those pixels are NaN and invalid.
        const win = { x: -3, y: -2, width: 40, height: 30 };
        const all = (await scene.readWindow(win)).get(id)!;
        const part = (await scene.readWindow(win, { bands: new Map([[id, subset]]) })).get(id)!;
        expect([part.bands, part.data.length, part.bandIndices]).toEqual([2, 2 * 40 * 30, [...subset]]);
        expect(all.bandIndices).toBeUndefined();
        subset.forEach((b, k) => expect(Buffer.from(plane(part, k).slice().buffer)).toEqual(Buffer.from(plane(all, b).slice().buffer)));
        // The rule on the subset alone.
        const n = 40 * 30;
        const nodata = scene.info.sensors[0].raster.nodata!;
        for (let i = 0; i < n; i++) {
          const values = subset.map((_, k) => part.data[k * n + i]);
          const expected = values.some(Number.isNaN) || values.every((v) => v === nodata) ? 0 : 1;
          expect(part.valid[i]).toBe(expected);
        }
        const invalid = (v: Uint8Array) => v.length - v.reduce((a, x) => a + x, 0);
        expect(invalid(part.valid)).toBeGreaterThan(3 * 40 + 2 * 30);
        expect(invalid(all.valid)).toBeGreaterThan(3 * 40 + 2 * 30);
      } finally {
        await scene.close();
      }
    });
  }

  it('reuses the buffers of a block handed back, and reads the same values into them', async () => {
    const scene = await openScene(FLOAT);
    try {
      const id = scene.info.sensors[0].id;
      const first = await scene.readWindow({ x: 0, y: 0, width: 50, height: 16 });
      const old = first.get(id)!;
      const fresh = (await scene.readWindow({ x: 0, y: 16, width: 50, height: 16 })).get(id)!;
      const reused = (await scene.readWindow({ x: 0, y: 16, width: 50, height: 16 }, { reuse: first })).get(id)!;
      expect(reused.data).toBe(old.data);
      expect(reused.valid).toBe(old.valid);
      expect(Buffer.from(reused.data.buffer)).toEqual(Buffer.from(fresh.data.buffer));
      expect(Buffer.from(reused.valid)).toEqual(Buffer.from(fresh.valid));
      // A block of another size is not reused.
      const other = (await scene.readWindow({ x: 0, y: 32, width: 50, height: 8 }, { reuse: new Map([[id, reused]]) })).get(id)!;
      expect(other.data).not.toBe(reused.data);
      expect(other.data.length).toBe(5 * 50 * 8);
    } finally {
      await scene.close();
    }
  });

  it('rejects a band index the sensor does not have, naming the file', async () => {
    const scene = await openScene(INT);
    try {
      const id = scene.info.sensors[0].id;
      await expect(scene.readWindow({ x: 0, y: 0, width: 4, height: 4 }, { bands: new Map([[id, [0, 3]]]) })).rejects.toThrow(`${INT}: band index 3 out of range (sensor ${id} has 3 bands)`);
    } finally {
      await scene.close();
    }
  });
});

describe('bandsWithoutData', () => {
  it('finds the bands without a finite value, scanning past a decimated look that sees none', async () => {
    const scene = await openScene(EMPTY);
    try {
      const id = scene.info.sensors[0].id;
      expect(await bandsWithoutData(scene, id, [0, 1, 2])).toEqual([1]);
      expect(await bandsWithoutData(scene, id, [2, 0])).toEqual([]);
      expect(await bandsWithoutData(scene, id, [1], { grid: 2, sampleSize: 8, scanBudget: 70 * 7 })).toEqual([1]);
    } finally {
      await scene.close();
    }
  });

  it('costs nothing on integer rasters, which cannot hold NaN', async () => {
    const scene = await openScene(INT);
    try {
      expect(await bandsWithoutData(scene, scene.info.sensors[0].id, [0, 1, 2])).toEqual([]);
    } finally {
      await scene.close();
    }
  });
});
