/**
 * Parameter-efficient adapters for a frozen ViT, shared by SpectralMoE, MaMOL and the papers'
 * baselines:
 *  - LoRA: low-rank B A z beside a block's FFN (also MaMOL's expert form, eq. 13);
 *  - Rein-style learnable tokens: the SpectralMoE update with one expert and no depth, which is
 *    exactly Rein's "tokens + shared projection + scaled residual" (built by spectralmoe.ts);
 *  - the MoE-ada and MoE-task routers and "frozen + head only" are MaMOL expert settings.
 * The named presets below turn one base config into each ablation or baseline of the papers'
 * tables (a registry of config transforms, not forks of the model code).
 */
import type { Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import { matmul, mul } from '../ops/index';
import { init, type ParamSource } from './init';
import type { SpectralMoeConfig } from './spectralmoe';
import type { MamolExpertsConfig } from './mamol';

// ---- LoRA --------------------------------------------------------------------------------------

/** `experts` stacked LoRA pairs: A [d, E r] (U(+-1/sqrt d), as LoRA), B [E r, d] (zeros: starts at 0). */
export function loraStack(g: Graph, src: ParamSource, name: string, d: number, experts: number, r: number): { a: Value; b: Value } {
  return g.scope(name, () => ({
    a: src.param(g, 'a', [d, experts * r], init.uniform(-1 / Math.sqrt(d), 1 / Math.sqrt(d))),
    b: src.param(g, 'b', [experts * r, d], init.zeros),
  }));
}

/**
 * sum_e c_e B_e A_e z for z [.., T, d] and coefficients c [.., E] (broadcast against z's leading
 * dims): each coefficient scales its expert's r columns between the two stacked products.
 */
export function weightedLora(z: Value, stack: { a: Value; b: Value }, coef: Value, r: number): Value {
  const experts = coef.shape[coef.rank - 1] as number;
  const spread = matmul(coef, z.graph.constant(repeatMatrix(experts, r, coef.dtype as FloatDType), [experts, experts * r], 'lora_spread'));
  return matmul(mul(matmul(z, stack.a), spread), stack.b);
}

/** One plain LoRA expert B A z (the "LoRA" baseline); params `<name>.a`, `<name>.b`. */
export function lora(g: Graph, src: ParamSource, name: string, z: Value, r: number): Value {
  const stack = loraStack(g, src, name, z.shape[z.rank - 1] as number, 1, r);
  return matmul(matmul(z, stack.a), stack.b);
}

/** [E, E r] with row e having ones at columns e r .. e r + r - 1. */
function repeatMatrix(experts: number, r: number, dtype: FloatDType): Float32Array | Float64Array {
  const out = dtype === 'float32' ? new Float32Array(experts * experts * r) : new Float64Array(experts * experts * r);
  for (let e = 0; e < experts; e++) for (let j = 0; j < r; j++) out[e * experts * r + e * r + j] = 1;
  return out;
}

// ---- presets: the papers' ablations and baselines ----------------------------------------------

/** How a segmentation model adapts its frozen backbone. */
export interface SegAdapterSettings {
  /** SpectralMoE after every block (null: none). */
  moe: Omit<SpectralMoeConfig, 'dim'> | null;
  /** LoRA rank beside every FFN (null: none). */
  loraRank: number | null;
}

export interface SegPreset {
  description: string;
  apply(base: Omit<SpectralMoeConfig, 'dim'>): SegAdapterSettings;
}

/** SpectralMoE paper, Tables 1, 3 and 4. */
export const SEG_PRESETS: Record<string, SegPreset> = {
  spectralmoe: { description: 'SpectralMoE (paper)', apply: (b) => ({ moe: b, loraRank: null }) },
  'wo-moe': { description: 'SpectralMoE w/o MoE (one expert)', apply: (b) => ({ moe: { ...b, experts: 1, topK: 1 }, loraRank: null }) },
  'wo-dual-gating': { description: 'SpectralMoE w/o dual gating (one gate shared by visual and depth)', apply: (b) => ({ moe: { ...b, dualGating: false }, loraRank: null }) },
  'wo-depth': { description: 'SpectralMoE w/o depth', apply: (b) => ({ moe: { ...b, depth: false }, loraRank: null }) },
  'wo-cross-attention': { description: 'SpectralMoE w/o cross-attention (addition)', apply: (b) => ({ moe: { ...b, fusion: 'add' }, loraRank: null }) },
  rein: { description: 'Rein: learnable low-rank tokens, same update without experts or depth', apply: (b) => ({ moe: { ...b, experts: 1, topK: 1, depth: false }, loraRank: null }) },
  lora: { description: 'LoRA beside every FFN (rank r of the MoE tokens)', apply: (b) => ({ moe: null, loraRank: b.rank }) },
  frozen: { description: 'frozen backbone + decoder only', apply: () => ({ moe: null, loraRank: null }) },
};

export interface MamolPreset {
  description: string;
  apply(base: MamolExpertsConfig): MamolExpertsConfig;
}

/** MaMOL paper, Tables 1, 4 and 5. */
export const MAMOL_PRESETS: Record<string, MamolPreset> = {
  mamol: { description: 'MaMOL (paper)', apply: (b) => b },
  'wo-dynamic': { description: 'MaMOL w/o dynamic experts', apply: (b) => ({ ...b, dynamic: 0 }) },
  'wo-static': { description: 'MaMOL w/o static experts (no shared, no modality-specific)', apply: (b) => ({ ...b, shared: false, modalitySpecific: false }) },
  'wo-modality-specific': { description: 'MaMOL w/o modality-specific experts', apply: (b) => ({ ...b, modalitySpecific: false }) },
  'moe-ada': { description: 'MoE-ada: adapter experts with a feature-only router', apply: (b) => ({ ...b, shared: false, modalitySpecific: false, routerSeesPattern: false }) },
  'moe-task': { description: 'MoE-task: adapter experts whose router sees the missing-pattern embedding', apply: (b) => ({ ...b, shared: false, modalitySpecific: false, routerSeesPattern: true }) },
  lora: { description: 'LoRA: one shared expert beside every adapted FFN', apply: (b) => ({ ...b, shared: true, modalitySpecific: false, dynamic: 0 }) },
  frozen: { description: 'frozen backbone + head only (no experts)', apply: (b) => ({ ...b, shared: false, modalitySpecific: false, dynamic: 0 }) },
};

export function presetNames(kind: 'segmentation' | 'mamol'): string[] {
  return Object.keys(kind === 'segmentation' ? SEG_PRESETS : MAMOL_PRESETS);
}
