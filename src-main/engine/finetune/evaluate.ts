/**
 * `fieldmoe eval`: classifies the scene with a pack through the same tiled pipeline as
 * `fieldmoe classify` and scores the class map at the labelled pixels. Pack classes are matched
 * to label classes by name; a predicted class the labels lack, and nodata, count as wrong
 * (they are extra columns of the confusion matrix).
 */
import { runPipeline, type ResultSink } from '../classify/pipeline';
import { openSession } from '../runtime/session';
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

/** Keeps the whole class map in memory (fine for the scene sizes that carry labels here). */
class MapSink implements ResultSink {
  readonly classes: Uint8Array;
  constructor(readonly width: number, height: number) {
    this.classes = new Uint8Array(width * height);
  }
  async writeRows(y: number, rows: number, classes: Uint8Array): Promise<void> {
    this.classes.set(classes.subarray(0, rows * this.width), y * this.width);
  }
}

/** Classifies `scene` with `pack` and returns the class map (class ids, 0 = nodata). */
export async function classMap(scene: Scene, pack: ModelPack, options: EvaluateOptions = {}, job: JobContext = {}): Promise<{ classes: Uint8Array; provider: string }> {
  const opened = await openSession(pack.modelPath, { threads: options.threads });
  try {
    const sink = new MapSink(scene.info.width, scene.info.height);
    await runPipeline(scene, pack.manifest, opened, sink, { wavelengths: options.wavelengths }, job);
    return { classes: sink.classes, provider: opened.provider };
  } finally {
    await opened.session.release();
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
