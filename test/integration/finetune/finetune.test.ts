import { execFileSync } from 'node:child_process';
/**
 * Fine-tuning end to end through the CLI on shared data: a sensor the default pack never saw
 * with a new class set (Salinas-A, 204 AVIRIS bands), few-shot with the pack's classes and the
 * head-only adapter (features cached), MaMOL with the missing-rate simulation, cancel, seed
 * determinism and one-line errors. Epochs and tiles are tiny: these check behaviour, the
 * accuracy comparison against a random forest lives in test/slow/finetune-vs-rf.test.ts.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src-main/engine/cli/main';
import { loadPack } from '../../../src-main/engine/packs/index';
import { loadModelPack } from '../../../src-main/engine/ml/models/export';
import { readSafetensors } from '../../../src-main/engine/ml/io/safetensors';
import { loadLabels, readClassesJson, readLabelledPixels, type LabelSet } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/index';
import { finetune, PIXEL_HEAD_CONTEXT, pixelHeadHidden, validationWarnings } from '../../../src-main/engine/finetune/finetune';
import { DENSE_TILE_EXTRAS } from '../../../src-main/engine/finetune/fit';
import { isCancelled } from '../../../src-main/engine/util/errors';
import { artifactDir, REPO_ROOT, sharedData } from '../../helpers/paths';
import { onlyThese, sceneWithoutBands } from '../../../scripts/finetune-vs-rf';
import { houstonLidarScene } from '../../../scripts/houston-lidar-scene';
import { readNpy } from '../../../src-main/engine/eval/npy';
import { withFilledBands, withFilledBandsAtSceneScale } from '../../../src-main/engine/packs/fillBands';
import { evaluatePack } from '../../../src-main/engine/finetune/evaluate';
import { train } from '../../../src-main/engine/training/train';

const OUT = artifactDir('finetune');
const SMOE = path.join(REPO_ROOT, 'models/default-spectralmoe');
const MAMOL = path.join(REPO_ROOT, 'models/default-mamol');

/** The labels drawn where `keep` says only. */
function within(all: LabelSet, keep: (x: number, y: number) => boolean): LabelSet {
  const pick = <T extends Uint32Array | Uint16Array | Int32Array>(a: T) => a.filter((_, k) => keep(all.x[k], all.y[k])) as T;
  const classIndex = pick(all.classIndex);
  return { ...all, x: pick(all.x), y: pick(all.y), classIndex, featureId: pick(all.featureId), classCounts: all.classCounts.map((_, c) => classIndex.filter((k) => k === c).length) };
}

/** The labels drawn in the north-west 200 x 200 pixels only. */
const northWest = (all: LabelSet) => within(all, (x, y) => x < 200 && y < 200);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), isTTY: false, signal: new AbortController().signal });
  return { code, out, err };
}

beforeAll(async () => {
  await fs.rm(OUT, { recursive: true, force: true });
  await fs.mkdir(OUT, { recursive: true });
});

