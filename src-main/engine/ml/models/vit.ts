/**
 * Vision Transformer backbone, written once for inference and training.
 *
 * Functional style: `vitForward(g, params, x, cfg)` creates its weights through
 * `params.param(...)` under stable, timm-like names (below) and returns the token sequence
 * after any requested block. A frozen backbone is the same definition with a ParamSource whose
 * `trainable` is false; imported checkpoints are mapped to these names by weights.ts.
 *
 * Parameter names (relative to the scope `vitForward` is called in):
 *   patch_embed.weight [D, C, p, p], patch_embed.bias [D]   (conv layout, used as a matmul)
 *   cls_token [1, 1, D], reg_tokens [1, R, D], pos_embed [1, P + G0*G0, D]  (P = 1 with cls)
 *   norm_pre.weight/bias [D]                                (CLIP's pre-LayerNorm)
 *   blocks.{i}.norm1.weight/bias, blocks.{i}.attn.qkv.weight [3D, D] / .bias [3D],
 *   blocks.{i}.attn.proj.weight [D, D] / .bias, blocks.{i}.ls1.gamma [D],
 *   blocks.{i}.norm2.weight/bias, blocks.{i}.mlp.fc1.weight [M, D] / .bias [M],
 *   blocks.{i}.mlp.fc2.weight [D, M] / .bias [D], blocks.{i}.ls2.gamma [D]
 *   norm.weight/bias [D]                                    (final LayerNorm)
 * Linear weights keep PyTorch's [out, in] layout, so checkpoints map without transposes.
 *
 * Token order: [cls?, registers..., patches (row-major over the patch grid)], as DINOv2 with
 * registers. Position embeddings cover cls and patches; registers get none (DINOv2).
 */
