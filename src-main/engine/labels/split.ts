import { FieldMoeError } from '../util/errors';
import { seededRng, shuffled } from './random';
import type { LabelSet } from './types';

export type SplitUnit = 'feature' | 'block';

/** Side of the square blocks of a block split unless told. */
export const DEFAULT_SPLIT_BLOCK = 32;

export interface SplitOptions {
  /** Target share of labelled pixels in validation (default 0.2). */
  valFraction?: number;
  /** Seed for the group assignment (default 0): same seed, same split. */
  seed?: number;
  /**
   * 'auto' (default): by feature for polygon labels, by block for rasters and points, and for
   * polygons where every class is a single shape (as when an analyst draws one per class): a
   * feature split could then validate nothing.
   */
  by?: SplitUnit | 'auto';
  /** Side of the square blocks in pixels for block splits (default DEFAULT_SPLIT_BLOCK). */
  blockSize?: number;
  /**
   * Training pixels at a Euclidean distance <= bufferPixels from any validation pixel are
   * dropped (default 2, so no training pixel touches a validation pixel, even diagonally).
   * Use at least the model's patch radius to keep validation patches unseen.
   */
  bufferPixels?: number;
}

/** A train/validation split of a LabelSet; pixels are indices into the set's arrays. */
export interface LabelSplit {
  by: SplitUnit;
  train: Uint32Array;
  val: Uint32Array;
  /** Training pixels dropped because they sat within the buffer of a validation pixel. */
  droppedForBuffer: number;
  /** Class indices with labels that ended up with no training / no validation pixel (a class
   * present in a single feature or block cannot be in both). */
  missingInTrain: number[];
  missingInVal: number[];
  warnings: string[];
}

interface Group {
  pixels: number[];
  classCounts: Map<number, number>;
}

/**
 * Splits labelled pixels into train and validation by whole groups (polygons / features, or
 * square blocks of the grid), never by pixel, so validation measures generalisation to places
 * the model did not train on. Groups are shuffled with the seed; first, for each class from the
 * rarest up, one group holding it goes to validation and one to training where the class spans
 * two groups or more (stratification), and a group that alone holds a class trains (a class
 * that is never trained on cannot be validated either); then the remaining groups fill
 * validation up to `valFraction` of the pixels. Finally the buffer removes training pixels next
 * to validation.
 */
export function splitLabels(set: LabelSet, options: SplitOptions = {}): LabelSplit {
  const valFraction = options.valFraction ?? 0.2;
  if (!(valFraction > 0 && valFraction < 1)) throw new FieldMoeError('--val-split', `must be between 0 and 1, got ${valFraction}`);
  const blockSize = options.blockSize ?? DEFAULT_SPLIT_BLOCK;
  if (!(blockSize >= 1)) throw new FieldMoeError('block size', `must be at least 1 pixel, got ${blockSize}`);
  const { by, groups } = splitGroups(set, options.by ?? 'auto', blockSize);
  const order = shuffled(groups, seededRng(options.seed ?? 0));
  const isVal = assignGroups(order, set.classes.length, valFraction * set.x.length);
  const val: number[] = [];
  const train: number[] = [];
  // a loop, not push(...pixels): a polygon of some hundred thousand pixels overflows the call stack as arguments
  order.forEach((g, i) => {
    const side = isVal[i] ? val : train;
    for (const p of g.pixels) side.push(p);
  });
  val.sort((a, b) => a - b);
  train.sort((a, b) => a - b);
  const kept = applyBuffer(set, train, val, options.bufferPixels ?? 2);
  const present = (idx: number[]) => new Set(idx.map((i) => set.classIndex[i]));
  const inTrain = present(kept);
  const inVal = present(val);
  const labelled = set.classCounts.map((n, c) => (n > 0 ? c : -1)).filter((c) => c >= 0);
  const split: LabelSplit = {
    by,
    train: Uint32Array.from(kept),
    val: Uint32Array.from(val),
    droppedForBuffer: train.length - kept.length,
    missingInTrain: labelled.filter((c) => !inTrain.has(c)),
    missingInVal: labelled.filter((c) => !inVal.has(c)),
    warnings: [],
  };
  const names = (cs: number[]) => cs.map((c) => set.classes[c].name).join(', ');
  if (split.missingInVal.length > 0) split.warnings.push(`no validation pixels for: ${names(split.missingInVal)} (each lies in a single ${by})`);
  if (split.missingInTrain.length > 0) split.warnings.push(`no training pixels for: ${names(split.missingInTrain)}`);
  return split;
}

