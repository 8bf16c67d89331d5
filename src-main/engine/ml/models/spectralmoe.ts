/**
 * SpectralMoE (Wang et al., "SpectralMoE", sections 3.1-3.3), one function per equation so that
 * each can be tested on its own against an independent computation.
 *
 * Per backbone block, visual patch tokens f^v and depth tokens f^d ([B, N, d]) are routed by a
 * Lp-distance noisy gate (eq. 1) to their top-k experts (eq. 2); expert e owns low-rank tokens
 * T_e = A_e B_e, reads them through a perceptual map (eq. 3), projects them with a shared
 * W_T, b_T (eq. 4) and the gate-weighted sum gives the adjustment (eq. 5); eqs. 3-5 are
 * computed through the factors A_e, B_e without forming T_e (same function, fewer operations).
 * Depth adjustments are fused into the visual ones by full cross-attention (eq. 6), and the
 * output is the residual f_v + alpha * MLP(df + f_v) (eq. 7). The load-balancing loss is
 * eqs. 9-11 (plus the authors' smooth "load" term when k = 1, see model-notes.md).
 *
 * Where the paper and the authors' code differ, this follows the paper (gate-weighted sum, full
 * cross-attention); where the paper is silent it follows the code (p = 2 not squared, m = 100,
 * r = 16, B zero-initialised, alpha = 1e-3, one Linear(d, d) as MLP shared with W_T across
 * layers). Everything is dense: all experts are evaluated and unselected ones get gate 0, which
 * is the same function as sparse dispatch and is what a CPU runs fastest at these sizes.
 */
import type { Dim, Graph, Value } from '../graph/graph';
import {
  abs, add, cast, concat, div, equal, exp, gemm, greater, less, matmul, mul, neg, reduceMax, reduceSum, relu,
  reshape, reshapeLike, softmax, softplus, split, sqrt, sub, transpose, transposeLast2, unsqueeze,
} from '../ops/index';
import { init, type ParamSource } from './init';
import { loadBalancingLoss as balanceLoss } from '../losses';
import { patchTokensOf, prefixTokens, rows, vitForward, type VitConfig } from './vit';
import { segmentationDecoder, type DecoderConfig } from './decoder';
import { lora, type SegAdapterSettings } from './adapters';
import { spectralEmbedConfig, spectralPatchEmbed } from './embed';
import { depthTokens, type DepthInput } from './depth';
import { pixelHead, type PixelHeadConfig } from './pixelhead';

/** A function giving standard-normal noise of a shape in training, `undefined` at inference. */
export type NoiseSource = (name: string, shape: readonly Dim[]) => Value | undefined;

export interface SpectralMoeConfig {
  /** Token width d of the backbone (and of the depth tokens). */
  dim: number;
  /** N_e experts (paper best 6; 1 is the "w/o MoE" ablation). */
  experts: number;
  /** m: tokens per expert (code: 100). */
  tokensPerExpert: number;
  /** r: rank of T_e = A_e B_e (code: 16). */
  rank: number;
  /** k of the top-k gate (paper: top-k; code: 1). */
  topK: number;
  /** p of the Lp-distance gate: 2 (code, not squared) or 1 ("Laplacian gating"). */
  p: 1 | 2;
  /** Separate visual and depth gates (paper); false = one shared gate ("w/o dual gating"). */
  dualGating: boolean;
  /** Use depth tokens (paper); false = "w/o depth": df = df^v. */
  depth: boolean;
  /** How depth adjustments join the visual ones: eq. 6 or plain addition ("w/o cross-attention"). */
  fusion: 'cross-attention' | 'add';
  /** Initial alpha of eq. 7 (code: 1e-3). */
  alphaInit: number;
  /** lambda of eq. 9 (code: 1000, averaged over layers). */
  loadLambda: number;
  /** Add the smooth "load" term (probability of entering the top-k under the noise). Default: k = 1. */
  smoothLoad?: boolean;
}

