import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabels } from '../../../src-main/engine/labels';
import { writeGeoTiff } from '../../../src-main/engine/raster';
import { pixelsByClass, tempDir } from './helpers';

const GRID = { width: 20, height: 17 };

async function labelRaster(dir: string, name: string, sampleType: 'uint8' | 'uint16' | 'int16' | 'float32', values: (x: number, y: number) => number, nodata?: number) {
  const data = new Float64Array(GRID.width * GRID.height);
  for (let y = 0; y < GRID.height; y++) for (let x = 0; x < GRID.width; x++) data[y * GRID.width + x] = values(x, y);
  const file = path.join(dir, name);
  await writeGeoTiff(file, { ...GRID, sampleType, nodata, tileSize: 16 }, data);
  return file;
}

describe('label rasters', () => {
  it('reads labelled pixels (0 and nodata unlabelled) with ids as classes when there is no classes.json', async () => {
    const file = await labelRaster(tempDir(), 'labels.tif', 'uint16', (x, y) => (y === 16 ? 300 : x < 3 ? 0 : x === 19 ? 999 : x < 10 ? 4 : 1), 999);
    const set = await loadLabels(file, GRID);
    expect(set.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'class 1'],
      [4, 'class 4'],
      [300, 'class 300'],
    ]);
    expect(set.classCounts).toEqual([9 * 16, 7 * 16, 20]);
    expect(set.featureId.every((f) => f === -1)).toBe(true);
    // Sorted row-major, so the last row (value 300, across tile borders) comes last.
    expect(pixelsByClass(set).get('class 300')).toEqual(Array.from({ length: 20 }, (_, x) => `${x},16`));
  });

  it('names classes from classes.json beside the raster and warns about undeclared values', async () => {
    const dir = tempDir();
    const file = await labelRaster(dir, 'lulc.tif', 'uint8', (x) => (x < 10 ? 1 : 2));
    writeFileSync(path.join(dir, 'classes.json'), JSON.stringify([{ id: 1, name: 'forest' }]));
    const set = await loadLabels(file, GRID);
    expect(set.classes.map((c) => c.name)).toEqual(['forest', 'class 2']);
    expect(set.warnings).toEqual(['classes not in classes.json were added: 2']);
  });

  it('warns where a declared class is the nodata value, and about negative values, both read as unlabelled', async () => {
    const dir = tempDir();
    const file = await labelRaster(dir, 'lc.tif', 'int16', (x) => (x < 5 ? -2 : x < 12 ? 1 : 3), 3);
    writeFileSync(path.join(dir, 'classes.json'), JSON.stringify([{ id: 1, name: 'forest' }, { id: 3, name: 'herbaceous' }]));
    const set = await loadLabels(file, GRID);
    expect(set.classCounts).toEqual([7 * 17, 0]);
    expect(set.warnings).toEqual([
      "class 3 (herbaceous) is also the raster's nodata value, so its pixels read as unlabelled; set another nodata value (gdal_edit.py -a_nodata 0)",
      `${5 * 17} pixels hold negative values, which are no class id, and read as unlabelled`,
    ]);
  });

  it('rejects float rasters and rasters off the scene grid with one line naming the file', async () => {
    const dir = tempDir();
    const float = await labelRaster(dir, 'prob.tif', 'float32', () => 0.5);
    await expect(loadLabels(float, GRID)).rejects.toThrow(new RegExp(`^${float}: label rasters hold integer class ids, this one is float32$`));
    const ok = await labelRaster(dir, 'ok.tif', 'uint8', () => 1);
    await expect(loadLabels(ok, { width: 21, height: 17 })).rejects.toThrow(/is 20x17 px but the scene grid is 21x17/);
    await expect(loadLabels(ok, { ...GRID, geoTransform: [0, 1, 0, 0, 0, -1] })).rejects.toThrow(/ok\.tif: is not georeferenced but the scene is/);
    // georeferenced on the scene's numbers: refused in another CRS (another place), read in the scene's
    const placed = (epsg: number) => {
      const out = path.join(dir, `ok-${epsg}.tif`);
      execFileSync('gdal_translate', ['-q', '-a_srs', `EPSG:${epsg}`, '-a_ullr', '0', '17', '20', '0', ok, out]);
      return out;
    };
    const grid = { ...GRID, geoTransform: [0, 1, 0, 17, 0, -1] as [number, number, number, number, number, number], crs: { epsg: 32617 } };
    await expect(loadLabels(placed(4326), grid)).rejects.toThrow(/ok-4326\.tif: is in EPSG:4326 but the scene is in EPSG:32617/);
    expect((await loadLabels(placed(32617), grid)).x.length).toBe(20 * 17);
    // a crop of the scene grid is placed by its offset (here 5 columns in; 5 columns beyond the scene are ignored)
    const shifted = await loadLabels(placed(32617), { ...grid, geoTransform: [-5, 1, 0, 17, 0, -1] });
    expect(shifted.x.length).toBe(15 * 17);
    expect(Math.min(...shifted.x)).toBe(5);
    const off = (gt: number[]) => loadLabels(placed(32617), { ...grid, geoTransform: gt as typeof grid.geoTransform });
    await expect(off([0.5, 1, 0, 17, 0, -1])).rejects.toThrow(/is not on the scene grid \(shifted by a fraction of a pixel: -0\.500, 0\.000\)/);
    await expect(off([0, 2, 0, 17, 0, -2])).rejects.toThrow(/is not on the scene grid \(pixel size 1 x -1, the scene's 2 x -2\)/);
    await expect(off([0, 1, 0, 0, 0, -1])).rejects.toThrow(/lies on the scene grid but outside the scene/);
    const empty = await labelRaster(dir, 'empty.tif', 'uint8', () => 0);
    await expect(loadLabels(empty, GRID)).rejects.toThrow(/no labelled pixels fall on the scene grid/);
  });
});
