import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths';
import { describeUnread, loadPack, mapBands } from '../../../src-main/engine/packs';
import { FakeScene } from '../classify/fakeScene';

const S2 = [443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190];
const sensor = (id: string, kind: 'multispectral' | 'sar', bands: { name: string; wavelengthNm?: number }[], failed = false) => ({ id, kind, bands, data: new Float32Array(bands.length * 4), failed });

describe('band mapping', () => {
  it('binds fixed bands by nearest wavelength within tolerance (Sentinel-2 feeds the Landsat pack)', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'tiny-landsat7'));
    const scene = new FakeScene(2, 2, [sensor('s2', 'multispectral', S2.map((w, i) => ({ name: `b${i}`, wavelengthNm: w })))]);
    const m = mapBands(scene.info, pack.manifest);
    expect(m.bindings[0].sensor!.id).toBe('s2');
    expect(m.bindings[0].bandIndices).toEqual([1, 2, 3, 7, 11, 12]);
    expect(m.bindings[0].wavelengths).toEqual([490, 560, 665, 842, 1610, 2190]);
  });

  it('binds named bands (SAR polarisations) and skips a failed optional sensor', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'tiny-s1s2-water'));
    const scene = new FakeScene(2, 2, [
      sensor('vh-first', 'sar', [{ name: 'VH' }, { name: 'VV' }], true),
      sensor('opt', 'multispectral', S2.map((w, i) => ({ name: `b${i}`, wavelengthNm: w }))),
    ]);
    const m = mapBands(scene.info, pack.manifest);
    expect(m.bindings.map((b) => [b.input.name, b.sensor?.id, b.available, b.bandIndices.join()])).toEqual([
      ['s2', 'opt', true, S2.map((_, i) => i).join()],
      ['s1', 'vh-first', false, '1,0'],
    ]);
    expect(m.bindings[1].mean.length).toBe(2);
  });

  it('says exactly what is missing', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'tiny-landsat7'));
    const scene = new FakeScene(2, 2, [sensor('l7', 'multispectral', [485, 560, 1650].map((w) => ({ name: `${w}`, wavelengthNm: w })))]);
    expect(() => mapBands(scene.info, pack.manifest)).toThrow(
      'fake-scene.json: model pack tiny-landsat7 needs a multispectral sensor with bands near 485 nm, 560 nm, 660 nm, 835 nm, 1650 nm and 2220 nm; scene sensor l7 (multispectral) lacks 660 nm (±40), 835 nm (±40), 2220 nm (±40); it has 485, 560, 1650 nm',
    );
  });

  it('refuses when every sensor the pack needs is missing', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'tiny-landsat7'));
    const scene = new FakeScene(2, 2, [sensor('l7', 'multispectral', [485, 560, 660, 835, 1650, 2220].map((w) => ({ name: `${w}`, wavelengthNm: w })), true)]);
    expect(() => mapBands(scene.info, pack.manifest)).toThrow('fake-scene.json: every sensor model pack tiny-landsat7 needs is marked missing or failed (l7); nothing to classify');
  });

  it('names the sensor kinds a pack of optional inputs takes when the scene has none of them', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const scene = new FakeScene(2, 2, [{ id: 'x', kind: 'other', bands: [{ name: 'band1' }], data: new Float32Array(4) }]);
    expect(() => mapBands(scene.info, pack.manifest)).toThrow(
      "fake-scene.json: model pack default-mamol takes optical (multispectral, hyperspectral, rgb), sar (sar), elevation (dem, lidar) sensors; the scene has x (other) (give a sensor's kind in sensors.json, or as --sensor id=file:kind)",
    );
  });

  it('says why an optional input left a sensor of its kind unbound', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const camera = sensor('cam', 'multispectral', [490, 560, 665, 842].map((w) => ({ name: `${w}`, wavelengthNm: w })));
    const sar = { id: 's1', kind: 'sar' as const, bands: [{ name: 'VV' }, { name: 'VH' }], data: new Float32Array(8) };
    const both = new FakeScene(2, 2, [camera, sar]).info;
    const m = mapBands(both, pack.manifest);
    expect(m.sensorIds).toEqual(['s1']);
    expect(m.unmatched.map((u) => u.sensor)).toEqual(['cam']);
    expect(describeUnread(both, m, 'default-mamol')).toEqual([expect.stringMatching(/^sensor cam is not read: it \(multispectral\) lacks 443 nm \(±23\.5\), 705 nm/)]);
    // fine-tuning opens the input to the camera's own bands
    const opened = mapBands(both, pack.manifest, { openUnfitting: true });
    const optical = opened.bindings.find((b) => b.input.name === 'optical')!;
    expect([optical.sensor?.id, optical.opened, optical.bandIndices, optical.channels, optical.input.bands]).toEqual(['cam', true, [0, 1, 2, 3], 4, { mode: 'any', minBands: 4, maxBands: 4 }]);
    expect(opened.unmatched).toEqual([]);
    // with nothing else to read, the error gives that reason rather than advice on sensor kinds
    expect(() => mapBands(new FakeScene(2, 2, [camera]).info, pack.manifest)).toThrow(/model pack default-mamol can read none of the scene's sensors: scene sensor cam \(multispectral\) lacks 443 nm/);
  });

  it('the default packs read band 1 of a LiDAR raster with more bands, where they took exactly one', async () => {
    const lidar = { id: 'lidar', kind: 'lidar' as const, bands: [{ name: 'dsm' }, { name: 'intensity' }], data: new Float32Array(8) };
    const s2 = sensor('s2', 'multispectral', S2.map((w, i) => ({ name: `b${i}`, wavelengthNm: w })));
    for (const [name, input] of [['default-mamol', 'elevation'], ['default-spectralmoe', 'depth']]) {
      const pack = await loadPack(path.join(REPO_ROOT, 'models', name));
      const b = mapBands(new FakeScene(2, 2, [s2, lidar]).info, pack.manifest).bindings.find((x) => x.input.name === input)!;
      expect([b.sensor?.id, b.bandIndices]).toEqual(['lidar', [0]]);
    }
  });

  it('fine-tuning opens an elevation input to every band of a LiDAR stack, and leaves a one-band DEM as it is', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const stack = { id: 'lidar', kind: 'lidar' as const, bands: [{ name: 'dsm' }, { name: 'ndsm' }, { name: 'intensity' }], data: new Float32Array(12) };
    const b = mapBands(new FakeScene(2, 2, [stack]).info, pack.manifest, { openUnfitting: true }).bindings.find((x) => x.input.name === 'elevation')!;
    expect([b.sensor?.id, b.opened, b.bandIndices, b.channels, b.input.bands]).toEqual(['lidar', true, [0, 1, 2], 3, { mode: 'any', minBands: 3, maxBands: 3 }]);
    const dem = { id: 'dem', kind: 'dem' as const, bands: [{ name: 'height' }], data: new Float32Array(4) };
    const one = mapBands(new FakeScene(2, 2, [dem]).info, pack.manifest, { openUnfitting: true }).bindings.find((x) => x.input.name === 'elevation')!;
    expect([one.sensor?.id, one.opened, one.bandIndices]).toEqual(['dem', undefined, [0]]);
  });

  it('says which bands and sensors the pack leaves unread', async () => {
    const lidar = { id: 'lidar', kind: 'lidar' as const, bands: [{ name: 'dsm' }, { name: 'intensity' }], data: new Float32Array(8) };
    const dtm = { id: 'dtm', kind: 'dem' as const, bands: [{ name: 'dtm' }], data: new Float32Array(4) };
    const failed = { ...dtm, id: 'old', failed: true };
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const info = new FakeScene(2, 2, [lidar, dtm, failed]).info;
    expect(describeUnread(info, mapBands(info, pack.manifest), 'default-mamol')).toEqual([
      "pack default-mamol reads 1 of sensor lidar's 2 bands (input elevation); band 2 (intensity) not read",
      'sensor dtm (dem) is not read: pack default-mamol has no input left for it',
    ]);
    const s2 = sensor('s2', 'multispectral', S2.map((w, i) => ({ name: `b${i}`, wavelengthNm: w })));
    expect(describeUnread(new FakeScene(2, 2, [s2]).info, mapBands(new FakeScene(2, 2, [s2]).info, pack.manifest), 'default-mamol')).toEqual([]);
  });

  it('checks --wavelengths overrides', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'tiny-landsat7'));
    const scene = new FakeScene(2, 2, [sensor('x', 'multispectral', Array.from({ length: 6 }, (_, i) => ({ name: `b${i}` })))]);
    expect(() => mapBands(scene.info, pack.manifest)).toThrow(/lacks 485 nm/);
    const m = mapBands(scene.info, pack.manifest, { wavelengths: new Map([['x', [485, 560, 660, 835, 1650, 2220]]]) });
    expect(m.bindings[0].bandIndices).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => mapBands(scene.info, pack.manifest, { wavelengths: new Map([['y', [1]]]) })).toThrow('--wavelengths: names sensor "y", which is not in the scene (sensors: x)');
  });
});
