import { FieldMoeError } from '../util/errors';
/**
 * `fieldmoe eval`: classifies the scene with a pack through the same tiled pipeline as
 * `fieldmoe classify` and scores the class map at the labelled pixels. Pack classes are matched
 * to label classes by name; a predicted class the labels lack counts as wrong (an extra column
 * of the confusion matrix). Pixels without valid sensor data (nodata in the map) are counted,
 * not scored.
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
import type { Provider } from '../runtime/session';

export interface EvaluateOptions {
  /** Labelled pixels to score (LabelSet indices; default all). */
  indices?: ArrayLike<number>;
  wavelengths?: ReadonlyMap<string, readonly number[]>;
  threads?: number;
  /** Execution providers to try in order (CPU is always the fallback; default CPU only). */
  providers?: readonly Provider[];
  /** Where provider fallbacks are reported. */
  log?: (line: string) => void;
  /** Tile overlap (default: the pack's). */
  overlap?: number;
}

export interface EvaluationReport extends Metrics {
  /** Labelled pixels not scored because the class map is nodata there (no valid sensor data). */
  nodata_pixels: number;
  model: string;
  scene: string;
  labels: string;
  /** Sensors treated as failed for this run. */
  missing: string[];
  provider: string;
  seconds: number;
  /** The labels' own (labels/types.ts) and labelled classes no pack class matches by name. */
  warnings: string[];
}

/**
 * Classifies `scene` with `pack` exactly as `fieldmoe classify` does (classifyToFiles into a
 * temporary GeoTIFF) and returns the class map (class ids, 0 = nodata).
 */
export async function classMap(scene: Scene, pack: ModelPack, options: EvaluateOptions = {}, job: JobContext = {}): Promise<{ classes: Uint8Array; provider: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-eval-'));
  try {
    const out = path.join(dir, 'classes.tif');
    const report = await classifyToFiles(scene, pack, { out, wavelengths: options.wavelengths, threads: options.threads, providers: options.providers, log: options.log, overlap: options.overlap }, job);
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

/**
 * Scores a class map at labelled pixels against `labels`. Pixels the map leaves nodata (no
 * valid sensor data there: nothing a model could classify) are not scored; they are counted.
 */
export function scoreClassMap(classes: Uint8Array, pack: ModelPack, labels: LabelSet, indices?: ArrayLike<number>): Metrics & { nodata_pixels: number } {
  const packClasses = pack.manifest.classes;
  const mapping = mapToPackClasses(labels.classes, packClasses);
  // Columns: label classes, then pack classes the labels lack.
  const extra = packClasses.map((_, k) => k).filter((k) => mapping.labelIndexOfPack[k] < 0);
  const names = [
    ...labels.classes.map((c, i) => ({ id: c.id, ...(mapping.packIndex[i] >= 0 ? { pack_id: packClasses[mapping.packIndex[i]].id } : {}), name: c.name })),
    ...extra.map((k) => ({ id: null, pack_id: packClasses[k].id, name: `${packClasses[k].name} (not in labels)` })),
  ];
  const column = new Map<number, number>();
  packClasses.forEach((c, k) => column.set(c.id, mapping.labelIndexOfPack[k] >= 0 ? mapping.labelIndexOfPack[k] : labels.classes.length + extra.indexOf(k)));
  const scored = withData(classes, labels, indices);
  const idx = indices ? Array.from(indices) : Array.from(labels.x.keys());
  const truth = Int32Array.from(scored, (i) => labels.classIndex[i]);
  const pred = Int32Array.from(scored, (i) => column.get(classes[labels.y[i] * labels.width + labels.x[i]])!);
  return { ...computeMetrics(truth, pred, names), nodata_pixels: idx.length - scored.length };
}

/** The labelled pixels (of `indices`, default all) where the class map has data. */
export function withData(classes: Uint8Array, labels: LabelSet, indices?: ArrayLike<number>): Uint32Array {
  const idx = indices ? Array.from(indices) : Array.from(labels.x.keys());
  return Uint32Array.from(idx.filter((i) => classes[labels.y[i] * labels.width + labels.x[i]] !== 0));
}

export async function evaluatePack(scene: Scene, pack: ModelPack, labels: LabelSet, options: EvaluateOptions = {}, job: JobContext = {}): Promise<EvaluationReport> {
  const t0 = performance.now();
  const { classes, provider } = await classMap(scene, pack, options, job);
  const metrics = scoreClassMap(classes, pack, labels, options.indices);
  if (!metrics.n) throw new FieldMoeError(labels.source, `none of its ${metrics.nodata_pixels} labelled pixels has sensor data in ${scene.info.source} (all lie on nodata), so nothing can be scored`);
  const mapping = mapToPackClasses(labels.classes, pack.manifest.classes);
  const unmatched = labels.classes.filter((_, i) => labels.classCounts[i] > 0 && mapping.packIndex[i] < 0).map((c) => c.name);
  const warnings = [...labels.warnings];
  if (unmatched.length) warnings.push(`label classes ${unmatched.join(', ')} match no class of pack ${pack.manifest.name} by name (its classes: ${pack.manifest.classes.map((c) => c.name).join(', ')}): their pixels count as errors`);
  return {
    warnings,
    model: pack.manifest.name,
    scene: scene.info.source,
    labels: labels.source,
    missing: scene.info.sensors.filter((s) => s.failed).map((s) => s.id),
    provider,
    seconds: (performance.now() - t0) / 1000,
    ...metrics,
  };
}
