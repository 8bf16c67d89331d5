/**
 * `npx tsx scripts/finetune-vs-rf.ts [--cases a,b] [--seeds 0,1,2] [--pixels 20,50,200] [--out file.json] [--dump dir]`
 *
 * The issue's acceptance comparison on shared data, over several seeds and label counts, as an
 * analyst (or the issue's check) would run it: N labelled pixels per class are drawn from the
 * training side of a spatial split (pixels with data in every sensor), `finetune` gets those
 * labels and nothing else (it holds some of them back for its own validation and early
 * stopping), a random forest (sklearn) is trained on all of them, and both are scored like
 * `fieldmoe eval` on the other side of the split. The issue checks on scenes the packs never
 * saw; on a scene the default packs trained on (DEFAULT_TRAINING_SCENES) the split is made
 * within their held-back pixels, so that neither the few labels nor the scored pixels are ones
 * the pack fitted (on the pixels it trained on, the unadapted pack beats the forest outright and
 * its logits are confidently right where the labels are, which makes fine-tuning look worse
 * than it is and tunes it for the wrong case). MaMOL: one fine-tuned model evaluated with each
 * sensor missing in turn against one forest per sensor subset. A seed sets the split, the
 * few-shot draw, the training and the forest. Some cases also score in other scenes of the same
 * sensor (another region, `otherRegions`), or serve a sensor as another product of it does:
 * without some bands (`dropBands`), SAR in linear power (`sarLinear`); or build their scene from
 * a dataset's files (`build`: the Houston 2013 LiDAR DSM, scripts/houston-lidar-scene.ts).
 * Prints each case's OA margin (ours - RF) per seed and its mean and minimum. `--cases` picks
 * cases whose name contains one of the words; `--dump` writes the forest's training and scored
 * samples of every run as .npy files, to try other learners on the same pixels offline.
 * test/slow/finetune-vs-rf.test.ts runs the same cases (seed 0 unless FIELDMOE_RF_SEEDS says).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openScene } from '../src-main/engine/scene/index';
import type { Scene } from '../src-main/engine/scene/types';
import { loadLabels, readLabelledPixels, splitLabels, subsamplePerClass, type LabelSet } from '../src-main/engine/labels/index';
import { loadPack } from '../src-main/engine/packs/index';
import { randomForestBaseline, type PixelSamples } from '../src-main/engine/eval/index';
import { writeNpy } from '../src-main/engine/eval/npy';
import { finetune } from '../src-main/engine/finetune/finetune';
import { classMap, scoreClassMap, withData } from '../src-main/engine/finetune/evaluate';
import { DEFAULT_TRAINING_SCENES, heldOutIndices } from '../src-main/engine/training/defaults';
import { CELL as HOUSTON_CELL, houstonLidarScene } from './houston-lidar-scene';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.resolve(ROOT, '../shared/data');

export interface Case {
  name: string;
  pack: string;
  dataset: string;
  /** The scene within the dataset folder (default: the folder, its sensors.json). */
  scene?: string;
  labels: string;
  pixelsPerClass: number;
  /** Sensor subsets to evaluate (MaMOL: each sensor missing in turn). */
  missing: string[][];
  missingRate?: number;
  epochs: number;
  /** Sensors that stay failed throughout (fine-tuning too): e.g. a LiDAR/DEM-only scene. */
  absent?: string[];
  /**
   * Bands left out of a sensor (by name), as another product of that sensor lacks them:
   * Sentinel-2 Level-2A has no B10. The scene is rewritten without them (gdal_translate).
   */
  dropBands?: Record<string, string[]>;
  /**
   * Scenes of the same sensor elsewhere, with labels of the same classes: the model and the
   * forest, both from the few labels of the case's scene, also score there.
   */
  otherRegions?: { scene: string; labels: string }[];
  /** Serve the SAR sensor's dB values as linear power (10^(dB/10)), as other products hold them. */
  sarLinear?: boolean;
  /** A scene built from the dataset's files into a new folder under `outDir` (holding `labels`), instead of the dataset folder. */
  build?: (dataDir: string, outDir: string) => Promise<string>;
  /** Block side (pixels) of the split by seed (default: splitLabels', or SEEN_SPLIT_BLOCK on a scene the packs trained on). */
  splitBlock?: number;
}