/** The split unit and its groups; 'auto' looks at the feature groups before falling back to blocks. */
function splitGroups(set: LabelSet, by: SplitUnit | 'auto', blockSize: number): { by: SplitUnit; groups: Group[] } {
  const hasFeatures = set.featureCount > 0 && set.featureId.every((f) => f >= 0);
  if (by === 'feature' && !hasFeatures) throw new FieldMoeError(set.source, 'has no features to split by (raster labels); split by block instead');
  const blocks = () => ({ by: 'block' as const, groups: groupPixels(set, 'block', blockSize) });
  if (by === 'block' || (by === 'auto' && (!hasFeatures || set.kind === 'points'))) return blocks();
  const features = groupPixels(set, 'feature', blockSize);
  if (by === 'feature') return { by, groups: features };
  const featuresPerClass = set.classes.map(() => 0);
  for (const g of features) for (const c of g.classCounts.keys()) featuresPerClass[c]++;
  return featuresPerClass.some((n) => n >= 2) ? { by: 'feature', groups: features } : blocks();
}

function groupPixels(set: LabelSet, by: SplitUnit, blockSize: number): Group[] {
  const blocksX = Math.ceil(set.width / blockSize);
  const keyOf = by === 'feature' ? (i: number) => set.featureId[i] : (i: number) => Math.floor(set.y[i] / blockSize) * blocksX + Math.floor(set.x[i] / blockSize);
  const byKey = new Map<number, Group>();
  for (let i = 0; i < set.x.length; i++) {
    const k = keyOf(i);
    let g = byKey.get(k);
    if (!g) byKey.set(k, (g = { pixels: [], classCounts: new Map() }));
    g.pixels.push(i);
    g.classCounts.set(set.classIndex[i], (g.classCounts.get(set.classIndex[i]) ?? 0) + 1);
  }
  // Map insertion order follows pixel order (row-major), so the input to the shuffle is deterministic.
  return [...byKey.values()];
}

/** Returns, per group in `order`, whether it goes to validation. */
function assignGroups(order: readonly Group[], classCount: number, valTarget: number): boolean[] {
  const state: ('train' | 'val' | undefined)[] = order.map(() => undefined);
  const totals = new Array(classCount).fill(0);
  for (const g of order) for (const [c, n] of g.classCounts) totals[c] += n;
  const rarestFirst = totals.map((_, c) => c).filter((c) => totals[c] > 0).sort((a, b) => totals[a] - totals[b] || a - b);
  const holdersOf = new Map(rarestFirst.map((c) => [c, order.map((g, i) => (g.classCounts.has(c) ? i : -1)).filter((i) => i >= 0)]));
  for (const holders of holdersOf.values()) if (holders.length === 1) state[holders[0]] = 'train';
  for (const c of rarestFirst) {
    const holders = holdersOf.get(c)!;
    if (holders.length < 2) continue;
    for (const side of ['val', 'train'] as const) {
      if (holders.some((i) => state[i] === side)) continue;
      const free = holders.filter((i) => state[i] === undefined);
      const other = side === 'val' ? 'train' : 'val';
      // Take a free group for this side unless it is the last one that could serve the other side.
      const otherServed = holders.some((i) => state[i] === other);
      if (free.length > (otherServed ? 0 : 1)) state[free[0]] = side;
    }
  }
  let valPixels = order.reduce((s, g, i) => s + (state[i] === 'val' ? g.pixels.length : 0), 0);
  order.forEach((g, i) => {
    if (state[i] !== undefined) return;
    const closer = Math.abs(valPixels + g.pixels.length - valTarget) < Math.abs(valPixels - valTarget);
    state[i] = closer ? 'val' : 'train';
    if (closer) valPixels += g.pixels.length;
  });
  return state.map((s) => s === 'val');
}

/** Drops training pixels within `buffer` pixels (Euclidean, centre to centre) of a validation pixel. */
function applyBuffer(set: LabelSet, train: number[], val: number[], buffer: number): number[] {
  if (!(buffer > 0) || val.length === 0) return train;
  const { width, height } = set;
  const marked = new Uint8Array(Math.ceil((width * height) / 8));
  for (const i of val) {
    const k = set.y[i] * width + set.x[i];
    marked[k >> 3] |= 1 << (k & 7);
  }
  const r = Math.floor(buffer);
  const r2 = buffer * buffer;
  const nearVal = (x: number, y: number) => {
    for (let dy = -r; dy <= r; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= height) continue;
      for (let dx = -r; dx <= r; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= width || dx * dx + dy * dy > r2) continue;
        const k = yy * width + xx;
        if (marked[k >> 3] & (1 << (k & 7))) return true;
      }
    }
    return false;
  };
  return train.filter((i) => !nearVal(set.x[i], set.y[i]));
}
