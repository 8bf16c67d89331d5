/**
 * Bands a pack fills in (packs/fillBands.ts): a Sentinel-2 Level-2A sensor (no B10) feeds the
 * MaMOL pack's 13-band optical input and a VV-only SAR its VV + VH input, the filled plane is read
 * like a file band, and what cannot be filled is refused with a message.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/paths';
import { loadPack, mapBands, type PackManifest, type PackInput } from '../../../src-main/engine/packs';
import { withFilledBands, withFilledBandsAtSceneScale } from '../../../src-main/engine/packs/fillBands';
import { listedBands, trainingFills } from '../../../src-main/engine/training/train';
import { FakeScene, type FakeSensor } from '../classify/fakeScene';

const S2 = [443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190];
const NAMES = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12'];
const W = 3;
const H = 2;

/** An S2 sensor with the bands of `keep` (indices into S2); band b's pixel p holds scale * (100 b + p). */
function s2(keep: number[], scale = 1, withWavelengths = true): FakeSensor {
  const n = W * H;
  const data = new Float32Array(keep.length * n);
  keep.forEach((b, k) => {
    for (let p = 0; p < n; p++) data[k * n + p] = scale * (100 * b + p);
  });
  return { id: 's2', kind: 'multispectral', bands: keep.map((b) => ({ name: NAMES[b], wavelengthNm: withWavelengths ? S2[b] : undefined })), data };
}

const allBut = (...drop: number[]) => S2.map((_, i) => i).filter((i) => !drop.includes(i));
/** A one-input manifest listing S2 by wavelength, B10's fill 2 (normalised), uniform mean 1000 and std 500. */
function manifest(): PackManifest {
  const list = S2.map((w, i) => ({ wavelengthNm: w, toleranceNm: 10, name: NAMES[i], fill: i === 10 ? 2 : 0 }));
  return { name: 'test-pack', inputs: [{ name: 'optical', sensorKinds: ['multispectral'], bands: { mode: 'fixed', list }, normalization: { type: 'uniform', mean: 1000, std: 500 }, optional: false }] } as unknown as PackManifest;
}

describe('filled bands', () => {
  it('gives a Level-2A sensor (no B10) the pack\'s B10 as a constant plane that binds and reads like a file band', async () => {
    const { scene, filled } = withFilledBands(new FakeScene(W, H, [s2(allBut(10))]), manifest());
    // fill 2 through the manifest's normalisation: 1000 + 2 * 500
    expect(filled).toEqual([{ sensor: 's2', index: 12, name: 'B10 (filled)', wavelengthNm: 1375, value: 2000 }]);
    const binding = mapBands(scene.info, manifest()).bindings[0];
    expect(binding.bandIndices).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11]);
    // a subset in any order: file bands as the file holds them, the filled one constant
    const block = (await scene.readWindow({ x: 1, y: 0, width: 2, height: 2 }, { bands: new Map([['s2', [12, 0, 11]]]) })).get('s2')!;
    expect(block.bandIndices).toEqual([12, 0, 11]);
    expect(Array.from(block.data)).toEqual([2000, 2000, 2000, 2000, 1, 2, 4, 5, 1201, 1202, 1204, 1205]);
    expect(Array.from(block.valid)).toEqual([1, 1, 1, 1]);
    // every band: the file's 12, then the filled one
    const whole = (await scene.readWindow({ x: 0, y: 0, width: W, height: H })).get('s2')!;
    expect(whole.bands).toBe(13);
    expect(whole.bandIndices).toBeUndefined();
    expect(whole.data[12 * W * H]).toBe(2000);
    // the filled band alone (a check for all-NaN bands reads it so)
    const alone = (await scene.readWindow({ x: 0, y: 0, width: 1, height: 1 }, { bands: new Map([['s2', [12]]]) })).get('s2')!;
    expect(Array.from(alone.data)).toEqual([2000]);
  });

  it('leaves a complete sensor alone, and fills nothing when more than half the bands would be constants', () => {
    const full = new FakeScene(W, H, [s2(allBut())]);
    expect(withFilledBands(full, manifest())).toEqual({ scene: full, filled: [] });
    const rgbn = new FakeScene(W, H, [s2([1, 2, 3, 7])]);
    const { scene, filled } = withFilledBands(rgbn, manifest());
    expect(filled).toEqual([]);
    expect(() => mapBands(scene.info, manifest())).toThrow(/scene sensor s2 \(multispectral\) lacks 443 nm \(±10\), 705 nm.*\(a pack fills at most half of an input's bands; .* default-spectralmoe takes any band set\)$/);
  });

  it('binds a 13-band file without wavelengths band for band; 12 without wavelengths ask for them', () => {
    expect(mapBands(new FakeScene(W, H, [s2(allBut(), 1, false)]).info, manifest()).bindings[0].bandIndices).toEqual(allBut());
    const twelve = new FakeScene(W, H, [s2(allBut(10), 1, false)]);
    expect(withFilledBands(twelve, manifest()).filled).toEqual([]);
    expect(() => mapBands(twelve.info, manifest())).toThrow('(no wavelengths: give them with --wavelengths s2=nm,nm,...)');
    // given for the file's 12 bands, B10 is filled
    const wavelengths = new Map([['s2', allBut(10).map((b) => S2[b])]]);
    const { scene, filled } = withFilledBands(twelve, manifest(), { wavelengths });
    expect(filled.map((f) => f.name)).toEqual(['B10 (filled)']);
    expect(mapBands(scene.info, manifest(), { wavelengths }).bindings[0].bandIndices[10]).toBe(12);
  });

  it('binds SAR by polarisation name, fills a missing VH, and takes unnamed bands in file order', () => {
    const sar = (names: string[]): FakeSensor => ({ id: 's1', kind: 'sar', bands: names.map((name) => ({ name })), data: new Float32Array(names.length * W * H) });
    const pack = { name: 'test-pack', inputs: [{ name: 'sar', sensorKinds: ['sar'], bands: { mode: 'fixed', list: [{ name: 'VV', fill: 0.5 }, { name: 'VH', fill: -0.5 }] }, normalization: { type: 'uniform', mean: -15, std: 6 }, optional: false }] } as unknown as PackManifest;
    const bound = (names: string[]) => {
      const { scene, filled } = withFilledBands(new FakeScene(W, H, [sar(names)]), pack);
      return { indices: mapBands(scene.info, pack).bindings[0].bandIndices, filled: filled.map((f) => [f.name, f.value]) };
    };
    expect(bound(['VH', 'VV'])).toEqual({ indices: [1, 0], filled: [] });
    expect(bound(['VV'])).toEqual({ indices: [0, 1], filled: [['VH (filled)', -18]] });
    expect(bound(['band 1', 'band 2'])).toEqual({ indices: [0, 1], filled: [] });
    expect(() => bound(['band 1'])).toThrow('lacks "VV", "VH"');
  });

  it('at the scene\'s scale for fine-tuning: the fill goes through the mean and std of the file\'s bands', async () => {
    const { filled } = await withFilledBandsAtSceneScale(new FakeScene(W, H, [s2(allBut(10))]), manifest(), {});
    const values = allBut(10).flatMap((b) => [0, 1, 2, 3, 4, 5].map((p) => 100 * b + p));
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    expect(filled[0].value).toBeCloseTo(mean + 2 * std, 2);
  });
});

