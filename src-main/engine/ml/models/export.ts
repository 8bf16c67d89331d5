/**
 * Model packs of configured models: export writes the float32 inference graph (class
 * probabilities, softmax over the class axis), every weight as safetensors, the model config
 * and the pack manifest (packs/manifest.ts format, model card included); load reads a pack back
 * into a config and a weight map from which any graph (inference, train step) can be rebuilt.
 *
 * Files are written each through a temp file and a rename, the manifest last, so an interrupted
 * export never leaves a folder that loads as a pack.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Graph, type Value } from '../graph/graph';
import { div, exp, reduceMax, reduceSum, sub } from '../ops/index';
import { readSafetensors, writeSafetensors, type StoredTensor } from '../io/safetensors';
import { writeFileAtomic } from '../../util/atomic';
import { FieldMoeError } from '../../util/errors';
import { loadPack, validateManifest, MANIFEST_FORMAT, MANIFEST_FILE, type ModelPack, type PackClass, type PackInput, type PackManifest } from '../../packs/index';
import type { WeightMap } from './init';
import { buildModel, getArchitecture, modelSources, type ModelConfig } from './index';

export const PACK_MODEL_FILE = 'model.onnx';
export const PACK_WEIGHTS_FILE = 'weights.safetensors';
export const PACK_CONFIG_FILE = 'model-config.json';
export const PROBABILITIES_OUTPUT = 'probabilities';

/**
 * ONNX ops that execution providers lack, from onnxruntime's docs/OperatorKernels.md (CUDA) and
 * js/web/docs/webgpu-operators.md (WebGPU); onnxruntime runs such nodes on the CPU provider.
 * CUDA has kernels for every op our builder emits.
 */
export const PROVIDER_GAPS: Record<string, readonly string[]> = {
  cuda: [],
  webgpu: ['LogSoftmax', 'TopK', 'ScatterND', 'ScatterElements', 'Sign', 'Softplus', 'Max', 'Min', 'And', 'Or'],
};

export interface PackExportSpec {
  name: string;
  version: string;
  classes: PackClass[];
  /** How each sensor input of the graph is fed, by graph input name. */
  inputs: Record<string, Omit<PackInput, 'name'>>;
  tile?: { overlap?: number; batch?: number };
  metrics?: Record<string, number>;
  /** Training data and procedure, for the model card. */
  training?: string;
}

export interface ExportedPack {
  manifest: PackManifest;
  /** Ops of the inference graph each provider lacks (empty lists are omitted). */
  providerGaps: Record<string, string[]>;
}

/** The float32 inference graph of `model` with `weights`; checks that weights and model agree. */
export function inferenceGraph(model: ModelConfig, weights: WeightMap, subject = 'weights'): { graph: Graph; probabilities: Value; inputs: Record<string, Value> } {
  const g = new Graph(model.architecture);
  const built = buildModel(g, model, modelSources({ dtype: 'float32', weights, source: subject }), 'float32');
  checkWeights(g, weights, subject);
  return { graph: g, probabilities: classSoftmax(built.logits), inputs: built.inputs };
}

/**
 * Softmax over the class axis (1) of [B, C, H, W] logits, written as exp(x - max) / sum:
 * onnxruntime's CPU Softmax on a non-last axis transposes around its last-axis kernel, which took
 * 2.5 ms on a default SpectralMoE batch ([4, 8, 96, 96], 2 threads) against 0.65 ms for these
 * five element-wise and reduce ops (all with CPU, CUDA and WebGPU kernels).
 */
export function classSoftmax(logits: Value): Value {
  const z = exp(sub(logits, reduceMax(logits, [1], true)));
  return div(z, reduceSum(z, [1], true));
}

/** Every parameter of the graph has a weight and every weight is used, else one line naming them. */
export function checkWeights(g: Graph, weights: WeightMap, subject: string): void {
  const missing = [...g.params.keys()].filter((n) => !weights.has(n));
  const unused = [...weights.keys()].filter((n) => !g.params.has(n));
  const list = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
  if (missing.length) throw new FieldMoeError(subject, `lacks ${missing.length} weight(s) the model needs: ${list(missing)}`);
  if (unused.length) throw new FieldMoeError(subject, `has ${unused.length} weight(s) this model does not use: ${list(unused)}`);
}

/** The weights a graph holds (e.g. after training wrote them back), by parameter name. */
export function graphWeights(g: Graph): Map<string, { shape: number[]; data: Float32Array | Float64Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | Float64Array }>();
  for (const [name, p] of g.params) out.set(name, { shape: p.value.shape as number[], data: p.data as Float32Array | Float64Array });
  return out;
}

/** Ops of `g`'s subgraph for `outputs` that each provider lacks. */
export function providerGaps(g: Graph, outputs: readonly Value[]): Record<string, string[]> {
  const ops = new Set(g.reachableNodes(outputs).map((n) => n.opType));
  const out: Record<string, string[]> = {};
  for (const [provider, lacks] of Object.entries(PROVIDER_GAPS)) {
    const hit = lacks.filter((op) => ops.has(op));
    if (hit.length) out[provider] = hit;
  }
  return out;
}