export const CASES: Case[] = [
  { name: 'nc-landsat7 20/class', pack: 'default-spectralmoe', dataset: 'nc-landsat7', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30 },
  { name: 'nc-landsat7 100/class', pack: 'default-spectralmoe', dataset: 'nc-landsat7', labels: 'labels.tif', pixelsPerClass: 100, missing: [[]], epochs: 30 },
  { name: 'salinas-a (unseen hyperspectral sensor) 20/class', pack: 'default-spectralmoe', dataset: 'salinas-a', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30 },
  {
    name: 'chesapeake-naip (unseen aerial sensor, new classes) 20/class', pack: 'default-spectralmoe', dataset: 'chesapeake-naip', scene: 'id_000051_naip.tif', labels: 'id_000051_labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30,
    // the NAIP tiles sharing most of tile 51's classes (138 and 181 are mostly one class each)
    otherRegions: [{ scene: 'id_000367_naip.tif', labels: 'id_000367_labels.tif' }, { scene: 'id_000184_naip.tif', labels: 'id_000184_labels.tif' }],
  },
  { name: 'eolearn-slovenia 50/class', pack: 'default-spectralmoe', dataset: 'eolearn-slovenia', labels: 'lulc.tif', pixelsPerClass: 50, missing: [[]], epochs: 30 },
  { name: 'eolearn-slovenia DEM only (an elevation-only scene) MaMOL 50/class', pack: 'default-mamol', dataset: 'eolearn-slovenia', labels: 'lulc.tif', pixelsPerClass: 50, missing: [[]], absent: ['s2'], epochs: 30 },
  {
    name: 'houston2013 LiDAR DSM only (urban, new classes) MaMOL 20/class', pack: 'default-mamol', dataset: 'houston2013-pixels', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30,
    // one DSM fragment per cell: a split by cell is a split by fragment
    build: houstonLidarScene, splitBlock: HOUSTON_CELL,
  },
  {
    name: 'houston2013 LiDAR raster of 21 bands (DSM + 20 derived features) MaMOL 20/class', pack: 'default-mamol', dataset: 'houston2013-pixels', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30,
    build: (dataDir, outDir) => houstonLidarScene(dataDir, outDir, 'all'), splitBlock: HOUSTON_CELL,
  },
  { name: 'sen1floods11 S2+S1 MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s1'], ['s2']], missingRate: 0.5, epochs: 20 },
  { name: 'sen1floods11 with S1 as VV alone MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s2']], missingRate: 0.5, epochs: 20, dropBands: { s1: ['VH'] } },
  { name: 'sen1floods11 with S1 in linear power MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s2']], missingRate: 0.5, epochs: 20, sarLinear: true },
  {
    name: 'sen1floods11 with S2 as a 4-band camera (RGB + NIR, a sensor the pack never saw) MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s1'], ['s2']], missingRate: 0.5, epochs: 20,
    dropBands: { s2: ['B01', 'B05', 'B06', 'B07', 'B8A', 'B09', 'B10', 'B11', 'B12'] },
  },
  { name: 'sen1floods11 with S2 as Level-2A bands (no B10) MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s1']], missingRate: 0.5, epochs: 20, dropBands: { s2: ['B10'] } },
];

/** `scene` with its SAR sensors' values in linear power (the file holds dB). */
function withLinearSar(scene: Scene): Scene {
  const sar = new Set(scene.info.sensors.filter((s) => s.kind === 'sar').map((s) => s.id));
  return {
    info: scene.info,
    close: () => scene.close(),
    async readWindow(window, options) {
      const blocks = await scene.readWindow(window, options);
      for (const [id, block] of blocks) if (sar.has(id)) block.data = block.data.map((v) => 10 ** (v / 10));
      return blocks;
    },
  };
}