describe('fieldmoe finetune', () => {
  it('adapts the default SpectralMoE pack to a hyperspectral sensor it never saw, with a new class set, and eval scores it', async () => {
    const out = path.join(OUT, 'salinas');
    const labels = sharedData('salinas-a/labels.tif');
    const r = await cli(['finetune', '--model', SMOE, '--scene', sharedData('salinas-a'), '--labels', labels, '--out', out, '--epochs', '6', '--pixels-per-class', '40', '--tiles-per-class', '12', '--seed', '1']);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.head).toBe('new');
    expect(summary.adapter).toBe('spectralmoe');

    const pack = await loadPack(out);
    const declared = readClassesJson(sharedData('salinas-a/classes.json'));
    expect(pack.manifest.classes.map((c) => c.name)).toEqual(declared.map((c) => c.name));
    expect(pack.manifest.inputs[0].bands).toMatchObject({ mode: 'any', minBands: 204, maxBands: 204, wavelengthsInput: 'wavelengths' });
    expect(pack.manifest.files).toEqual(expect.arrayContaining(['adapter.safetensors', 'training.json']));
    for (const k of ['val.oa', 'val.kappa', 'val.miou', 'val.macc']) expect(pack.manifest.metrics[k]).toBeGreaterThanOrEqual(-1);
    expect(pack.manifest.card).toMatch(/Fine-tuned from pack default-spectralmoe/);

    const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
    expect(training).toMatchObject({ kind: 'finetune', adapter: 'spectralmoe', head: 'new', seed: 1, pixelsPerClass: 40, base: { name: 'default-spectralmoe' } });
    expect(training.history.length).toBeGreaterThan(0);
    expect(training.history[0]).toHaveProperty('val.loss');

    // The adapter file holds exactly the trained tensors, the same values as the full weights.
    const adapter = await readSafetensors(path.join(out, 'adapter.safetensors'));
    const loaded = await loadModelPack(out);
    expect(adapter.tensors.has('decoder.classifier.weight')).toBe(true);
    // The pixel head reads the 204 bands, standardised per band (initialised from the scene).
    expect(adapter.tensors.get('pixel_head.image.weight')!.shape).toEqual([pixelHeadHidden([{ bands: 204 }]), 204]);
    const scale = adapter.tensors.get('pixel_head.image.norm.scale')!;
    expect(scale.shape).toEqual([1, 204, 1, 1]);
    // (a band whose scene std is about 1 in the uniform normalisation's units may stay near 1: salinas-a has one)
    expect(Array.from(scale.data as Float32Array).every((v) => v > 0)).toBe(true);
    expect(Array.from(scale.data as Float32Array).filter((v) => Math.abs(v - 1) > 1e-3).length).toBeGreaterThanOrEqual(200);
    // The linear path beside the MLP, started from a logistic regression on the labelled pixels (not zero).
    expect(adapter.tensors.get('pixel_head.image.linear.weight')!.shape).toEqual([pack.manifest.classes.length, 204]);
    expect(Array.from(adapter.tensors.get('pixel_head.image.linear.weight')!.data as Float32Array).some((v) => v !== 0)).toBe(true);
    expect(pack.manifest.card).toMatch(/pixel head/);
    expect([...adapter.tensors.keys()].some((n) => n.startsWith('backbone.moe.'))).toBe(true);
    expect([...adapter.tensors.keys()].some((n) => n.startsWith('backbone.blocks.'))).toBe(false);
    for (const [name, t] of adapter.tensors) expect(Array.from(loaded.weights.get(name)!.data)).toEqual(Array.from(t.data as Float32Array));
    // The frozen backbone is the base pack's, unchanged.
    const base = await loadModelPack(SMOE);
    const block = 'backbone.blocks.0.attn.qkv.weight';
    expect(Array.from(loaded.weights.get(block)!.data)).toEqual(Array.from(base.weights.get(block)!.data));

    const json = path.join(OUT, 'salinas-eval.json');
    const e = await cli(['eval', '--model', out, '--scene', sharedData('salinas-a'), '--labels', labels, '--json', json]);
    expect(e.code).toBe(0);
    const scores = JSON.parse(await fs.readFile(json, 'utf8'));
    for (const k of ['oa', 'kappa', 'miou', 'macc']) {
      expect(scores[k]).toBeGreaterThanOrEqual(k === 'kappa' ? -1 : 0);
      expect(scores[k]).toBeLessThanOrEqual(1);
    }
    expect(scores.n + scores.nodata_pixels).toBe(5348);
    expect(scores.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(5348);
    expect(scores.per_class.map((c: { name: string }) => c.name)).toEqual(declared.map((c) => c.name));
    // Six classes (the largest holds 29% of the pixels): well above chance after a short run.
    expect(scores.oa).toBeGreaterThan(0.45);
  }, 300_000);

  it('few-shot with the pack classes and the head-only adapter caches the frozen features', async () => {
    const out = path.join(OUT, 'nc-head');
    const r = await cli(['finetune', '--model', SMOE, '--scene', sharedData('nc-landsat7'), '--labels', sharedData('nc-landsat7/labels.tif'), '--out', out, '--adapter', 'head-only', '--epochs', '2', '--pixels-per-class', '20', '--tiles-per-class', '12', '--ep', 'cuda,webgpu']);
    expect(r.code).toBe(0);
    // No GPU provider here: training falls back to CPU, says so, and records what ran.
    expect(r.err).toMatch(/execution provider cuda unavailable: .*\nexecution provider webgpu unavailable: .*\nexecution provider: cpu \(fell back from cuda, webgpu\)/);
    expect(JSON.parse(r.out)).toMatchObject({ provider: 'cpu', fallbacks: [{ provider: 'cuda' }, { provider: 'webgpu' }] });
    const pack = await loadPack(out);
    const base = await loadPack(SMOE);
    expect(pack.manifest.classes).toEqual(base.manifest.classes);
    const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
    expect(training).toMatchObject({ adapter: 'head-only', head: 'keep', preset: 'frozen', provider: 'cpu' });
    expect(training.cachedFeatureInputs).toBeGreaterThan(0);
    const adapter = await readSafetensors(path.join(out, 'adapter.safetensors'));
    // Head-only trains the decoder and the pixel head.
    for (const name of adapter.tensors.keys()) expect(name.startsWith('decoder.') || name.startsWith('pixel_head.'), name).toBe(true);
    expect(adapter.tensors.has('pixel_head.image.weight')).toBe(true);
    // Few-shot: 20 pixels per class at most.
    expect(training.trainPixels).toBeLessThanOrEqual(20 * base.manifest.classes.length);
  }, 300_000);

  it('--no-pixel-head adapts the model alone', async () => {
    const out = path.join(OUT, 'nc-no-pixel-head');
    const r = await cli(['finetune', '--model', SMOE, '--scene', sharedData('nc-landsat7'), '--labels', sharedData('nc-landsat7/labels.tif'), '--out', out, '--adapter', 'head-only', '--epochs', '1', '--pixels-per-class', '20', '--tiles-per-class', '8', '--no-pixel-head']);
    expect(r.code).toBe(0);
    const adapter = await readSafetensors(path.join(out, 'adapter.safetensors'));
    expect([...adapter.tensors.keys()].filter((n) => !n.startsWith('decoder.'))).toEqual([]);
  }, 300_000);

  it('MaMOL fine-tuning simulates a missing sensor named by its scene id', async () => {
    const out = path.join(OUT, 'flood-mamol');
    const r = await cli(['finetune', '--model', MAMOL, '--scene', sharedData('sen1floods11-spain'), '--labels', sharedData('sen1floods11-spain/labels.tif'), '--out', out, '--epochs', '1', '--tiles-per-class', '12', '--missing-mode', 's1']);
    expect(r.code).toBe(0);
    const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
    // one progress line per epoch: training loss, validation loss and accuracy
    expect(r.err).toMatch(/epoch 1\/1 train loss \d\S* val loss \d\S* val acc \d/);
    // and which weights were kept, with the validation figures they score
    expect(r.err).toMatch(/wrote .*flood-mamol \(adapter mamol, keep head, 1 epochs, kept (the start|epoch 1).*, validation OA \d/);
    // a mode alone takes the architecture's default rate
    expect(training.missing).toEqual({ rate: 0.5, mode: 's1', input: 'sar' });
    // validation scores its pixels with every sensor, then again with SAR missing: counted once, scored twice
    expect(training.validation.pooled.n).toBe(training.valPixels);
    expect(training.validation.withoutInput).toEqual([expect.objectContaining({ input: 'sar', pixels: training.valPixels })]);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.metrics['val.without_sar.oa']).toBeCloseTo(training.validation.withoutInput[0].metrics.oa, 3);
    expect(manifest.card).toMatch(/Validation with input sar missing: OA \d/);
    // The pixel head reads SAR with its window statistics (2 bands x mean|std x each window side).
    const adapter = await readSafetensors(path.join(out, 'adapter.safetensors'));
    expect(adapter.tensors.get('pixel_head.sar.context.weight')!.shape).toEqual([pixelHeadHidden([{ bands: 13 }, { bands: 2, context: PIXEL_HEAD_CONTEXT.sar }]), 2 * 2 * PIXEL_HEAD_CONTEXT.sar!.length]);
    expect(adapter.tensors.has('pixel_head.optical.context.weight')).toBe(false);
    // The linear path has weights of its own for SAR's absence, on the optical bands, started from their own regression.
    const without = adapter.tensors.get('pixel_head.optical.linear_without_sar.weight')!;
    expect(without.shape).toEqual([7, 13]);
    expect(Array.from(without.data as Float32Array).some((v) => v !== 0)).toBe(true);
    expect(adapter.tensors.get('pixel_head.linear_without_sar.bias')!.shape).toEqual([7, 1]);
    expect([...adapter.tensors.keys()].filter((n) => n.includes('linear_without_optical') || n.startsWith('pixel_head.sar.linear_without'))).toEqual([]);
    const e = await cli(['eval', '--model', out, '--scene', sharedData('sen1floods11-spain'), '--labels', sharedData('sen1floods11-spain/labels.tif'), '--missing', 's1', '--ep', 'cuda']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ missing: ['s1'], provider: 'cpu' });
    expect(e.err).toMatch(/execution provider cuda unavailable/);
  }, 300_000);

  it('MaMOL fine-tunes on Sentinel-2 as Level-2A bands (no B10): B10 filled at the scene\'s scale, said in the card, and the new pack classifies the same scene', async () => {
    const scene = await sceneWithoutBands(sharedData('sen1floods11-spain'), { s2: ['B10'] }, OUT);
    const out = path.join(OUT, 'flood-l2a');
    const r = await cli(['finetune', '--model', MAMOL, '--scene', scene, '--labels', sharedData('sen1floods11-spain/labels.tif'), '--out', out, '--epochs', '1', '--tiles-per-class', '12', '--missing-rate', '0']);
    expect(r.code).toBe(0);
    // rate 0: no missing-sensor simulation, the default on two sensors turned off
    expect(JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8')).missing).toBeNull();
    const pack = await loadPack(out);
    expect(pack.manifest.card).toMatch(/Sensor s2 lacks band B10 \(1375 nm\); pack default-mamol filled it with its training mean \([\d.]+ in the scene's units\)\./);
    expect(pack.manifest.inputs.find((i) => i.name === 'optical')!.bands.mode).toBe('fixed');
    // classify with the new pack fills the plane it trained with, through its own normalisation
    const opened = await openScene(scene);
    const trainedWith = (await withFilledBandsAtSceneScale(opened, (await loadPack(MAMOL)).manifest, {})).filled[0].value;
    expect(withFilledBands(opened, pack.manifest).filled[0].value).toBeCloseTo(trainedWith, 2);
    await opened.close();
    const e = await cli(['eval', '--model', out, '--scene', scene, '--labels', sharedData('sen1floods11-spain/labels.tif')]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).oa).toBeGreaterThan(0.8);
  }, 300_000);

  it('averages the weights on an elevation-only scene and says so in the card, not with optical bands', async () => {
    const dir = sharedData('eolearn-slovenia');
    const run = async (missing: string[], name: string) => {
      const scene = await openScene(dir, { missing });
      try {
        return await finetune({ model: MAMOL, scene, labels: path.join(dir, 'lulc.tif'), out: path.join(OUT, name), epochs: 1, pixelsPerClass: 20, tilesPerClass: 6 });
      } finally {
        await scene.close();
      }
    };
    const dem = await run(['s2'], 'eolearn-dem');
    expect(dem.fit.averaging).toEqual({ decay: 0.98 });
    const card = (await loadPack(path.join(OUT, 'eolearn-dem'))).manifest.card;
    expect(card).toContain('Weights averaged over the steps');
    // the card carries the warnings the result gives, which follow the validation kappa
    expect(dem.warnings).toEqual(validationWarnings(dem.fit.validation?.pooled));
    for (const w of dem.warnings) expect(card).toContain(`Warning: ${w}.`);
    const both = await run([], 'eolearn-both');
    expect(both.fit.averaging).toBeUndefined();
    // the missing-sensor simulation by default on two sensors, not on one
    const missing = async (name: string) => JSON.parse(await fs.readFile(path.join(OUT, name, 'training.json'), 'utf8')).missing;
    expect(await missing('eolearn-both')).toEqual({ rate: 0.5, mode: 'both', input: 'both', default: true });
    expect(await missing('eolearn-dem')).toBeNull();
    expect((await loadPack(path.join(OUT, 'eolearn-both'))).manifest.card).not.toContain('Weights averaged');
  }, 300_000);

  it('MaMOL fine-tunes on a LiDAR-only scene that is mostly nodata: its only sensor counts as present in every tile, and the linear path starts from its regression', async () => {
    const data = sharedData('houston2013-pixels');
    const dir = await houstonLidarScene(data, OUT);
    // the DSM put back together holds each training pixel's own height (lidar_f21) under its class
    const scene = await openScene(dir);
    const labels = await loadLabels(path.join(dir, 'labels.tif'), scene.info);
    const read = await readLabelledPixels(scene, labels, Uint32Array.from(labels.classIndex.keys()), { sensors: ['lidar'] });
    await scene.close();
    const [features, classes] = [await readNpy(path.join(data, 'lidar_train.npy')), await readNpy(path.join(data, 'y_train.npy'))];
    const pairs = (n: number, at: (i: number) => [number, number]) => Array.from({ length: n }, (_, i) => at(i).join()).sort();
    expect(pairs(read.labels.length, (i) => [labels.classes[read.labels[i]].id, read.features[i]])).toEqual(pairs(classes.data.length, (i) => [classes.data[i], features.data[i * 21 + 20]]));

    const out = path.join(OUT, 'houston-lidar');
    const r = await cli(['finetune', '--model', MAMOL, '--scene', dir, '--labels', path.join(dir, 'labels.tif'), '--out', out, '--epochs', '2', '--pixels-per-class', '20', '--tiles-per-class', '12']);
    expect(r.code).toBe(0);
    const adapter = await readSafetensors(path.join(out, 'adapter.safetensors'));
    expect(Array.from(adapter.tensors.get('pixel_head.elevation.linear.weight')!.data as Float32Array).some((v) => v !== 0)).toBe(true);
    // one class everywhere (the pack's start alone: elevation missing in most training tiles) scores 1/15
    const e = await cli(['eval', '--model', out, '--scene', dir, '--labels', path.join(dir, 'labels.tif')]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).oa).toBeGreaterThan(0.2);
  }, 300_000);

  it('MaMOL fine-tunes on an optical sensor its Sentinel-2 list cannot take (NAIP, 4 bands): the bands reach the model through the pixel head, and the new pack classifies NAIP', async () => {
    const scene = sharedData('chesapeake-naip/id_000051_naip.tif');
    const labels = sharedData('chesapeake-naip/id_000051_labels.tif');
    const out = path.join(OUT, 'naip-mamol');
    const r = await cli(['finetune', '--model', MAMOL, '--scene', scene, '--labels', labels, '--out', out, '--epochs', '1', '--pixels-per-class', '20', '--tiles-per-class', '8']);
    expect(r.code).toBe(0);
    const pack = await loadPack(out);
    expect(pack.manifest.inputs.find((i) => i.name === 'optical')!.bands).toEqual({ mode: 'any', minBands: 4, maxBands: 4 });
    expect(pack.manifest.card).toContain("Sensor id_000051_naip's 4 bands do not fit the 13 bands pack default-mamol's input optical lists: they reach the model through the pixel head alone");
    const weights = await readSafetensors(path.join(out, 'weights.safetensors'));
    expect(weights.tensors.get('embed.optical.fc1.weight')!.shape).toEqual([64, 4 * 4 * 4]);
    expect(Array.from(weights.tensors.get('embed.optical.fc1.weight')!.data as Float32Array).every((v) => v === 0)).toBe(true);
    // without the pixel head those bands would reach no part of the model: refused
    const bare = await cli(['finetune', '--model', MAMOL, '--scene', scene, '--labels', labels, '--out', path.join(OUT, 'naip-bare'), '--epochs', '1', '--no-pixel-head']);
    expect(bare.code).toBe(1);
    expect(bare.err).toMatch(/^error: --no-pixel-head: sensor id_000051_naip's 4 bands .* reach the model through the pixel head alone; keep the pixel head\n$/);
    expect(existsSync(path.join(OUT, 'naip-bare'))).toBe(false);
    const e = await cli(['eval', '--model', out, '--scene', scene, '--labels', labels]);
    expect(e.code).toBe(0);
    // five classes; one class everywhere would score at most 0.64 (the largest class's share)
    expect(JSON.parse(e.out).oa).toBeGreaterThan(0.7);
  }, 300_000);

  it('on a scene too large to read whole, reads only the areas around the labels, and the new pack classifies the whole scene', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const all = await loadLabels(sharedData('sen1floods11-spain/labels.tif'), scene.info);
      // labels in the north-west and south-east 160 x 160 pixels of the 512 x 512 scene
      const corners = within(all, (x, y) => (x < 160 && y < 160) || (x >= 352 && y >= 352));
      const windows: { x: number; y: number; width: number; height: number }[] = [];
      const spied = { info: scene.info, close: async () => {}, readWindow: (w: (typeof windows)[number], o?: Parameters<typeof scene.readWindow>[1]) => (windows.push(w), scene.readWindow(w, o)) };
      const out = path.join(OUT, 'labelled-area');
      await finetune({ model: MAMOL, scene: spied, labels: corners, out, epochs: 1, pixelsPerClass: 20, tilesPerClass: 6, readWholeUpTo: 0 });
      // MaMOL's 32-pixel tiles: each corner's labels widened by 32 pixels and aligned to 32
      const areas = [
        { x: 0, y: 0, width: 192, height: 192 },
        { x: 320, y: 320, width: 192, height: 192 },
      ];
      expect(windows.length).toBeGreaterThan(0);
      const inArea = (w: (typeof windows)[number]) => areas.some((a) => w.x >= a.x && w.y >= a.y && w.x + w.width <= a.x + a.width && w.y + w.height <= a.y + a.height);
      for (const w of windows) expect(inArea(w)).toBe(true);
      for (const a of areas) expect(windows).toContainEqual(a);
      const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
      expect(training.readWindows).toEqual(areas);
      // MaMOL on two sensors: the missing-sensor simulation by default
      expect(training.missing).toEqual({ rate: 0.5, mode: 'both', input: 'both', default: true });
      const pack = await loadPack(out);
      expect(pack.manifest.card).toContain('Input normalisation recomputed from the 2 labelled areas of this scene (192 x 192 pixels from column 0, row 0; 192 x 192 pixels from column 320, row 320)');
      expect(pack.manifest.card).not.toContain('Warning:');
      const report = await evaluatePack(scene, pack, all);
      // water / not water over all 512 x 512 pixels' labels, most of them outside the areas trained on
      expect(report.oa).toBeGreaterThan(0.8);
    } finally {
      await scene.close();
    }
  }, 300_000);

  it("starts the pixel head's regression from several labelled pixels of each densely labelled tile, from its centre alone where labels are sparse", async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const labels = sharedData('sen1floods11-spain/labels.tif');
      const run = (name: string, pixelsPerClass?: number) =>
        finetune({ model: MAMOL, scene, labels, out: path.join(OUT, name), epochs: 1, tilesPerClass: 6, missing: { rate: 0, mode: 'both' }, ...(pixelsPerClass ? { pixelsPerClass } : {}) });
      // two classes, 6 tiles each: the hand labels cover the scene, so each tile adds DENSE_TILE_EXTRAS pixels
      const dense = await run('dense-start');
      expect(dense.fit.linearStartSamples).toBe(2 * 6 * (1 + DENSE_TILE_EXTRAS));
      // 10 pixels per class, scattered: the tile centres alone
      const sparse = await run('sparse-start', 10);
      expect(sparse.fit.linearStartSamples).toBeLessThanOrEqual(2 * 6);
      expect(JSON.parse(await fs.readFile(path.join(OUT, 'dense-start', 'training.json'), 'utf8')).linearStartSamples).toBe(dense.fit.linearStartSamples);
    } finally {
      await scene.close();
    }
  }, 300_000);

  it('keeps the wavelengths given for a sensor whose file has none, so the new pack classifies it without them', async () => {
    // NAIP tile 51 without its band descriptions (GDAL metadata): no wavelengths in the file
    const bare = path.join(OUT, 'naip-bare.tif');
    execFileSync('gdal_translate', ['-q', '-co', 'PROFILE=GeoTIFF', sharedData('chesapeake-naip/id_000051_naip.tif'), bare]);
    const labels = sharedData('chesapeake-naip/id_000051_labels.tif');
    const out = path.join(OUT, 'naip-wavelengths');
    const without = await cli(['finetune', '--model', SMOE, '--scene', bare, '--labels', labels, '--out', out, '--epochs', '1', '--pixels-per-class', '10', '--tiles-per-class', '4']);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/give them with --wavelengths/);
    const r = await cli(['finetune', '--model', SMOE, '--scene', bare, '--labels', labels, '--out', out, '--epochs', '1', '--pixels-per-class', '10', '--tiles-per-class', '4', '--wavelengths', 'naip-bare=665,560,490,876']);
    expect(r.code).toBe(0);
    const image = (await loadPack(out)).manifest.inputs.find((i) => i.name === 'image')!;
    expect(image.bands).toMatchObject({ mode: 'any', minBands: 4, maxBands: 4, wavelengthsNm: [665, 560, 490, 876] });
    const e = await cli(['eval', '--model', out, '--scene', bare, '--labels', labels]);
    expect(e.code).toBe(0);
    // and a sensor that carries its own wavelengths keeps them
    const tagged = await cli(['eval', '--model', out, '--scene', sharedData('chesapeake-naip/id_000051_naip.tif'), '--labels', labels]);
    expect(tagged.code).toBe(0);
    expect(JSON.parse(tagged.out).oa).toBeCloseTo(JSON.parse(e.out).oa, 6);
  }, 300_000);

  it('counts labelled pixels on nodata, says so, and refuses labels that are all on nodata', async () => {
    const scene = await openScene(sharedData('nc-landsat7'));
    try {
      const labels = await loadLabels(sharedData('nc-landsat7/labels.tif'), scene.info);
      const read = await readLabelledPixels(scene, labels, Uint32Array.from(labels.classIndex.keys()));
      const onNodata = read.indices.filter((_, r) => !read.valid[r]);
      expect(onNodata.length).toBeGreaterThan(0);
      const pack = await loadPack(SMOE);
      await expect(evaluatePack(scene, pack, labels, { indices: onNodata })).rejects.toThrow(new RegExp(`labels.tif: none of its ${onNodata.length} labelled pixels has sensor data`));
      // (they are all water there: every other one is called another class, as fine-tuning needs two)
      const two = onlyThese(labels, onNodata);
      two.classIndex = two.classIndex.map((c, i) => (i % 2 ? (c + 1) % labels.classes.length : c));
      two.classCounts = labels.classes.map((_, k) => two.classIndex.filter((c) => c === k).length);
      await expect(finetune({ model: SMOE, scene, labels: two, out: path.join(OUT, 'never-nodata'), epochs: 1 })).rejects.toThrow(new RegExp(`none of its ${onNodata.length} labelled pixels has sensor data in scene`));
      const r = await finetune({ model: SMOE, scene, labels, out: path.join(OUT, 'nc-nodata'), epochs: 1, tilesPerClass: 4 });
      expect(r.fit.labelsOnNodata).toEqual([onNodata.length]);
      expect(r.warnings).toContain(`${onNodata.length} of the ${labels.x.length} labelled pixels lie where no sensor has data (nodata) and were left out`);
      expect(JSON.parse(await fs.readFile(path.join(OUT, 'nc-nodata', 'training.json'), 'utf8')).labelsOnNodata).toBe(onNodata.length);
    } finally {
      await scene.close();
    }
  }, 300_000);

  it('eval reads the class of vector labels from the property --class-property names', async () => {
    // two squares in nc-landsat7's CRS (EPSG:3358), their class under "kind", a name the loader does not try
    const square = (x: number, y: number) => ({ type: 'Polygon', coordinates: [[[x, y], [x + 300, y], [x + 300, y - 300], [x, y - 300], [x, y]]] });
    const file = path.join(OUT, 'kind.geojson');
    await fs.writeFile(file, JSON.stringify({
      type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::3358' } },
      features: [{ type: 'Feature', properties: { kind: 'water' }, geometry: square(635550, 227088) }, { type: 'Feature', properties: { kind: 'forest' }, geometry: square(636550, 226088) }],
    }));
    const args = ['eval', '--model', SMOE, '--scene', sharedData('nc-landsat7'), '--labels', file];
    const bare = await cli(args);
    expect(bare.code).toBe(1);
    expect(bare.err).toMatch(/kind\.geojson.*no class property found.*properties: kind.*--class-property/);
    const named = await cli([...args, '--class-property', 'kind']);
    expect(named.err).not.toMatch(/error/i);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.out).per_class.map((c: { name: string }) => c.name).slice(0, 2).sort()).toEqual(['forest', 'water']);
  }, 120_000);

  it('gives one-line errors for options the pack cannot take', async () => {
    const base = ['--scene', sharedData('nc-landsat7'), '--labels', sharedData('nc-landsat7/labels.tif'), '--out', path.join(OUT, 'never')];
    // head-only drops the pack's optional elevation and with it the availability input
    const a = await cli(['finetune', '--model', SMOE, ...base, '--adapter', 'head-only', '--missing-rate', '0.5']);
    expect(a.code).toBe(1);
    expect(a.err.trim().split('\n')).toHaveLength(1);
    expect(a.err).toMatch(/--missing-rate.*availability/);
    // SpectralMoE has no default simulation whose rate a mode alone could take
    const m = await cli(['finetune', '--model', SMOE, ...base, '--missing-mode', 'both']);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/--missing-mode: needs --missing-rate/);
    const b = await cli(['finetune', '--model', MAMOL, ...base, '--adapter', 'rein']);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/--adapter.*rein.*does not apply to a mamol pack/);
    const c = await cli(['finetune', '--model', SMOE, ...base, '--adapter', 'spectralmoe', '--head', 'keep', '--labels', sharedData('salinas-a/labels.tif'), '--scene', sharedData('salinas-a')]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/classes the pack lacks/);
    expect(existsSync(path.join(OUT, 'never'))).toBe(false);
    // an output folder holding other files, or the base pack itself, is refused before any work, and kept
    const notes = path.join(OUT, 'analyst-folder');
    await fs.mkdir(notes, { recursive: true });
    await fs.writeFile(path.join(notes, 'notes.txt'), 'precious');
    const d = await cli(['finetune', '--model', SMOE, ...base.slice(0, -1), notes]);
    expect(d.code).toBe(1);
    expect(d.err.trim().split('\n')).toHaveLength(1);
    expect(d.err).toMatch(/analyst-folder: holds files that are not a model pack \(notes.txt\)/);
    expect(await fs.readFile(path.join(notes, 'notes.txt'), 'utf8')).toBe('precious');
    const e = await cli(['finetune', '--model', SMOE, ...base.slice(0, -1), SMOE]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/is the pack being fine-tuned/);
  }, 120_000);

  it('is cancellable and leaves no output; the same seed gives the same weights', async () => {
    const scene = await openScene(sharedData('nc-landsat7'));
    try {
      const req = { model: SMOE, scene, labels: sharedData('nc-landsat7/labels.tif'), adapter: 'head-only', epochs: 1, pixelsPerClass: 10, tilesPerClass: 6, seed: 3 };
      const abort = new AbortController();
      const cancelled = finetune({ ...req, out: path.join(OUT, 'cancelled') }, { signal: abort.signal, onProgress: () => abort.abort() });
      await expect(cancelled).rejects.toSatisfy(isCancelled);
      expect(existsSync(path.join(OUT, 'cancelled'))).toBe(false);

      const a = await finetune({ ...req, out: path.join(OUT, 'seed-a') });
      const b = await finetune({ ...req, out: path.join(OUT, 'seed-b') });
      const ta = await readSafetensors(path.join(OUT, 'seed-a/adapter.safetensors'));
      const tb = await readSafetensors(path.join(OUT, 'seed-b/adapter.safetensors'));
      expect([...ta.tensors.keys()]).toEqual([...tb.tensors.keys()]);
      for (const [k, t] of ta.tensors) expect(Array.from(tb.tensors.get(k)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
      expect(a.fit.history.map((h) => h.trainLoss)).toEqual(b.fit.history.map((h) => h.trainLoss));
    } finally {
      await scene.close();
    }
  }, 300_000);
});

