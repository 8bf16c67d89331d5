import { FieldMoeError } from '../util/errors';
import type { PixelWindow } from '../scene/types';
import { seededRng, shuffled } from './random';
import type { LabelSet } from './types';

export interface PatchSamplingOptions {
  /** Side of the square patch in pixels; patches are centred on a labelled pixel. */
  patchSize: number;
  /** Labelled pixels that may be patch centres (e.g. `split.train`); default all. */
  indices?: ArrayLike<number>;
  /** Patches per class; default the largest class count among the candidates, so every class
   * gets as many patches as the most common one (rarer classes are oversampled). */
  perClass?: number;
  /** When a class has fewer candidates than perClass: draw again with replacement (default
   * true, balanced) or stop at the candidates it has (false, no duplicates). */
  oversample?: boolean;
  seed?: number;
}

/** One training patch. `window` is clipped at the scene edges, so edge patches are smaller;
 * (centerX, centerY) is where the labelled pixel sits inside the window. */
export interface PatchSample {
  /** Index of the centre pixel in the LabelSet arrays. */
  index: number;
  classIndex: number;
  window: PixelWindow;
  centerX: number;
  centerY: number;
}

/**
 * Class-balanced patches around labelled pixels: each class contributes `perClass` patches
 * (distinct centres first, then repeats when oversampling), and the result is shuffled.
 * Deterministic for a seed.
 */
export function samplePatches(set: LabelSet, options: PatchSamplingOptions): PatchSample[] {
  const size = options.patchSize;
  if (!Number.isInteger(size) || size < 1) throw new FieldMoeError('patch size', `must be a positive integer, got ${size}`);
  const rand = seededRng(options.seed ?? 0);
  const candidates = options.indices ? Array.from(options.indices) : Array.from(set.x.keys());
  const byClass: number[][] = set.classes.map(() => []);
  for (const i of candidates) byClass[set.classIndex[i]].push(i);
  const perClass = options.perClass ?? Math.max(0, ...byClass.map((c) => c.length));
  const oversample = options.oversample ?? true;
  const centres: number[] = [];
  for (const pixels of byClass) {
    if (pixels.length === 0) continue;
    const order = shuffled(pixels, rand);
    const n = oversample ? perClass : Math.min(perClass, pixels.length);
    for (let k = 0; k < n; k++) centres.push(k < order.length ? order[k] : order[Math.floor(rand() * order.length)]);
  }
  return shuffled(centres, rand).map((i) => patchAround(set, i, size));
}

export function patchAround(set: LabelSet, index: number, patchSize: number): PatchSample {
  const half = Math.floor(patchSize / 2);
  const cx = set.x[index];
  const cy = set.y[index];
  const x0 = Math.max(0, cx - half);
  const y0 = Math.max(0, cy - half);
  const x1 = Math.min(set.width, cx - half + patchSize);
  const y1 = Math.min(set.height, cy - half + patchSize);
  return { index, classIndex: set.classIndex[index], window: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, centerX: cx - x0, centerY: cy - y0 };
}

/**
 * Fast class look-up for a subset of labelled pixels (e.g. the training pixels), for dense
 * per-pixel targets of a patch: pixels outside the subset read as -1 (ignored by the loss).
 */
export class LabelLookup {
  private readonly classAtKey = new Map<number, number>();

  constructor(
    private readonly set: LabelSet,
    indices?: ArrayLike<number>,
  ) {
    const idx = indices ? Array.from(indices) : Array.from(set.x.keys());
    for (const i of idx) this.classAtKey.set(set.y[i] * set.width + set.x[i], set.classIndex[i]);
  }

  classAt(x: number, y: number): number {
    return this.classAtKey.get(y * this.set.width + x) ?? -1;
  }

  /** Row-major class indices of the window, -1 where unlabelled or outside the subset. */
  window(w: PixelWindow): Int16Array {
    const out = new Int16Array(w.width * w.height).fill(-1);
    for (let r = 0; r < w.height; r++) for (let c = 0; c < w.width; c++) out[r * w.width + c] = this.classAt(w.x + c, w.y + r);
    return out;
  }
}

/**
 * Up to `perClass` pixels of each class from `indices`, drawn without replacement with the seed
 * (the few-shot setting: "20 labelled pixels per class"). Returned sorted.
 */
export function subsamplePerClass(set: LabelSet, indices: ArrayLike<number>, perClass: number, seed = 0): Uint32Array {
  const rand = seededRng(seed);
  const byClass: number[][] = set.classes.map(() => []);
  for (const i of Array.from(indices)) byClass[set.classIndex[i]].push(i);
  const picked = byClass.flatMap((pixels) => shuffled(pixels, rand).slice(0, perClass));
  return Uint32Array.from(picked.sort((a, b) => a - b));
}
