import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLabels, splitLabels, type LabelSet } from '../../../src-main/engine/labels';
import { openRaster } from '../../../src-main/engine/raster';
import { openScene, type Scene, type SceneInfo } from '../../../src-main/engine/scene';
import { sharedData } from '../../helpers/paths';

const nc = (f: string) => sharedData('nc-landsat7', f);
let scene: Scene;
let grid: SceneInfo;
let tmp: string;

beforeAll(async () => {
  scene = await openScene(nc('sensors.json'));
  grid = scene.info;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-nc-labels-'));
});
afterAll(async () => {
  await scene?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Map "x,y" -> class name. */
function pixelMap(set: LabelSet): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < set.x.length; i++) m.set(`${set.x[i]},${set.y[i]}`, set.classes[set.classIndex[i]].name);
  return m;
}

/** gdal_rasterize of `vector` (attribute class_id) onto the scene grid, as "x,y" -> class id. */
async function gdalRasterize(vector: string): Promise<Map<string, number>> {
  const [ox, px, , oy, , py] = grid.geoTransform!;
  const out = path.join(tmp, `${path.basename(vector)}.tif`);
  const te = [ox, oy + py * grid.height, ox + px * grid.width, oy].map(String);
  execFileSync('gdal_rasterize', ['-q', '-a', 'class_id', '-te', ...te, '-ts', String(grid.width), String(grid.height), '-ot', 'Byte', vector, out]);
  const r = await openRaster(out);
  const data = await r.readWindow({ x: 0, y: 0, width: grid.width, height: grid.height });
  await r.close();
  const m = new Map<string, number>();
  data.forEach((v, i) => v > 0 && m.set(`${i % grid.width},${Math.floor(i / grid.width)}`, v));
  return m;
}

const ogr2ogr = (...args: string[]) => execFileSync('ogr2ogr', ['-q', ...args]);

