/**
 * Importing pretrained ViT weights from checkpoints in other tools' layouts.
 *
 * A layout is data: rules mapping each of our parameter names (vit.ts) to the checkpoint's
 * tensor names, with `{i}` standing for the block index. A rule with several sources
 * concatenates them along axis 0 (separate q, k, v -> our fused qkv); a source whose element
 * count matches is reshaped to our shape (CLIP's [D] class embedding -> [1, 1, D]). Tensors the
 * vision tower does not use (a classifier head, a text tower) are listed as ignored, so anything
 * else left over is reported as unexpected.
 */
import type { StoredTensor } from '../io/safetensors';
import { readSafetensors } from '../io/safetensors';
import { FieldMoeError } from '../../util/errors';
import { vitParamShapes, type VitConfig } from './vit';
import type { WeightMap } from './init';

export interface NameRule {
  /** Our name, with `{i}` for the block index. */
  ours: string;
  /** Checkpoint name(s), with `{i}`; several are concatenated along axis 0. */
  theirs: string | readonly string[];
}

export interface CheckpointLayout {
  name: string;
  rules: readonly NameRule[];
  /** Checkpoint tensors that are not part of the ViT (heads, text tower, buffers). */
  ignore: readonly RegExp[];
}

const perBlock = (rules: [string, string | string[]][]): NameRule[] =>
  rules.map(([ours, theirs]) => ({ ours: `blocks.{i}.${ours}`, theirs }));

/** Hugging Face transformers' Dinov2Model / Dinov2WithRegistersModel (modeling_dinov2*.py). */
export const DINOV2_HF: CheckpointLayout = {
  name: 'dinov2-hf',
  rules: [
    { ours: 'patch_embed.weight', theirs: 'embeddings.patch_embeddings.projection.weight' },
    { ours: 'patch_embed.bias', theirs: 'embeddings.patch_embeddings.projection.bias' },
    { ours: 'cls_token', theirs: 'embeddings.cls_token' },
    { ours: 'reg_tokens', theirs: 'embeddings.register_tokens' },
    { ours: 'pos_embed', theirs: 'embeddings.position_embeddings' },
    ...perBlock([
      ['norm1.weight', 'encoder.layer.{i}.norm1.weight'],
      ['norm1.bias', 'encoder.layer.{i}.norm1.bias'],
      ['attn.qkv.weight', ['query', 'key', 'value'].map((k) => `encoder.layer.{i}.attention.attention.${k}.weight`)],
      ['attn.qkv.bias', ['query', 'key', 'value'].map((k) => `encoder.layer.{i}.attention.attention.${k}.bias`)],
      ['attn.proj.weight', 'encoder.layer.{i}.attention.output.dense.weight'],
      ['attn.proj.bias', 'encoder.layer.{i}.attention.output.dense.bias'],
      ['ls1.gamma', 'encoder.layer.{i}.layer_scale1.lambda1'],
      ['norm2.weight', 'encoder.layer.{i}.norm2.weight'],
      ['norm2.bias', 'encoder.layer.{i}.norm2.bias'],
      ['mlp.fc1.weight', 'encoder.layer.{i}.mlp.fc1.weight'],
      ['mlp.fc1.bias', 'encoder.layer.{i}.mlp.fc1.bias'],
      ['mlp.fc2.weight', 'encoder.layer.{i}.mlp.fc2.weight'],
      ['mlp.fc2.bias', 'encoder.layer.{i}.mlp.fc2.bias'],
      ['ls2.gamma', 'encoder.layer.{i}.layer_scale2.lambda1'],
    ]),
    { ours: 'norm.weight', theirs: 'layernorm.weight' },
    { ours: 'norm.bias', theirs: 'layernorm.bias' },
  ],
  // mask_token is for masked-image pre-training; classifier checkpoints add a head.
  ignore: [/^embeddings\.mask_token$/, /^classifier\./],
};

/**
 * Hugging Face CLIPVisionModel / CLIPModel (modeling_clip.py). HF applies post_layernorm to the
 * pooled cls token only; we map it to the final norm over all tokens (dense features need it).
 */
