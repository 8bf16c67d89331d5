import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openScene, sceneStats, suggestFailures } from '../../../src-main/engine/scene/index';
import { FieldMoeError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { makeRaster, tempDir, writeJson } from '../raster/gdalTools';

const tmp = tempDir('fieldmoe-scene-bad-');
afterAll(() => tmp.cleanup());

async function expectSceneError(spec: Parameters<typeof openScene>[0], subject: string, problem: RegExp, options?: Parameters<typeof openScene>[1]): Promise<void> {
  const err = await openScene(spec, options).then(
    (s) => s.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FieldMoeError);
  const msg = (err as Error).message;
  expect(msg).toContain(subject);
  expect(msg).toMatch(problem);
  expect(msg).not.toContain('\n');
}

let n = 0;
function manifest(content: unknown): string {
  const file = path.join(tmp.dir, `manifest-${n++}.json`);
  writeJson(file, content);
  return file;
}

const L7 = () => sharedData('nc-landsat7', 'landsat7_2000.tif');

describe('openScene: manifests that fail their schema name the file and the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a missing kind', [{ id: 'l7', file: 'x.tif' }], /\[0\]\.kind: missing/],
    ['an unknown kind', [{ id: 'l7', kind: 'thermal', file: 'x.tif' }], /\[0\]\.kind: expected one of multispectral, .*got "thermal"/],
    ['a negative wavelength', [{ id: 'l7', kind: 'rgb', file: 'x.tif', bands: [{ name: 'R', wavelength_nm: -5 }] }], /\[0\]\.bands\[0\]\.wavelength_nm: must be > 0/],
    ['failed not boolean', [{ id: 'l7', kind: 'rgb', file: 'x.tif', failed: 'yes' }], /\[0\]\.failed: expected true or false/],
    ['an empty sensor list', [], /needs at least 1 item/],
    ['a bad failure region', { sensors: [{ id: 'l7', kind: 'rgb', file: 'x.tif' }], failure_regions: [{ sensor: 'l7', geometry: { type: 'Point', coordinates: [1, 2] } }] }, /failure_regions\[0\]\.geometry\.type: expected one of Polygon, MultiPolygon, got "Point"/],
    ['a top level of the wrong type', 'sensors', /top level: expected an array/],
  ];
  for (const [what, content, problem] of cases) {
    it(what, async () => {
      const file = manifest(content);
      await expectSceneError(file, file, problem);
      await expectSceneError(file, file, /manifest does not match the scene schema/);
    });
  }

  it('invalid JSON', async () => {
    const file = path.join(tmp.dir, 'broken.json');
    writeFileSync(file, '[{"id": "l7",');
    await expectSceneError(file, file, /not valid JSON/);
  });

  it('duplicate ids, unknown region sensor, unknown reference', async () => {
    const dup = manifest([{ id: 'a', kind: 'rgb', file: L7() }, { id: 'a', kind: 'rgb', file: L7() }]);
    await expectSceneError(dup, dup, /sensor id "a" is used twice/);
    const region = manifest({ sensors: [{ id: 'a', kind: 'rgb', file: L7() }], failure_regions: [{ sensor: 'b', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }] });
    await expectSceneError(region, region, /failure_regions\[0\]\.sensor "b" is not one of the sensors \(a\)/);
    const ref = manifest({ sensors: [{ id: 'a', kind: 'rgb', file: L7() }], reference_sensor: 'z' });
    await expectSceneError(ref, ref, /reference sensor "z" is not one of the sensors/);
  });

  it('a band list that does not fit the raster', async () => {
    const file = manifest([{ id: 'l7', kind: 'multispectral', file: L7(), bands: [{ name: 'B1' }, { name: 'B2' }] }]);
    await expectSceneError(file, file, /sensor "l7" lists 2 bands but .*landsat7_2000\.tif has 6/);
  });

  it('a file pattern (as in chesapeake-naip/sensors.json) asks for one file', async () => {
    const file = sharedData('chesapeake-naip', 'sensors.json');
    await expectSceneError(sharedData('chesapeake-naip'), file, /sensors\[0\]\.file "id_\*_naip\.tif" is a pattern \(5 matching files\).*--sensor naip=<file>:multispectral/);
  });

  it('a sensor file that does not exist names that file', async () => {
    const file = manifest([{ id: 'l7', kind: 'multispectral', file: 'missing.tif' }]);
    await expectSceneError(file, path.join(tmp.dir, 'missing.tif'), /file not found/);
  });

  it('missing scene path, folder without sensors.json, unknown --missing sensor', async () => {
    await expectSceneError(path.join(tmp.dir, 'nope.tif'), 'nope.tif', /file not found/);
    const empty = path.join(tmp.dir, 'empty-folder');
    mkdirSync(empty);
    await expectSceneError(empty, empty, /folder has no sensors\.json/);
    await expectSceneError(sharedData('sen1floods11-spain'), '--missing', /unknown sensor "s3"; the scene has s2, s1/, { missing: ['s3'] });
  });
});