export const SPECTRALMOE_PAPER_DEFAULTS: Omit<SpectralMoeConfig, 'dim'> = {
  experts: 6,
  tokensPerExpert: 100,
  rank: 16,
  topK: 1,
  p: 2,
  dualGating: true,
  depth: true,
  fusion: 'cross-attention',
  alphaInit: 1e-3,
  loadLambda: 1000,
};

// ---- eq. 1: Lp-distance noisy gate -----------------------------------------------------------

export interface GateLogits {
  /** -||f - w_gate_e||_p: [B, N, E]. */
  clean: Value;
  /** clean + eps * softplus(f . w_noise); equal to `clean` without noise. */
  noisy: Value;
  /** softplus(f . w_noise) when noise is on (the noise scale, for the smooth load term). */
  noiseStd?: Value;
}

/**
 * Eq. 1: h_e = -||f - w_gate_e||_p + eps_e softplus(f^T w_noise_e). `wGate`, `wNoise` are
 * [d, E] (column e is expert e's prototype); `eps` is [B, N, E] standard-normal noise or
 * undefined (inference: no noise term at all).
 */
export function gateLogits(f: Value, wGate: Value, wNoise: Value | undefined, p: 1 | 2, eps?: Value): GateLogits {
  const clean = neg(p === 1 ? l1Distance(f, wGate) : l2Distance(f, wGate));
  if (!eps || !wNoise) return { clean, noisy: clean };
  const noiseStd = softplus(matmul(f, wNoise));
  return { clean, noisy: add(clean, mul(eps, noiseStd)), noiseStd };
}

/** ||f - w_e||_2 by the expansion |f|^2 - 2 f.w + |w|^2 (one matmul, no [B, N, E, d] tensor). */
function l2Distance(f: Value, w: Value): Value {
  const ff = reduceSum(mul(f, f), [-1], true);
  const ww = reduceSum(mul(w, w), [0], true);
  const sq = add(sub(ff, matmul(f, mul(w, 2))), ww); // 2 w: weight-side, folded at inference
  // Rounding can make a zero distance slightly negative (Relu clamps it; Relu, unlike Max, has a
  // WebGPU kernel); the 1e-12 keeps sqrt's gradient finite at zero distance.
  return sqrt(add(relu(sq), 1e-12));
}

/** sum_d |f_d - w_{d,e}| through a broadcast [B, N, E, d] difference. */
function l1Distance(f: Value, w: Value): Value {
  const diff = sub(unsqueeze(f, [-2]), transposeLast2(w));
  return reduceSum(abs(diff), [-1], false);
}

// ---- eq. 2: top-k gate -----------------------------------------------------------------------

/**
 * The 0/1 mask of the k largest entries along the last axis: an entry is selected when fewer
 * than k entries beat it (ties go to the lower index). Built from comparisons (an [.., E, E]
 * table, E = experts is small) rather than ops/topk's topkGate, whose TopK and ScatterElements
 * have no WebGPU kernels: this keeps the inference graph on every provider. No gradient.
 */
export function topKMask(h: Value, k: number): Value {
  const e = h.shape[h.rank - 1] as number;
  if (k >= e) return add(mul(h, 0), 1);
  if (k === 1) return firstMaxMask(h, e);
  const mine = unsqueeze(h, [-1]); // [..., E, 1]: h_e
  const other = unsqueeze(h, [-2]); // [..., 1, E]: h_l
  const beats = cast(greater(other, mine), h.dtype);
  const lower = new Float64Array(e * e);
  for (let i = 0; i < e; i++) for (let l = 0; l < i; l++) lower[i * e + l] = 1;
  const lowerIdx = h.graph.constant(h.dtype === 'float32' ? Float32Array.from(lower) : lower, [e, e], 'topk_lower');
  const ties = mul(cast(equal(other, mine), h.dtype), lowerIdx);
  const rank = reduceSum(add(beats, ties), [-1], false);
  return cast(less(rank, k - 0.5), h.dtype);
}