describe('nc-landsat7 labels on the Landsat scene grid', () => {
  it('reads labels.tif with the class counts of the data README and names from classes.json', async () => {
    const set = await loadLabels(nc('labels.tif'), grid);
    expect(set.kind).toBe('raster');
    expect(set.classes.map((c) => `${c.id}:${c.name}`)).toEqual(['1:developed', '2:agriculture', '3:herbaceous', '4:shrubland', '5:forest', '6:water', '7:sediment']);
    expect(set.classCounts).toEqual([427, 65, 609, 290, 939, 433, 109]);
    expect(set.featureCount).toBe(0);
    expect(set.warnings).toEqual([]);
  });

  it('rasterises polygons.geojson exactly like gdal_rasterize, inside the labels.tif pixels of the same class', async () => {
    const set = await loadLabels(nc('polygons.geojson'), grid);
    expect(set.kind).toBe('polygons');
    expect(set.featureCount).toBe(34);
    const ours = pixelMap(set);
    const gdal = await gdalRasterize(nc('polygons.geojson'));
    expect(ours.size).toBe(gdal.size);
    const nameOf = new Map(set.classes.map((c) => [c.id, c.name]));
    for (const [k, id] of gdal) expect(ours.get(k)).toBe(nameOf.get(id));
    const raster = pixelMap(await loadLabels(nc('labels.tif'), grid));
    for (const [k, name] of ours) expect(raster.get(k)).toBe(name);
  });

  it('puts points.geojson on the pixels gdal_rasterize burns, dropping only conflicting pixels', async () => {
    const set = await loadLabels(nc('points.geojson'), grid);
    expect(set.kind).toBe('points');
    const gdal = await gdalRasterize(nc('points.geojson'));
    const ours = pixelMap(set);
    const nameOf = new Map(set.classes.map((c) => [c.id, c.name]));
    for (const [k, name] of ours) expect(nameOf.get(gdal.get(k)!)).toBe(name);
    const conflicts = Number(/(\d+) pixels were labelled with different classes/.exec(set.warnings.join(' '))?.[1] ?? 0);
    expect(ours.size + conflicts).toBe(gdal.size);
    // Points outside the raster extent (the README's caveat) are reported, not silently lost.
    const doc = JSON.parse(readFileSync(nc('points.geojson'), 'utf8'));
    const [ox, px, , oy, , py] = grid.geoTransform!;
    const outside = doc.features.filter((f: { geometry: { coordinates: number[] } }) => {
      const [x, y] = f.geometry.coordinates;
      const c = (x - ox) / px;
      const r = (y - oy) / py;
      return c < 0 || r < 0 || c >= grid.width || r >= grid.height;
    }).length;
    expect(outside).toBeGreaterThan(0);
    expect(set.warnings.join(' ')).toContain(`${outside} of 1000 features cover no pixel`);
  });

  it('reads a shapefile made by ogr2ogr from polygons.geojson back to the same pixels and features', async () => {
    const shp = path.join(tmp, 'polygons.shp');
    ogr2ogr('-f', 'ESRI Shapefile', shp, nc('polygons.geojson'));
    const fromShp = await loadLabels(shp, grid);
    const fromGeoJson = await loadLabels(nc('polygons.geojson'), grid);
    expect(pixelMap(fromShp)).toEqual(pixelMap(fromGeoJson));
    expect(Array.from(fromShp.featureId)).toEqual(Array.from(fromGeoJson.featureId));
    expect(fromShp.warnings).toEqual(fromGeoJson.warnings);
  });

  it('rasterises polygons reprojected to EPSG:4326 by ogr2ogr to nearly the same pixels', async () => {
    const lonlat = path.join(tmp, 'polygons_4326.geojson');
    ogr2ogr('-f', 'GeoJSON', '-t_srs', 'EPSG:4326', lonlat, nc('polygons.geojson'));
    const reprojected = pixelMap(await loadLabels(lonlat, grid));
    const original = pixelMap(await loadLabels(nc('polygons.geojson'), grid));
    let same = 0;
    for (const [k, name] of reprojected) if (original.get(k) === name) same++;
    const union = reprojected.size + original.size - same;
    expect(same / union).toBeGreaterThan(0.97);
    expect(reprojected.size).toBeGreaterThan(0.97 * original.size);
    // A lon/lat shapefile (.prj in WKT) gives the same pixels as the lon/lat GeoJSON.
    const shp = path.join(tmp, 'polygons_4326.shp');
    ogr2ogr('-f', 'ESRI Shapefile', shp, lonlat);
    expect(pixelMap(await loadLabels(shp, grid))).toEqual(reprojected);
  });

  it('splits real polygons by feature and the label raster by block, with the buffer respected', async () => {
    for (const [file, by] of [
      ['polygons.geojson', 'feature'],
      ['labels.tif', 'block'],
    ] as const) {
      const set = await loadLabels(nc(file), grid);
      const s = splitLabels(set, { seed: 42, blockSize: 32, bufferPixels: 3 });
      expect(s.by).toBe(by);
      const val = new Set(Array.from(s.val, (i) => `${set.x[i]},${set.y[i]}`));
      for (const i of s.train) {
        for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) if (dx * dx + dy * dy <= 9) expect(val.has(`${set.x[i] + dx},${set.y[i] + dy}`)).toBe(false);
      }
      expect(s.val.length / set.x.length).toBeGreaterThan(0.1);
      expect(s.val.length / set.x.length).toBeLessThan(0.45);
      // Agriculture (index 1) is a single polygon (and one 32-px block of the raster), so it
      // cannot be in both parts without splitting a group; every other class is in both.
      expect(s.missingInTrain).toEqual([]);
      expect(s.missingInVal).toEqual([1]);
      expect(s.warnings).toEqual([`no validation pixels for: agriculture (each lies in a single ${by})`]);
    }
  });

  it('places a label raster cropped from the scene grid by its offset', async () => {
    const crop = path.join(tmp, 'labels_crop.tif');
    execFileSync('gdal_translate', ['-q', '-srcwin', '100', '50', '200', '150', nc('labels.tif'), crop]);
    const [whole, part] = [await loadLabels(nc('labels.tif'), grid), await loadLabels(crop, grid, { classesFile: nc('classes.json') })];
    const inside = (x: number, y: number) => x >= 100 && x < 300 && y >= 50 && y < 200;
    const expected = [...pixelMap(whole)].filter(([k]) => inside(...(k.split(',').map(Number) as [number, number])));
    expect(expected.length).toBeGreaterThan(100);
    expect([...pixelMap(part)].sort()).toEqual(expected.sort());
  });

  it('fails with one line naming the file for malformed GeoJSON, unknown class property, missing .dbf and an off-grid raster', async () => {
    const broken = path.join(tmp, 'broken.geojson');
    writeFileSync(broken, readFileSync(nc('polygons.geojson'), 'utf8').slice(0, 2000));
    const shpDir = mkdtempSync(path.join(tmp, 'nodbf-'));
    ogr2ogr('-f', 'ESRI Shapefile', path.join(shpDir, 'p.shp'), nc('polygons.geojson'));
    rmSync(path.join(shpDir, 'p.dbf'));
    const offGrid = path.join(tmp, 'labels_other.tif');
    copyFileSync(sharedData('sen1floods11-spain', 'labels.tif'), offGrid);
    const cases: [string, RegExp, string?][] = [
      [broken, /not valid GeoJSON/],
      [nc('polygons.geojson'), /class property 'landcover' not found in feature 0 \(properties: label, class_id\)/, 'landcover'],
      [path.join(shpDir, 'p.shp'), /\.dbf beside it is missing/],
      [offGrid, /is in EPSG:4326 but the scene is in EPSG:3358/],
    ];
    for (const [file, problem, classProperty] of cases) {
      const err = await loadLabels(file, grid, { classProperty }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).toBe('FieldMoeError');
      expect(err!.message.startsWith(file)).toBe(true);
      expect(err!.message).not.toContain('\n');
      expect(err!.message).toMatch(problem);
    }
  });
});
