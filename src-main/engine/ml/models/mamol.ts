/**
 * MaMOL, Missing-aware Mixture-of-LoRAs (Gao, Qu, Dong; sections 3-4, eqs. 3-4 and 10-17).
 *
 * Each modality i is embedded to tokens by its own small network, its input replaced by a zero
 * dummy when m_i = 0 (eq. 3), and encoded by one shared frozen ViT (eq. 4: modalities are
 * encoded independently, stacked along the batch). In the last N blocks, LoRA experts run in
 * parallel with the FFN: x = x + FFN(LN(x)) + dh(LN(x), m) (eq. 12), dh = h_dyn + h_stat:
 *  - static (eq. 17): a shared expert always on, plus expert i on exactly when m_i = 1 (the
 *    paper; the authors' code thresholds learned projections instead);
 *  - dynamic (eqs. 14-15): K_d experts gated by TopK(softmax(W phi([z; psi(m)]))), psi the
 *    pattern embedding (a Linear over the one-hot of the missing pattern, dim 8, as the code),
 *    phi a Linear + GELU; top-k keeps the softmax values (no renormalisation, as eq. 15).
 * The head concatenates the per-modality cls features with missing blocks zeroed (patch
 * classifier), or per-token features likewise (dense variant, upsampled to a class map).
 *
 * Every expert is a LoRA B A z (eq. 13). A layer's experts, static and dynamic, are stacked
 * ([d, E r] and [E r, d], weights only) so they cost two matmuls; an expert's coefficient (1, m_i
 * or g_k) scales its r columns in between, which is the same sum as eqs. 12, 14 and 17.
 */
import type { Graph, Value } from '../graph/graph';
import {
  add, cast, concat, equal, expand, gelu, matmul, mul, reshape, reshapeLike, slice, softmax, transpose, unsqueeze,
} from '../ops/index';
import { init, type ParamSource } from './init';
import { topKMask } from './spectralmoe';
import { loraStack, weightedLora } from './adapters';
import { linear, vitForward, type VitConfig } from './vit';
import { conv2d } from '../ops/conv';
import { FieldMoeError } from '../../util/errors';
import { tokenLogitsToMap } from './decoder';
import { availabilityColumn, pixelHead, type PixelHeadConfig } from './pixelhead';

export interface MamolExpertsConfig {
  /** LoRA rank r of every expert (code: 8). */
  rank: number;
  /** The always-on shared expert ("w/o static" turns this and the modality experts off). */
  shared: boolean;
  /** One expert per modality, on when m_i = 1 ("w/o modality-specific" turns these off). */
  modalitySpecific: boolean;
  /** K_d dynamic experts (paper: 2; 0 = "w/o dynamic"). */
  dynamic: number;
  /** k of the dynamic router (paper: 1). */
  topK: number;
  /** The router sees psi(m) (MaMOL, MoE-task) or only the features (MoE-ada). */
  routerSeesPattern: boolean;
  /** Width of psi(m) (code: 8). */
  patternDim: number;
  /** Width of phi's output. */
  routerHidden: number;
}

export const MAMOL_PAPER_EXPERTS: MamolExpertsConfig = {
  rank: 8,
  shared: true,
  modalitySpecific: true,
  dynamic: 2,
  topK: 1,
  routerSeesPattern: true,
  patternDim: 8,
  routerHidden: 64,
};

// ---- missing pattern -------------------------------------------------------------------------

/**
 * One-hot of the availability pattern m [B, M] over the 2^M patterns (pattern p has bit i set
 * when modality i is present): [B, 2^M]. Counts matching bits against a constant bit table, so
 * it needs no Gather and no integer arithmetic.
 */
export function patternOneHot(m: Value): Value {
  const modalities = m.shape[1] as number;
  const patterns = 2 ** modalities;
  const bits = new Float64Array(modalities * patterns);
  for (let p = 0; p < patterns; p++) for (let i = 0; i < modalities; i++) bits[i * patterns + p] = (p >> i) & 1;
  const table = m.graph.constant(m.dtype === 'float32' ? Float32Array.from(bits) : bits, [modalities, patterns], 'pattern_bits');
  const matches = add(matmul(m, table), matmul(add(mul(m, -1), 1), add(mul(table, -1), 1)));
  return cast(equal(matches, modalities), m.dtype);
}

/** psi(m): a Linear over the pattern one-hot, [B, patternDim]; params `pattern_embed.*`. */
export function patternEmbedding(g: Graph, src: ParamSource, m: Value, dim: number): Value {
  const patterns = 2 ** (m.shape[1] as number);
  return linear(g, src, 'pattern_embed', patternOneHot(m), patterns, dim, { weightInit: init.normal(1) });
}

