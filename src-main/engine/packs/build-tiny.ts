/**
 * Builds the tiny placeholder packs in `models/` with our own graph builder, fitting their
 * weights honestly (LDA, closed form) on the labelled pixels of the shared datasets:
 *   tiny-landsat7          per-pixel LDA, Landsat-7 6 bands, 7 classes (nc-landsat7)
 *   tiny-landsat7-context  LDA on each pixel and its 3x3 neighbourhood mean (spatial context)
 *   tiny-s1s2-water        water / not water from Sentinel-2 + Sentinel-1 with sensor
 *                          availability: one LDA expert per availability pattern
 * Run: npx tsx src-main/engine/packs/build-tiny.ts [outDir] [sharedDataDir]
 * The models issue replaces these packs; the manifests' model cards say so.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, add, matmul, mul, reshape, softmax, sub, transpose, type Value } from '../ml';
import { openRaster } from '../raster/reader';
import { writeFileAtomic } from '../util/atomic';
import { fitLda, predict, type LinearModel } from './lda';
import { BUILTIN_PACK_DIR } from './registry';
import { MANIFEST_FORMAT, type PackManifest } from './manifest';

const LANDSAT_WAVELENGTHS = [485, 560, 660, 835, 1650, 2220];
const LANDSAT_COLORS = ['#e31a1c', '#ffd92f', '#b2df8a', '#a6761d', '#1a9641', '#2b83ba', '#bdbdbd'];
const S2_WAVELENGTHS = [443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190];
const CONTEXT_TILE = 128;

interface Image {
  width: number;
  height: number;
  bands: number;
  data: Float32Array;
}

async function readImage(file: string): Promise<Image> {
  const r = await openRaster(file);
  try {
    const { width, height, bandCount } = r.info;
    return { width, height, bands: bandCount, data: await r.readWindow({ x: 0, y: 0, width, height }) };
  } finally {
    await r.close();
  }
}

/** Per-band mean/std over valid pixels, and the normalised image (invalid pixels = 0, as the pipeline feeds them). */
function normalise(img: Image, valid: Uint8Array): { mean: number[]; std: number[]; z: Float64Array } {
  const n = img.width * img.height;
  const mean: number[] = [];
  const std: number[] = [];
  const z = new Float64Array(img.bands * n);
  for (let b = 0; b < img.bands; b++) {
    let s = 0;
    let s2 = 0;
    let c = 0;
    for (let p = 0; p < n; p++) {
      if (!valid[p]) continue;
      const v = img.data[b * n + p];
      s += v;
      s2 += v * v;
      c++;
    }
    const m = s / c;
    const sd = Math.sqrt(Math.max(s2 / c - m * m, 1e-12));
    mean.push(round(m));
    std.push(round(sd));
    for (let p = 0; p < n; p++) z[b * n + p] = valid[p] ? (img.data[b * n + p] - mean[b]) / std[b] : 0;
  }
  return { mean, std, z };
}

const round = (x: number) => Number(x.toPrecision(7));

/**
 * Pixels where at least one band holds a value (`isValue`): Landsat-7 band 7 has true zero DNs
 * inside the scene although 0 is declared nodata, so only all-nodata pixels are outside it.
 */
function validMask(img: Image, isValue: (v: number) => boolean): Uint8Array {
  const n = img.width * img.height;
  const valid = new Uint8Array(n);
  for (let b = 0; b < img.bands; b++) for (let p = 0; p < n; p++) if (isValue(img.data[b * n + p])) valid[p] = 1;
  return valid;
}

/** 3x3 mean with edge rows/columns averaging only the pixels that exist (what the context graph computes). */
function boxMean3(z: Float64Array, bands: number, width: number, height: number): Float64Array {
  const n = width * height;
  const out = new Float64Array(bands * n);
  for (let b = 0; b < bands; b++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        let s = 0;
        let c = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
            s += z[b * n + yy * width + xx];
            c++;
          }
        out[b * n + y * width + x] = s / c;
      }
  return out;
}