export const CLIP_HF: CheckpointLayout = {
  name: 'clip-hf',
  rules: [
    { ours: 'patch_embed.weight', theirs: 'vision_model.embeddings.patch_embedding.weight' },
    { ours: 'cls_token', theirs: 'vision_model.embeddings.class_embedding' },
    { ours: 'pos_embed', theirs: 'vision_model.embeddings.position_embedding.weight' },
    { ours: 'norm_pre.weight', theirs: 'vision_model.pre_layrnorm.weight' },
    { ours: 'norm_pre.bias', theirs: 'vision_model.pre_layrnorm.bias' },
    ...perBlock([
      ['norm1.weight', 'vision_model.encoder.layers.{i}.layer_norm1.weight'],
      ['norm1.bias', 'vision_model.encoder.layers.{i}.layer_norm1.bias'],
      ['attn.qkv.weight', ['q', 'k', 'v'].map((k) => `vision_model.encoder.layers.{i}.self_attn.${k}_proj.weight`)],
      ['attn.qkv.bias', ['q', 'k', 'v'].map((k) => `vision_model.encoder.layers.{i}.self_attn.${k}_proj.bias`)],
      ['attn.proj.weight', 'vision_model.encoder.layers.{i}.self_attn.out_proj.weight'],
      ['attn.proj.bias', 'vision_model.encoder.layers.{i}.self_attn.out_proj.bias'],
      ['norm2.weight', 'vision_model.encoder.layers.{i}.layer_norm2.weight'],
      ['norm2.bias', 'vision_model.encoder.layers.{i}.layer_norm2.bias'],
      ['mlp.fc1.weight', 'vision_model.encoder.layers.{i}.mlp.fc1.weight'],
      ['mlp.fc1.bias', 'vision_model.encoder.layers.{i}.mlp.fc1.bias'],
      ['mlp.fc2.weight', 'vision_model.encoder.layers.{i}.mlp.fc2.weight'],
      ['mlp.fc2.bias', 'vision_model.encoder.layers.{i}.mlp.fc2.bias'],
    ]),
    { ours: 'norm.weight', theirs: 'vision_model.post_layernorm.weight' },
    { ours: 'norm.bias', theirs: 'vision_model.post_layernorm.bias' },
  ],
  ignore: [/^text_model\./, /^visual_projection\./, /^text_projection\./, /^logit_scale$/, /^vision_model\.embeddings\.position_ids$/],
};

/** torchvision.models.VisionTransformer state_dict (vit_b_16 etc.; mlp.0/3 since 0.13). */
export const TORCHVISION: CheckpointLayout = {
  name: 'torchvision',
  rules: [
    { ours: 'patch_embed.weight', theirs: 'conv_proj.weight' },
    { ours: 'patch_embed.bias', theirs: 'conv_proj.bias' },
    { ours: 'cls_token', theirs: 'class_token' },
    { ours: 'pos_embed', theirs: 'encoder.pos_embedding' },
    ...perBlock([
      ['norm1.weight', 'encoder.layers.encoder_layer_{i}.ln_1.weight'],
      ['norm1.bias', 'encoder.layers.encoder_layer_{i}.ln_1.bias'],
      ['attn.qkv.weight', 'encoder.layers.encoder_layer_{i}.self_attention.in_proj_weight'],
      ['attn.qkv.bias', 'encoder.layers.encoder_layer_{i}.self_attention.in_proj_bias'],
      ['attn.proj.weight', 'encoder.layers.encoder_layer_{i}.self_attention.out_proj.weight'],
      ['attn.proj.bias', 'encoder.layers.encoder_layer_{i}.self_attention.out_proj.bias'],
      ['norm2.weight', 'encoder.layers.encoder_layer_{i}.ln_2.weight'],
      ['norm2.bias', 'encoder.layers.encoder_layer_{i}.ln_2.bias'],
      ['mlp.fc1.weight', 'encoder.layers.encoder_layer_{i}.mlp.0.weight'],
      ['mlp.fc1.bias', 'encoder.layers.encoder_layer_{i}.mlp.0.bias'],
      ['mlp.fc2.weight', 'encoder.layers.encoder_layer_{i}.mlp.3.weight'],
      ['mlp.fc2.bias', 'encoder.layers.encoder_layer_{i}.mlp.3.bias'],
    ]),
    { ours: 'norm.weight', theirs: 'encoder.ln.weight' },
    { ours: 'norm.bias', theirs: 'encoder.ln.bias' },
  ],
  ignore: [/^heads\./],
};

/** Our own names, which timm and the original DINOv2 code share for the blocks. */
const SAME_BLOCK_NAMES: NameRule[] = ['norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2'].flatMap((m) =>
  ['weight', 'bias'].map((k) => ({ ours: `blocks.{i}.${m}.${k}`, theirs: `blocks.{i}.${m}.${k}` })),
);