// ---- eq. 15: router ------------------------------------------------------------------------

/**
 * Eq. 15: g = TopK(softmax(W phi([z; psi(m)]))) for tokens z [B', T, d] and psi [B', P] (or
 * undefined for a feature-only router). phi([z; t]) = GELU(z Wz^T + t Wt^T + b) is the Linear
 * over the concatenation written as two products. Params `router.phi_z`, `router.phi_t`,
 * `router.w`. Returns [B', T, K].
 */
export function routerGates(g: Graph, src: ParamSource, z: Value, psi: Value | undefined, cfg: Pick<MamolExpertsConfig, 'dynamic' | 'topK' | 'routerHidden'>): Value {
  return g.scope('router', () => {
    const d = z.shape[2] as number;
    let pre = linear(g, src, 'phi_z', z, d, cfg.routerHidden, { weightInit: init.kaimingUniform });
    if (psi) pre = add(pre, unsqueeze(linear(g, src, 'phi_t', psi, psi.shape[1] as number, cfg.routerHidden, { bias: false, weightInit: init.kaimingUniform }), [1]));
    const logits = linear(g, src, 'w', gelu(pre), cfg.routerHidden, cfg.dynamic, { bias: false, weightInit: init.kaimingUniform });
    const probs = softmax(logits, -1);
    return mul(probs, topKMask(probs, cfg.topK));
  });
}

// ---- eqs. 13, 14, 17: experts ------------------------------------------------------------------

/**
 * Eq. 17's coefficients [B', E_stat] for m [B', M]: the shared expert's 1 first when present,
 * then m_i per modality-specific expert; undefined when there is no static expert.
 */
function staticCoefficients(m: Value, cfg: MamolExpertsConfig): Value | undefined {
  const parts: Value[] = [];
  if (cfg.shared) parts.push(add(mul(slice(m, [0], [1], [1]), 0), 1)); // [B', 1] of ones
  if (cfg.modalitySpecific) parts.push(m);
  if (!parts.length) return undefined;
  return parts.length === 1 ? parts[0] : concat(parts, 1);
}

/**
 * Eq. 17: h_stat = B_shr A_shr z + sum_i m_i B_i A_i z for z [B', T, d] and m [B', M]; params
 * `static.a`, `static.b` with the shared expert first when present.
 */
export function staticExperts(g: Graph, src: ParamSource, z: Value, m: Value, cfg: MamolExpertsConfig): Value | undefined {
  const coef = staticCoefficients(m, cfg);
  if (!coef) return undefined;
  const stack = loraStack(g, src, 'static', z.shape[2] as number, coef.shape[1] as number, cfg.rank);
  return weightedLora(z, stack, unsqueeze(coef, [1]), cfg.rank);
}

/** Eq. 14: h_dyn = sum_k g_k B_k A_k z with gates [B', T, K]; params `dynamic.a`, `dynamic.b`. */
export function dynamicExperts(g: Graph, src: ParamSource, z: Value, gates: Value, cfg: MamolExpertsConfig): Value {
  const stack = loraStack(g, src, 'dynamic', z.shape[2] as number, cfg.dynamic, cfg.rank);
  return weightedLora(z, stack, gates, cfg.rank);
}

export interface ExpertsRecord {
  block: number;
  gates?: Value;
}

/**
 * Eq. 12's dh(z, m) = h_dyn + h_stat for one block (params in the current scope). `psi` is the
 * pattern embedding per row of z (shared across blocks). Undefined when no expert is on.
 * With both kinds on, all experts are one stacked LoRA: A = [A_stat, A_dyn], B = [B_stat; B_dyn]
 * (weights only, folded at inference) and the coefficients [1, m, g] side by side, so the sum
 * of eqs. 14 and 17 is one product per side instead of two products and an addition.
 */
export function missingAwareExperts(g: Graph, src: ParamSource, z: Value, m: Value, psi: Value | undefined, cfg: MamolExpertsConfig, record?: ExpertsRecord): Value | undefined {
  if (cfg.dynamic <= 0) return staticExperts(g, src, z, m, cfg);
  const coef = staticCoefficients(m, cfg);
  const d = z.shape[2] as number;
  // parameters in the order of eq. 12's terms: static, router, dynamic (seeded initialisation)
  const stat = coef && loraStack(g, src, 'static', d, coef.shape[1] as number, cfg.rank);
  const gates = routerGates(g, src, z, cfg.routerSeesPattern ? psi : undefined, cfg);
  if (record) record.gates = gates;
  if (!coef || !stat) return dynamicExperts(g, src, z, gates, cfg);
  const dyn = loraStack(g, src, 'dynamic', d, cfg.dynamic, cfg.rank);
  const t = z.shape[1] as number;
  const all = concat([expand(unsqueeze(coef, [1]), [1, t, 1]), gates], 2); // [B', T, E_stat + K]
  return weightedLora(z, { a: concat([stat.a, dyn.a], 1), b: concat([stat.b, dyn.b], 0) }, all, cfg.rank);
}

