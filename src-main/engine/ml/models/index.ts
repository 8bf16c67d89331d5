/**
 * The model architectures by name. Each entry knows its graph inputs, how to build its forward
 * graph from a config and three parameter sources, its tile constraints and its model card
 * (architecture, settings, every deviation from the paper). Training (ml/train), pack export
 * (export.ts) and the benchmarks all go through this registry, so adding an architecture is one
 * `registerArchitecture` call, not a new branch anywhere.
 */
import type { Dim, Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import { FieldMoeError } from '../../util/errors';
import { ParamSource, type WeightMap } from './init';
import { vitConfig, type VitConfig } from './vit';
import { defaultLevels } from './decoder';
import { MAMOL_PRESETS, SEG_PRESETS } from './adapters';
import {
  depthSourceOf, loadBalancingLoss, spectralMoeForward, SPECTRALMOE_PAPER_DEFAULTS, usesDepth, usesDepthAvailability, usesElevation, type NoiseSource, type SpectralMoeModelConfig,
} from './spectralmoe';
import { MAMOL_PAPER_EXPERTS, mamolForward, type MamolConfig } from './mamol';
import type { PixelHeadConfig } from './pixelhead';

export * from './spectralmoe';
export * from './mamol';
export * from './decoder';
export * from './adapters';
export * from './pixelhead';

/** One graph input of an architecture; the batch axis is the symbolic 'N'. */
export interface ModelInputSpec {
  name: string;
  shape: Dim[];
  /** What feeds it: a sensor tile, band wavelengths, or the availability vector. */
  role: 'image' | 'depth' | 'modality' | 'wavelengths' | 'availability';
}

/** Where a model's weights come from: the frozen backbone(s) and the trained adapters/heads. */
export interface ModelSources {
  backbone: ParamSource;
  depthEncoder: ParamSource;
  adapters: ParamSource;
}

export interface ModelBuildOptions {
  /** Gate noise in training (ForwardContext.noise); undefined at inference. */
  noise?: NoiseSource;
}

export interface BuiltModel {
  /** [N, classes, H, W] for dense models, [N, classes] for the MaMOL patch classifier. */
  logits: Value;
  /** Auxiliary loss to add to the task loss in training (SpectralMoE: lambda * load balance). */
  auxLoss?: Value;
}

export interface Architecture<C> {
  name: string;
  summary: string;
  inputs(cfg: C): ModelInputSpec[];
  build(g: Graph, cfg: C, sources: ModelSources, inputs: Record<string, Value>, options?: ModelBuildOptions): BuiltModel;
  /** Dense per-pixel output (exportable as a segmentation pack) or one label per input. */
  dense(cfg: C): boolean;
  tile(cfg: C): { size: number; multipleOf: number };
  classes(cfg: C): number;
  card(cfg: C): string;
}

/** A configured model: the architecture's name and its config (JSON-serialisable). */
export type ModelConfig = { architecture: 'spectralmoe'; config: SpectralMoeModelConfig } | { architecture: 'mamol'; config: MamolConfig };

const REGISTRY = new Map<string, Architecture<unknown>>();

export function registerArchitecture<C>(arch: Architecture<C>): void {
  if (REGISTRY.has(arch.name)) throw new Error(`architecture ${arch.name} is registered twice`);
  REGISTRY.set(arch.name, arch as Architecture<unknown>);
}

export function getArchitecture(name: string): Architecture<unknown> {
  const a = REGISTRY.get(name);
  if (!a) throw new FieldMoeError(`architecture "${name}"`, `is unknown (known: ${[...REGISTRY.keys()].join(', ')})`);
  return a;
}

export function architectureNames(): string[] {
  return [...REGISTRY.keys()];
}

/** Creates the architecture's graph inputs (in `dtype`) and builds the model on `g`. */
export function buildModel(g: Graph, model: ModelConfig, sources: ModelSources, dtype: FloatDType, options: ModelBuildOptions = {}): BuiltModel & { inputs: Record<string, Value> } {
  const arch = getArchitecture(model.architecture);
  const inputs: Record<string, Value> = {};
  for (const spec of arch.inputs(model.config)) inputs[spec.name] = g.input(spec.name, dtype, spec.shape);
  return { ...arch.build(g, model.config, sources, inputs, options), inputs };
}

/**
 * The three sources from one weight map (names as the model creates them): backbone and depth
 * encoder frozen unless `trainBackbone`, adapters and heads trained.
 */
export function modelSources(options: { dtype: FloatDType; seed?: number; weights?: WeightMap; trainBackbone?: boolean; source?: string }): ModelSources {
  const base = { dtype: options.dtype, seed: options.seed ?? 0, weights: options.weights, source: options.source };
  return {
    backbone: new ParamSource({ ...base, trainable: options.trainBackbone ?? false }),
    depthEncoder: new ParamSource({ ...base, trainable: false }),
    adapters: new ParamSource({ ...base, trainable: true }),
  };
}

// ---- SpectralMoE ---------------------------------------------------------------------------------

const SPECTRALMOE_DEVIATIONS = [
  'Decoder: a light multi-level decoder (four blocks, projected, summed, per-token classifier, bilinear upsampling) trained with per-pixel cross-entropy instead of Mask2Former: its Hungarian matching does not fit one ONNX train graph.',
  'Aggregation (eq. 5) is weighted by the gate values, as the paper writes it (the authors\' code does not weight).',
  'Fusion (eq. 6) is the full N x N cross-attention of the paper (the authors\' code keeps only its diagonal).',
  'Where the paper is silent the authors\' code is followed: p = 2 distance not squared, m = 100 tokens of rank 16 per expert with B zero-initialised, MLP = one Linear(d, d) shared across layers with W_T and b_T, alpha initialised to 1e-3, the smooth load term added to the importance CV^2 when k = 1, lambda averaged over layers.',
  'Experts are evaluated densely and unselected experts get gate 0 (same function as sparse dispatch).',
  'The L2 gate distance is sqrt(max(|f - w|^2, 0) + 1e-12) so that its gradient stays finite at zero distance.',
  'Depth: from a LiDAR/DSM/DEM sensor when the scene has one (relative height, embedded by a trained per-kind embedding and run through the frozen depth encoder; our extension), else the depth encoder on the bands nearest R, G, B as in the paper, else the model is the w/o-depth variant.',
  'Backbones: no pretrained DINOv2/CLIP/Depth-Anything weights can be downloaded here; unless a checkpoint is imported, the frozen backbones are randomly initialised, which is far from the paper\'s setting.',
];

registerArchitecture<SpectralMoeModelConfig>({
  name: 'spectralmoe',
  summary: 'SpectralMoE: frozen ViT + dual-gated MoE adapters + depth cross-attention, multi-level segmentation decoder',
  inputs: (cfg) => {
    const t = cfg.tile;
    const spectral = cfg.embedding.kind === 'spectral';
    // Any band count with the spectral embedding, unless a pixel head fixes it (fine-tuned for one sensor).
    const bands = spectral ? (cfg.pixelHead?.inputs.find((i) => i.name === 'image')?.bands ?? 'C') : cfg.vit.inChannels;
    const specs: ModelInputSpec[] = [{ name: 'image', shape: ['N', bands, t, t], role: 'image' }];
    if (spectral) specs.push({ name: 'wavelengths', shape: [bands], role: 'wavelengths' });
    if (usesElevation(cfg)) specs.push({ name: 'depth', shape: ['N', 1, t, t], role: 'depth' });
    if (usesDepthAvailability(cfg)) specs.push({ name: 'available', shape: ['N', 2], role: 'availability' });
    return specs;
  },
  build: (g, cfg, sources, inputs, options = {}) => {
    const { logits, records } = spectralMoeForward(g, sources, cfg, { image: inputs.image, depth: inputs.depth, wavelengths: inputs.wavelengths, available: inputs.available }, { noise: options.noise });
    const moe = cfg.adapters.moe;
    const auxLoss = moe && records.length ? loadBalancingLoss(records, moe) : undefined;
    return { logits, auxLoss };
  },
  dense: () => true,
  tile: (cfg) => ({ size: cfg.tile, multipleOf: cfg.vit.patchSize }),
  classes: (cfg) => cfg.decoder.classes,
  card: (cfg) => {
    const moe = cfg.adapters.moe;
    const variant = moe
      ? [
          `SpectralMoE after every block: ${moe.experts} expert(s), top-${moe.topK}, p = ${moe.p}, m = ${moe.tokensPerExpert}, r = ${moe.rank}`,
          moe.dualGating ? 'dual gating (separate visual and depth gates)' : 'w/o dual gating: one gate shared by both modalities',
          usesDepth(cfg) ? `depth from ${depthText(cfg)}: ${moe.fusion === 'cross-attention' ? 'full cross-attention fusion (eq. 6)' : 'w/o cross-attention: depth adjustments added'}` : 'w/o depth: visual adjustments only',
          `load-balancing lambda ${moe.loadLambda}`,
        ]
      : ['no SpectralMoE layers'];
    if (cfg.adapters.loraRank) variant.push(`LoRA rank ${cfg.adapters.loraRank} beside every FFN`);
    if (cfg.pixelHead) variant.push(pixelHeadText(cfg.pixelHead));
    if (usesDepth(cfg) && moe?.fusion === 'cross-attention') {
      const n = (cfg.tile / cfg.vit.patchSize) ** 2;
      variant.push(`cross-attention map: ${n} x ${n} per tile and layer (${((n * n * 4) / 2 ** 20).toFixed(2)} MiB in float32); it grows with the 4th power of the tile side`);
    }
    return card('SpectralMoE', cfg.vit, variant, cfg, SPECTRALMOE_DEVIATIONS);
  },
});

// ---- MaMOL -----------------------------------------------------------------------------------------

const MAMOL_DEVIATIONS = [
  'Static modality-specific experts are switched by the availability m_i (the paper, eq. 17); the authors\' code thresholds learned projections instead.',
  'Missing modalities get zero dummy inputs (the paper; the authors\' code uses ones).',
  'Modality embeddings are Linear + GELU + Linear over p x p pixel patches (1x1 convolutions); the code uses a 3x3 then a 1x1 convolution.',
  'Modalities are encoded independently by the shared ViT (stacked along the batch) and fused by concatenating their features at the head (paper eq. 4 with concatenation as the fusion operator).',
  'The pattern embedding psi is shared by all adapted blocks; phi and W are per block.',
  'Dense variant (our extension): per-token concatenated modality features, linear classifier, bilinear upsampling to the tile.',
  'Backbone: no pretrained CLIP weights can be downloaded here; unless a checkpoint is imported, the frozen ViT is randomly initialised, far from the paper\'s setting.',
];

registerArchitecture<MamolConfig>({
  name: 'mamol',
  summary: 'MaMOL: missing-aware mixture of LoRAs on a frozen ViT, one input per sensor plus availability',
  inputs: (cfg) => [
    ...cfg.modalities.map((m): ModelInputSpec => ({ name: m.name, shape: ['N', m.bands, cfg.size, cfg.size], role: 'modality' })),
    { name: 'available', shape: ['N', cfg.modalities.length], role: 'availability' },
  ],
  build: (g, cfg, sources, inputs) => {
    const { logits } = mamolForward(g, sources.backbone, sources.adapters, cfg, { modalities: cfg.modalities.map((m) => inputs[m.name]), available: inputs.available });
    return { logits };
  },
  dense: (cfg) => cfg.head === 'dense',
  tile: (cfg) => ({ size: cfg.size, multipleOf: cfg.tokenPatch }),
  classes: (cfg) => cfg.classes,
  card: (cfg) => {
    const e = cfg.experts;
    const variant = [
      `modalities: ${cfg.modalities.map((m) => `${m.name} (${m.bands} bands)`).join(', ')}`,
      `experts in the FFN of the last ${cfg.adaptedBlocks} blocks, LoRA rank ${e.rank}`,
      e.shared ? 'shared expert on' : 'no shared expert',
      e.modalitySpecific ? 'modality-specific experts gated by m_i' : 'no modality-specific experts',
      e.dynamic ? `${e.dynamic} dynamic experts, top-${e.topK}, router ${e.routerSeesPattern ? 'sees the missing pattern (psi dim ' + e.patternDim + ')' : 'sees features only'}` : 'no dynamic experts',
      `head: ${cfg.head === 'patch' ? 'patch classifier (one label per neighbourhood)' : 'dense class map'}`,
    ];
    if (cfg.pixelHead) variant.push(pixelHeadText(cfg.pixelHead));
    return card('MaMOL', cfg.vit, variant, cfg, MAMOL_DEVIATIONS);
  },
});

function pixelHeadText(p: PixelHeadConfig): string {
  const input = (i: PixelHeadConfig['inputs'][number]) => `${i.name} (${i.bands}${i.relative ? `, relative to the tile mean${i.tileMeanIntoLinear ? ', whose level the linear path reads too' : ''}` : ''}${i.context?.length ? `, plus mean and standard deviation over ${i.context.map((k) => `${k}x${k}`).join(' and ')} windows` : ''})`;
  return `pixel head (our extension, for few-shot fine-tuning): a per-pixel MLP (hidden ${p.hidden}) on the standardised bands of ${p.inputs.map(input).join(', ')}, missing inputs zeroed, its logits added to the model's`;
}

function depthText(cfg: SpectralMoeModelConfig): string {
  const ds = depthSourceOf(cfg);
  const enc = cfg.depthVit ? 'the frozen depth encoder' : 'per-block trained projections (no depth encoder)';
  if (ds.source === 'elevation') return `${ds.kind} elevation (relative height) through ${enc}${cfg.depthOptional ? '; optional: a tile without elevation (availability 0) runs exactly as the w/o-depth variant' : ''}`;
  if (ds.source === 'rgb') return `the depth encoder on image bands ${ds.bands.join(', ')} (nearest R, G, B)`;
  return 'nowhere';
}

function card(title: string, vit: VitConfig, variant: string[], cfg: unknown, deviations: string[]): string {
  return [
    `# ${title}`,
    '',
    '## Architecture',
    `ViT: width ${vit.width}, depth ${vit.depth}, heads ${vit.heads}, patch ${vit.patchSize}, MLP ratio ${vit.mlpRatio}, ${vit.activation}.`,
    ...variant.map((v) => `- ${v}`),
    '',
    '## Settings',
    '```json',
    JSON.stringify(cfg, null, 1),
    '```',
    '',
    '## Deviations from the paper',
    ...deviations.map((d) => `- ${d}`),
  ].join('\n');
}

// ---- compact defaults ------------------------------------------------------------------------------

/** A ViT-S-like backbone small enough for a laptop CPU. */
export function compactVit(over: Partial<VitConfig> & { imageSize: number }): VitConfig {
  return vitConfig({ width: 192, depth: 8, heads: 3, patchSize: 8, layerNormEps: 1e-6, ...over });
}

/**
 * The default SpectralMoE: ViT width 192, depth 8, patch 8 on 96-pixel tiles (144 tokens), a
 * depth ViT of the same shape fed by a LiDAR elevation band (default depth source), the paper's
 * MoE settings, `preset` from adapters.ts (ablation or baseline).
 */
export function defaultSpectralMoe(opts: { bands: number; classes: number; tile?: number; preset?: string; embedding?: SpectralMoeModelConfig['embedding']; depthSource?: SpectralMoeModelConfig['depthSource'] }): ModelConfig {
  const tile = opts.tile ?? 96;
  const vit = compactVit({ imageSize: tile, inChannels: opts.bands });
  const preset = SEG_PRESETS[opts.preset ?? 'spectralmoe'];
  if (!preset) throw new FieldMoeError(`preset "${opts.preset}"`, `is unknown (known: ${Object.keys(SEG_PRESETS).join(', ')})`);
  const adapters = preset.apply(SPECTRALMOE_PAPER_DEFAULTS);
  return {
    architecture: 'spectralmoe',
    config: {
      vit,
      // the encoder's own patch embedding sees 3 bands (RGB source); elevation replaces it
      depthVit: adapters.moe?.depth ? { ...vit, inChannels: 3 } : null,
      depthSource: adapters.moe?.depth ? (opts.depthSource ?? { source: 'elevation', kind: 'lidar' }) : { source: 'none' },
      adapters,
      decoder: { levels: defaultLevels(vit.depth), hidden: 128, classes: opts.classes },
      tile,
      embedding: opts.embedding ?? { kind: 'patch' },
    },
  };
}

/**
 * The default MaMOL: the same ViT, experts in the last 6 of 8 blocks, rank 8, 2 dynamic experts
 * top-1. `head: 'dense'` (default) on 64-pixel tiles with 4-pixel tokens; `head: 'patch'` on
 * 12-pixel neighbourhoods with one token per pixel (the paper's pixel classification).
 */
export function defaultMamol(opts: { modalities: { name: string; bands: number }[]; classes: number; head?: 'patch' | 'dense'; size?: number; tokenPatch?: number; preset?: string }): ModelConfig {
  const head = opts.head ?? 'dense';
  const size = opts.size ?? (head === 'dense' ? 64 : 12);
  const tokenPatch = opts.tokenPatch ?? (head === 'dense' ? 4 : 1);
  const preset = MAMOL_PRESETS[opts.preset ?? 'mamol'];
  if (!preset) throw new FieldMoeError(`preset "${opts.preset}"`, `is unknown (known: ${Object.keys(MAMOL_PRESETS).join(', ')})`);
  return {
    architecture: 'mamol',
    config: {
      vit: compactVit({ imageSize: size, patchSize: tokenPatch }),
      modalities: opts.modalities,
      size,
      tokenPatch,
      embedHidden: 256,
      experts: preset.apply(MAMOL_PAPER_EXPERTS),
      adaptedBlocks: 6,
      head,
      classes: opts.classes,
    },
  };
}
