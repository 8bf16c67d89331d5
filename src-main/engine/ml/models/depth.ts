/**
 * The depth branch of SpectralMoE: per-block depth tokens [B, N, D] aligned with the visual
 * patch tokens (same grid, same width), from the best source the scene offers:
 *
 *   1. 'elevation': a LiDAR/DSM/DEM sensor of the scene (real heights; our extension of the
 *      paper). The tile is normalised by `normaliseElevation` (relative height, below), embedded
 *      by the per-kind embedding (embed.ts, `depth_branch.sensor_embed.{lidar|dem}.*`, trained),
 *      then either run through the frozen depth encoder's blocks (when there is one: the
 *      elevation embedding replaces its RGB patch embedding) or, without an encoder, turned into
 *      per-block tokens by a light trained projection per block:
 *      t_l = LN_l(E) W_l^T + b_l  (`depth_branch.proj.{l}.{norm,linear}.*`).
 *   2. 'rgb': the imported depth encoder (a ViT, e.g. Depth Anything / PromptDA's DINOv2
 *      encoder, frozen, `depth_encoder.*`) on the three bands nearest red, green and blue
 *      (`nearestRgbBands`), as in the paper. The band indices may be a graph input, so one graph
 *      serves any band set.
 *   3. 'none': no depth; the model runs as its "w/o depth" variant (and says so).
 *
 * Elevation normalisation (why relative height): absolute elevation varies by hundreds of
 * metres between scenes and says little about land cover, while height above the local ground
 * (buildings, trees) does. We subtract the tile's median valid elevation and divide by a fixed
 * 10 m, clipped to [-10, 10]: a 10-m building reads 1.0 in every tile. A per-tile z-score
 * would blow up noise on flat tiles and make heights incomparable between tiles. Nodata pixels
 * become 0 (local ground).
 */
import type { Graph, Value } from '../graph/graph';
import { resizeBilinear } from '../ops/resize';
import { gather } from '../ops/gather';
import { FieldMoeError } from '../../util/errors';
import { ELEVATION_KINDS, type BandInfo, type SensorKind } from '../../scene/types';
import type { ParamSource } from './init';
import { sensorKindPatchEmbed } from './embed';
import { layerNormLayer, linear, patchTokensOf, vitForward, type VitConfig } from './vit';

/** Reference wavelengths (nm) of red, green and blue (Sentinel-2 B4, B3, B2). */
export const RGB_REFERENCE_NM = { red: 665, green: 560, blue: 490 } as const;

/**
 * Indices of the bands nearest red, green and blue (in that order), or undefined when a colour
 * has no band within `toleranceNm` or two colours would take the same band.
 */
export function nearestRgbBands(bands: readonly BandInfo[], toleranceNm = 60): [number, number, number] | undefined {
  const pick = (target: number) => {
    let best: BandInfo | undefined;
    for (const b of bands)
      if (typeof b.wavelengthNm === 'number' && (!best || Math.abs(b.wavelengthNm - target) < Math.abs(best.wavelengthNm! - target))) best = b;
    return best && Math.abs(best.wavelengthNm! - target) <= toleranceNm ? best.index : undefined;
  };
  const rgb = [pick(RGB_REFERENCE_NM.red), pick(RGB_REFERENCE_NM.green), pick(RGB_REFERENCE_NM.blue)];
  if (rgb.some((i) => i === undefined) || new Set(rgb).size < 3) return undefined;
  return rgb as [number, number, number];
}

/** What a scene offers the depth branch, chosen by `chooseDepthSource`. */
export type DepthSourceChoice =
  | { source: 'elevation'; sensor: string; kind: SensorKind }
  | { source: 'rgb'; sensor: string; bands: [number, number, number] }
  | { source: 'none'; reason: string };

/** The sensors as the depth choice needs them (SensorInfo fits). */
export interface DepthCandidate {
  id: string;
  kind: SensorKind;
  bands: readonly BandInfo[];
  failed: boolean;
}

/**
 * Picks the depth source in the documented order: an elevation sensor that has not failed,
 * else (when a depth encoder is available) the three bands nearest R, G, B of the first
 * sensor that has them (the `visual` sensor first when given), else none, with the reason.
 */
export function chooseDepthSource(sensors: readonly DepthCandidate[], options: { hasDepthEncoder: boolean; visual?: string }): DepthSourceChoice {
  const live = sensors.filter((s) => !s.failed);
  const elevation = live.find((s) => ELEVATION_KINDS.includes(s.kind) && s.bands.length >= 1);
  if (elevation) return { source: 'elevation', sensor: elevation.id, kind: elevation.kind };
  if (!options.hasDepthEncoder) return { source: 'none', reason: 'no LiDAR/DEM sensor and no depth encoder in the model' };
  const ordered = [...live].sort((a, b) => Number(b.id === options.visual) - Number(a.id === options.visual));
  for (const s of ordered) {
    const bands = nearestRgbBands(s.bands);
    if (bands) return { source: 'rgb', sensor: s.id, bands };
  }
  return { source: 'none', reason: 'no LiDAR/DEM sensor and no sensor with bands near red, green and blue' };
}