/**
 * topKMask for k = 1 without the [.., E, E] table: the entries equal to the maximum, less those
 * with an equal one at a lower index (counted by a product with the strictly-upper 0/1 matrix).
 */
function firstMaxMask(h: Value, e: number): Value {
  const isMax = cast(equal(h, reduceMax(h, [-1], true)), h.dtype);
  const upper = new Float64Array(e * e);
  for (let l = 0; l < e; l++) for (let i = l + 1; i < e; i++) upper[l * e + i] = 1;
  const upperIdx = h.graph.constant(h.dtype === 'float32' ? Float32Array.from(upper) : upper, [e, e], 'topk_upper');
  const before = matmul(isMax, upperIdx); // [.., E]: how many maxima sit at a lower index
  return mul(isMax, cast(less(before, 0.5), h.dtype));
}

/**
 * Eq. 2: softmax over the top-k logits, zero elsewhere. For k = 1 that softmax is over one logit,
 * exp(0) / exp(0) = 1 exactly (and without gradient either way), so the gates are the mask itself.
 */
export function topKGates(h: Value, k: number): Value {
  const mask = topKMask(h, k);
  if (k === 1) return mask;
  const z = exp(sub(h, reduceMax(h, [-1], true)));
  const kept = mul(z, mask);
  return div(kept, reduceSum(kept, [-1], true));
}

// ---- eqs. 3-5: experts ---------------------------------------------------------------------

/*
 * T_e = A_e B_e ([m, r] x [r, d]) is never materialised: both products with it go through the
 * rank-r factors, the same math in about a quarter of the multiply-adds (for m = 100, r = 16,
 * E = 6, d = 192 per token: 2 N d E m before, 2 N E r (d + m) now). The map is kept expert-major,
 * [B, E, N, m], so the per-expert products are batched MatMuls over E and only r-wide tensors are
 * transposed.
 */

/**
 * Eq. 3: the perceptual map (the paper's A_{i,e}; M_e below, not the factor A_e)
 * M_{i,e} = softmax(f_i T_e^T / sqrt(d)) over the m tokens, T_e = A_e B_e, computed as
 * (f_i B_e^T) A_e^T: `a` [E, m, r], `b` [E, r, d], f [B, N, d] -> [B, E, N, m] (expert-major).
 */
export function perceptualMap(f: Value, a: Value, b: Value): Value {
  const [e, , r] = a.shape as number[];
  const d = b.shape[2] as number;
  const low = matmul(f, transposeLast2(reshape(b, [e * r, d]))); // [B, N, E*r]
  const perExpert = transpose(reshape(low, [0, 0, e, r]), [0, 2, 1, 3]); // [B, E, N, r]
  const aT = div(transposeLast2(a), Math.sqrt(d)); // [E, r, m], the scale on the weight side
  return softmax(matmul(perExpert, aT), -1); // [B, E, N, m]
}

/**
 * Eqs. 4-5: dz_e = M_e (T_e W_T + b_T) with M_e the perceptual map of expert e (the paper's
 * A_{i,e}), df = sum_e g_e dz_e, through the factors: each row of M_e sums to 1 (softmax), so
 * dz_e = (M_e A_e) (B_e W_T) + b_T and
 * df = [g_1 M_1 A_1, ..., g_E M_E A_E] [B_1 W_T; ...; B_E W_T] + (sum_e g_e) b_T:
 * one [B, N, E*r] x [E*r, d] product. `map` [B, E, N, m] from perceptualMap, `gates` [B, N, E]
 * (undefined: every gate 1, the ungated sum). `gatesSumToOne`: each token's gates sum to exactly
 * 1 (top-1 gates are a one-hot mask), so the b_T term is b_T itself. Without gates or with such
 * gates the bias is a constant vector and rides inside the product (one Gemm on the token rows
 * instead of a product, a per-token sum, a scaling and an addition). Returns [B, N, d].
 */
