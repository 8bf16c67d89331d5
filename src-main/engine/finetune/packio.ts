/**
 * Writing a trained model as a pack: the inference graph and all weights through
 * ml/models/export.ts (so the classify pipeline loads it like any pack), plus the trained
 * tensors alone as `adapter.safetensors` and the training provenance as `training.json`, both
 * listed in the manifest's files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { exportModelPack, type PackExportSpec } from '../ml/models/export';
import type { ModelConfig } from '../ml/models/index';
import { Graph } from '../ml/graph/graph';
import { buildModel, modelSources } from '../ml/models/index';
import { writeSafetensors, type StoredTensor } from '../ml/io/safetensors';
import { MANIFEST_FILE, validateManifest, type PackClass, type PackInput } from '../packs/index';
import { writeFileAtomic } from '../util/atomic';
import { FieldMoeError } from '../util/errors';
import type { WeightMap } from '../ml/models/init';
import type { LabelClass } from '../labels/types';
import type { FitResult } from './fit';

export const ADAPTER_FILE = 'adapter.safetensors';
export const TRAINING_FILE = 'training.json';

export interface PackOutput {
  dir: string;
  name: string;
  version: string;
  model: ModelConfig;
  classes: PackClass[];
  inputs: PackInput[];
  result: FitResult;
  /** Provenance written to training.json and summarised in the model card. */
  provenance: Record<string, unknown>;
  /** Model-card paragraph on training data and procedure. */
  trainingText: string;
  /** Extra manifest metrics. */
  metrics?: Record<string, number>;
}

/** The last two components of a path (dataset folder and file), for cards that must not depend on the checkout location. */
export function shortPath(p: string): string {
  return p.split(/[\\/]/).slice(-2).join('/');
}

export function hexColor(c: readonly [number, number, number]): string {
  return '#' + c.map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('');
}

export function packClassesOf(classes: readonly LabelClass[]): PackClass[] {
  return classes.map((c) => ({ id: c.id, name: c.name, color: hexColor(c.color) }));
}

/** Validation metrics as manifest figures (fractions). */
export function validationMetrics(result: FitResult): Record<string, number> {
  const v = result.validation?.pooled;
  const out: Record<string, number> = {};
  if (v) Object.assign(out, { 'val.oa': round(v.oa), 'val.kappa': round(v.kappa), 'val.miou': round(v.miou), 'val.macc': round(v.macc), 'val.pixels': v.n });
  for (const w of result.validation?.withoutInput ?? []) Object.assign(out, { [`val.without_${w.input}.oa`]: round(w.metrics.oa), [`val.without_${w.input}.kappa`]: round(w.metrics.kappa) });
  // the kept epoch's loss (early stopping may keep the start, epoch 0, which history does not hold)
  const last = result.history[result.history.length - 1]?.val?.loss;
  const loss = result.bestValLoss ?? last;
  if (loss !== undefined) out['val.loss'] = round(loss);
  out['train.epochs'] = result.history.length;
  return out;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Parameter names and shapes a model config creates. */
export function parameterShapes(model: ModelConfig): Map<string, number[]> {
  const g = new Graph('probe');
  buildModel(g, model, modelSources({ dtype: 'float32' }), 'float32');
  return new Map([...g.params].map(([n, p]) => [n, p.value.shape as number[]]));
}

/**
 * Base weights the model can take (same name and shape). Names `fresh` picks (a new class head)
 * start at zero instead, whatever the base holds: fine-tuning's linear path is fitted around the
 * model's logits (fit.ts linearPathStart), which a randomly initialised head would make noise.
 */
export function compatibleWeights(model: ModelConfig, base: WeightMap, fresh: (name: string) => boolean = () => false): Map<string, { shape: readonly number[]; data: ArrayLike<number> }> {
  const shapes = parameterShapes(model);
  const out = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  for (const [name, w] of base) {
    const s = shapes.get(name);
    if (s && !fresh(name) && s.length === w.shape.length && s.every((d, i) => d === w.shape[i])) out.set(name, w);
  }
  for (const [name, shape] of shapes) if (fresh(name)) out.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  return out;
}

/**
 * Refuses an output folder a new pack must not replace: writing a pack replaces its folder
 * whole, so `dir` must be new, empty, or a pack already (its manifest there); a file, or a folder
 * holding anything else, would be lost. Checked before any work and again before the replace.
 */
export async function checkPackOutput(dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) return;
  if (!stat.isDirectory()) throw new FieldMoeError(dir, 'is a file; give a new folder for the pack');
  const entries = await fs.readdir(dir);
  if (entries.length && !entries.includes(MANIFEST_FILE))
    throw new FieldMoeError(dir, `holds files that are not a model pack (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}), which writing the pack there would delete; give a new or empty folder, or an existing pack to replace`);
}

export async function writeTrainedPack(o: PackOutput): Promise<void> {
  await checkPackOutput(o.dir);
  const spec: PackExportSpec = {
    name: o.name,
    version: o.version,
    classes: o.classes,
    inputs: Object.fromEntries(o.inputs.map(({ name, ...rest }) => [name, rest])),
    metrics: { ...validationMetrics(o.result), ...o.metrics },
    training: o.trainingText,
  };
  const tmp = `${o.dir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  const { manifest } = await exportModelPack(tmp, o.model, o.result.weights, spec);
  const trained = new Map<string, StoredTensor>();
  for (const name of o.result.trained) {
    const w = o.result.weights.get(name)!;
    trained.set(name, { dtype: 'float32', shape: w.shape, data: w.data });
  }
  await writeSafetensors(path.join(tmp, ADAPTER_FILE), trained, { kind: 'trained tensors of this pack (adapters and head)' });
  await writeFileAtomic(path.join(tmp, TRAINING_FILE), JSON.stringify({ ...o.provenance, history: o.result.history, validation: o.result.validation, seconds: o.result.seconds, provider: o.result.provider }, null, 1) + '\n');
  const full = validateManifest({ ...manifest, files: [...manifest.files, ADAPTER_FILE, TRAINING_FILE] }, o.dir);
  await writeFileAtomic(path.join(tmp, MANIFEST_FILE), JSON.stringify(full, null, 2) + '\n');
  // Replace the output folder only once everything is written.
  await fs.rm(o.dir, { recursive: true, force: true });
  await fs.mkdir(path.dirname(path.resolve(o.dir)), { recursive: true });
  await fs.rename(tmp, o.dir);
}

/** Appends a section to a pack's model card and adds metrics (manifest rewritten atomically). */
export async function extendCard(dir: string, section: string, metrics: Record<string, number>): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  const next = validateManifest({ ...json, card: `${json.card}\n\n${section}`, metrics: { ...json.metrics, ...metrics } }, file);
  await writeFileAtomic(file, JSON.stringify(next, null, 2) + '\n');
}
