import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FieldMoeError } from '../util/errors';
import { throwIfCancelled, type JobContext } from '../jobs/job';
import { computeMetrics, type Metrics } from './metrics';
import { readNpy, writeNpy } from './npy';

const run = promisify(execFile);

/** The Debian python with numpy + scikit-learn (the `python3` on PATH may be another one). */
export const DEFAULT_PYTHON = '/usr/bin/python3';
export const RF_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/python/rf_baseline.py');

/** Pixel samples: `features` is row-major (n x featureCount), `labels` are class indices. */
export interface PixelSamples {
  features: Float32Array;
  featureCount: number;
  labels: ArrayLike<number>;
}

export interface RandomForestOptions extends JobContext {
  seed?: number;
  /** Number of trees (default 100, sklearn's default). */
  trees?: number;
  maxDepth?: number;
  /** Parallel jobs for sklearn (default 1; the forest is the same for any count). */
  jobs?: number;
  python?: string;
}

export interface RandomForestResult {
  metrics: Metrics;
  predictions: Int32Array;
  secondsFit: number;
  secondsPredict: number;
  /** What sklearn itself computed, a cross-check of our metrics. */
  sklearn: { version: string; oa: number; kappa: number };
}

/**
 * Trains a random forest on `train` with scikit-learn (in the Debian python, via
 * scripts/python/rf_baseline.py), predicts `test` and scores it with our metrics, so the
 * baseline and the models are measured by the same code. Deterministic for a seed.
 */
export async function randomForestBaseline(
  train: PixelSamples,
  test: PixelSamples,
  classes: readonly { id: number; name: string }[],
  options: RandomForestOptions = {},
): Promise<RandomForestResult> {
  const python = options.python ?? DEFAULT_PYTHON;
  await checkPython(python);
  for (const [name, s] of [['train', train], ['test', test]] as const) {
    if (s.features.length !== s.labels.length * s.featureCount) {
      throw new FieldMoeError('random forest baseline', `${name} features hold ${s.features.length} values, expected ${s.labels.length} x ${s.featureCount}`);
    }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-rf-'));
  try {
    const file = (n: string) => path.join(dir, n);
    await writeNpy(file('train_x.npy'), train.features, [train.labels.length, train.featureCount]);
    await writeNpy(file('train_y.npy'), Int32Array.from(train.labels), [train.labels.length]);
    await writeNpy(file('test_x.npy'), test.features, [test.labels.length, test.featureCount]);
    await writeNpy(file('test_y.npy'), Int32Array.from(test.labels), [test.labels.length]);
    throwIfCancelled(options.signal);
    options.onProgress?.({ stage: 'random forest', fraction: 0, message: `training on ${train.labels.length} pixels` });
    const args = [RF_SCRIPT, '--train-x', file('train_x.npy'), '--train-y', file('train_y.npy'), '--test-x', file('test_x.npy'), '--test-y', file('test_y.npy')];
    args.push('--pred-out', file('pred.npy'), '--seed', String(options.seed ?? 0), '--trees', String(options.trees ?? 100), '--jobs', String(options.jobs ?? 1));
    if (options.maxDepth !== undefined) args.push('--max-depth', String(options.maxDepth));
    let stdout: string;
    try {
      ({ stdout } = await run(python, args, { signal: options.signal, maxBuffer: 1 << 20 }));
    } catch (err) {
      throwIfCancelled(options.signal);
      const stderr = String((err as { stderr?: string }).stderr ?? '').trim().split('\n').pop();
      throw new FieldMoeError(RF_SCRIPT, `failed: ${stderr || (err as Error).message}`);
    }
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    const predictions = Int32Array.from((await readNpy(file('pred.npy'))).data);
    options.onProgress?.({ stage: 'random forest', fraction: 1 });
    return {
      metrics: computeMetrics(test.labels, predictions, classes),
      predictions,
      secondsFit: report.seconds_fit,
      secondsPredict: report.seconds_predict,
      sklearn: { version: report.sklearn_version, oa: report.sklearn_oa, kappa: report.sklearn_kappa },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const checked = new Set<string>();

/** Fails with one clear line when the python or scikit-learn is missing. */
async function checkPython(python: string): Promise<void> {
  if (checked.has(python)) return;
  const hint = 'the random-forest baseline needs python3 with numpy and scikit-learn (Debian: apt install python3-sklearn)';
  if (!existsSync(python)) throw new FieldMoeError(python, `not found; ${hint}`);
  if (!existsSync(RF_SCRIPT)) throw new FieldMoeError(RF_SCRIPT, 'the baseline script is missing from this installation');
  try {
    await run(python, ['-c', 'import numpy, sklearn.ensemble']);
  } catch {
    throw new FieldMoeError(python, `cannot import numpy/scikit-learn; ${hint}`);
  }
  checked.add(python);
}
