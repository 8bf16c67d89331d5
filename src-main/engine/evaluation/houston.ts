/**
 * Houston 2013 (DFC2013) HSI + LiDAR pixel sets (shared/data/houston2013-pixels): loading,
 * a stratified split of the training pixels, and MaMOL inputs.
 *
 * Only the 2,832 training pixels have hyperspectral spectra (the HSI test set is absent), so
 * the protocols split those pixels into their own train and test parts. The pixel sets carry no
 * coordinates, so the split cannot be spatial: neighbouring pixels of one labelled region can
 * fall on both sides, and the 7x7 LiDAR neighbourhoods of test pixels can overlap those of
 * training pixels. Accuracies on this split are therefore optimistic compared with the
 * standard DFC2013 test set; the reports say so.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { FieldMoeError } from '../util/errors';
import { readNpy, type Npy } from '../eval/npy';
import { Rng } from '../ml/train/rng';

export interface HoustonPixels {
  count: number;
  /** [count, 144] CASI spectra. */
  hsi: Float32Array;
  hsiBands: number;
  /** [count, 21] LiDAR-derived features of the pixel. */
  lidar: Float32Array;
  lidarFeatures: number;
  /** [count, side, side, 21] LiDAR neighbourhoods (row, column, feature), centre = `lidar`. */
  lidarPatches: Float32Array;
  patchSide: number;
  /** Class index 0..14 (file ids 1..15 minus one). */
  labels: Int32Array;
  classes: { id: number; name: string }[];
}

function expectShape(file: string, npy: Npy, rank: number, first?: number): void {
  if (npy.shape.length !== rank || (first !== undefined && npy.shape[0] !== first))
    throw new FieldMoeError(file, `expected a rank-${rank} array${first !== undefined ? ` of ${first} rows` : ''}, got shape ${npy.shape.join('x')}`);
}

/** Reads the training pixels (HSI, LiDAR, LiDAR patches, labels, class names) of `dir`. */
export async function loadHoustonPixels(dir: string): Promise<HoustonPixels> {
  const file = (n: string) => path.join(dir, n);
  const y = await readNpy(file('y_train.npy'));
  expectShape(file('y_train.npy'), y, 1);
  const count = y.shape[0];
  const hsi = await readNpy(file('hsi_train.npy'));
  expectShape(file('hsi_train.npy'), hsi, 2, count);
  const lidar = await readNpy(file('lidar_train.npy'));
  expectShape(file('lidar_train.npy'), lidar, 2, count);
  const patches = await readNpy(file('lidar_patches_train.npy'));
  expectShape(file('lidar_patches_train.npy'), patches, 4, count);
  if (patches.shape[1] !== patches.shape[2] || patches.shape[3] !== lidar.shape[1])
    throw new FieldMoeError(file('lidar_patches_train.npy'), `expected square patches of ${lidar.shape[1]} features, got ${patches.shape.join('x')}`);
  const classes = JSON.parse(await readFile(file('classes.json'), 'utf8')) as { id: number; name: string }[];
  const labels = Int32Array.from(y.data, (v) => v - 1);
  labels.forEach((c, i) => {
    if (!(c >= 0 && c < classes.length)) throw new FieldMoeError(file('y_train.npy'), `label ${c + 1} of row ${i} is not a class of classes.json (1..${classes.length})`);
  });
  for (const [f, a] of [['hsi_train.npy', hsi], ['lidar_train.npy', lidar], ['lidar_patches_train.npy', patches]] as const)
    if (!(a.data instanceof Float32Array)) throw new FieldMoeError(file(f), 'expected float32 values');
  return {
    count,
    hsi: hsi.data as Float32Array,
    hsiBands: hsi.shape[1],
    lidar: lidar.data as Float32Array,
    lidarFeatures: lidar.shape[1],
    lidarPatches: patches.data as Float32Array,
    patchSide: patches.shape[1],
    labels,
    classes: classes.map((c) => ({ id: c.id, name: c.name })),
  };
}

/**
 * Per class, a seeded shuffle puts round(trainFraction * n_c) samples in train and the rest in
 * test, so both parts keep the class proportions.
 */
