import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths';
import { validateManifest, loadPack, listPacks, resolvePack } from '../../../src-main/engine/packs';
import { FieldMoeError } from '../../../src-main/engine/util/errors';

const good = () => ({
  format: 'fieldmoe-pack/1',
  name: 'p',
  version: '1.0.0',
  task: 'segmentation',
  architecture: 'test',
  model: 'model.onnx',
  inputs: [
    {
      name: 'x',
      sensorKinds: ['multispectral'],
      bands: { mode: 'fixed', list: [{ wavelengthNm: 660 }, { name: 'VV' }, { index: 0 }] },
      normalization: { type: 'per-band', mean: [0, 0, 0], std: [1, 1, 1] },
    },
  ],
  output: 'probabilities',
  classes: [{ id: 1, name: 'a', color: '#ff0000' }],
  tile: { size: 64, overlap: 8 },
  card: 'card',
});

type Mutator = (m: ReturnType<typeof good>) => void;

function problem(mutate: Mutator): string {
  const m = good();
  mutate(m);
  try {
    validateManifest(m, '/packs/p/manifest.json');
  } catch (err) {
    expect(err).toBeInstanceOf(FieldMoeError);
    return (err as Error).message;
  }
  throw new Error('manifest was accepted');
}

describe('pack manifest', () => {
  it('accepts a valid manifest and fills defaults', () => {
    const m = validateManifest(good(), 'manifest.json');
    expect(m.tile).toEqual({ size: 64, overlap: 8, fixedSize: false, multipleOf: 1, batch: 4 });
    expect(m.inputs[0].optional).toBe(false);
    expect(m.inputs[0].bands).toEqual({ mode: 'fixed', list: [{ wavelengthNm: 660, toleranceNm: 30, name: undefined }, { name: 'VV' }, { index: 0, name: undefined }] });
  });

  it('rejects schema problems with one line naming the manifest and the field', () => {
    const f = '/packs/p/manifest.json';
    expect(problem((m) => delete (m as Partial<typeof m>).name)).toBe(`${f}: name is missing`);
    expect(problem((m) => (m.format = 'other/2'))).toBe(`${f}: format is "other/2", expected "fieldmoe-pack/1"`);
    expect(problem((m) => (m.classes[0].color = 'red'))).toBe(`${f}: classes[0].color "red" must be #rrggbb`);
    expect(problem((m) => (m.classes[0].id = 0))).toBe(`${f}: classes[0].id must be an integer >= 1, got 0`);
    expect(problem((m) => (m.classes[0].id = 300))).toBe(`${f}: classes[0].id 300 does not fit the uint8 class map (1..255; 0 is nodata)`);
    expect(problem((m) => (m.inputs[0].sensorKinds = ['radar']))).toBe(`${f}: inputs[0].sensorKinds[0] "radar" is not a sensor kind (multispectral, hyperspectral, rgb, sar, lidar, dem, other)`);
    expect(problem((m) => (m.inputs[0].normalization.mean = [0]))).toBe(`${f}: inputs[0].normalization mean and std need 3 values (one per band), got 1 and 3`);
    expect(problem((m) => ((m.inputs[0] as Record<string, unknown>).optional = true))).toMatch(/inputs\[0\]\.optional needs an availabilityInput/);
    expect(problem((m) => (m.tile.overlap = 64))).toBe(`${f}: tile.overlap 64 must be smaller than tile.size 64`);
    expect(problem((m) => (m.model = '../elsewhere.onnx'))).toBe(`${f}: model "../elsewhere.onnx" must be a path inside the pack folder`);
    expect(problem((m) => (m.inputs[0].bands = { mode: 'some' } as never))).toBe(`${f}: inputs[0].bands.mode "some" must be "fixed" or "any"`);
    expect(problem((m) => (m.inputs[0].bands = { mode: 'any' } as never))).toBe(`${f}: inputs[0].normalization per-band normalisation needs fixed bands; use {"type":"uniform"} for any band set`);
    expect(problem((m) => (m.inputs = []))).toBe(`${f}: inputs must list at least one input`);
    const anyBands = (bands: object) => (m: ReturnType<typeof good>) => ((m.inputs[0].bands = bands as never), (m.inputs[0].normalization = { type: 'uniform', mean: 0, std: 1 } as never));
    expect(problem(anyBands({ mode: 'any', minBands: 4, maxBands: 4, wavelengthsNm: [665, 560] }))).toBe(`${f}: inputs[0].bands.wavelengthsNm lists 2 wavelengths for 4..4 bands`);
    expect(problem(anyBands({ mode: 'any', wavelengthsNm: [665, -1] }))).toBe(`${f}: inputs[0].bands.wavelengthsNm[1] must be a wavelength in nm (> 0)`);
    expect(problem((m) => ((m.inputs[0].normalization as Record<string, unknown>) = { type: 'uniform', mean: 0, std: 1, perScene: 'yes' }))).toBe(`${f}: inputs[0].normalization.perScene must be true or false`);
  });

  it('loads packs from disk and reports broken ones', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-packs-'));
    await fs.mkdir(path.join(dir, 'ok'));
    await fs.writeFile(path.join(dir, 'ok', 'manifest.json'), JSON.stringify(good()));
    await fs.writeFile(path.join(dir, 'ok', 'model.onnx'), new Uint8Array([0]));
    await fs.mkdir(path.join(dir, 'no-model'));
    await fs.writeFile(path.join(dir, 'no-model', 'manifest.json'), JSON.stringify({ ...good(), name: 'q' }));
    await fs.mkdir(path.join(dir, 'bad-json'));
    await fs.writeFile(path.join(dir, 'bad-json', 'manifest.json'), '{ nope');
    const listing = await listPacks([dir]);
    expect(listing.map((l) => [path.basename(l.dir), !!l.pack])).toEqual(
      expect.arrayContaining([['ok', true], ['no-model', false], ['bad-json', false]]),
    );
    expect(listing.find((l) => l.dir.endsWith('no-model'))!.error).toBe(`${path.join(dir, 'no-model', 'manifest.json')}: names file "model.onnx" which is not in ${path.join(dir, 'no-model')}`);
    expect(listing.find((l) => l.dir.endsWith('bad-json'))!.error).toMatch(/manifest\.json: is not valid JSON/);
    expect((await resolvePack('ok', [dir])).manifest.name).toBe('p');
    expect((await resolvePack('p', [dir])).dir).toBe(path.join(dir, 'ok'));
    await expect(resolvePack('nothing', [dir])).rejects.toThrow('nothing: no such model pack (not a folder, and not among: ok)');
    await expect(loadPack(path.join(dir, 'missing'))).rejects.toThrow(/missing: model pack not found/);
  });

  it('validates every pack shipped in models/', async () => {
    const listing = await listPacks([path.join(REPO_ROOT, 'models')]);
    expect(listing.map((l) => path.basename(l.dir))).toEqual(expect.arrayContaining(['tiny-landsat7', 'tiny-landsat7-context', 'tiny-s1s2-water']));
    for (const l of listing) expect(l.error, l.dir).toBeUndefined();
    for (const l of listing.filter((x) => path.basename(x.dir).startsWith('tiny-'))) {
      expect(l.pack!.manifest.card).toMatch(/PLACEHOLDER/);
      expect(l.pack!.manifest.metrics['train.overall_accuracy']).toBeGreaterThan(0.6);
    }
  });
});
