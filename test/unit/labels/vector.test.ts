import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import { loadLabels } from '../../../src-main/engine/labels';
import { FIXTURES, UTM_GRID, pixelsByClass, rectPixels, tempDir } from './helpers';

const shapes = (f: string) => path.join(FIXTURES, 'shapes', f);

/** Water: 10 x 10 px minus a 2 x 2 hole; forêt: 5 x 5 px; urban: 3 points. */
const WATER = rectPixels(0, 0, 10, 10).filter((p) => !['4,4', '5,4', '4,5', '5,5'].includes(p));
const FORET = rectPixels(20, 0, 5, 5);
const URBAN = ['30,0', '31,1', '40,0'];

function writeJson(dir: string, name: string, doc: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

async function expectOneLineError(promise: Promise<unknown>, file: string, problem: RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err, 'expected an error').toBeInstanceOf(Error);
  expect(err!.name).toBe('FieldMoeError');
  expect(err!.message.startsWith(file)).toBe(true);
  expect(err!.message).not.toContain('\n');
  expect(err!.message).toMatch(problem);
}

describe('GeoJSON labels', () => {
  it('rasterises polygons with holes onto the grid, one feature id per polygon', async () => {
    const set = await loadLabels(shapes('polygons.geojson'), UTM_GRID, { classProperty: 'klasse' });
    expect(set.kind).toBe('polygons');
    expect(set.classes.map((c) => c.name)).toEqual(['forêt', 'water']);
    const px = pixelsByClass(set);
    expect(px.get('water')!.sort()).toEqual(WATER.sort());
    expect(px.get('forêt')!.sort()).toEqual(FORET.sort());
    expect(set.featureCount).toBe(2);
    for (let i = 0; i < set.x.length; i++) expect(set.featureId[i]).toBe(set.classes[set.classIndex[i]].name === 'water' ? 0 : 1);
    expect(set.classCounts).toEqual([25, 96]);
  });

  it('reads points and multipoints, optionally with a disk buffer', async () => {
    const set = await loadLabels(shapes('points.geojson'), UTM_GRID, { classProperty: 'klasse' });
    expect(set.kind).toBe('points');
    expect(pixelsByClass(set).get('urban')!.sort()).toEqual([...URBAN].sort());
    const buffered = await loadLabels(shapes('points.geojson'), UTM_GRID, { classProperty: 'klasse', pointRadius: 1 });
    // (30,0) and (40,0) lose the row above the grid; (31,1) overlaps (30,0)'s disk at the same class.
    expect(buffered.x.length).toBe(4 + 5 + 4 - 2);
  });

  it('takes ids from a numeric property and names from classes.json beside the file', async () => {
    const dir = tempDir();
    copyFileSync(shapes('polygons.geojson'), path.join(dir, 'labels.geojson'));
    writeJson(dir, 'classes.json', [{ id: 1, name: 'Forest', color: '#00ff00' }, { id: 2, name: 'Water' }, { id: 3, name: 'Urban' }]);
    const set = await loadLabels(path.join(dir, 'labels.geojson'), UTM_GRID, { classProperty: 'code' });
    expect(set.classes.map((c) => [c.id, c.name])).toEqual([
      [1, 'Forest'],
      [2, 'Water'],
      [3, 'Urban'],
    ]);
    expect(set.classes[0].color).toEqual([0, 255, 0]);
    expect(set.classCounts).toEqual([25, 96, 0]);
  });

  it('reprojects lon/lat GeoJSON without a crs member (RFC 7946) onto a projected grid', async () => {
    const utm = proj4('+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs', 'EPSG:4326');
    const centre = (x: number, y: number) => utm.forward([1000 + 10 * (x + 0.5), 2000 - 10 * (y + 0.5)]);
    const dir = tempDir();
    const file = writeJson(dir, 'lonlat.geojson', {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { class: 'a' }, geometry: { type: 'Point', coordinates: centre(7, 3) } },
        { type: 'Feature', properties: { class: 'b' }, geometry: { type: 'Point', coordinates: centre(49, 19) } },
      ],
    });
    const set = await loadLabels(file, UTM_GRID);
    expect(pixelsByClass(set)).toEqual(new Map([['a', ['7,3']], ['b', ['49,19']]]));
  });

  it('reads pixel coordinates (column, row) on an ungeoreferenced grid', async () => {
    const file = writeJson(tempDir(), 'px.geojson', {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { class: 'a' }, geometry: { type: 'Polygon', coordinates: [[[2, 1], [4, 1], [4, 3], [2, 3], [2, 1]]] } }],
    });
    const set = await loadLabels(file, { width: 10, height: 10 });
    expect(pixelsByClass(set).get('a')!.sort()).toEqual(rectPixels(2, 1, 2, 2).sort());
    const georef = writeJson(tempDir(), 'georef.geojson', { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:32633' } }, features: [] });
    await expectOneLineError(loadLabels(georef, { width: 10, height: 10 }), georef, /has no features/);
  });

  it('drops pixels claimed by overlapping features of different classes, with a warning', async () => {
    const square = (x0: number) => [[[x0, 0], [x0 + 4, 0], [x0 + 4, 4], [x0, 4], [x0, 0]]];
    const file = writeJson(tempDir(), 'overlap.geojson', {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { class: 'a' }, geometry: { type: 'Polygon', coordinates: square(0) } },
        { type: 'Feature', properties: { class: 'b' }, geometry: { type: 'Polygon', coordinates: square(2) } },
        { type: 'Feature', properties: { class: 'a' }, geometry: { type: 'Polygon', coordinates: square(1) } },
      ],
    });
    const set = await loadLabels(file, { width: 10, height: 10 });
    // a covers columns 0-4, b columns 2-5: columns 2-4 are ambiguous.
    expect(set.classCounts).toEqual([2 * 4, 1 * 4]);
    expect(set.warnings.join(' ')).toMatch(/12 pixels were labelled with different classes/);
  });

  it('says which class property it took where a better one was passed over or a generic one chosen', async () => {
    const dir = tempDir();
    const at = (x: number) => ({ type: 'Polygon', coordinates: [[[x, 0], [x + 2, 0], [x + 2, 2], [x, 2], [x, 0]]] });
    const layer = (props: object[]) => ({ type: 'FeatureCollection', features: props.map((p, i) => ({ type: 'Feature', properties: p, geometry: at(3 * i) })) });
    // 'label' on one feature of two: classes come from class_id, and the warning says why
    const partial = await loadLabels(writeJson(dir, 'partial.geojson', layer([{ class_id: 1 }, { class_id: 2, label: 'b' }])), { width: 10, height: 10 });
    expect(partial.classes.map((c) => c.id)).toEqual([1, 2]);
    expect(partial.warnings).toContain("property 'label' is missing from 1 of 2 features, so classes come from 'class_id'; name the class property with --class-property");
    // a land-cover property is a candidate before a feature id
    const named = await loadLabels(writeJson(dir, 'landcover.geojson', layer([{ id: 7, landcover: 'forest' }, { id: 8, landcover: 'water' }])), { width: 10, height: 10 });
    expect(named.classes.map((c) => c.name)).toEqual(['forest', 'water']);
    expect(named.warnings).toEqual([]);
    const generic = await loadLabels(writeJson(dir, 'ids.geojson', layer([{ id: 7, kind: 'forest' }, { id: 8, kind: 'water' }])), { width: 10, height: 10 });
    expect(generic.warnings.join(' ')).toMatch(/classes come from property 'id', which may number the features/);
  });

  it('fails with one line naming the file for bad input', async () => {
    const dir = tempDir();
    const feature = (props: object, geometry: object) => ({ type: 'Feature', properties: props, geometry });
    const pt = { type: 'Point', coordinates: [1005, 1995] };
    const cases: [string, unknown, RegExp, string?][] = [
      ['broken.geojson', '{"type": "FeatureCollection", "features": [', /not valid GeoJSON/],
      ['notfc.geojson', { type: 'Topology' }, /not a GeoJSON FeatureCollection/],
      ['noclass.geojson', { type: 'FeatureCollection', features: [feature({ colour: 'red' }, pt)] }, /no class property found.*properties: colour/],
      // the properties of every feature are listed, not only the first's
      ['someclass.geojson', { type: 'FeatureCollection', features: [feature({}, pt), feature({ label: 'x' }, pt)] }, /no class property found in every feature.*properties: label\)/],
      ['unknownprop.geojson', { type: 'FeatureCollection', features: [feature({ label: 'x' }, pt)] }, /class property 'klass' not found in feature 0/, 'klass'],
      ['line.geojson', { type: 'FeatureCollection', features: [feature({ label: 'x' }, { type: 'LineString', coordinates: [[0, 0], [1, 1]] })] }, /feature 0: geometry type LineString is not supported/],
      ['badcoords.geojson', { type: 'FeatureCollection', features: [feature({ label: 'x' }, { type: 'Point', coordinates: ['a'] })] }, /feature 0: malformed coordinates/],
      ['nullclass.geojson', { type: 'FeatureCollection', features: [feature({ label: null }, pt)] }, /feature 0 has no usable class in 'label'/],
      ['unknowncrs.geojson', { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2056' } }, features: [feature({ label: 'x' }, pt)] }, /labels CRS EPSG:2056 is not known offline/],
    ];
    for (const [name, doc, problem, classProperty] of cases) {
      const file = writeJson(dir, name, doc);
      await expectOneLineError(loadLabels(file, UTM_GRID, { classProperty }), file, problem);
    }
    const missing = path.join(dir, 'missing.geojson');
    await expectOneLineError(loadLabels(missing, UTM_GRID), missing, /file not found/);
    const csv = writeJson(dir, 'labels.csv', 'x,y,class');
    await expectOneLineError(loadLabels(csv, UTM_GRID), csv, /unsupported labels format/);
    const outside = writeJson(dir, 'outside.geojson', { type: 'FeatureCollection', features: [feature({ label: 'x' }, { type: 'Point', coordinates: [99999, 99999] })] });
    await expectOneLineError(loadLabels(outside, UTM_GRID), outside, /no labelled pixels fall on the scene grid/);
  });
});