/**
 * facebookresearch/dinov2 state_dicts, also the encoder inside Depth Anything (v1/v2) and
 * PromptDA checkpoints under the prefix 'pretrained.' (use theirPrefix).
 */
export const DINOV2_ORIGINAL: CheckpointLayout = {
  name: 'dinov2-original',
  rules: [
    { ours: 'patch_embed.weight', theirs: 'patch_embed.proj.weight' },
    { ours: 'patch_embed.bias', theirs: 'patch_embed.proj.bias' },
    { ours: 'cls_token', theirs: 'cls_token' },
    { ours: 'reg_tokens', theirs: 'register_tokens' },
    { ours: 'pos_embed', theirs: 'pos_embed' },
    ...SAME_BLOCK_NAMES,
    { ours: 'blocks.{i}.ls1.gamma', theirs: 'blocks.{i}.ls1.gamma' },
    { ours: 'blocks.{i}.ls2.gamma', theirs: 'blocks.{i}.ls2.gamma' },
    { ours: 'norm.weight', theirs: 'norm.weight' },
    { ours: 'norm.bias', theirs: 'norm.bias' },
  ],
  ignore: [/^mask_token$/, /^head\./],
};

/** timm VisionTransformer state_dicts (vit_*, incl. reg_token and norm_pre variants). */
export const TIMM: CheckpointLayout = {
  name: 'timm',
  rules: [
    ...DINOV2_ORIGINAL.rules.filter((r) => r.ours !== 'reg_tokens'),
    { ours: 'reg_tokens', theirs: 'reg_token' },
    { ours: 'norm_pre.weight', theirs: 'norm_pre.weight' },
    { ours: 'norm_pre.bias', theirs: 'norm_pre.bias' },
  ],
  ignore: [/^head\./, /^fc_norm\./, /^attn_pool\./],
};

export const CHECKPOINT_LAYOUTS: Record<string, CheckpointLayout> = Object.fromEntries(
  [DINOV2_HF, DINOV2_ORIGINAL, TIMM, CLIP_HF, TORCHVISION].map((l) => [l.name, l]),
);

/** The rule for one of our names, with its `{i}` filled in, or undefined. */
function sourcesFor(layout: CheckpointLayout, ours: string): string[] | undefined {
  for (const rule of layout.rules) {
    const pattern = new RegExp(`^${rule.ours.replace(/\./g, '\\.').replace('{i}', '(\\d+)')}$`);
    const m = pattern.exec(ours);
    if (!m) continue;
    const theirs = typeof rule.theirs === 'string' ? [rule.theirs] : rule.theirs;
    return theirs.map((t) => (m[1] === undefined ? t : t.replace('{i}', m[1])));
  }
  return undefined;
}

export interface ImportOptions {
  /**
   * Prepended to every checkpoint name (e.g. 'dinov2.' for HF classification checkpoints,
   * 'pretrained.' for Depth Anything); tensors outside it (a depth head) are not ours to check.
   */
  theirPrefix?: string;
  /** Prepended to our names in the result (the scope the ViT is built in, e.g. 'backbone.'). */
  ourPrefix?: string;
  /** Our parameters that may stay without checkpoint values (initialised instead). */
  allowMissing?: (ours: string) => boolean;
}

const listed = (names: string[]) => (names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', '));

/**
 * Maps a checkpoint's tensors to our ViT's parameter names for `cfg`, checking every shape.
 * Throws one FieldMoeError (naming `source`) that lists missing and unexpected tensors and
 * shape mismatches together, so a wrong checkpoint is diagnosed in one go.
 */