/** Rows of features (pixel-major) for the pixels in `pick`, from band-major planes. */
function gather(planes: Float64Array[], bandsPer: number[], n: number, pick: number[]): Float64Array {
  const d = bandsPer.reduce((a, b) => a + b, 0);
  const x = new Float64Array(pick.length * d);
  pick.forEach((p, i) => {
    let j = 0;
    planes.forEach((plane, s) => {
      for (let b = 0; b < bandsPer[s]; b++) x[i * d + j++] = plane[b * n + p];
    });
  });
  return x;
}

function accuracy(model: LinearModel, x: Float64Array, labels: Uint8Array): { overall: number; perClass: number[] } {
  const hits = new Array(model.classes).fill(0);
  const totals = new Array(model.classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    totals[labels[i]]++;
    if (predict(model, x, i) === labels[i]) hits[labels[i]]++;
  }
  return { overall: hits.reduce((a, b) => a + b, 0) / labels.length, perClass: hits.map((h, k) => h / totals[k]) };
}

// ---- graph pieces ------------------------------------------------------------------------------

/** Per-pixel linear logits [N,H,W,K] of an [N,C,H,W] input. */
function pixelLogits(g: Graph, x: Value, model: LinearModel, name: string): Value {
  const w = g.param(`${name}.weight`, Float32Array.from(model.weights), [model.features, model.classes]);
  const b = g.param(`${name}.bias`, Float32Array.from(model.bias), [model.classes]);
  return add(matmul(transpose(x, [0, 2, 3, 1]), w), b);
}

/** Splits a fitted model's weight rows into consecutive feature groups (one per input tensor). */
function splitRows(model: LinearModel, sizes: number[]): LinearModel[] {
  let row = 0;
  return sizes.map((d, i) => {
    const part: LinearModel = { weights: model.weights.slice(row * model.classes, (row + d) * model.classes), bias: i === 0 ? model.bias : new Float64Array(model.classes), features: d, classes: model.classes };
    row += d;
    return part;
  });
}

function probabilities(logits: Value): Value {
  return transpose(softmax(logits, -1), [0, 3, 1, 2]);
}

/** The 3x3 box-mean operator along one axis of a T-pixel tile, rows normalised by the neighbours that exist. */
function boxMatrix(T: number): Float32Array {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    const lo = Math.max(0, i - 1);
    const hi = Math.min(T - 1, i + 1);
    for (let j = lo; j <= hi; j++) m[i * T + j] = 1 / (hi - lo + 1);
  }
  return m;
}

function transposeSquare(m: Float32Array, T: number): Float32Array {
  const t = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) t[j * T + i] = m[i * T + j];
  return t;
}

// ---- packs -------------------------------------------------------------------------------------

interface Built {
  name: string;
  manifest: PackManifest;
  model: Uint8Array;
}

const PLACEHOLDER =
  'PLACEHOLDER pack of the foundation issue: it exists to exercise the pack format, the tiled pipeline and the CLI. ' +
  'The models issue replaces it with SpectralMoE / MaMOL packs. Accuracy below is measured on the very pixels it was fitted to ' +
  '(training labels), not on held-out data, so it overstates real accuracy.';