describe('openScene: validity held in a mask is refused, with the GDAL command that writes it as nodata', () => {
  it('an internal mask, a .msk beside the file', async () => {
    const crop = (name: string, args: string[], env: Record<string, string> = {}) => {
      const out = path.join(tmp.dir, name);
      execFileSync('gdal_translate', ['-q', '-srcwin', '0', '0', '64', '64', ...args, L7(), out], { env: { ...process.env, ...env } });
      return out;
    };
    const internal = crop('imask.tif', ['-mask', '1'], { GDAL_TIFF_INTERNAL_MASK: 'YES' });
    await expectSceneError(internal, internal, /has an internal mask, .*gdalwarp -dstnodata 0/);
    const sidecar = crop('smask.tif', ['-mask', '1'], { GDAL_TIFF_INTERNAL_MASK: 'NO' });
    await expectSceneError(sidecar, sidecar, /has a mask beside it \(smask\.tif\.msk\)/);
    // the same crop without a mask opens
    const plain = crop('plain.tif', []);
    await (await openScene(plain)).close();
  });
});

describe('openScene: in-memory scene descriptions (CLI, app) are checked too', () => {
  it('names the bad field', async () => {
    await expectSceneError({ sensors: [] }, 'scene', /invalid scene description: sensors: needs at least 1 item/);
    await expectSceneError({ sensors: [{ id: 'a', file: L7(), kind: 'laser' as never }] }, 'scene', /sensors\[0\]\.kind: expected one of/);
    await expectSceneError(
      { sensors: [{ id: 'a', file: L7() }], failureRegions: [{ sensor: 'a', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1]]] } }] },
      'scene',
      /failureRegions\[0\]\.geometry\.coordinates\[0\]: needs at least 4 item/,
    );
  });
});

describe('openScene: a NaN-filled band', () => {
  it('reads fine, its pixels are invalid, and the statistics flag the band', async () => {
    const file = path.join(tmp.dir, 'nan-band.tif');
    makeRaster(file, { width: 40, height: 30, bands: 4, type: 'float32', edit: 'a = np.sin(x / 7.0) + np.cos(y / 5.0) + b\na[2] = np.nan', creationOptions: ['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16'] });
    const scene = await openScene(file);
    const block = (await scene.readWindow({ x: 0, y: 0, width: 40, height: 30 })).get('nan-band')!;
    expect(block.data.subarray(2 * 1200, 3 * 1200).every((v) => Number.isNaN(v))).toBe(true);
    expect(block.data.subarray(0, 1200).some((v) => Number.isNaN(v))).toBe(false);
    expect(block.valid.every((v) => v === 0)).toBe(true);
    const stats = await sceneStats(scene);
    const bands = stats.sensors[0].bands;
    expect(bands[2].nanFraction).toBe(1);
    expect(bands[2].validCount).toBe(0);
    expect(bands[0].nanFraction).toBe(0);
    const suggestions = suggestFailures(stats);
    expect(suggestions).toEqual([expect.objectContaining({ sensor: 'nan-band', band: 2, problem: 'all-nodata', wholeSensor: false })]);
    expect(suggestions[0].message).toMatch(/band 3 .*no valid pixels \(100\.0% NaN/);
    await scene.close();
  });
});