export function aggregateExperts(map: Value, gates: Value | undefined, a: Value, b: Value, wT: Value, bT: Value, gatesSumToOne = false): Value {
  const [e, , r] = a.shape as number[];
  const d = b.shape[2] as number;
  const n = map.shape[2];
  const low = transpose(matmul(map, a), [0, 2, 1, 3]); // [B, N, E, r]
  // the gate is a per-token scalar per expert: applied to the r-wide rows, not the m-wide map
  const weighted = gates ? mul(low, unsqueeze(gates, [-1])) : low;
  const projected = matmul(reshape(b, [e * r, d]), wT); // [E*r, d]: B_e W_T stacked
  if ((!gates || gatesSumToOne) && typeof n === 'number') {
    const bias = gates ? bT : mul(bT, e);
    return reshape(gemm(reshape(weighted, [-1, e * r]), projected, bias), [-1, n, d]);
  }
  const stacked = reshape(weighted, [0, 0, e * r]); // [B, N, E*r]
  const bias = gates ? mul(reduceSum(gates, [-1], true), bT) : mul(bT, e);
  return add(matmul(stacked, projected), bias);
}

/** Eq. 4 alone, every expert's dz_e: [B, N, E, d] (for tests and inspection). */
export function expertAdjustments(map: Value, a: Value, b: Value, wT: Value, bT: Value): Value {
  const low = matmul(map, a); // [B, E, N, r]
  const dz = add(matmul(low, matmul(b, wT)), bT); // [B, E, N, d]
  return transpose(dz, [0, 2, 1, 3]);
}

// ---- eq. 6: fusion -----------------------------------------------------------------------------

/** Eq. 6: softmax(df_v df_d^T / sqrt(d)) df_d over all N tokens (an [N, N] map per image). */
export function crossAttentionFusion(dfv: Value, dfd: Value): Value {
  const d = dfv.shape[dfv.rank - 1] as number;
  const attn = softmax(div(matmul(dfv, transposeLast2(dfd)), Math.sqrt(d)), -1);
  return matmul(attn, dfd);
}

// ---- eq. 7: output -----------------------------------------------------------------------------

/**
 * Eq. 7: f_out = f_v + alpha * MLP(df + f_v), MLP one Linear(d, d) (the authors' code). alpha is
 * folded into the MLP's weight and bias (d x d work, constant-folded at inference), so the tokens
 * see one Gemm with the bias inside instead of MatMul, Add and Mul passes.
 */
export function moeOutput(fv: Value, df: Value, mlpW: Value, mlpB: Value, alpha: Value): Value {
  const d = fv.shape[fv.rank - 1] as number;
  const update = gemm(rows(add(df, fv), d), mul(mlpW, alpha), mul(mlpB, alpha));
  return add(fv, reshapeLike(update, fv));
}

// ---- eqs. 9-11: load balancing ---------------------------------------------------------------

/** The k-th largest value along the last axis (k = 1 is the max), [..., 1], no gradient. */
function kthLargest(h: Value, k: number): Value {
  const atMostK = topKMask(h, k);
  const exactly = k > 1 ? sub(atMostK, topKMask(h, k - 1)) : atMostK;
  return reduceSum(mul(exactly, h), [-1], true);
}

/** One gate's terms of eqs. 10-11 (ml/losses' per-gate loss on [tokens, E] views). */
function gateBalance(r: GateRecord, k: number, smooth: boolean): Value {
  const e = r.gates.shape[r.gates.rank - 1] as number;
  const flat = (v: Value) => reshape(v, [-1, e]);
  const { clean, noisy, noiseStd } = r.logits;
  const useNoise = smooth && noiseStd && e > k;
  return balanceLoss({
    gates: flat(r.gates),
    k,
    noisy: useNoise
      ? {
          clean: flat(clean),
          noisy: flat(noisy),
          noiseStd: flat(noiseStd),
          topValues: concat(Array.from({ length: k + 1 }, (_, j) => kthLargest(flat(noisy), j + 1)), 1),
        }
      : undefined,
  });
}