async function landsatPacks(dataDir: string): Promise<Built[]> {
  const dir = path.join(dataDir, 'nc-landsat7');
  const img = await readImage(path.join(dir, 'landsat7_2000.tif'));
  const lab = await readImage(path.join(dir, 'labels.tif'));
  const classes = JSON.parse(await fs.readFile(path.join(dir, 'classes.json'), 'utf8')) as { id: number; name: string }[];
  const K = classes.length;
  const n = img.width * img.height;
  const valid = validMask(img, (v) => v !== 0 && Number.isFinite(v));
  const { mean, std, z } = normalise(img, valid);
  const pick: number[] = [];
  for (let p = 0; p < n; p++) if (lab.data[p] > 0 && valid[p]) pick.push(p);
  const labels = Uint8Array.from(pick, (p) => lab.data[p] - 1);
  const C = img.bands;
  const packClasses = classes.map((c, k) => ({ id: c.id, name: c.name, color: LANDSAT_COLORS[k % LANDSAT_COLORS.length] }));
  const input = {
    name: 'x',
    sensorKinds: ['multispectral' as const],
    bands: { mode: 'fixed' as const, list: LANDSAT_WAVELENGTHS.map((w) => ({ wavelengthNm: w, toleranceNm: 40 })) },
    normalization: { type: 'per-band' as const, mean, std },
    optional: false,
    description: 'Landsat-7 ETM+ bands 1-5 and 7 (8-bit DN)',
  };

  // Per-pixel LDA.
  const xPixel = gather([z], [C], n, pick);
  const pixelModel = fitLda(xPixel, labels, C, K, { priors: 'uniform' });
  const accPixel = accuracy(pixelModel, xPixel, labels);
  const g1 = new Graph('tiny-landsat7');
  const x1 = g1.input('x', 'float32', ['N', C, 'H', 'W']);
  const out1 = probabilities(pixelLogits(g1, x1, pixelModel, 'lda'));

  // LDA on the pixel and its 3x3 neighbourhood mean: fixed 128-pixel tiles, since the box mean
  // is two matmuls by T x T band matrices (no convolution needed).
  const box = boxMean3(z, C, img.width, img.height);
  const xCtx = gather([z, box], [C, C], n, pick);
  const ctxModel = fitLda(xCtx, labels, 2 * C, K, { priors: 'uniform' });
  const accCtx = accuracy(ctxModel, xCtx, labels);
  const T = CONTEXT_TILE;
  const g2 = new Graph('tiny-landsat7-context');
  const x2 = g2.input('x', 'float32', ['N', C, T, T]);
  const rowsBox = g2.constant(boxMatrix(T), [T, T], 'box_rows');
  const colsBox = g2.constant(transposeSquare(boxMatrix(T), T), [T, T], 'box_cols');
  const xb = matmul(matmul(rowsBox, x2), colsBox);
  const [own, neigh] = splitRows(ctxModel, [C, C]);
  const out2 = probabilities(add(pixelLogits(g2, x2, own, 'lda_pixel'), pixelLogits(g2, xb, neigh, 'lda_neighbourhood')));

  const common: Pick<PackManifest, 'format' | 'version' | 'task' | 'model' | 'files' | 'inputs' | 'output' | 'classes'> = {
    format: MANIFEST_FORMAT,
    version: '0.1.0',
    task: 'segmentation' as const,
    model: 'model.onnx',
    files: [],
    inputs: [input],
    output: 'probabilities',
    classes: packClasses,
  };
  const metrics = (acc: { overall: number; perClass: number[] }) => ({
    'train.overall_accuracy': round(acc.overall),
    'train.pixels': pick.length,
    ...Object.fromEntries(acc.perClass.map((a, k) => [`train.accuracy.${classes[k].name}`, round(a)])),
  });
  return [
    {
      name: 'tiny-landsat7',
      model: g1.toModel({ outputs: [['probabilities', out1]] }),
      manifest: {
        ...common,
        name: 'tiny-landsat7',
        architecture: 'per-pixel linear discriminant analysis (6 bands -> 7 classes, softmax)',
        tile: { size: 256, overlap: 32, fixedSize: false, multipleOf: 1, batch: 4 },
        card: `${PLACEHOLDER}\n\nArchitecture: linear discriminant analysis (pooled covariance, ridge 1e-3, uniform priors) on the 6 normalised Landsat-7 bands, per pixel; softmax over the 7 NC land-cover classes.\nTraining data: the ${pick.length} labelled pixels of ../shared/data/nc-landsat7/labels.tif (GRASS NC sample data, GPL-3).\nTraining-label overall accuracy: ${(accPixel.overall * 100).toFixed(1)}%.`,
        metrics: metrics(accPixel),
      },
    },
    {
      name: 'tiny-landsat7-context',
      model: g2.toModel({ outputs: [['probabilities', out2]] }),
      manifest: {
        ...common,
        name: 'tiny-landsat7-context',
        architecture: 'linear discriminant analysis on each pixel and its 3x3 neighbourhood mean (12 features -> 7 classes, softmax)',
        tile: { size: T, overlap: 32, fixedSize: true, multipleOf: 1, batch: 4 },
        card: `${PLACEHOLDER}\n\nArchitecture: the 3x3 neighbourhood mean of the normalised bands (two matmuls by ${T}x${T} band matrices, so the tile size is fixed at ${T}; tile edges average the neighbours inside the tile) plus the pixel's own bands feed an LDA (pooled covariance, ridge 1e-3, uniform priors). It exists to test seam-free blending of a model with spatial context.\nTraining data: the ${pick.length} labelled pixels of ../shared/data/nc-landsat7/labels.tif.\nTraining-label overall accuracy: ${(accCtx.overall * 100).toFixed(1)}%.`,
        metrics: metrics(accCtx),
      },
    },
  ];
}