export function stratifiedSplit(labels: ArrayLike<number>, trainFraction: number, seed: number): { train: number[]; test: number[] } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0) continue;
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(c)!;
    const order = rng.permutation(members.length).map((k) => members[k]);
    const cut = Math.round(trainFraction * members.length);
    train.push(...order.slice(0, cut));
    test.push(...order.slice(cut));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** Per-feature mean and standard deviation over the rows `rows` of a [n, f] matrix. */
export function featureStats(x: Float32Array, features: number, rows: readonly number[]): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(features);
  const sq = new Float64Array(features);
  for (const r of rows) for (let f = 0; f < features; f++) mean[f] += x[r * features + f];
  for (let f = 0; f < features; f++) mean[f] /= Math.max(1, rows.length);
  for (const r of rows) for (let f = 0; f < features; f++) sq[f] += (x[r * features + f] - mean[f]) ** 2;
  const std = Float64Array.from(sq, (s) => Math.sqrt(s / Math.max(1, rows.length)) || 1);
  return { mean, std };
}

// ---- spatial structure recovered from the LiDAR patches ------------------------------------------

/**
 * Groups of spatially connected pixels, recovered without coordinates: pixel j lies inside
 * pixel i's 7x7 LiDAR window when the feature vector at some window position of i equals j's
 * own (centre) features exactly (the features are 8-bit quantised, so equal vectors of distinct
 * places are rare). Links join pixels of the same class only (a cross-class link is such a
 * coincidence); connected components are the labelled regions (DFC2013's training polygons).
 * Returns a group id per pixel and the links found.
 */
export function lidarNeighbourGroups(px: HoustonPixels): { group: Int32Array; groups: number; links: number } {
  const F = px.lidarFeatures;
  const side = px.patchSide;
  const keyOf = (a: Float32Array, o: number) => Array.from(a.subarray(o, o + F)).join(',');
  const byCentre = new Map<string, number[]>();
  for (let i = 0; i < px.count; i++) {
    const k = keyOf(px.lidar, i * F);
    const list = byCentre.get(k);
    if (list) list.push(i);
    else byCentre.set(k, [i]);
  }
  const parent = Int32Array.from({ length: px.count }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  let links = 0;
  for (let i = 0; i < px.count; i++)
    for (let pos = 0; pos < side * side; pos++) {
      for (const j of byCentre.get(keyOf(px.lidarPatches, (i * side * side + pos) * F)) ?? []) {
        if (j === i || px.labels[j] !== px.labels[i]) continue;
        links++;
        parent[find(i)] = find(j);
      }
    }
  const ids = new Map<number, number>();
  const group = Int32Array.from({ length: px.count }, (_, i) => {
    const root = find(i);
    if (!ids.has(root)) ids.set(root, ids.size);
    return ids.get(root)!;
  });
  return { group, groups: ids.size, links };
}

/**
 * A split by groups: per class, groups in a seeded order go to train until it holds
 * `trainFraction` of the class's pixels, the rest to test; a class with a single group stays
 * wholly in train (the test part then lacks it). No group is on both sides.
 */
export function groupedSplit(labels: ArrayLike<number>, group: ArrayLike<number>, trainFraction: number, seed: number): { train: number[]; test: number[] } {
  const members = new Map<number, number[]>();
  const classOf = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    if (!members.has(group[i])) members.set(group[i], []);
    members.get(group[i])!.push(i);
    classOf.set(group[i], labels[i]);
  }
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  const classes = [...new Set(classOf.values())].sort((a, b) => a - b);
  for (const c of classes) {
    const groups = [...members.keys()].filter((g) => classOf.get(g) === c).sort((a, b) => a - b);
    const order = rng.permutation(groups.length).map((k) => groups[k]);
    const total = order.reduce((s, g) => s + members.get(g)!.length, 0);
    let inTrain = 0;
    order.forEach((g, k) => {
      const rows = members.get(g)!;
      const toTrain = k === 0 || inTrain + rows.length / 2 <= trainFraction * total;
      (toTrain ? train : test).push(...rows);
      if (toTrain) inTrain += rows.length;
    });
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** Fraction of `test` pixels with a `train` pixel of the same group (i.e. spatially connected to training data). */
export function connectedTestFraction(group: ArrayLike<number>, train: readonly number[], test: readonly number[]): number {
  const trainGroups = new Set(train.map((i) => group[i]));
  return test.length ? test.filter((i) => trainGroups.has(group[i])).length / test.length : 0;
}