describe('shapefile labels', () => {
  it('reads PolygonZ with holes (dbf attributes in UTF-8, CRS from the .prj) to the same pixels as the GeoJSON', async () => {
    const shp = await loadLabels(shapes('polygons_z.shp'), UTM_GRID, { classProperty: 'klasse' });
    const geo = await loadLabels(shapes('polygons.geojson'), UTM_GRID, { classProperty: 'klasse' });
    expect(shp.classes.map((c) => c.name)).toEqual(['forêt', 'water']);
    expect(pixelsByClass(shp)).toEqual(pixelsByClass(geo));
    expect(Array.from(shp.featureId)).toEqual(Array.from(geo.featureId));
    expect(shp.warnings).toEqual([]);
  });

  it('reads MultiPointM and Point shapefiles', async () => {
    const multi = await loadLabels(shapes('multipoints_m.shp'), UTM_GRID, { classProperty: 'klasse' });
    expect(pixelsByClass(multi).get('urban')!.sort()).toEqual([...URBAN].sort());
    expect(multi.featureCount).toBe(2);
    const points = await loadLabels(shapes('points.shp'), UTM_GRID, { classProperty: 'code' });
    expect(points.x.length).toBe(3);
    expect(points.featureCount).toBe(3);
    expect(points.classes.map((c) => c.name)).toEqual(['class 3']);
  });

  it('needs the .dbf, tolerates a missing .shx and assumes the scene CRS without a .prj', async () => {
    const dir = tempDir();
    const copy = (exts: string[]) => exts.forEach((e) => copyFileSync(shapes(`polygons_z${e}`), path.join(dir, `p${e}`)));
    copy(['.shp', '.shx', '.prj']);
    const shp = path.join(dir, 'p.shp');
    await expectOneLineError(loadLabels(shp, UTM_GRID), shp, /\.dbf beside it is missing/);
    const dir2 = tempDir();
    copyFileSync(shapes('polygons_z.shp'), path.join(dir2, 'q.shp'));
    copyFileSync(shapes('polygons_z.dbf'), path.join(dir2, 'q.dbf'));
    copyFileSync(shapes('polygons_z.cpg'), path.join(dir2, 'q.cpg'));
    const set = await loadLabels(path.join(dir2, 'q.shp'), UTM_GRID, { classProperty: 'klasse' });
    expect(set.classCounts).toEqual([25, 96]);
    expect(set.warnings.join(' ')).toMatch(/no \.prj; coordinates are taken to be in the scene CRS/);
  });

  it('rejects a file that is not a shapefile', async () => {
    const dir = tempDir();
    const shp = writeJson(dir, 'fake.shp', 'hello world, not a shapefile at all'.repeat(5));
    copyFileSync(shapes('polygons_z.dbf'), path.join(dir, 'fake.dbf'));
    await expectOneLineError(loadLabels(shp, UTM_GRID), shp, /not an ESRI shapefile/);
  });
});