/** One gate's logits and top-k gates, as the load loss needs them. */
export interface GateRecord {
  layer: number;
  modality: 'visual' | 'depth';
  logits: GateLogits;
  gates: Value;
}

/**
 * Eqs. 9-11 (without the task loss): lambda * mean over layers of the mean over modalities of
 * CV^2(importance) (+ CV^2(smooth load) when enabled and noise is on). A scalar [].
 */
export function loadBalancingLoss(records: readonly GateRecord[], cfg: Pick<SpectralMoeConfig, 'loadLambda' | 'topK' | 'smoothLoad'>): Value {
  if (records.length === 0) throw new Error('loadBalancingLoss: no gate records');
  const useLoad = cfg.smoothLoad ?? cfg.topK === 1;
  const layers = new Map<number, Value[]>();
  for (const r of records) {
    const term = gateBalance(r, cfg.topK, useLoad);
    layers.set(r.layer, [...(layers.get(r.layer) ?? []), term]);
  }
  const perLayer = [...layers.values()].map((ts) => div(ts.reduce((a, b) => add(a, b)), ts.length));
  const mean = div(perLayer.reduce((a, b) => add(a, b)), perLayer.length);
  return mul(mean, cfg.loadLambda);
}

// ---- the module --------------------------------------------------------------------------------

/** Parameters of one layer (gates and expert tokens) and those shared across layers. */
export interface SpectralMoeShared {
  wT: Value;
  bT: Value;
  mlpW: Value;
  mlpB: Value;
  alpha: Value;
}

/** Creates the cross-layer parameters (W_T, b_T, MLP, alpha) in the current scope. */
export function spectralMoeShared(g: Graph, src: ParamSource, cfg: SpectralMoeConfig): SpectralMoeShared {
  const d = cfg.dim;
  return {
    wT: src.param(g, 'w_t', [d, d], init.kaimingUniform),
    bT: src.param(g, 'b_t', [d], init.zeros),
    mlpW: src.param(g, 'mlp.weight', [d, d], init.kaimingUniform),
    mlpB: src.param(g, 'mlp.bias', [d], init.zeros),
    alpha: src.param(g, 'alpha', [1], init.constant(cfg.alphaInit)),
  };
}

export interface SpectralMoeLayerInputs {
  /** Visual patch tokens [B, N, d]. */
  visual: Value;
  /** Depth patch tokens [B, N, d], aligned with the visual ones; ignored when cfg.depth is false. */
  depth?: Value;
  noise?: NoiseSource;
  /** Collects gate records for the load loss. */
  records?: GateRecord[];
  /**
   * Per-sample depth availability [B, 1, 1] (1 = present, 0 = absent); undefined = present. A
   * sample with 0 gets df = df^v, exactly the "w/o depth" computation (see gateDepth).
   */
  depthAvailable?: Value;
}

/**
 * The fused adjustment where depth is present and the visual one where it is absent:
 * a * fused + (1 - a) * df^v with a in {0, 1} per sample. For a = 0 this is 0 + df^v, bit for bit
 * the w/o-depth df (fused is finite: absent depth arrives as zeros), so the depth branch adds
 * nothing, not even gradient, for samples without elevation.
 */
export function gateDepth(fused: Value, dfv: Value, available: Value): Value {
  return add(mul(fused, available), mul(dfv, add(mul(available, -1), 1)));
}

/**
 * One SpectralMoE layer (eqs. 1-7) on patch tokens; creates its parameters in the current scope
 * (`g.scope('moe.<l>', ...)`): expert tokens `experts.a`/`experts.b`, and the gate prototypes
 * `gate.visual.*`, `gate.depth.*` (or `gate.shared.*` without dual gating).
 */