/** The case's scene: the dataset's, one built from it, or a copy under `outDir` without the bands of `dropBands`. */
async function sceneOf(c: Case, outDir: string): Promise<string> {
  const dir = c.build ? await c.build(path.join(DATA, c.dataset), outDir) : path.join(DATA, c.dataset, c.scene ?? '');
  return c.dropBands ? sceneWithoutBands(dir, c.dropBands, outDir) : dir;
}

/**
 * A copy (in a new folder under `outDir`) of the scene folder `dir` (its sensors.json) whose
 * sensors lack the bands named in `drop` (per sensor id), rewritten with gdal_translate; the
 * other sensors' files are referenced where they are.
 */
export async function sceneWithoutBands(dir: string, drop: Record<string, string[]>, outDir: string): Promise<string> {
  type SensorEntry = { id: string; file: string; bands: { name: string }[] };
  const sensors = JSON.parse(await fs.readFile(path.join(dir, 'sensors.json'), 'utf8')) as SensorEntry[];
  const copy = await fs.mkdtemp(path.join(outDir, 'scene-'));
  for (const s of sensors) {
    const names = drop[s.id] ?? [];
    const source = path.join(dir, s.file);
    s.file = source;
    if (!names.length) continue;
    const keep = s.bands.flatMap((b, i) => (names.includes(b.name) ? [] : [i + 1]));
    s.file = path.join(copy, path.basename(source));
    execFileSync('gdal_translate', ['-q', ...keep.flatMap((b) => ['-b', String(b)]), source, s.file]);
    s.bands = s.bands.filter((b) => !names.includes(b.name));
  }
  await fs.writeFile(path.join(copy, 'sensors.json'), JSON.stringify(sensors, null, 1));
  return copy;
}

/** Block side (pixels) of the split by seed within a pack's held-out pixels. */
const SEEN_SPLIT_BLOCK = 16;

export interface Row {
  case: string;
  seed: number;
  pixelsPerClass: number;
  missing: string[];
  /** The other region scored (Case.otherRegions); absent: the held-out side of the case's scene. */
  region?: string;
  trainPixels: number;
  testPixels: number;
  nodataPixels: number;
  finetuneSeconds: number;
  epochs: number;
  ours: { oa: number; kappa: number; miou: number; macc: number };
  rf: { oa: number; kappa: number; miou: number; macc: number };
}

/** Spectra of `indices` for the scene's non-missing sensors, NaN replaced by 0 for sklearn. */
async function pixels(scene: Scene, labels: LabelSet, indices: Uint32Array, sensors: string[]) {
  const p = await readLabelledPixels(scene, labels, indices, { sensors });
  for (let i = 0; i < p.features.length; i++) if (p.features[i] !== p.features[i]) p.features[i] = 0;
  return { features: p.features, featureCount: p.featureCount, labels: p.labels };
}

/** What an analyst draws: `perClass` labelled pixels per class among `candidates`, where every sensor of the scene has data. */
async function drawFewShot(scene: Scene, labels: LabelSet, candidates: Uint32Array, perClass: number, seed: number): Promise<Uint32Array> {
  const sensors = scene.info.sensors.filter((s) => !s.failed).map((s) => s.id);
  const p = await readLabelledPixels(scene, labels, candidates, { sensors });
  return subsamplePerClass(labels, p.indices.filter((_, row) => p.valid[row] === 1), perClass, seed);
}

/** The labels of `indices` alone, as a labels file holding only those pixels would load. */
export function onlyThese(labels: LabelSet, indices: Uint32Array): LabelSet {
  const pick = <T extends Uint32Array | Uint16Array | Int32Array>(a: T) => indices.map((i) => a[i]) as T;
  const classIndex = pick(labels.classIndex);
  const classCounts = labels.classes.map((_, k) => classIndex.filter((c) => c === k).length);
  return { ...labels, x: pick(labels.x), y: pick(labels.y), classIndex, featureId: pick(labels.featureId), classCounts, warnings: [] };
}

/** A file-name-safe form of a case or region name. */
const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/** The forest's samples of one run as .npy files under `dir` (`<name>_{train,test}_{x,y}.npy`), to study the rows offline (sklearn). */
async function dumpSamples(dir: string, name: string, train: PixelSamples, test: PixelSamples): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [part, s] of [['train', train], ['test', test]] as const) {
    await writeNpy(path.join(dir, `${name}_${part}_x.npy`), s.features, [s.labels.length, s.featureCount]);
    await writeNpy(path.join(dir, `${name}_${part}_y.npy`), Int32Array.from(s.labels), [s.labels.length]);
  }
}