export function mapCheckpoint(
  tensors: ReadonlyMap<string, StoredTensor>,
  layout: CheckpointLayout,
  cfg: VitConfig,
  source: string,
  options: ImportOptions = {},
): Map<string, { shape: number[]; data: Float32Array | Float64Array }> {
  const theirPrefix = options.theirPrefix ?? '';
  const out = new Map<string, { shape: number[]; data: Float32Array | Float64Array }>();
  const consumed = new Set<string>();
  const missing: string[] = [];
  const wrongShape: string[] = [];
  for (const [ours, shape] of vitParamShapes(cfg)) {
    const names = sourcesFor(layout, ours)?.map((t) => theirPrefix + t);
    const found = names?.map((n) => tensors.get(n));
    if (!names || !found || found.some((t) => !t)) {
      if (!options.allowMissing?.(ours)) missing.push(names ? names.filter((_, k) => !found?.[k]).join(' + ') : `${ours} (no rule in ${layout.name})`);
      continue;
    }
    names.forEach((n) => consumed.add(n));
    const parts = found as StoredTensor[];
    const count = parts.reduce((s, t) => s + t.data.length, 0);
    const need = shape.reduce((a, b) => a * b, 1);
    const partsAgree = parts.every((t) => t.shape.slice(1).join(',') === parts[0].shape.slice(1).join(','));
    if (count !== need || !partsAgree || parts.some((t) => t.dtype !== 'float32' && t.dtype !== 'float64')) {
      wrongShape.push(`${names.join(' + ')} is ${parts.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' + ')}, ${ours} needs [${shape.join(',')}]`);
      continue;
    }
    out.set((options.ourPrefix ?? '') + ours, { shape, data: concatData(parts) });
  }
  const unexpected = [...tensors.keys()].filter(
    (n) => n.startsWith(theirPrefix) && !consumed.has(n) && !layout.ignore.some((r) => r.test(n.slice(theirPrefix.length))),
  );
  if (missing.length || unexpected.length || wrongShape.length) {
    const parts = [
      missing.length && `missing ${missing.length} tensor(s): ${listed(missing)}`,
      unexpected.length && `unexpected ${unexpected.length} tensor(s): ${listed(unexpected)}`,
      wrongShape.length && `wrong shape: ${listed(wrongShape)}`,
    ].filter(Boolean);
    throw new FieldMoeError(source, `does not fit a ${cfg.width}-wide, ${cfg.depth}-block ViT in the ${layout.name} layout: ${parts.join('; ')}`);
  }
  return out;
}

function concatData(parts: StoredTensor[]): Float32Array | Float64Array {
  if (parts.length === 1) return parts[0].data as Float32Array | Float64Array;
  const f64 = parts.some((t) => t.dtype === 'float64');
  const out = f64 ? new Float64Array(parts.reduce((s, t) => s + t.data.length, 0)) : new Float32Array(parts.reduce((s, t) => s + t.data.length, 0));
  let at = 0;
  for (const t of parts) {
    out.set(t.data as Float32Array | Float64Array, at);
    at += t.data.length;
  }
  return out;
}

/** Reads a safetensors checkpoint and maps it (see mapCheckpoint) into a WeightMap. */
export async function importVitCheckpoint(file: string, layout: CheckpointLayout, cfg: VitConfig, options: ImportOptions = {}): Promise<WeightMap> {
  const st = await readSafetensors(file);
  return mapCheckpoint(st.tensors, layout, cfg, file, options);
}

/**
 * Reads the architecture a checkpoint implies for a layout: width, depth, patch size, stored
 * grid, registers, LayerScale, MLP ratio. The head count is not stored in weights and must come
 * from the model's config (or a preset).
 */
export function inferVitShape(tensors: ReadonlyMap<string, StoredTensor>, layout: CheckpointLayout, theirPrefix = ''): Partial<VitConfig> {
  const get = (ours: string) => {
    const names = sourcesFor(layout, ours);
    return names ? tensors.get(theirPrefix + names[0]) : undefined;
  };
  const patch = get('patch_embed.weight');
  const pos = get('pos_embed');
  if (!patch || !pos) throw new FieldMoeError(layout.name, 'checkpoint has no patch embedding or position embedding');
  let depth = 0;
  while (get(`blocks.${depth}.norm1.weight`)) depth++;
  const [width, inChannels, patchSize] = patch.shape;
  const posCount = pos.shape.length === 3 ? pos.shape[1] : pos.shape[0];
  const hasCls = !!get('cls_token');
  const grid = Math.round(Math.sqrt(posCount - (hasCls ? 1 : 0)));
  const fc1 = get('blocks.0.mlp.fc1.weight');
  const reg = get('reg_tokens');
  return {
    width,
    inChannels,
    patchSize,
    depth,
    imageSize: grid * patchSize,
    clsToken: hasCls,
    registers: reg ? reg.shape[1] : 0,
    layerScale: get('blocks.0.ls1.gamma') ? 1 : null,
    mlpRatio: fc1 ? fc1.shape[0] / width : 4,
    patchBias: !!get('patch_embed.bias'),
    preNorm: !!get('norm_pre.weight'),
  };
}