// ---- the model -----------------------------------------------------------------------------------

export interface MamolModality {
  name: string;
  bands: number;
}

export interface MamolConfig {
  /** The shared frozen ViT (its patch embedding is replaced by the modality embeddings). */
  vit: VitConfig;
  modalities: readonly MamolModality[];
  /** Input neighbourhood / tile side in pixels (square). */
  size: number;
  /** Pixels per token side in the modality embedding (1 = every pixel a token, as the code). */
  tokenPatch: number;
  /** Hidden width of each modality embedding (code: 256). */
  embedHidden: number;
  experts: MamolExpertsConfig;
  /** Experts sit in the FFN of the last `adaptedBlocks` blocks (paper: 6). */
  adaptedBlocks: number;
  /** 'patch': one label per neighbourhood (the paper); 'dense': per-pixel class map. */
  head: 'patch' | 'dense';
  classes: number;
  /** Dense head only: a per-pixel MLP on every modality's bands (missing ones zeroed) added to the logits (pixelhead.ts). */
  pixelHead?: PixelHeadConfig;
}

export interface MamolInputs {
  /** One [B, bands, size, size] input per modality, in `cfg.modalities` order. */
  modalities: readonly Value[];
  /** Availability m [B, M] (1 present, 0 missing). */
  available: Value;
}

export interface MamolOutput {
  /** [B, classes] (patch head) or [B, classes, size, size] (dense head). */
  logits: Value;
  records: ExpertsRecord[];
}

/**
 * Modality i's embedding to tokens: Linear + GELU + Linear over p x p pixel patches (1x1 convs on
 * the patch grid); `embed.<name>.*`. fc1 over the patches is one stride-p Conv whose kernel is
 * fc1.weight [hidden, C*p*p] seen as [hidden, C, p, p] (the (c, i, j) order of patchify): a weight
 * initialiser in exported graphs, never a kernel computed at run time. onnxruntime's CPU Conv
 * avoids patchify's 6-D Transpose of the whole input, the costliest copy of a 144-band tile. The
 * zero dummy of eq. 3 (x * m_i) is applied after fc1's product, where it is the same
 * ((m_i x) W^T = m_i (x W^T)), on [B, N, hidden] instead of the whole input.
 */
