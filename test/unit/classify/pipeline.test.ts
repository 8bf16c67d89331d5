import { describe, expect, it } from 'vitest';
import { FakeScene, smoothBands } from './fakeScene';
import { packDir, runInMemory, sameBits, tempPack } from './helpers';
import { loadPack } from '../../../src-main/engine/packs';
import { Graph, add, matmul, mul, reshape, softmax, sub, transpose } from '../../../src-main/engine/ml';
import { CancelledError, FieldMoeError } from '../../../src-main/engine/util/errors';
import { resolveTiling } from '../../../src-main/engine/classify';

const LANDSAT = [485, 560, 660, 835, 1650, 2220].map((w, i) => ({ name: `B${i + 1}`, wavelengthNm: w }));
const S2 = [443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190].map((w, i) => ({ name: `S2-${i}`, wavelengthNm: w }));

function landsatScene(width = 300, height = 220, holes = true): FakeScene {
  const data = smoothBands(width, height, 6, 10, 200);
  if (holes) {
    // A nodata block (all bands nodata) and a NaN block.
    for (let b = 0; b < 6; b++)
      for (let y = 10; y < 40; y++)
        for (let x = 20; x < 70; x++) {
          data[b * width * height + y * width + x] = 0;
          data[b * width * height + (y + 100) * width + x + 150] = NaN;
        }
  }
  return new FakeScene(width, height, [{ id: 'l7', kind: 'multispectral', bands: LANDSAT, data, nodata: 0 }]);
}