describe('fieldmoe train', () => {
  it('on a scene too large to read whole, trains on the labelled area alone and records it', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const labels = northWest(await loadLabels(sharedData('sen1floods11-spain/labels.tif'), scene.info));
      const out = path.join(OUT, 'train-area');
      await train({ arch: 'mamol', frozenBackbone: { source: SMOE, weights: (await loadModelPack(SMOE)).weights }, sources: [{ scene, labels }], out, epochs: 1, tilesPerClass: 4, readWholeUpTo: 0 });
      const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
      expect(training.sources[0].readWindows).toEqual([{ x: 0, y: 0, width: 232, height: 232 }]);
    } finally {
      await scene.close();
    }
  }, 300_000);

  it('trains a MaMOL pack on a frozen backbone over two scenes with different sensors, united classes, and the pack classifies', async () => {
    const out = path.join(OUT, 'train-mamol');
    const r = await cli([
      'train', '--arch', 'mamol', '--backbone', SMOE, '--out', out, '--epochs', '1', '--name', 'tiny-mamol',
      '--scene', sharedData('eolearn-slovenia'), '--labels', sharedData('eolearn-slovenia/lulc.tif'),
      '--scene', sharedData('sen1floods11-spain'), '--labels', sharedData('sen1floods11-spain/labels.tif'),
      '--missing-rate', '0.5', '--missing-mode', 's1', '--ep', 'cuda',
    ]);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const pack = await loadPack(out);
    expect(pack.manifest.name).toBe('tiny-mamol');
    expect(pack.manifest.inputs.map((i) => [i.name, i.optional])).toEqual([['optical', true], ['sar', true], ['elevation', true]]);
    expect(pack.manifest.availabilityInput).toBe('available');
    // eolearn's five classes, then sen1floods11's "not water" and "water".
    expect(pack.manifest.classes.map((c) => c.name)).toEqual(['cultivated land', 'forest', 'grassland', 'shrubland', 'artificial surface', 'not water', 'water']);
    const training = JSON.parse(await fs.readFile(path.join(out, 'training.json'), 'utf8'));
    expect(training).toMatchObject({ kind: 'train', arch: 'mamol', missing: { rate: 0.5, mode: 's1', input: 'sar' }, provider: 'cpu' });
    expect(JSON.parse(r.out).fallbacks.map((f: { provider: string }) => f.provider)).toEqual(['cuda']);
    expect(training.sources.map((s: { scene: string }) => s.scene)).toEqual(['eolearn-slovenia/sensors.json', 'sen1floods11-spain/sensors.json']);
    // The frozen ViT blocks are the backbone pack's.
    const base = await loadModelPack(SMOE);
    const trained = await loadModelPack(out);
    const block = 'backbone.blocks.1.mlp.fc1.weight';
    expect(Array.from(trained.weights.get(block)!.data)).toEqual(Array.from(base.weights.get(block)!.data));
    const c = await cli(['classify', '--model', out, '--scene', sharedData('sen1floods11-spain'), '--missing', 's2', '--out', path.join(OUT, 'train-mamol.tif')]);
    expect(c.code).toBe(0);
  }, 300_000);
});