export interface ElevationNormalisation {
  /** Metres that map to 1.0 (default 10). */
  scaleM: number;
  /** Clip of the normalised value (default 10, i.e. +-100 m). */
  clip: number;
}

/**
 * Relative height of one tile (see the module comment): (z - median of valid z) / scale,
 * clipped; invalid pixels (valid = 0 or non-finite z) become 0. Returns a new array.
 */
export function normaliseElevation(z: Float32Array | Float64Array, valid: Uint8Array | undefined, options: Partial<ElevationNormalisation> = {}): Float32Array {
  const scale = options.scaleM ?? 10;
  const clip = options.clip ?? 10;
  const ok = (i: number) => (!valid || valid[i] === 1) && Number.isFinite(z[i]);
  const values: number[] = [];
  for (let i = 0; i < z.length; i++) if (ok(i)) values.push(z[i]);
  const out = new Float32Array(z.length);
  if (!values.length) return out;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  const ground = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  for (let i = 0; i < z.length; i++) out[i] = ok(i) ? Math.min(clip, Math.max(-clip, (z[i] - ground) / scale)) : 0;
  return out;
}

// ---- per-block depth tokens --------------------------------------------------------------------

export interface DepthBranchConfig {
  /** The visual backbone the tokens align with (its width, depth, patch size). */
  visual: VitConfig;
  /** The imported depth encoder (same width and depth as `visual`), or null when none. */
  encoder: VitConfig | null;
  /** Tile side in pixels. */
  tile: number;
}

/** The graph side of a DepthSourceChoice. */
export type DepthInput =
  /** x: [B, 1, H, W] normalised elevation (normaliseElevation). */
  | { source: 'elevation'; x: Value; kind: SensorKind }
  /** x: [B, C, H, W] the sensor's tile; bands: R, G, B indices (constant or an int64 [3] input). */
  | { source: 'rgb'; x: Value; bands: readonly number[] | Value }
  | { source: 'none' };

export interface DepthParams {
  /** The frozen depth encoder's weights (`depth_encoder.*`). */
  encoder: ParamSource;
  /** Trained parts: elevation embedding and per-block projections (`depth_branch.*`). */
  branch: ParamSource;
}

/**
 * Per-block depth patch tokens [B, N, D] by visual block index (0..depth-1), or undefined for
 * source 'none'. N and D equal the visual backbone's: the depth tile is resized so the depth
 * encoder's patch grid matches the visual grid when their patch sizes differ.
 */
export function depthTokens(g: Graph, params: DepthParams, cfg: DepthBranchConfig, input: DepthInput): Map<number, Value> | undefined {
  if (input.source === 'none') return undefined;
  const v = cfg.visual;
  const grid = cfg.tile / v.patchSize;
  if (!Number.isInteger(grid)) throw new FieldMoeError('depth branch', `tile ${cfg.tile} is not a multiple of the visual patch size ${v.patchSize}`);
  const enc = cfg.encoder;
  if (enc && (enc.width !== v.width || enc.depth !== v.depth))
    throw new FieldMoeError('depth branch', `depth encoder ${enc.width} wide x ${enc.depth} blocks must match the visual ViT ${v.width} x ${v.depth}`);
  const blocks = Array.from({ length: v.depth }, (_, i) => i);

  if (input.source === 'rgb') {
    if (!enc) throw new FieldMoeError('depth branch', 'RGB depth needs a depth encoder; choose the source with chooseDepthSource');
    const rgb = gather(input.x, input.bands, 1); // [B, 3, H, W]
    return encoderBlocks(g, params.encoder, enc, fitGrid(rgb, enc.patchSize, grid), undefined, blocks);
  }

  // Elevation: the per-kind embedding at the encoder's (or the visual) patch size.
  const p = enc?.patchSize ?? v.patchSize;
  const embedded = g.scope('depth_branch', () => sensorKindPatchEmbed(g, params.branch, fitGrid(input.x, p, grid), input.kind, { width: v.width, patchSize: p }));
  if (enc) return encoderBlocks(g, params.encoder, enc, undefined, embedded, blocks);
  return g.scope('depth_branch', () =>
    new Map(
      blocks.map((l) => [
        l,
        g.scope(`proj.${l}`, () => linear(g, params.branch, 'linear', layerNormLayer(g, params.branch, 'norm', embedded.tokens, v.width, 1e-6), v.width, v.width)),
      ]),
    ),
  );
}

/** Resizes a tile so that patches of `patchSize` form a grid x grid layout. */
function fitGrid(x: Value, patchSize: number, grid: number): Value {
  const side = grid * patchSize;
  return x.shape[2] === side && x.shape[3] === side ? x : resizeBilinear(x, { sizes: [side, side] });
}

function encoderBlocks(
  g: Graph,
  params: ParamSource,
  enc: VitConfig,
  x: Value | undefined,
  patchTokens: { tokens: Value; grid: [number, number] } | undefined,
  blocks: number[],
): Map<number, Value> {
  const out = g.scope('depth_encoder', () => vitForward(g, params, x, enc, { hooks: blocks, patchTokens }));
  return new Map(blocks.map((l) => [l, patchTokensOf(out.blocks.get(l)!, out.prefix)]));
}