/** Writes a model pack for `model` with `weights` into `dir` (created if needed). */
export async function exportModelPack(dir: string, model: ModelConfig, weights: WeightMap, spec: PackExportSpec): Promise<ExportedPack> {
  const arch = getArchitecture(model.architecture);
  if (!arch.dense(model.config))
    throw new FieldMoeError(`model "${spec.name}"`, 'classifies one neighbourhood per input (patch head); a pack needs a per-pixel output, export the dense head instead');
  const { graph, probabilities, inputs } = inferenceGraph(model, weights);
  const gaps = providerGaps(graph, [probabilities]);
  const manifest = buildManifest(model, spec, gaps, Object.keys(inputs));
  const bytes = graph.toModel({ outputs: [[PROBABILITIES_OUTPUT, probabilities]], metadata: { architecture: model.architecture, pack: spec.name, version: spec.version } });

  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, PACK_MODEL_FILE), bytes);
  await writeSafetensors(path.join(dir, PACK_WEIGHTS_FILE), storedFloat32(weights), { architecture: model.architecture });
  await writeFileAtomic(path.join(dir, PACK_CONFIG_FILE), JSON.stringify(model, null, 1) + '\n');
  await writeFileAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, providerGaps: gaps };
}

function buildManifest(model: ModelConfig, spec: PackExportSpec, gaps: Record<string, string[]>, graphInputs: string[]): PackManifest {
  const arch = getArchitecture(model.architecture);
  const specs = arch.inputs(model.config);
  const wavelengths = specs.find((s) => s.role === 'wavelengths')?.name;
  const sensorInputs = specs.filter((s) => s.role === 'image' || s.role === 'depth' || s.role === 'modality');
  const inputs: PackInput[] = sensorInputs.map((s) => {
    const feed = spec.inputs[s.name];
    if (!feed) throw new FieldMoeError(`pack "${spec.name}"`, `says nothing about graph input "${s.name}" (inputs: ${sensorInputs.map((x) => x.name).join(', ')})`);
    const bands = s.role === 'image' && wavelengths && feed.bands.mode === 'any' ? { ...feed.bands, wavelengthsInput: wavelengths } : feed.bands;
    return { ...feed, name: s.name, bands };
  });
  for (const name of Object.keys(spec.inputs)) if (!graphInputs.includes(name)) throw new FieldMoeError(`pack "${spec.name}"`, `describes input "${name}", which the model does not have`);
  const tile = arch.tile(model.config);
  const gapLines = Object.entries(gaps).map(([p, ops]) => `- ${p}: no kernel for ${ops.join(', ')}; onnxruntime runs those nodes on the CPU provider.`);
  const card = [
    arch.card(model.config),
    '',
    '## Training',
    spec.training ?? 'Not recorded.',
    '',
    '## Metrics',
    ...(Object.keys(spec.metrics ?? {}).length ? Object.entries(spec.metrics!).map(([k, v]) => `- ${k}: ${v}`) : ['- None recorded.']),
    '',
    '## Execution providers',
    gapLines.length ? gapLines.join('\n') : '- Every operator has CPU, CUDA and WebGPU kernels.',
  ].join('\n');
  const json = {
    format: MANIFEST_FORMAT,
    name: spec.name,
    version: spec.version,
    task: 'segmentation',
    architecture: model.architecture,
    model: PACK_MODEL_FILE,
    files: [PACK_WEIGHTS_FILE, PACK_CONFIG_FILE],
    inputs,
    ...(specs.some((s) => s.role === 'availability') ? { availabilityInput: specs.find((s) => s.role === 'availability')!.name } : {}),
    output: PROBABILITIES_OUTPUT,
    classes: spec.classes,
    tile: { size: tile.size, overlap: spec.tile?.overlap ?? Math.floor(tile.size / 8), fixedSize: true, multipleOf: tile.multipleOf, batch: spec.tile?.batch ?? 4 },
    card,
    metrics: spec.metrics ?? {},
    ...(Object.keys(gaps).length ? { unsupportedProviders: Object.keys(gaps) } : {}),
  };
  if (spec.classes.length !== arch.classes(model.config))
    throw new FieldMoeError(`pack "${spec.name}"`, `lists ${spec.classes.length} classes, the model predicts ${arch.classes(model.config)}`);
  return validateManifest(json, `pack "${spec.name}" manifest`);
}

function storedFloat32(weights: WeightMap): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const [name, w] of weights) out.set(name, { dtype: 'float32', shape: [...w.shape], data: Float32Array.from(w.data) });
  return out;
}

export interface LoadedModelPack {
  pack: ModelPack;
  model: ModelConfig;
  weights: WeightMap;
}

/** Reads a pack written by exportModelPack: manifest, model config and weights, all checked. */
export async function loadModelPack(dir: string): Promise<LoadedModelPack> {
  const pack = await loadPack(dir);
  const configPath = path.join(pack.dir, PACK_CONFIG_FILE);
  let model: ModelConfig;
  try {
    model = JSON.parse(await fs.readFile(configPath, 'utf8')) as ModelConfig;
  } catch (err) {
    throw new FieldMoeError(configPath, `cannot read the model config (${(err as Error).message}); only packs exported from a configured model have one`);
  }
  if (model.architecture !== pack.manifest.architecture)
    throw new FieldMoeError(configPath, `architecture "${model.architecture}" differs from the manifest's "${pack.manifest.architecture}"`);
  getArchitecture(model.architecture);
  const weightsPath = path.join(pack.dir, PACK_WEIGHTS_FILE);
  const file = await readSafetensors(weightsPath);
  const weights: WeightMap = new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  const g = new Graph('check');
  buildModel(g, model, modelSources({ dtype: 'float32', weights, source: weightsPath }), 'float32');
  checkWeights(g, weights, weightsPath);
  return { pack, model, weights };
}