export function spectralMoeLayer(g: Graph, src: ParamSource, cfg: SpectralMoeConfig, shared: SpectralMoeShared, layer: number, inp: SpectralMoeLayerInputs): Value {
  const { dim: d, experts: e, tokensPerExpert: m, rank: r } = cfg;
  // A_e as in Rein's LoRA tokens (uniform, fan-in of the token); B_e zero so T_e starts at 0.
  const a = src.param(g, 'experts.a', [e, m, r], init.uniform(-Math.sqrt(6 / (r + d)), Math.sqrt(6 / (r + d))));
  const b = src.param(g, 'experts.b', [e, r, d], init.zeros);
  const gateParams = (which: string) => ({
    w: src.param(g, `gate.${which}.w_gate`, [d, e], init.normal(1 / Math.sqrt(d))),
    noise: src.param(g, `gate.${which}.w_noise`, [d, e], init.zeros),
  });
  // One expert needs no gate ("w/o MoE", Rein): its gate is 1.
  const visualGate = e > 1 ? gateParams(cfg.dualGating ? 'visual' : 'shared') : undefined;
  const depthGate = cfg.dualGating && e > 1 ? gateParams('depth') : visualGate;

  const route = (f: Value, gp: { w: Value; noise: Value } | undefined, modality: 'visual' | 'depth'): Value => {
    const map = perceptualMap(f, a, b);
    if (!gp) return aggregateExperts(map, undefined, a, b, shared.wT, shared.bT);
    const eps = inp.noise?.(`moe.${layer}.${modality}.noise`, [...f.shape.slice(0, -1), e]);
    const logits = gateLogits(f, gp.w, gp.noise, cfg.p, eps);
    const gates = topKGates(logits.noisy, cfg.topK);
    inp.records?.push({ layer, modality, logits, gates });
    return aggregateExperts(map, gates, a, b, shared.wT, shared.bT, cfg.topK === 1);
  };

  const fv = inp.visual;
  const dfv = route(fv, visualGate, 'visual');
  let df = dfv;
  if (cfg.depth) {
    if (!inp.depth) throw new Error(`SpectralMoE layer ${layer}: depth tokens are required (or set depth: false)`);
    const dfd = route(inp.depth, depthGate, 'depth');
    const fused = cfg.fusion === 'cross-attention' ? crossAttentionFusion(dfv, dfd) : add(dfv, dfd);
    df = inp.depthAvailable ? gateDepth(fused, dfv, inp.depthAvailable) : fused;
  }
  return moeOutput(fv, df, shared.mlpW, shared.mlpB, shared.alpha);
}

// ---- the segmentation model ------------------------------------------------------------------

export interface SpectralMoeModelConfig {
  /** The frozen visual ViT; `inChannels` = the tile's bands. */
  vit: VitConfig;
  /** The frozen depth encoder run block for block beside it (same width and depth), or null. */
  depthVit: VitConfig | null;
  /**
   * Where depth tokens come from (depth.ts): an elevation sensor (input `depth` [B, 1, H, W],
   * normalised by normaliseElevation; through the depth encoder, or per-block projections when
   * there is none), or the depth encoder on the image bands nearest R, G, B (paper), or none.
   * Absent (configs written before this field): elevation when there is a depth encoder.
   */
  depthSource?: { source: 'elevation'; kind: 'lidar' | 'dem' } | { source: 'rgb'; bands: [number, number, number] } | { source: 'none' };
  /**
   * Elevation may be absent: the model takes the availability input `available` [N, 2] (columns:
   * image, depth, the pack's input order) and every sample whose depth column is 0 runs exactly
   * as the "w/o depth" variant of the same weights (gateDepth). Only with an elevation source.
   */
  depthOptional?: boolean;
  /** Adapters: SpectralMoE after every block and/or LoRA beside every FFN (see adapters.ts presets). */
  adapters: SegAdapterSettings;
  decoder: DecoderConfig;
  /** Tile side in pixels. */
  tile: number;
  /**
   * How image bands become tokens: the ViT's own patch embedding (fixed `vit.inChannels` bands)
   * or the wavelength-conditioned one of embed.ts (any band set; a `wavelengths` input [C], um),
   * whose generator is trained with the adapters (no pretrained generator can be imported here).
   */
  embedding: { kind: 'patch' } | { kind: 'spectral'; frequencies?: number; hidden?: number };
  /** Per-pixel MLP on the image bands added to the decoder's logits (pixelhead.ts; input `image`, fixed band count). */
  pixelHead?: PixelHeadConfig;
}

