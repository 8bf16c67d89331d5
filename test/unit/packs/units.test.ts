/**
 * SAR units (packs/units.ts): a sensor in linear power feeding a pack trained on dB is read as
 * 10 log10(value), one already in dB is left alone, and `fieldmoe train` marks SAR inputs whose
 * training data are in dB.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/paths';
import { loadPack, type PackInput, type PackManifest } from '../../../src-main/engine/packs';
import { describeConverted, withPackUnits } from '../../../src-main/engine/packs/units';
import { trainingUnits } from '../../../src-main/engine/training/train';
import { FakeScene, type FakeSensor } from '../classify/fakeScene';

const W = 4;
const H = 3;
const sar = (values: (n: number) => number): FakeSensor => ({ id: 's1', kind: 'sar', bands: [{ name: 'VV' }, { name: 'VH' }], data: Float32Array.from({ length: 2 * W * H }, (_, i) => values(i)) });
const optical: FakeSensor = { id: 's2', kind: 'multispectral', bands: [{ name: 'B04', wavelengthNm: 665 }], data: Float32Array.from({ length: W * H }, (_, i) => 0.01 * (i + 1)) };
const input: PackInput = { name: 'sar', sensorKinds: ['sar'], bands: { mode: 'any', minBands: 2, maxBands: 2 }, normalization: { type: 'uniform', mean: -15, std: 6 }, optional: true, units: 'dB' };
const manifest = { name: 'test-pack', inputs: [input, { ...input, name: 'optical', sensorKinds: ['multispectral'], units: undefined }] } as unknown as PackManifest;

describe('SAR units', () => {
  it('reads a sensor in linear power as dB for a pack trained on dB; a value at or below zero becomes invalid', async () => {
    // linear power 0.001..0.024, one zero (no return)
    const scene = new FakeScene(W, H, [sar((i) => (i === 5 ? 0 : 0.001 * (i + 1))), optical]);
    const { scene: read, converted } = await withPackUnits(scene, manifest);
    expect(converted).toEqual(['s1']);
    const blocks = await read.readWindow({ x: 0, y: 0, width: W, height: H });
    const s1 = blocks.get('s1')!;
    expect(s1.data[0]).toBeCloseTo(-30, 4);
    expect(s1.data[W * H + 1]).toBeCloseTo(10 * Math.log10(0.001 * (W * H + 2)), 4);
    expect(Number.isNaN(s1.data[5])).toBe(true);
    expect(s1.valid[5]).toBe(0);
    expect(s1.valid[4]).toBe(1);
    // the optical sensor is not a dB input's: untouched
    expect(blocks.get('s2')!.data[0]).toBeCloseTo(0.01, 6);
    expect(describeConverted(converted, 'test-pack')).toEqual(['sensor s1 has no negative value: read as linear power and converted to dB (10 log10), as pack test-pack was trained on']);
  });

  it('leaves a sensor already in dB alone, and a pack without dB inputs', async () => {
    const db = new FakeScene(W, H, [sar((i) => -20 + i), optical]);
    expect(await withPackUnits(db, manifest)).toEqual({ scene: db, converted: [] });
    const linear = new FakeScene(W, H, [sar((i) => 0.001 * (i + 1))]);
    const noUnits = { ...manifest, inputs: [{ ...input, units: undefined }] } as PackManifest;
    expect(await withPackUnits(linear, noUnits)).toEqual({ scene: linear, converted: [] });
  });

  it('train marks SAR inputs trained on dB; the default MaMOL pack is one', async () => {
    const plain = { ...input, units: undefined };
    const [db] = await trainingUnits([plain], [new FakeScene(W, H, [sar((i) => -20 + i)])]);
    expect(db.units).toBe('dB');
    const [linear] = await trainingUnits([plain], [new FakeScene(W, H, [sar((i) => -20 + i)]), new FakeScene(W, H, [sar((i) => 0.01 * (i + 1))])]);
    expect(linear.units).toBeUndefined();
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    expect(pack.manifest.inputs.find((i) => i.name === 'sar')!.units).toBe('dB');
  });
});
