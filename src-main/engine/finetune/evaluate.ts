/**
 * `fieldmoe eval`: classifies the scene with a pack through the same tiled pipeline as
 * `fieldmoe classify` and scores the class map at the labelled pixels. Pack classes are matched
 * to label classes by name; a predicted class the labels lack, and nodata, count as wrong
 * (they are extra columns of the confusion matrix).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classifyToFiles } from '../classify/output';
import { openScene } from '../scene/index';
import type { ModelPack } from '../packs/pack';
import { mapToPackClasses } from '../labels/classes';
import type { LabelSet } from '../labels/types';
import type { Scene } from '../scene/types';
import { computeMetrics, type Metrics } from '../eval/metrics';
import type { JobContext } from '../jobs/job';

export interface EvaluateOptions {
  /** Labelled pixels to score (LabelSet indices; default all). */
  indices?: ArrayLike<number>;
  wavelengths?: ReadonlyMap<string, readonly number[]>;
  threads?: number;
}

export interface EvaluationReport extends Metrics {
  model: string;
  scene: string;
  labels: string;
  /** Sensors treated as failed for this run. */
  missing: string[];
  provider: string;
  seconds: number;
}

/**
 * Classifies `scene` with `pack` exactly as `fieldmoe classify` does (classifyToFiles into a
 * temporary GeoTIFF) and returns the class map (class ids, 0 = nodata).
 */
export async function classMap(scene: Scene, pack: ModelPack, options: EvaluateOptions = {}, job: JobContext = {}): Promise<{ classes: Uint8Array; provider: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-eval-'));
  try {
    const out = path.join(dir, 'classes.tif');
    const report = await classifyToFiles(scene, pack, { out, wavelengths: options.wavelengths, threads: options.threads }, job);
    const map = await openScene(out);
    try {
      const { width, height } = map.info;
      const block = [...(await map.readWindow({ x: 0, y: 0, width, height })).values()][0];
      return { classes: Uint8Array.from(block.data.subarray(0, width * height), (v) => (v === v ? v : 0)), provider: report.provider };
    } finally {
      await map.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Scores a class map at labelled pixels against `labels`. */
export function scoreClassMap(classes: Uint8Array, pack: ModelPack, labels: LabelSet, indices?: ArrayLike<number>): Metrics {
  const packClasses = pack.manifest.classes;
  const mapping = mapToPackClasses(labels.classes, packClasses);
  // Columns: label classes, then pack classes the labels lack, then nodata.
  const extra = packClasses.map((_, k) => k).filter((k) => mapping.labelIndexOfPack[k] < 0);
  const names = [
    ...labels.classes.map((c) => ({ id: c.id, name: c.name })),
    ...extra.map((k) => ({ id: packClasses[k].id, name: `${packClasses[k].name} (not in labels)` })),
    { id: 0, name: 'nodata' },
  ];
  const column = new Map<number, number>();
  packClasses.forEach((c, k) => column.set(c.id, mapping.labelIndexOfPack[k] >= 0 ? mapping.labelIndexOfPack[k] : labels.classes.length + extra.indexOf(k)));
  const nodata = names.length - 1;
  const idx = indices ? Array.from(indices) : Array.from(labels.x.keys());
  const truth = new Int32Array(idx.length);
  const pred = new Int32Array(idx.length);
  idx.forEach((i, r) => {
    truth[r] = labels.classIndex[i];
    pred[r] = column.get(classes[labels.y[i] * labels.width + labels.x[i]]) ?? nodata;
  });
  const m = computeMetrics(truth, pred, names);
  // Drop the nodata column's class entry when nothing was nodata, so reports stay readable.
  if (!m.per_class[nodata] || m.confusion.every((row) => row[nodata] === 0)) {
    m.per_class = m.per_class.slice(0, nodata);
    m.confusion = m.confusion.slice(0, nodata).map((row) => row.slice(0, nodata));
  }
  return m;
}

export async function evaluatePack(scene: Scene, pack: ModelPack, labels: LabelSet, options: EvaluateOptions = {}, job: JobContext = {}): Promise<EvaluationReport> {
  const t0 = performance.now();
  const { classes, provider } = await classMap(scene, pack, options, job);
  const metrics = scoreClassMap(classes, pack, labels, options.indices);
  return {
    model: pack.manifest.name,
    scene: scene.info.source,
    labels: labels.source,
    missing: scene.info.sensors.filter((s) => s.failed).map((s) => s.id),
    provider,
    seconds: (performance.now() - t0) / 1000,
    ...metrics,
  };
}