describe('training fills', () => {
  it('lists bands by wavelength with half the gap to the nearest as tolerance (B08 never takes B8A)', () => {
    const info = new FakeScene(W, H, [s2(allBut())]).info.sensors[0];
    const spec = listedBands([info, info])!;
    expect(spec.mode).toBe('fixed');
    const list = (spec as { list: { wavelengthNm: number; toleranceNm: number; name?: string }[] }).list;
    expect(list.map((r) => r.wavelengthNm)).toEqual(S2);
    expect(list[7]).toEqual({ wavelengthNm: 842, toleranceNm: 11.5, name: 'B08' });
    expect(list[2].toleranceNm).toBe(30);
    // scenes whose sensors disagree, or without wavelengths, keep bands by count
    expect(listedBands([info, new FakeScene(W, H, [s2(allBut(10))]).info.sensors[0]])).toBeUndefined();
    // without wavelengths: by name when the scenes agree on two or more distinct names
    const named = (names: string[]) => new FakeScene(W, H, [{ id: 's1', kind: 'sar', bands: names.map((name) => ({ name })), data: new Float32Array(names.length * W * H) }]).info.sensors[0];
    expect(listedBands([named(['VV', 'VH']), named(['vv', 'vh'])])).toEqual({ mode: 'fixed', list: [{ name: 'VV' }, { name: 'VH' }] });
    expect(listedBands([named(['VV', 'VH']), named(['VH', 'VV'])])).toBeUndefined();
    expect(listedBands([named(['elevation'])])).toBeUndefined();
  });

  it('are band means in normalised units, the same for a scene at any scale', async () => {
    const info = new FakeScene(W, H, [s2(allBut())]).info.sensors[0];
    const input = { name: 'optical', sensorKinds: ['multispectral'], bands: listedBands([info])!, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: true } as PackInput;
    const fillsOf = async (scales: number[]) => {
      const [out] = await trainingFills([input], scales.map((k) => new FakeScene(W, H, [s2(allBut(), k)])), scales.map(() => undefined));
      return (out.bands as { list: { fill?: number }[] }).list.map((r) => r.fill!);
    };
    const one = await fillsOf([1]);
    // band b's mean is 100 b + 2.5: in units of the std over all bands, centred
    const means = S2.map((_, b) => 100 * b + 2.5);
    const all = S2.flatMap((_, b) => [0, 1, 2, 3, 4, 5].map((p) => 100 * b + p));
    const mean = all.reduce((a, v) => a + v, 0) / all.length;
    const std = Math.sqrt(all.reduce((a, v) => a + (v - mean) ** 2, 0) / all.length);
    one.forEach((f, b) => expect(f).toBeCloseTo((means[b] - mean) / std, 4));
    const mixed = await fillsOf([1, 10_000]);
    mixed.forEach((f, b) => expect(f).toBeCloseTo(one[b], 4));
  });

  it('the default MaMOL pack lists Sentinel-2 by wavelength and Sentinel-1 by polarisation, with a fill for every band', async () => {
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const optical = pack.manifest.inputs.find((i) => i.name === 'optical')!;
    expect(optical.bands.mode).toBe('fixed');
    const list = (optical.bands as { list: { wavelengthNm?: number; fill?: number }[] }).list;
    expect(list.map((r) => r.wavelengthNm)).toEqual(S2);
    expect(list.every((r) => Number.isFinite(r.fill))).toBe(true);
    const sar = pack.manifest.inputs.find((i) => i.name === 'sar')!.bands as { list: { name?: string; fill?: number }[] };
    expect(sar.list.map((r) => r.name)).toEqual(['VV', 'VH']);
    // VV is the brighter polarisation (dB): above the mean of the two
    expect(sar.list[0].fill!).toBeGreaterThan(0);
  });
});