export interface SpectralMoeSources {
  backbone: ParamSource;
  depthEncoder: ParamSource;
  adapters: ParamSource;
}

export interface SpectralMoeInputs {
  /** [B, bands, tile, tile]. */
  image: Value;
  /** Band wavelengths [bands] in micrometres (spectral embedding only). */
  wavelengths?: Value;
  /** [B, depthBands, tile, tile] for the depth encoder (when the config has one and uses depth). */
  depth?: Value;
  /** [B, 2] sensor availability (image, depth) when the config has depthOptional. */
  available?: Value;
}

export interface SpectralMoeForwardOptions {
  noise?: NoiseSource;
}

export interface SpectralMoeModelOutput {
  /** Per-pixel logits [B, classes, tile, tile]. */
  logits: Value;
  /** Gate records of every layer, for loadBalancingLoss. */
  records: GateRecord[];
}

export type DepthSourceConfig = NonNullable<SpectralMoeModelConfig['depthSource']>;

/** The configured depth source (see SpectralMoeModelConfig.depthSource for the default). */
export function depthSourceOf(cfg: SpectralMoeModelConfig): DepthSourceConfig {
  return cfg.depthSource ?? (cfg.depthVit ? { source: 'elevation', kind: 'lidar' } : { source: 'none' });
}
/** Whether the model actually consumes depth tokens. */
export const usesDepth = (cfg: SpectralMoeModelConfig) => !!cfg.adapters.moe?.depth && depthSourceOf(cfg).source !== 'none';
/** Whether the model has a `depth` graph input (elevation). */
export const usesElevation = (cfg: SpectralMoeModelConfig) => usesDepth(cfg) && depthSourceOf(cfg).source === 'elevation';
/** Whether the model has an `available` graph input (elevation that may be absent). */
export const usesDepthAvailability = (cfg: SpectralMoeModelConfig) => usesElevation(cfg) && !!cfg.depthOptional;
/** Column of the depth input in the availability input (the pack lists image, then depth). */
export const DEPTH_AVAILABILITY_COLUMN = 1;

/**
 * The SpectralMoE segmentation model: frozen visual ViT (`backbone.*`), frozen depth ViT
 * (`depth_encoder.*`), a SpectralMoE layer after every visual block on the patch tokens only
 * (`moe.<l>.*`, shared `moe.shared.*`; cls/registers pass through), optional LoRA beside every
 * FFN (`lora.<l>.*`), and the multi-level decoder (`decoder.*`) on four blocks' patch tokens.
 */