function embedModality(g: Graph, src: ParamSource, x: Value, m: Value, i: number, mod: MamolModality, cfg: MamolConfig): { tokens: Value; grid: [number, number] } {
  const p = cfg.tokenPatch;
  const [, , h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number' || h % p || w % p) throw new FieldMoeError('MaMOL input', `tile ${x} must have a fixed size that is a multiple of the token patch ${p}`);
  const grid: [number, number] = [h / p, w / p];
  const mi = unsqueeze(slice(m, [i], [i + 1], [1]), [2]); // [B, 1, 1]
  return g.scope(`embed.${mod.name}`, () => {
    const pre = g.scope('fc1', () => {
      const weight = src.param(g, 'weight', [cfg.embedHidden, mod.bands * p * p], init.kaimingUniform);
      const b = src.param(g, 'bias', [cfg.embedHidden], init.zeros);
      const map = conv2d(x, reshape(weight, [cfg.embedHidden, mod.bands, p, p]), undefined, { strides: [p, p] }); // [B, hidden, gh, gw]
      const tokens = transpose(reshape(map, [0, cfg.embedHidden, grid[0] * grid[1]]), [0, 2, 1]); // [B, N, hidden]
      return add(mul(tokens, mi), b);
    });
    return { tokens: linear(g, src, 'fc2', gelu(pre), cfg.embedHidden, cfg.vit.width, { weightInit: init.kaimingUniform }), grid };
  });
}

/**
 * The MaMOL model. `backbone` supplies the shared ViT's weights (frozen: trainable false);
 * `adapters` the embeddings, experts, pattern embedding and head (trainable). Stacks the
 * modalities along the batch (row b*M + i is modality i of sample b).
 */
export function mamolForward(g: Graph, backbone: ParamSource, adapters: ParamSource, cfg: MamolConfig, inp: MamolInputs): MamolOutput {
  const M = cfg.modalities.length;
  const d = cfg.vit.width;
  if (inp.modalities.length !== M) throw new Error(`MaMOL: ${inp.modalities.length} inputs for ${M} modalities`);
  const m = inp.available;
  const embedded = cfg.modalities.map((mod, i) => embedModality(g, adapters, inp.modalities[i], m, i, mod, cfg));
  const grid = embedded[0].grid;
  const n = grid[0] * grid[1];
  const perSample = concat(embedded.map((e) => unsqueeze(e.tokens, [1])), 1); // [B, M, N, d]
  const stacked = reshape(perSample, [-1, n, d]); // [B*M, N, d]
  const mRows = reshape(expand(unsqueeze(m, [1]), [1, M, M]), [-1, M]); // each row's sample pattern
  const psi = cfg.experts.dynamic > 0 && cfg.experts.routerSeesPattern ? g.scope('experts', () => patternEmbedding(g, adapters, mRows, cfg.experts.patternDim)) : undefined;
  const first = cfg.vit.depth - cfg.adaptedBlocks;
  const records: ExpertsRecord[] = [];
  const out = g.scope('backbone', () =>
    vitForward(g, backbone, undefined, cfg.vit, {
      patchTokens: { tokens: stacked, grid },
      blockHooks: {
        mlpParallel: (block, normed) => {
          if (block < first) return undefined;
          const record: ExpertsRecord = { block };
          records.push(record);
          return g.scope('experts', () => missingAwareExperts(g, adapters, normed, mRows, psi, cfg.experts, record));
        },
      },
    }),
  );
  const logits = g.scope('head', () => (cfg.head === 'patch' ? patchHead(g, adapters, out.final, perSample, m, cfg) : denseHead(g, adapters, out.final, perSample, out.prefix, m, grid, cfg)));
  return { logits: cfg.pixelHead ? add(logits, modalityPixelHead(g, adapters, cfg, cfg.pixelHead, inp)) : logits, records };
}

/** The pixel head on the modalities it lists (by name), each gated by its availability column. */
function modalityPixelHead(g: Graph, src: ParamSource, cfg: MamolConfig, head: PixelHeadConfig, inp: MamolInputs): Value {
  if (cfg.head !== 'dense') throw new Error('MaMOL: the pixel head needs the dense head');
  const inputs = head.inputs.map((spec) => {
    const i = cfg.modalities.findIndex((m) => m.name === spec.name);
    if (i < 0) throw new Error(`MaMOL pixel head: no modality ${spec.name}`);
    return { x: inp.modalities[i], available: availabilityColumn(inp.available, i) };
  });
  return pixelHead(g, src, head, inputs, cfg.classes, inp.available);
}

/** Concatenated per-modality cls features, missing blocks zeroed, linear classifier: [B, classes]. */
function patchHead(g: Graph, src: ParamSource, final: Value, perSample: Value, m: Value, cfg: MamolConfig): Value {
  const M = cfg.modalities.length;
  const d = cfg.vit.width;
  // back from rows b*M + i to [B, M, ...]; reshapeLike keeps the symbolic batch B
  const cls = reshape(reshapeLike(slice(final, [0], [1], [1]), slice(perSample, [0], [1], [2])), [0, M, d]); // [B, M, d]
  const kept = reshape(mul(cls, unsqueeze(m, [2])), [-1, M * d]);
  return linear(g, src, 'classifier', kept, M * d, cfg.classes, { weightInit: init.kaimingUniform });
}

/** Per-token concatenated modality features, missing zeroed, classified and upsampled. */
function denseHead(g: Graph, src: ParamSource, final: Value, perSample: Value, prefix: number, m: Value, grid: [number, number], cfg: MamolConfig): Value {
  const M = cfg.modalities.length;
  const d = cfg.vit.width;
  const n = grid[0] * grid[1];
  const t = final.shape[1] as number;
  const patches = reshapeLike(slice(final, [prefix], [t], [1]), perSample); // [B, M, N, d]
  const kept = mul(patches, unsqueeze(m, [2, 3]));
  const perToken = reshape(transpose(kept, [0, 2, 1, 3]), [-1, n, M * d]);
  const logits = linear(g, src, 'classifier', perToken, M * d, cfg.classes, { weightInit: init.kaimingUniform });
  return tokenLogitsToMap(g, logits, grid, [cfg.size, cfg.size], src.dtype);
}