/** One case at one seed: fine-tune, forest and scores (`dump`: also write the forest's samples there, dumpSamples). */
export async function runCase(c: Case, opts: { seed: number; pixelsPerClass?: number; outDir: string; dump?: string; onRow?: (row: Row) => void }): Promise<Row[]> {
  const dir = await sceneOf(c, opts.outDir);
  const labelsFile = path.join(c.build ? dir : path.join(DATA, c.dataset), c.labels);
  const absent = c.absent ?? [];
  const pixelsPerClass = opts.pixelsPerClass ?? c.pixelsPerClass;
  const { seed } = opts;
  const open = async (missing: string[]) => {
    const opened = await openScene(dir, { missing });
    return c.sarLinear ? withLinearSar(opened) : opened;
  };
  const scene = await open(absent);
  const rows: Row[] = [];
  try {
    const all = await loadLabels(labelsFile, scene.info);
    // Both the few labels and the scored pixels come from pixels the pack never trained on: on a
    // scene the default packs trained on, the validation side of their split (the rest they
    // fitted, labels included); then a spatial split by seed, scored on its validation side, in
    // blocks of SEEN_SPLIT_BLOCK there (eolearn's held-out side is about two of the default blocks).
    const seen = DEFAULT_TRAINING_SCENES.some((s) => s.dataset === c.dataset);
    const labels = seen ? onlyThese(all, heldOutIndices(all)) : all;
    const blockSize = c.splitBlock ?? (seen ? SEEN_SPLIT_BLOCK : undefined);
    const split = splitLabels(labels, { valFraction: 0.2, seed, ...(blockSize ? { blockSize } : {}) });
    const train = await drawFewShot(scene, labels, split.train, pixelsPerClass, seed);
    const out = path.join(opts.outDir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}-${pixelsPerClass}-s${seed}`);
    const t0 = performance.now();
    const ft = await finetune({
      model: path.join(ROOT, 'models', c.pack), scene, labels: onlyThese(labels, train), out, epochs: c.epochs, seed,
      missing: c.missingRate ? { rate: c.missingRate, mode: 'both' } : undefined,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (train.length > pixelsPerClass * labels.classes.length) throw new Error(`${c.name}: ${train.length} labelled pixels for ${pixelsPerClass} per class`);
    const pack = await loadPack(out);
    /** Both scored on `candidates` of `testLabels` that have sensor data in `sub` (the map is nodata elsewhere). */
    const score = async (sub: Scene, testLabels: LabelSet, candidates: Uint32Array, missing: string[], region?: string) => {
      const { classes } = await classMap(sub, pack);
      const ours = scoreClassMap(classes, pack, testLabels, candidates);
      const test = withData(classes, testLabels, candidates);
      // the same sensors in both scenes, named by their files in another region's
      const present = (sc: Scene) => sc.info.sensors.filter((_, i) => !sub.info.sensors[i].failed).map((s) => s.id);
      const [forestTrain, forestTest] = [await pixels(scene, labels, train, present(scene)), await pixels(sub, testLabels, test, present(sub))];
      if (opts.dump) await dumpSamples(opts.dump, `${slug(c.name)}_${pixelsPerClass}pc_s${seed}_${region ? slug(region) : missing.length ? `missing-${missing.join('+')}` : 'all'}`, forestTrain, forestTest);
      const rf = await randomForestBaseline(forestTrain, forestTest, labels.classes, { seed });
      const row: Row = {
        case: c.name, seed, pixelsPerClass, missing, ...(region ? { region } : {}), trainPixels: train.length, testPixels: test.length, nodataPixels: ours.nodata_pixels, finetuneSeconds: seconds, epochs: ft.fit.history.length,
        ours: { oa: ours.oa, kappa: ours.kappa, miou: ours.miou, macc: ours.macc },
        rf: { oa: rf.metrics.oa, kappa: rf.metrics.kappa, miou: rf.metrics.miou, macc: rf.metrics.macc },
      };
      rows.push(row);
      opts.onRow?.(row);
    };
    for (const missing of c.missing) {
      const sub = await open([...absent, ...missing]);
      try {
        await score(sub, labels, split.val, missing);
      } finally {
        await sub.close();
      }
    }
    // Other regions: every labelled pixel there of a class the few labels had (neither model can name another).
    const trained = new Set(Array.from(train, (i) => labels.classIndex[i]));
    for (const region of c.otherRegions ?? []) {
      const sub = await openScene(path.join(DATA, c.dataset, region.scene), { missing: absent });
      try {
        const there = await loadLabels(path.join(DATA, c.dataset, region.labels), sub.info);
        if (there.classes.map((k) => k.name).join() !== labels.classes.map((k) => k.name).join()) throw new Error(`${region.labels}: other classes than ${c.labels}`);
        await score(sub, there, Uint32Array.from(there.classIndex.keys()).filter((i) => trained.has(there.classIndex[i])), [], region.scene);
      } finally {
        await sub.close();
      }
    }
  } finally {
    await scene.close();
  }
  return rows;
}

/** Per case, label count and sensor subset: OA margins (ours - RF) per seed, their mean and minimum. */
export function margins(rows: readonly Row[]): { key: string; seeds: number[]; margins: number[]; mean: number; min: number; oursMean: number; rfMean: number }[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.case.replace(/ \d+\/class$/, '')} | ${r.pixelsPerClass}/class | ${r.region ? `other region ${r.region}` : `missing [${r.missing.join(',')}]`}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([key, rs]) => {
    const m = rs.map((r) => r.ours.oa - r.rf.oa);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { key, seeds: rs.map((r) => r.seed), margins: m, mean: mean(m), min: Math.min(...m), oursMean: mean(rs.map((r) => r.ours.oa)), rfMean: mean(rs.map((r) => r.rf.oa)) };
  });
}

export function marginTable(rows: readonly Row[]): string {
  const pct = (x: number) => (100 * x).toFixed(1).padStart(6);
  const lines = ['| case | labels | missing | per-seed OA margin (pts) | mean | min | ours OA | RF OA |', '|---|---|---|---|---|---|---|---|'];
  for (const m of margins(rows)) lines.push(`| ${m.key} | ${m.margins.map((x, i) => `s${m.seeds[i]} ${(100 * x).toFixed(1)}`).join(', ')} | ${pct(m.mean)} | ${pct(m.min)} | ${pct(m.oursMean)} | ${pct(m.rfMean)} |`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { cases: { type: 'string' }, seeds: { type: 'string', default: '0' }, pixels: { type: 'string' }, out: { type: 'string' }, dump: { type: 'string' } } });
  const ints = (s: string) => s.split(',').map((x) => Number(x.trim())).filter((n) => Number.isInteger(n) && n >= 0);
  const words = values.cases ? values.cases.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean) : [];
  const cases = CASES.filter((c) => !words.length || words.some((w) => c.name.toLowerCase().includes(w)));
  const seeds = ints(values.seeds!);
  const counts = values.pixels ? ints(values.pixels) : [undefined];
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-ftrf-'));
  const rows: Row[] = [];
  try {
    for (const c of cases)
      for (const n of counts)
        for (const seed of seeds)
          await runCase(c, {
            seed, pixelsPerClass: n, outDir, dump: values.dump,
            onRow: (r) => {
              rows.push(r);
              console.error(`${r.case} | ${r.pixelsPerClass}/class seed ${r.seed} ${r.region ? `in ${r.region}` : `missing [${r.missing}]`}: ours ${r.ours.oa.toFixed(4)} RF ${r.rf.oa.toFixed(4)} (${r.finetuneSeconds.toFixed(1)} s, ${r.epochs} epochs)`);
            },
          });
  } finally {
    await fs.rm(outDir, { recursive: true, force: true });
    if (values.out) await fs.writeFile(values.out, JSON.stringify(rows, null, 1) + '\n');
  }
  console.log(marginTable(rows));
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