describe('tiled pipeline', () => {
  it('gives a per-pixel model bit-identical maps tiled and untiled', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const untiled = await runInMemory(landsatScene(), pack, { tile: 320, overlap: 0 });
    const tiled = await runInMemory(landsatScene(), pack, { tile: 64, overlap: 16, batch: 3 });
    expect(untiled.report.tiles).toBe(1);
    expect(tiled.report.tiles).toBeGreaterThan(12);
    expect(new Set(untiled.sink.classes).size).toBeGreaterThan(2);
    expect(Buffer.compare(Buffer.from(untiled.sink.classes), Buffer.from(tiled.sink.classes))).toBe(0);
    expect(sameBits(untiled.sink.confidence, tiled.sink.confidence)).toBe(true);
  });

  it('gives the same maps with inference in a worker thread as on the main thread', async () => {
    const pack = await loadPack(packDir('tiny-s1s2-water'));
    const scene = () => {
      const s2 = smoothBands(150, 90, 13, 200, 3000, 2);
      const s1 = smoothBands(150, 90, 2, -25, -5, 3);
      // Nodata in different rows of tiles: each band's "any sensor valid" mask must reach its own rows
      // while batches of several bands are queued in the worker.
      for (let y = 0; y < 90; y++)
        for (let x = 0; x < 150; x++) {
          const p = y * 150 + x;
          if ((x - 20 - y) ** 2 < 40) for (let b = 0; b < 13; b++) s2[b * 150 * 90 + p] = 0;
          if ((x - 120 + y) ** 2 < 40) for (let b = 0; b < 2; b++) s1[b * 150 * 90 + p] = NaN;
        }
      return new FakeScene(150, 90, [
        { id: 's2', kind: 'multispectral', bands: S2, data: s2, nodata: 0 },
        { id: 's1', kind: 'sar', bands: [{ name: 'VV' }, { name: 'VH' }], data: s1 },
      ]);
    };
    // Two batches per row of tiles (6 tiles), then one: the worker's queue then holds batches of several rows.
    for (const batch of [3, 7]) {
      const main = await runInMemory(scene(), pack, { tile: 32, overlap: 8, batch });
      const worker = await runInMemory(scene(), pack, { tile: 32, overlap: 8, batch, inference: 'worker' });
      expect(worker.report.batches).toBe(main.report.batches);
      expect(worker.report.sessionRunMs).toBeGreaterThan(0);
      expect(Buffer.compare(Buffer.from(main.sink.classes), Buffer.from(worker.sink.classes))).toBe(0);
      expect(sameBits(main.sink.confidence, worker.sink.confidence)).toBe(true);
      expect(new Set(main.sink.classes).size).toBe(3);
      expect(main.report.nodataPixels).toBeGreaterThan(0);
    }
  });

  it('writes nodata (class 0, NaN confidence) where no sensor is valid', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const { sink, report } = await runInMemory(landsatScene(), pack, { tile: 64, overlap: 16 });
    const W = 300;
    for (const [x, y] of [[20, 10], [69, 39], [170, 110]]) {
      expect(sink.classes[y * W + x]).toBe(0);
      expect(Number.isNaN(sink.confidence[y * W + x])).toBe(true);
    }
    expect(report.nodataPixels).toBe(2 * 30 * 50);
    const c = sink.classes[5 * W + 5];
    expect(c).toBeGreaterThan(0);
    expect(sink.confidence[5 * W + 5]).toBeGreaterThan(1 / 7);
  });

  it('reads one band of tiles at a time across the scene width', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const scene = landsatScene(300, 220, false);
    await runInMemory(scene, pack, { tile: 64, overlap: 16 });
    // Bands of tiles span the width; the only other reads are the small windows of the
    // all-NaN band look before the run (a float scene whose bands all have data there).
    const bands = scene.reads.filter((w) => w.width === 300);
    expect(bands.map((w) => w.y)).toEqual([0, 48, 96, 144, 156]);
    for (const w of bands) expect(w.height).toBeLessThanOrEqual(64);
    const samples = scene.reads.filter((w) => w.width !== 300);
    expect(samples.length).toBe(1); // every band is finite in the first sample window: no more looks
    for (const w of samples) expect(w.width * w.height).toBeLessThanOrEqual(32 * 32);
  });

  it('decodes only the bands the pack maps, and classifies as from all bands', async () => {
    // tiny-landsat7 takes 6 bands; the scene has 2 more (a thermal and a panchromatic band).
    const pack = await loadPack(packDir('tiny-landsat7'));
    const W = 120;
    const H = 90;
    const six = smoothBands(W, H, 6, 10, 200);
    const eight = new Float32Array(8 * W * H);
    eight.set(smoothBands(W, H, 1, 10, 200, 5), 0); // extra band first: the pack's bands are 1..6
    eight.set(six, W * H);
    eight.set(smoothBands(W, H, 1, 10, 200, 7), 7 * W * H);
    const extra = [{ name: 'PAN', wavelengthNm: 3000 }, ...LANDSAT, { name: 'TIR', wavelengthNm: 11000 }];
    const scene8 = new FakeScene(W, H, [{ id: 'l7', kind: 'multispectral', bands: extra, data: eight, nodata: 0 }]);
    const scene6 = new FakeScene(W, H, [{ id: 'l7', kind: 'multispectral', bands: LANDSAT, data: six, nodata: 0 }]);
    const a = await runInMemory(scene8, pack, { tile: 64, overlap: 16 });
    const b = await runInMemory(scene6, pack, { tile: 64, overlap: 16 });
    const bandReads = scene8.readOptions.filter((_, i) => scene8.reads[i].width === W);
    expect(bandReads.length).toBeGreaterThan(1);
    for (const o of bandReads) expect(o.bands?.get('l7')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.report.inputs[0].bands).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.report.unread).toEqual([`pack ${pack.manifest.name} reads 6 of sensor l7's 8 bands (input ${pack.manifest.inputs[0].name}); bands 1 (PAN), 8 (TIR) not read`]);
    expect(b.report.unread).toEqual([]);
    expect(new Set(a.sink.classes).size).toBeGreaterThan(1);
    expect(Buffer.compare(Buffer.from(a.sink.classes), Buffer.from(b.sink.classes))).toBe(0);
    expect(sameBits(a.sink.confidence, b.sink.confidence)).toBe(true);
  });

  it('rejects bad tiling with one-line errors naming the flag', () => {
    const manifest = { name: 'p', tile: { size: 128, overlap: 32, fixedSize: true, multipleOf: 1, batch: 4 } } as never;
    expect(() => resolveTiling(manifest, { tile: 64 })).toThrow(/^--tile: model pack p runs on 128-pixel tiles only/);
    expect(() => resolveTiling(manifest, { tile: 5 })).toThrow(/^--tile: 5 must be an integer of at least 8/);
    expect(() => resolveTiling(manifest, { overlap: 100 })).toThrow(/^--overlap: 100 must be an integer from 0 to half/);
  });

  it('fails on a band that is all NaN, naming the file and band', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const scene = landsatScene(100, 80, false);
    scene.sensors[0].data.fill(NaN, 2 * 100 * 80, 3 * 100 * 80);
    const run = runInMemory(scene, pack, { tile: 64, overlap: 16 });
    await expect(run).rejects.toThrow(FieldMoeError);
    await expect(run).rejects.toThrow('/fake/l7.tif: band 3 (B3) holds no finite value (all NaN)');
  });

  it('finds an all-NaN band before any tile runs', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const W = 300;
    const H = 220;
    const scene = landsatScene(W, H, false);
    // Band 5 is NaN everywhere but in one pixel that the decimated look cannot see: the full scan finds it.
    const band5 = scene.sensors[0].data.subarray(4 * W * H, 5 * W * H);
    band5.fill(NaN);
    band5[(H - 1) * W + 3] = 100;
    const ok = await runInMemory(scene, pack, { tile: 64, overlap: 16 });
    expect(ok.report.tiles).toBeGreaterThan(1);
    // Now band 6 holds no finite value at all: the run fails before its first band of tiles.
    scene.sensors[0].data.fill(NaN, 5 * W * H, 6 * W * H);
    scene.reads.length = 0;
    scene.readOptions.length = 0;
    const progress: number[] = [];
    const run = runInMemory(scene, pack, { tile: 64, overlap: 16 }, { onProgress: (p) => progress.push(p.fraction) });
    await expect(run).rejects.toThrow('/fake/l7.tif: band 6 (B6) holds no finite value (all NaN)');
    expect(progress.filter((f) => f > 0)).toEqual([]);
    // No band of tiles was read: only the look (small windows) and the scan of the suspect bands 5 and 6.
    const scans = scene.readOptions.filter((_, i) => scene.reads[i].width === W);
    expect(scans.length).toBeGreaterThan(0);
    for (const o of scans) expect(o.bands?.get('l7')).toEqual([4, 5]);
  });

  it('cancels through the AbortSignal', async () => {
    const pack = await loadPack(packDir('tiny-landsat7'));
    const ac = new AbortController();
    const progress: number[] = [];
    const run = runInMemory(landsatScene(), pack, { tile: 32, overlap: 8, batch: 1 }, {
      signal: ac.signal,
      onProgress: (p) => {
        progress.push(p.fraction);
        ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(progress.length).toBe(1);
    expect(progress[0]).toBeLessThan(0.5);
  });
});

describe('failed sensors', () => {
  function floodScene(failed: 's1' | 's2' | null, s1Fill?: number): FakeScene {
    const W = 96;
    const H = 80;
    const s2 = smoothBands(W, H, 13, 200, 3000, 2);
    const s1 = smoothBands(W, H, 2, -25, -5, 3);
    if (s1Fill !== undefined) s1.fill(s1Fill);
    return new FakeScene(W, H, [
      { id: 's2', kind: 'multispectral', bands: S2, data: s2, nodata: 0, failed: failed === 's2' },
      { id: 's1', kind: 'sar', bands: [{ name: 'VV' }, { name: 'VH' }], data: s1, failed: failed === 's1' },
    ]);
  }

  it('reach a pack with availability as availability 0: the output ignores their data', async () => {
    const pack = await loadPack(packDir('tiny-s1s2-water'));
    const a = await runInMemory(floodScene('s1'), pack, { tile: 64, overlap: 16 });
    const b = await runInMemory(floodScene('s1', -3), pack, { tile: 64, overlap: 16 });
    const full = await runInMemory(floodScene(null), pack, { tile: 64, overlap: 16 });
    expect(a.report.inputs).toEqual([
      { input: 's2', sensor: 's2', available: true, bands: [...Array(13).keys()] },
      { input: 's1', sensor: 's1', available: false, bands: [0, 1] },
    ]);
    expect(a.report.degraded).toBe(false);
    expect(sameBits(a.sink.confidence, b.sink.confidence)).toBe(true);
    expect(sameBits(a.sink.confidence, full.sink.confidence)).toBe(false);
    expect(a.report.nodataPixels).toBe(0);
  });

  it('count as unavailable in the tiles where a sensor is mostly invalid (failure regions, nodata)', async () => {
    const pack = await loadPack(packDir('tiny-s1s2-water'));
    const W = 96;
    const H = 80;
    // S1 invalid (NaN) in columns 0..47: the tiles at x = 0 (0..31) and x = 24 (24..55) see S1 on
    // less than half of their pixels; the tile at x = 48 and beyond see it everywhere.
    const partial = floodScene(null);
    const s1 = partial.sensors[1].data;
    for (let b = 0; b < 2; b++) for (let y = 0; y < H; y++) for (let x = 0; x < 48; x++) s1[b * W * H + y * W + x] = NaN;
    const opts = { tile: 32, overlap: 8, batch: 2 };
    const mixed = await runInMemory(partial, pack, opts);
    const noS1 = await runInMemory(floodScene('s1'), pack, opts);
    const full = await runInMemory(floodScene(null), pack, opts);
    expect(mixed.report.inputs[1].available).toBe(true);
    const at = (r: typeof full, x: number, y: number) => r.sink.confidence[y * W + x];
    // Left: only S1-less tiles cover these pixels -> the S2-only expert, as with S1 failed.
    for (const x of [0, 10, 20]) expect(at(mixed, x, 40)).toBe(at(noS1, x, 40));
    // Right: only tiles with S1 cover them -> the S2+S1 expert, as with the full scene.
    for (const x of [60, 80, 95]) expect(at(mixed, x, 40)).toBe(at(full, x, 40));
    expect(at(noS1, 80, 40)).not.toBe(at(full, 80, 40));
  });

  it('are masked (zeros) by a pack without availability, and the result says it is degraded', async () => {
    // A two-input per-pixel model with no availability input.
    const g = new Graph('two-inputs');
    const xa = g.input('a', 'float32', ['N', 2, 'H', 'W']);
    const xb = g.input('b', 'float32', ['N', 1, 'H', 'W']);
    const wa = g.param('wa', Float32Array.from([1, -1, 0.5, -0.5]), [2, 2]);
    const wb = g.param('wb', Float32Array.from([2, -2]), [1, 2]);
    const logits = add(matmul(transpose(xa, [0, 2, 3, 1]), wa), matmul(transpose(xb, [0, 2, 3, 1]), wb));
    const model = g.toModel({ outputs: [['p', transpose(softmax(logits, -1), [0, 3, 1, 2])]] });
    const pack = await tempPack(
      {
        name: 'two-inputs',
        inputs: [
          { name: 'a', sensorKinds: ['multispectral'], bands: { mode: 'fixed', list: [{ wavelengthNm: 660, toleranceNm: 20 }, { wavelengthNm: 840, toleranceNm: 20 }] }, normalization: { type: 'uniform', mean: 0, std: 1000 }, optional: false },
          { name: 'b', sensorKinds: ['sar'], bands: { mode: 'fixed', list: [{ name: 'VV' }] }, normalization: { type: 'uniform', mean: -15, std: 5 }, optional: false },
        ],
        output: 'p',
        classes: [{ id: 1, name: 'x', color: '#000000' }, { id: 2, name: 'y', color: '#ffffff' }],
        tile: { size: 64, overlap: 16, fixedSize: false, multipleOf: 1, batch: 2 },
      },
      model,
    );
    const withS1 = await runInMemory(floodScene(null), pack);
    const failedS1 = await runInMemory(floodScene('s1'), pack);
    const zeroS1 = await runInMemory(floodScene(null, -15), pack); // -15 normalises to exactly 0
    expect(withS1.report.degraded).toBe(false);
    expect(failedS1.report.degraded).toBe(true);
    expect(failedS1.report.degradedReasons.join()).toMatch(/sensor s1 is missing; its bands were masked \(zeros\)/);
    expect(sameBits(failedS1.sink.confidence, zeroS1.sink.confidence)).toBe(true);
    expect(failedS1.report.nodataPixels).toBe(0);
  });
});

describe('wavelength-conditioned inputs', () => {
  // logit(class 2) - logit(class 1) = 2 s with s = sum_c x_c * wl_c / 1000 - 1.5, so the
  // confidence tells which wavelengths reached the model.
  async function wavelengthPack() {
    const g = new Graph('wl');
    const x = g.input('x', 'float32', ['N', 'C', 'H', 'W']);
    const wl = g.input('wl', 'float32', ['C']);
    const s = sub(matmul(transpose(x, [0, 2, 3, 1]), reshape(mul(wl, 0.001), [-1, 1])), 1.5);
    const logits = matmul(s, g.constant(Float32Array.from([-1, 1]), [1, 2]));
    const model = g.toModel({ outputs: [['p', transpose(softmax(logits, -1), [0, 3, 1, 2])]] });
    return tempPack(
      {
        name: 'wl',
        inputs: [{ name: 'x', sensorKinds: ['hyperspectral', 'multispectral'], bands: { mode: 'any', minBands: 1, maxBands: 500, wavelengthsInput: 'wl' }, normalization: { type: 'uniform', mean: 0, std: 1 }, optional: false }],
        output: 'p',
        classes: [{ id: 1, name: 'low', color: '#000000' }, { id: 2, name: 'high', color: '#ffffff' }],
        tile: { size: 32, overlap: 8, fixedSize: false, multipleOf: 1, batch: 4 },
      },
      model,
    );
  }
  const scene = (bands: { name: string; wavelengthNm?: number }[]) => new FakeScene(40, 30, [{ id: 'h', kind: 'hyperspectral', bands, data: new Float32Array(bands.length * 40 * 30).fill(1) }]);

  it('feed the bands wavelengths, from the file or from --wavelengths', async () => {
    const pack = await wavelengthPack();
    const low = await runInMemory(scene([{ name: 'a', wavelengthNm: 500 }, { name: 'b', wavelengthNm: 500 }]), pack);
    expect(low.sink.classes[0]).toBe(1);
    expect(low.sink.confidence[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    const over = await runInMemory(scene([{ name: 'a' }, { name: 'b' }]), pack, { wavelengths: new Map([['h', [1000, 1000]]]) });
    expect(over.sink.classes[0]).toBe(2);
    expect(over.sink.confidence[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('ask for --wavelengths when a band has none', async () => {
    const pack = await wavelengthPack();
    await expect(runInMemory(scene([{ name: 'a', wavelengthNm: 500 }, { name: 'b' }]), pack)).rejects.toThrow(
      'fake-scene.json: model pack wl needs a hyperspectral or multispectral sensor with 1..500 bands and known wavelengths; scene sensor h has no wavelength for band 2 (give them with --wavelengths h=nm,nm,...)',
    );
    await expect(runInMemory(scene([{ name: 'a' }, { name: 'b' }]), pack, { wavelengths: new Map([['h', [1000]]]) })).rejects.toThrow('--wavelengths: gives 1 wavelengths for sensor h, which has 2 bands');
  });
});
