/**
 * The random-forest baseline under missing sensors: one forest per sensor subset. A test
 * sample whose available sensors are S is classified by a forest trained on the features of S
 * of every training sample that has all of S (how a GIS user would fall back: a forest per
 * combination of layers they have).
 */
import { randomForestBaseline } from '../eval/randomForest';
import { computeMetrics, type Metrics } from '../eval/metrics';
import { FieldMoeError } from '../util/errors';
import type { JobContext } from '../jobs/job';
import { patternMask, type MissingPatterns } from './missing';

export interface SensorFeatures {
  name: string;
  /** Features per sample. */
  size: number;
  /** [trainCount, size] and [testCount, size], row-major. */
  train: Float32Array;
  test: Float32Array;
}

export interface SubsetForest {
  sensors: string[];
  trainSamples: number;
  testSamples: number;
}

export interface SubsetForestResult {
  metrics: Metrics;
  predictions: Int32Array;
  forests: SubsetForest[];
  seconds: number;
}

/** Rows `rows` of the selected sensors' features, concatenated per sample. */
function gather(sensors: readonly SensorFeatures[], part: 'train' | 'test', rows: readonly number[]): { features: Float32Array; featureCount: number } {
  const featureCount = sensors.reduce((s, x) => s + x.size, 0);
  const features = new Float32Array(rows.length * featureCount);
  rows.forEach((r, i) => {
    let o = i * featureCount;
    for (const s of sensors) {
      features.set(s[part].subarray(r * s.size, (r + 1) * s.size), o);
      o += s.size;
    }
  });
  return { features, featureCount };
}

const present = (mask: number, i: number) => ((mask >> i) & 1) === 1;

/** Trains one forest per availability pattern found in the test set and scores all test samples. */
export async function randomForestPerSubset(
  sensors: readonly SensorFeatures[],
  train: { labels: ArrayLike<number>; available: MissingPatterns },
  test: { labels: ArrayLike<number>; available: MissingPatterns },
  classes: readonly { id: number; name: string }[],
  options: JobContext & { seed: number; trees: number },
): Promise<SubsetForestResult> {
  const started = performance.now();
  const testCount = test.labels.length;
  const trainCount = train.labels.length;
  const byMask = new Map<number, number[]>();
  for (let s = 0; s < testCount; s++) {
    const m = patternMask(test.available, s);
    if (m === 0) throw new FieldMoeError('random forest per subset', `test sample ${s} has no sensor at all`);
    if (!byMask.has(m)) byMask.set(m, []);
    byMask.get(m)!.push(s);
  }
  const predictions = new Int32Array(testCount);
  const forests: SubsetForest[] = [];
  for (const [mask, testRows] of [...byMask].sort((a, b) => b[0] - a[0])) {
    const chosen = sensors.filter((_, i) => present(mask, i));
    const trainRows: number[] = [];
    for (let s = 0; s < trainCount; s++) if ((patternMask(train.available, s) & mask) === mask) trainRows.push(s);
    if (!trainRows.length) throw new FieldMoeError('random forest per subset', `no training sample has all of ${chosen.map((c) => c.name).join(' + ')}`);
    const tr = gather(chosen, 'train', trainRows);
    const te = gather(chosen, 'test', testRows);
    const r = await randomForestBaseline(
      { ...tr, labels: trainRows.map((s) => train.labels[s]) },
      { ...te, labels: testRows.map((s) => test.labels[s]) },
      classes,
      { seed: options.seed, trees: options.trees, signal: options.signal },
    );
    testRows.forEach((s, i) => (predictions[s] = r.predictions[i]));
    forests.push({ sensors: chosen.map((c) => c.name), trainSamples: trainRows.length, testSamples: testRows.length });
  }
  return { metrics: computeMetrics(test.labels, predictions, classes), predictions, forests, seconds: (performance.now() - started) / 1000 };
}