import type { Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import {
  add,
  concat,
  gelu,
  gemm,
  layerNorm,
  matmul,
  mul,
  quickGelu,
  reshape,
  reshapeLike,
  slice,
  softmax,
  split,
  transpose,
  transposeLast2,
  unsqueeze,
} from '../ops/index';
import { init, type Initializer, type ParamSource } from './init';
import { interpolationMatrix, type Interpolation } from '../ops/interp';
import { FieldMoeError } from '../../util/errors';

export type Activation = 'gelu' | 'quick_gelu';

/**
 * How learned position embeddings are resized to another patch grid. PyTorch `F.interpolate`
 * semantics (cubic coefficient A = -0.75, edge clamping, no antialiasing), built as two small
 * constant matrices so the result stays differentiable w.r.t. `pos_embed`.
 * - DINOv2 (HF) and CLIP (HF): bicubic, alignCorners false, output size given (not a scale).
 * - torchvision `interpolate_embeddings`: bicubic, alignCorners true.
 * - timm resample_abs_pos_embed: bicubic, alignCorners false, but antialias when shrinking
 *   (not reproduced: shrinking is rare for us, tiles are larger than 224).
 * - original DINOv2 code: scale_factor (out + 0.1) / in, i.e. offset 0.1.
 */
export type PosInterpolation = Omit<Interpolation, 'scale'>;

export interface VitConfig {
  width: number;
  depth: number;
  heads: number;
  patchSize: number;
  /** MLP hidden size = round(width * mlpRatio). */
  mlpRatio: number;
  /** Input bands of the standard patch embedding (3 for RGB checkpoints). */
  inChannels: number;
  /** Tile size the stored position embeddings belong to (grid = imageSize / patchSize). */
  imageSize: number;
  activation: Activation;
  /** LayerScale initial value (DINOv2: 1e-5; checkpoints overwrite it), or null for none. */
  layerScale: number | null;
  /** Register (storage) tokens, DINOv2-with-registers style; 0 for none. */
  registers: number;
  clsToken: boolean;
  /** LayerNorm over the embedded tokens before block 0 (CLIP's pre_layrnorm). */
  preNorm: boolean;
  /** LayerNorm after the last block (all ViTs we import have one). */
  finalNorm: boolean;
  layerNormEps: number;
  qkvBias: boolean;
  /** Bias in the patch embedding (CLIP has none). */
  patchBias: boolean;
  posInterpolation: PosInterpolation;
}

/** A config with the usual defaults (DINOv2-like) filled in. */
export function vitConfig(c: Pick<VitConfig, 'width' | 'depth' | 'heads' | 'patchSize'> & Partial<VitConfig>): VitConfig {
  const cfg: VitConfig = {
    mlpRatio: 4,
    inChannels: 3,
    imageSize: 224,
    activation: 'gelu',
    layerScale: null,
    registers: 0,
    clsToken: true,
    preNorm: false,
    finalNorm: true,
    layerNormEps: 1e-6,
    qkvBias: true,
    patchBias: true,
    posInterpolation: { mode: 'bicubic', alignCorners: false },
    ...c,
  };
  checkConfig(cfg);
  return cfg;
}

function checkConfig(cfg: VitConfig): void {
  const bad = (problem: string) => new FieldMoeError('ViT config', problem);
  if (cfg.width % cfg.heads !== 0) throw bad(`width ${cfg.width} is not a multiple of heads ${cfg.heads}`);
  if (cfg.imageSize % cfg.patchSize !== 0) throw bad(`imageSize ${cfg.imageSize} is not a multiple of patchSize ${cfg.patchSize}`);
  for (const k of ['width', 'depth', 'heads', 'patchSize', 'inChannels'] as const)
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw bad(`${k} must be a positive integer, got ${cfg[k]}`);
}

/** Published architectures (weights come from checkpoints; see weights.ts). */
export const VIT_PRESETS = {
  'dinov2-small': vitConfig({ width: 384, depth: 12, heads: 6, patchSize: 14, imageSize: 518, layerScale: 1e-5 }),
  'dinov2-base': vitConfig({ width: 768, depth: 12, heads: 12, patchSize: 14, imageSize: 518, layerScale: 1e-5 }),
  'dinov2-large': vitConfig({ width: 1024, depth: 24, heads: 16, patchSize: 14, imageSize: 518, layerScale: 1e-5 }),
  'dinov2-small-reg4': vitConfig({ width: 384, depth: 12, heads: 6, patchSize: 14, imageSize: 518, layerScale: 1e-5, registers: 4 }),
  'clip-b16': vitConfig({ width: 768, depth: 12, heads: 12, patchSize: 16, imageSize: 224, activation: 'quick_gelu', preNorm: true, layerNormEps: 1e-5, patchBias: false }),
  'clip-b32': vitConfig({ width: 768, depth: 12, heads: 12, patchSize: 32, imageSize: 224, activation: 'quick_gelu', preNorm: true, layerNormEps: 1e-5, patchBias: false }),
  'torchvision-b16': vitConfig({ width: 768, depth: 12, heads: 12, patchSize: 16, imageSize: 224, posInterpolation: { mode: 'bicubic', alignCorners: true } }),
} satisfies Record<string, VitConfig>;

export const mlpHidden = (cfg: VitConfig) => Math.round(cfg.width * cfg.mlpRatio);
/** Tokens before the patch tokens: cls (if any) then registers. */
export const prefixTokens = (cfg: VitConfig) => (cfg.clsToken ? 1 : 0) + cfg.registers;
/** Patch grid the stored position embeddings describe. */
export const storedGrid = (cfg: VitConfig) => cfg.imageSize / cfg.patchSize;

// ---- layers shared with other models -----------------------------------------------------------

/**
 * y = x W^T + b with W [out, in] (PyTorch layout); params `${name}.weight`, `${name}.bias`.
 * `outScale` [out] multiplies the output (LayerScale), folded into W and b.
 */
export function linear(
  g: Graph,
  params: ParamSource,
  name: string,
  x: Value,
  inFeatures: number,
  outFeatures: number,
  options: { bias?: boolean; weightInit?: Initializer; biasInit?: Initializer; outScale?: Value } = {},
): Value {
  return g.scope(name, () => {
    let w = params.param(g, 'weight', [outFeatures, inFeatures], options.weightInit ?? init.truncNormal(0.02));
    let b = options.bias === false ? undefined : params.param(g, 'bias', [outFeatures], options.biasInit ?? init.zeros);
    if (options.outScale) {
      // y * s = x (diag(s) W)^T + s b: the scale lands on the weights (constant-folded at inference)
      w = mul(w, unsqueeze(options.outScale, [1]));
      b = b && mul(b, options.outScale);
    }
    return affine(x, w, b);
  });
}

/**
 * x W^T + b for x [..., in], W [out, in]. Whenever the result's shape can be restored (2-D x,
 * static x, or out = in with a symbolic batch) it is one 2-D Gemm with the bias inside:
 * onnxruntime runs a 3-D MatMul as one GEMM but leaves the bias Add after it unfused, a
 * separate pass over the output. Otherwise MatMul + Add.
 */
export function affine(x: Value, w: Value, b?: Value): Value {
  const [out, inF] = w.shape as number[];
  if (x.rank === 2) return gemm(x, w, b, { transB: true });
  const lead = x.shape.slice(0, -1);
  if (lead.every((d) => typeof d === 'number')) return reshape(gemm(rows(x, inF), w, b, { transB: true }), [...(lead as number[]), out]);
  if (out === inF) return reshapeLike(gemm(rows(x, inF), w, b, { transB: true }), x);
  const y = matmul(x, transposeLast2(w));
  return b ? add(y, b) : y;
}

/** x [..., width] as a matrix [rows, width] (a Reshape: free in onnxruntime). */
export function rows(x: Value, width: number): Value {
  return x.rank === 2 ? x : reshape(x, [-1, width]);
}

/** LayerNorm over the last axis; params `${name}.weight` (ones), `${name}.bias` (zeros). */
export function layerNormLayer(g: Graph, params: ParamSource, name: string, x: Value, width: number, eps: number): Value {
  return g.scope(name, () => {
    const scale = params.param(g, 'weight', [width], init.ones);
    const bias = params.param(g, 'bias', [width], init.zeros);
    return layerNorm(x, scale, bias, { axis: -1, epsilon: eps });
  });
}

const ACTIVATIONS: Record<Activation, (x: Value) => Value> = { gelu, quick_gelu: quickGelu };

// ---- patch embedding ---------------------------------------------------------------------------

/**
 * Cuts [B, C, H, W] into non-overlapping p x p patches: [B, N, C*p*p] with N = (H/p)(W/p) in
 * row-major grid order and each patch flattened as (c, i, j), the order of a conv kernel.
 */
export function patchify(x: Value, patchSize: number): { patches: Value; grid: [number, number] } {
  const [, , h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number') throw new FieldMoeError('ViT input', `tile height and width must be fixed, got ${x}`);
  if (h % patchSize || w % patchSize) throw new FieldMoeError('ViT input', `tile ${h}x${w} is not a multiple of the patch size ${patchSize}`);
  const gh = h / patchSize;
  const gw = w / patchSize;
  // 0 keeps the batch and band dims as they are (either may be symbolic); -1 is C*p*p.
  const cut = reshape(x, [0, 0, gh, patchSize, gw, patchSize]);
  const ordered = transpose(cut, [0, 2, 4, 1, 3, 5]); // [B, gh, gw, C, p, p]
  return { patches: reshape(ordered, [0, gh * gw, -1]), grid: [gh, gw] };
}

/**
 * The standard patch embedding (a stride-p conv, computed exactly as patchify + matmul):
 * [B, C, H, W] -> [B, N, D].
 */
export function patchEmbed(g: Graph, params: ParamSource, x: Value, cfg: VitConfig): { tokens: Value; grid: [number, number] } {
  const { patches, grid } = patchify(x, cfg.patchSize);
  const p = cfg.patchSize;
  return g.scope('patch_embed', () => {
    const w = params.param(g, 'weight', [cfg.width, cfg.inChannels, p, p], init.kaimingUniform);
    let y = matmul(patches, transpose(reshape(w, [cfg.width, cfg.inChannels * p * p]), [1, 0]));
    if (cfg.patchBias) y = add(y, params.param(g, 'bias', [cfg.width], init.zeros));
    return { tokens: y, grid };
  });
}

// ---- position embeddings -----------------------------------------------------------------------

/** Resampling matrices are shared with the map resizes (ops/interp.ts); re-exported for callers of this module. */
export { interpolationMatrix };

/**
 * Resizes patch position embeddings [1, G0*G0, D] to the grid [gh, gw] -> [1, gh*gw, D].
 * Separable: rows then columns, two constant matrices, so gradients reach `pos`.
 */
export function resizePosEmbed(g: Graph, pos: Value, from: number, to: [number, number], how: PosInterpolation, dtype: FloatDType): Value {
  const [gh, gw] = to;
  if (gh === from && gw === from) return pos;
  const d = pos.shape[2] as number;
  const mh = g.constant(castFloat(interpolationMatrix(from, gh, how), dtype), [gh, from], 'pos_interp_rows');
  const mw = g.constant(castFloat(interpolationMatrix(from, gw, how), dtype), [gw, from], 'pos_interp_cols');
  const grid = transpose(reshape(pos, [from, from, d]), [2, 0, 1]); // [D, G0 (rows), G0 (cols)]
  const cols = matmul(grid, transpose(mw, [1, 0])); // [D, G0, gw]
  const rows = matmul(mh, cols); // [gh, G0] x [D, G0, gw] -> [D, gh, gw]
  return reshape(transpose(rows, [1, 2, 0]), [1, gh * gw, d]);
}

function castFloat(a: Float64Array, dtype: FloatDType): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(a) : a;
}

/**
 * Adds cls token, registers and position embeddings to patch tokens [B, N, D] on `grid`, and
 * the pre-norm when configured: the sequence block 0 sees, [B, prefix + N, D].
 */
export function assembleTokens(g: Graph, params: ParamSource, patches: Value, grid: [number, number], cfg: VitConfig): Value {
  const d = cfg.width;
  const g0 = storedGrid(cfg);
  const clsCount = cfg.clsToken ? 1 : 0;
  const pos = params.param(g, 'pos_embed', [1, clsCount + g0 * g0, d], init.truncNormal(0.02));
  const [clsPos, patchPos] = clsCount ? split(pos, [1, g0 * g0], 1) : [undefined, pos];
  let x = add(patches, resizePosEmbed(g, patchPos, g0, grid, cfg.posInterpolation, params.dtype));
  // [B, 1, 1] zeros: adding them broadcasts a [1, n, D] token over the (symbolic) batch.
  const batchZeros = mul(slice(patches, [0, 0], [1, 1], [1, 2]), 0);
  const batched = (t: Value) => add(t, batchZeros);
  const prefix: Value[] = [];
  if (cfg.clsToken) prefix.push(batched(add(params.param(g, 'cls_token', [1, 1, d], init.truncNormal(1e-6)), clsPos!)));
  if (cfg.registers) prefix.push(batched(params.param(g, 'reg_tokens', [1, cfg.registers, d], init.truncNormal(1e-6))));
  if (prefix.length) x = concat([...prefix, x], 1);
  if (cfg.preNorm) x = layerNormLayer(g, params, 'norm_pre', x, d, cfg.layerNormEps);
  return x;
}

// ---- transformer blocks ------------------------------------------------------------------------

/**
 * Extension points inside each block, for adapters that other models insert (MaMOL's LoRA
 * experts beside the FFN, Rein/SpectralMoE updates after a block). Each receives the block
 * index; returning undefined means "nothing here".
 */
export interface BlockHooks {
  /** Added beside the MLP: x = x + ls2*MLP(LN2(x)) + mlpParallel(LN2(x)). */
  mlpParallel?: (block: number, normed: Value) => Value | undefined;
  /** Added beside attention: x = x + ls1*Attn(LN1(x)) + attnParallel(LN1(x)). */
  attnParallel?: (block: number, normed: Value) => Value | undefined;
  /** Replaces the block's output tokens [B, T, D] (same shape), e.g. SpectralMoE after block l. */
  afterBlock?: (block: number, tokens: Value) => Value;
}

/**
 * Multi-head self-attention over [B, T, D] with a fused qkv projection (params `qkv.weight`
 * [3D, D], `qkv.bias`, `proj.*`). For speed the fused weight is split into three [D, D]
 * products (constant-folded at inference, so no Split of activations), the 1/sqrt(hd) scale is
 * folded into W_q and b_q, and K is laid out as [B, H, hd, T] by its one Transpose.
 */
export function attention(g: Graph, params: ParamSource, x: Value, cfg: VitConfig, outScale?: Value): Value {
  const d = cfg.width;
  const h = cfg.heads;
  const hd = d / h;
  const t = x.shape[1] as number;
  return g.scope('attn', () => {
    const [wq, wk, wv, bq, bk, bv] = g.scope('qkv', () => {
      const w = params.param(g, 'weight', [3 * d, d], init.truncNormal(0.02));
      const b = cfg.qkvBias ? split(params.param(g, 'bias', [3 * d], init.zeros), [d, d, d], 0) : [undefined, undefined, undefined];
      return [...split(w, [d, d, d], 0), ...b];
    });
    const scale = 1 / Math.sqrt(hd);
    const flat = rows(x, d);
    // [B*T, D] -> [B, T, H, hd] -> `perm`
    const project = (w: Value, b: Value | undefined, perm: number[]) => transpose(reshape(reshapeLike(gemm(flat, w, b, { transB: true }), x), [0, t, h, hd]), perm);
    const q = project(mul(wq!, scale), bq && mul(bq, scale), [0, 2, 1, 3]); // [B, H, T, hd]
    const kT = project(wk!, bk, [0, 2, 3, 1]); // [B, H, hd, T]
    const v = project(wv!, bv, [0, 2, 1, 3]);
    const mixed = matmul(softmax(matmul(q, kT), -1), v); // [B, H, T, hd]
    const merged = reshape(transpose(mixed, [0, 2, 1, 3]), [0, t, d]);
    return linear(g, params, 'proj', merged, d, d, { outScale });
  });
}

function mlp(g: Graph, params: ParamSource, x: Value, cfg: VitConfig, outScale?: Value): Value {
  const hidden = mlpHidden(cfg);
  return g.scope('mlp', () => {
    // on [B*T, D] rows: fc1 widens, so a symbolic batch could not be restored after it
    const h = ACTIVATIONS[cfg.activation](linear(g, params, 'fc1', rows(x, cfg.width), cfg.width, hidden));
    return reshapeLike(linear(g, params, 'fc2', h, hidden, cfg.width, { outScale }), x);
  });
}

/** LayerScale's gamma `${name}.gamma` [D], or undefined without LayerScale (applied by folding, see linear). */
function layerScaleGamma(g: Graph, params: ParamSource, name: string, cfg: VitConfig): Value | undefined {
  if (cfg.layerScale === null) return undefined;
  return g.scope(name, () => params.param(g, 'gamma', [cfg.width], init.constant(cfg.layerScale!)));
}

/** One pre-norm transformer block: params under `blocks.{index}`. */
export function vitBlock(g: Graph, params: ParamSource, x: Value, cfg: VitConfig, index: number, hooks: BlockHooks = {}): Value {
  return g.scope(`blocks.${index}`, () => {
    const n1 = layerNormLayer(g, params, 'norm1', x, cfg.width, cfg.layerNormEps);
    let y = add(x, attention(g, params, n1, cfg, layerScaleGamma(g, params, 'ls1', cfg)));
    const a = hooks.attnParallel?.(index, n1);
    if (a) y = add(y, a);
    const n2 = layerNormLayer(g, params, 'norm2', y, cfg.width, cfg.layerNormEps);
    let z = add(y, mlp(g, params, n2, cfg, layerScaleGamma(g, params, 'ls2', cfg)));
    const m = hooks.mlpParallel?.(index, n2);
    if (m) z = add(z, m);
    return z;
  });
}

// ---- the whole backbone --------------------------------------------------------------------------

export interface VitForwardOptions {
  /** Blocks (0-based) whose output tokens to return, before the final norm. */
  hooks?: readonly number[];
  /**
   * Patch tokens [B, N, D] and their grid from another embedding (embed.ts' wavelength-
   * conditioned one, a per-sensor one); default is the standard patch embedding of `x`.
   */
  patchTokens?: { tokens: Value; grid: [number, number] };
  blockHooks?: BlockHooks;
}

export interface VitOutput {
  /** Tokens [B, T, D] after each requested block (after its afterBlock hook), by block index. */
  blocks: Map<number, Value>;
  /** Tokens after the last block and the final norm. */
  final: Value;
  grid: [number, number];
  /** Number of tokens before the patch tokens (cls + registers). */
  prefix: number;
}

/**
 * The ViT on a tile x [B, C, H, W] (B may be symbolic; H, W fixed per graph). Call it inside
 * `g.scope(name, ...)` to place the weights under a prefix.
 */
export function vitForward(g: Graph, params: ParamSource, x: Value | undefined, cfg: VitConfig, options: VitForwardOptions = {}): VitOutput {
  const embedded = options.patchTokens ?? (x ? patchEmbed(g, params, x, cfg) : undefined);
  if (!embedded) throw new FieldMoeError('ViT', 'needs an input tile or patch tokens');
  let tokens = assembleTokens(g, params, embedded.tokens, embedded.grid, cfg);
  const wanted = new Set(options.hooks ?? []);
  for (const b of wanted) if (!Number.isInteger(b) || b < 0 || b >= cfg.depth) throw new FieldMoeError('ViT', `hook block ${b} outside 0..${cfg.depth - 1}`);
  const blocks = new Map<number, Value>();
  for (let i = 0; i < cfg.depth; i++) {
    tokens = vitBlock(g, params, tokens, cfg, i, options.blockHooks);
    if (options.blockHooks?.afterBlock) tokens = options.blockHooks.afterBlock(i, tokens);
    if (wanted.has(i)) blocks.set(i, tokens);
  }
  const final = cfg.finalNorm ? layerNormLayer(g, params, 'norm', tokens, cfg.width, cfg.layerNormEps) : tokens;
  return { blocks, final, grid: embedded.grid, prefix: prefixTokens(cfg) };
}

/** The patch tokens [B, N, D] of a token sequence (drops cls and registers). */
export function patchTokensOf(tokens: Value, prefix: number): Value {
  if (!prefix) return tokens;
  const t = tokens.shape[1] as number;
  return slice(tokens, [prefix], [t], [1]);
}

/** Patch tokens [B, N, D] as a feature map [B, D, gh, gw] (for decoders). */
export function tokensToMap(patches: Value, grid: [number, number]): Value {
  const d = patches.shape[2] as number;
  return reshape(transpose(patches, [0, 2, 1]), [0, d, grid[0], grid[1]]);
}

/** Every ViT parameter name a config creates, with its shape (what checkpoints must supply). */
export function vitParamShapes(cfg: VitConfig): Map<string, number[]> {
  const d = cfg.width;
  const p = cfg.patchSize;
  const m = mlpHidden(cfg);
  const g0 = storedGrid(cfg);
  const out = new Map<string, number[]>();
  out.set('patch_embed.weight', [d, cfg.inChannels, p, p]);
  if (cfg.patchBias) out.set('patch_embed.bias', [d]);
  if (cfg.clsToken) out.set('cls_token', [1, 1, d]);
  if (cfg.registers) out.set('reg_tokens', [1, cfg.registers, d]);
  out.set('pos_embed', [1, (cfg.clsToken ? 1 : 0) + g0 * g0, d]);
  if (cfg.preNorm) for (const k of ['weight', 'bias']) out.set(`norm_pre.${k}`, [d]);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    const put = (k: string, s: number[]) => out.set(`${b}.${k}`, s);
    put('norm1.weight', [d]);
    put('norm1.bias', [d]);
    put('attn.qkv.weight', [3 * d, d]);
    if (cfg.qkvBias) put('attn.qkv.bias', [3 * d]);
    put('attn.proj.weight', [d, d]);
    put('attn.proj.bias', [d]);
    if (cfg.layerScale !== null) put('ls1.gamma', [d]);
    put('norm2.weight', [d]);
    put('norm2.bias', [d]);
    put('mlp.fc1.weight', [m, d]);
    put('mlp.fc1.bias', [m]);
    put('mlp.fc2.weight', [d, m]);
    put('mlp.fc2.bias', [d]);
    if (cfg.layerScale !== null) put('ls2.gamma', [d]);
  }
  if (cfg.finalNorm) for (const k of ['weight', 'bias']) out.set(`norm.${k}`, [d]);
  return out;
}