export function spectralMoeForward(g: Graph, src: SpectralMoeSources, cfg: SpectralMoeModelConfig, inp: SpectralMoeInputs, opts: SpectralMoeForwardOptions = {}): SpectralMoeModelOutput {
  const moeCfg = cfg.adapters.moe ? { ...cfg.adapters.moe, dim: cfg.vit.width } : null;
  if (moeCfg?.depth && depthSourceOf(cfg).source === 'none') throw new Error('SpectralMoE: depth is on but the depth source is none (use the wo-depth preset)');
  const depthBlocks = usesDepth(cfg) ? depthBranch(g, src, cfg, inp) : undefined;
  const depthAvailable = usesDepthAvailability(cfg) ? depthAvailability(inp) : undefined;
  const records: GateRecord[] = [];
  const shared = moeCfg ? g.scope('moe.shared', () => spectralMoeShared(g, src.adapters, moeCfg)) : undefined;
  const loraRank = cfg.adapters.loraRank;
  const prefix = prefixTokens(cfg.vit);

  const afterBlock = (block: number, tokens: Value): Value => {
    if (!moeCfg || !shared) return tokens;
    const t = tokens.shape[1] as number;
    const [head, patches] = prefix ? split(tokens, [prefix, t - prefix], 1) : [undefined, tokens];
    const updated = g.scope(`moe.${block}`, () =>
      spectralMoeLayer(g, src.adapters, moeCfg, shared, block, { visual: patches, depth: depthBlocks?.get(block), depthAvailable, noise: opts.noise, records }),
    );
    return head ? concat([head, updated], 1) : updated;
  };
  const mlpParallel = loraRank ? (_block: number, normed: Value) => lora(g, src.adapters, 'lora.ffn', normed, loraRank) : undefined;

  const out = g.scope('backbone', () => {
    const patchTokens = cfg.embedding.kind === 'spectral' ? spectralTokens(g, src.adapters, cfg, inp) : undefined;
    return vitForward(g, src.backbone, inp.image, cfg.vit, { hooks: cfg.decoder.levels, patchTokens, blockHooks: { afterBlock, mlpParallel } });
  });
  const feats = cfg.decoder.levels.map((l) => patchTokensOf(out.blocks.get(l)!, out.prefix));
  const decoded = segmentationDecoder(g, src.adapters, feats, out.grid, [cfg.tile, cfg.tile], cfg.decoder);
  const logits = cfg.pixelHead ? add(decoded, pixelHead(g, src.adapters, cfg.pixelHead, [{ x: inp.image }], cfg.decoder.classes)) : decoded;
  return { logits, records };
}

function spectralTokens(g: Graph, src: ParamSource, cfg: SpectralMoeModelConfig, inp: SpectralMoeInputs) {
  if (cfg.embedding.kind !== 'spectral') throw new Error('unreachable');
  if (!inp.wavelengths) throw new Error('SpectralMoE: the spectral embedding needs a wavelengths input');
  const { kind: _kind, ...opts } = cfg.embedding;
  return spectralPatchEmbed(g, src, inp.image, inp.wavelengths, spectralEmbedConfig({ width: cfg.vit.width, patchSize: cfg.vit.patchSize, ...opts }));
}

/** The depth column of the availability input as [B, 1, 1], to scale [B, N, d] adjustments. */
function depthAvailability(inp: SpectralMoeInputs): Value {
  if (!inp.available) throw new Error('SpectralMoE: optional depth needs the availability input');
  const m = inp.available.shape[1] as number;
  const sizes = Array.from({ length: m }, () => 1);
  return unsqueeze(split(inp.available, sizes, 1)[DEPTH_AVAILABILITY_COLUMN], [-1]);
}

/** Per-block depth patch tokens from the configured source (depth.ts). */
function depthBranch(g: Graph, src: SpectralMoeSources, cfg: SpectralMoeModelConfig, inp: SpectralMoeInputs): Map<number, Value> | undefined {
  const ds = depthSourceOf(cfg);
  let input: DepthInput;
  if (ds.source === 'elevation') {
    if (!inp.depth) throw new Error('SpectralMoE: the model uses elevation but no depth input was given');
    input = { source: 'elevation', x: inp.depth, kind: ds.kind };
  } else if (ds.source === 'rgb') input = { source: 'rgb', x: inp.image, bands: ds.bands };
  else input = { source: 'none' };
  return depthTokens(g, { encoder: src.depthEncoder, branch: src.adapters }, { visual: cfg.vit, encoder: cfg.depthVit, tile: cfg.tile }, input);
}