async function waterPack(dataDir: string): Promise<Built> {
  const dir = path.join(dataDir, 'sen1floods11-spain');
  const s2 = await readImage(path.join(dir, 'S2Hand.tif'));
  const s1 = await readImage(path.join(dir, 'S1Hand.tif'));
  const lab = await readImage(path.join(dir, 'labels.tif'));
  const n = s2.width * s2.height;
  const v2 = validMask(s2, (v) => v !== 0 && Number.isFinite(v));
  const v1 = validMask(s1, (v) => Number.isFinite(v));
  const n2 = normalise(s2, v2);
  const n1 = normalise(s1, v1);
  const labelled = (ok: (p: number) => boolean) => {
    const pick: number[] = [];
    for (let p = 0; p < n; p++) if (lab.data[p] > 0 && ok(p)) pick.push(p);
    return pick;
  };
  const fit = (planes: Float64Array[], sizes: number[], pick: number[]) => {
    const x = gather(planes, sizes, n, pick);
    const labels = Uint8Array.from(pick, (p) => lab.data[p] - 1);
    const model = fitLda(x, labels, sizes.reduce((a, b) => a + b, 0), 2, { priors: 'empirical' });
    return { model, acc: accuracy(model, x, labels), pixels: pick.length };
  };
  const full = fit([n2.z, n1.z], [13, 2], labelled((p) => !!(v2[p] && v1[p])));
  const only2 = fit([n2.z], [13], labelled((p) => !!v2[p]));
  const only1 = fit([n1.z], [2], labelled((p) => !!v1[p]));

  // Experts per availability pattern, mixed by gates computed from the availability tensor:
  // exactly one gate is 1 for a binary pattern, so the model is the matching LDA expert.
  const g = new Graph('tiny-s1s2-water');
  const xs2 = g.input('s2', 'float32', ['N', 13, 'H', 'W']);
  const xs1 = g.input('s1', 'float32', ['N', 2, 'H', 'W']);
  const avail = g.input('availability', 'float32', ['N', 2]);
  const column = (k: number) => reshape(matmul(avail, g.constant(Float32Array.from([k === 0 ? 1 : 0, k === 1 ? 1 : 0]), [2, 1], `pick_${k}`)), [0, 1, 1, 1]);
  const a2 = column(0);
  const a1 = column(1);
  const gateFull = mul(a2, a1);
  const gate2 = mul(a2, sub(1, a1));
  const gate1 = mul(sub(1, a2), a1);
  const [full2, full1] = splitRows(full.model, [13, 2]);
  const logitsFull = add(pixelLogits(g, xs2, full2, 'full_s2'), pixelLogits(g, xs1, full1, 'full_s1'));
  const logits2 = pixelLogits(g, xs2, only2.model, 's2_only');
  const logits1 = pixelLogits(g, xs1, only1.model, 's1_only');
  const logits = add(add(mul(gateFull, logitsFull), mul(gate2, logits2)), mul(gate1, logits1));
  const model = g.toModel({ outputs: [['probabilities', probabilities(logits)]] });
  const pct = (a: number) => `${(a * 100).toFixed(1)}%`;
  return {
    name: 'tiny-s1s2-water',
    model,
    manifest: {
      format: MANIFEST_FORMAT,
      name: 'tiny-s1s2-water',
      version: '0.1.0',
      task: 'segmentation',
      architecture: 'per-pixel LDA experts (S2+S1, S2 only, S1 only) selected by sensor availability; softmax over water / not water',
      model: 'model.onnx',
      files: [],
      inputs: [
        {
          name: 's2',
          sensorKinds: ['multispectral'],
          bands: { mode: 'fixed', list: S2_WAVELENGTHS.map((w) => ({ wavelengthNm: w, toleranceNm: 15 })) },
          normalization: { type: 'per-band', mean: n2.mean, std: n2.std },
          optional: true,
          description: 'Sentinel-2 L1C, 13 bands (TOA reflectance x 10000)',
        },
        {
          name: 's1',
          sensorKinds: ['sar'],
          bands: { mode: 'fixed', list: [{ name: 'VV' }, { name: 'VH' }] },
          normalization: { type: 'per-band', mean: n1.mean, std: n1.std },
          optional: true,
          description: 'Sentinel-1 GRD VV and VH backscatter (dB)',
        },
      ],
      availabilityInput: 'availability',
      output: 'probabilities',
      classes: [
        { id: 1, name: 'not water', color: '#d9d9d9' },
        { id: 2, name: 'water', color: '#08519c' },
      ],
      tile: { size: 256, overlap: 32, fixedSize: false, multipleOf: 1, batch: 4 },
      card:
        `${PLACEHOLDER}\n\nArchitecture: three linear discriminant analysis experts (empirical priors, ridge 1e-3) on normalised bands - ` +
        `Sentinel-2 + Sentinel-1 (15 features), Sentinel-2 only, Sentinel-1 only - gated by the availability input [N, 2] (s2, s1), ` +
        `so a missing sensor switches to the expert that does not use it (a miniature of MaMOL's availability-gated experts).\n` +
        `Training data: the labelled pixels of ../shared/data/sen1floods11-spain/labels.tif (hand labels, Bonafilia et al. 2020).\n` +
        `Training-label overall accuracy: S2+S1 ${pct(full.acc.overall)}, S2 only ${pct(only2.acc.overall)}, S1 only ${pct(only1.acc.overall)}.`,
      metrics: {
        'train.overall_accuracy': round(full.acc.overall),
        'train.overall_accuracy.s2_only': round(only2.acc.overall),
        'train.overall_accuracy.s1_only': round(only1.acc.overall),
        'train.pixels': full.pixels,
      },
    },
  };
}

/** Builds every tiny pack into `outDir/<name>/` (manifest.json + model.onnx). */
export async function buildTinyPacks(outDir = BUILTIN_PACK_DIR, dataDir = path.resolve(BUILTIN_PACK_DIR, '../../shared/data')): Promise<Built[]> {
  const built = [...(await landsatPacks(dataDir)), await waterPack(dataDir)];
  for (const b of built) {
    const dir = path.join(outDir, b.name);
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, 'model.onnx'), b.model);
    await writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(b.manifest, null, 2) + '\n');
  }
  return built;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildTinyPacks(process.argv[2], process.argv[3]);
  for (const b of built) process.stderr.write(`${b.name}: ${JSON.stringify(b.manifest.metrics)}\n`);
}
