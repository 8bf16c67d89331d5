/**
 * Patch embeddings for any sensor, all returning `{ tokens [B, N, D], grid }` for
 * `vitForward(..., { patchTokens })`:
 *
 * - `spectralPatchEmbed`: DOFA-style wavelength-conditioned embedding. A small network maps the
 *   sin-cos encoding of each band's wavelength to that band's p x p x D kernel; the kernels of
 *   all bands form one stride-p Conv. The wavelengths are a graph input [C] (micrometres) and C
 *   may be symbolic, so one ONNX model takes Landsat, Sentinel-2, hyperspectral or RGB tiles.
 * - `sensorKindPatchEmbed`: a learned embedding per sensor kind without wavelengths (SAR, LiDAR,
 *   DEM), with a fixed band count per kind.
 * - `interpolateRgbKernel`: the SpectralMoE paper's alternative for imported RGB weights: the
 *   pretrained 3-band kernel resampled to the scene's bands by wavelength (pure TypeScript).
 *
 * Differences from DOFA (arXiv 2403.15356), all deliberate:
 * - DOFA's generator is a one-layer transformer over wavelength tokens plus 128 learned weight
 *   tokens; ours is a per-band MLP (no band-to-band attention), which keeps the graph free of
 *   attention over a symbolic axis. Bands therefore do not see each other while generating.
 * - DOFA encodes wavelengths in nm with frequencies up to 1 rad/nm (nearly random features);
 *   ours uses geometric periods between `minPeriodUm` and `maxPeriodUm`.
 * - DOFA sums band contributions with a fixed 0.01 scale; we divide by the band count (mean),
 *   so a 200-band tile and a 4-band tile give tokens of the same magnitude.
 * - The Conv bias is a learned vector, not generated from the band set.
 * - ONNX opset 18 has no Sin/Cos in our kernel yet; the encoding computes them from a
 *   range-reduced Taylor polynomial (absolute error < 1e-12 in float64), see `sinCosTurns`.
 */
import type { Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import { add, cast, concat, div, matmul, mul, reshape, shapeOf, sub, transpose, unsqueeze } from '../ops/index';
import { gelu } from '../ops/nn';
import { init, type ParamSource } from './init';
import { linear, patchify } from './vit';
import { FieldMoeError } from '../../util/errors';
import type { BandInfo, SensorKind } from '../../scene/types';

// ---- wavelength encoding -------------------------------------------------------------------------

export interface SpectralEmbedConfig {
  width: number;
  patchSize: number;
  /** Frequencies of the sin-cos wavelength encoding (its size is 2 * frequencies). */
  frequencies: number;
  /** Shortest and longest period (micrometres) of the encoding; geometric in between. */
  minPeriodUm: number;
  maxPeriodUm: number;
  /** Hidden width of the kernel generator. */
  hidden: number;
}

export function spectralEmbedConfig(c: Pick<SpectralEmbedConfig, 'width' | 'patchSize'> & Partial<SpectralEmbedConfig>): SpectralEmbedConfig {
  return { frequencies: 16, minPeriodUm: 0.02, maxPeriodUm: 50, hidden: 64, ...c };
}

/** The encoding's periods in micrometres, shortest first. */
export function encodingPeriods(cfg: Pick<SpectralEmbedConfig, 'frequencies' | 'minPeriodUm' | 'maxPeriodUm'>): number[] {
  const n = cfg.frequencies;
  const ratio = cfg.maxPeriodUm / cfg.minPeriodUm;
  return Array.from({ length: n }, (_, i) => cfg.minPeriodUm * ratio ** (n > 1 ? i / (n - 1) : 0));
}

/** The encoding in plain numbers: [sin(2 pi l / T_i)..., cos(2 pi l / T_i)...] for l in um. */
export function wavelengthEncoding(wavelengthUm: number, cfg: Pick<SpectralEmbedConfig, 'frequencies' | 'minPeriodUm' | 'maxPeriodUm'>): number[] {
  const periods = encodingPeriods(cfg);
  return [...periods.map((t) => Math.sin((2 * Math.PI * wavelengthUm) / t)), ...periods.map((t) => Math.cos((2 * Math.PI * wavelengthUm) / t))];
}

/**
 * sin and cos of 2 pi * `turns` for turns >= 0, from existing ops: the fractional part (by a
 * cast to int64, which truncates) is shifted to an angle in [-pi, pi), where Taylor series to
 * degree 25/26 are exact to ~3e-15; sin(a + pi) = -sin(a), cos(a + pi) = -cos(a).
 */
export function sinCosTurns(turns: Value): { sin: Value; cos: Value } {
  const dtype = turns.dtype;
  const frac = sub(turns, cast(cast(turns, 'int64'), dtype));
  const a = mul(sub(frac, 0.5), 2 * Math.PI);
  const a2 = mul(a, a);
  // Horner in a^2: sin a = a (1 - a^2/(2*3) (1 - a^2/(4*5) (...))), cos a = 1 - a^2/(1*2) (1 - ...).
  const series = (first: number, terms: number): Value => {
    let acc: Value | undefined;
    for (let k = terms; k >= 1; k--) {
      const denom = (2 * k + first - 1) * (2 * k + first);
      const term = div(a2, denom);
      acc = acc ? sub(1, mul(term, acc)) : sub(1, term);
    }
    return acc!;
  };
  const sin = mul(mul(a, series(1, 12)), -1);
  const cos = mul(series(0, 13), -1);
  return { sin, cos };
}

/** Encodes wavelengths [C] (um) as [C, 2F] inside the graph. */
export function encodeWavelengths(g: Graph, wavelengths: Value, cfg: SpectralEmbedConfig): Value {
  const inv = encodingPeriods(cfg).map((t) => 1 / t);
  const freq = g.constant(floatArray(inv, wavelengths.dtype as FloatDType), [1, inv.length], 'wavelength_freqs');
  const turns = mul(unsqueeze(wavelengths, [1]), freq); // [C, F]
  const { sin, cos } = sinCosTurns(turns);
  return concat([sin, cos], 1);
}

function floatArray(values: readonly number[], dtype: FloatDType): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

// ---- wavelength-conditioned patch embedding ------------------------------------------------------

/**
 * Per-band kernels [D, C, p, p] from wavelengths [C] (um): an MLP over the sin-cos encoding.
 * Params (under the caller's scope): spectral_embed.fc1/fc2/kernel.{weight,bias}.
 */
export function generateSpectralKernel(g: Graph, params: ParamSource, wavelengths: Value, cfg: SpectralEmbedConfig): Value {
  const e = 2 * cfg.frequencies;
  const p = cfg.patchSize;
  const d = cfg.width;
  const enc = encodeWavelengths(g, wavelengths, cfg);
  const h1 = gelu(linear(g, params, 'fc1', enc, e, cfg.hidden, { weightInit: init.kaimingUniform }));
  const h2 = add(h1, gelu(linear(g, params, 'fc2', h1, cfg.hidden, cfg.hidden, { weightInit: init.kaimingUniform })));
  // The kernel's bias is the band-independent part: kaiming scale of a stride-p conv per band.
  const flat = linear(g, params, 'kernel', h2, cfg.hidden, d * p * p, {
    weightInit: init.truncNormal(0.02),
    biasInit: init.uniform(-1 / p, 1 / p),
  }); // [C, D*p*p]
  return transpose(reshape(flat, [-1, d, p, p]), [1, 0, 2, 3]);
}

/**
 * DOFA-style embedding of x [B, C, H, W] with wavelengths [C] (um, C may be symbolic):
 * tokens = (1/C) * Conv_p(x, K(wavelengths)) + bias, as [B, N, D]. The stride-p conv is
 * computed as patchify + MatMul: onnxruntime's WebGPU Conv gave wrong results for this
 * run-time kernel (onnxruntime-node 1.30 on an H100, reports/gpu-providers.md), while its MatMul
 * matches the CPU; on CPU the MatMul form is also the faster one for multispectral band counts.
 */
export function spectralPatchEmbed(g: Graph, params: ParamSource, x: Value, wavelengths: Value, cfg: SpectralEmbedConfig): { tokens: Value; grid: [number, number] } {
  if (wavelengths.rank !== 1) throw new FieldMoeError('spectral embedding', `wavelengths must be a vector [C], got ${wavelengths}`);
  if (x.rank !== 4 || x.shape[1] !== wavelengths.shape[0]) throw new FieldMoeError('spectral embedding', `tile ${x} and wavelengths ${wavelengths} disagree on the band count`);
  const p = cfg.patchSize;
  const [h, w] = x.shape.slice(2);
  if (typeof h !== 'number' || typeof w !== 'number' || h % p || w % p) throw new FieldMoeError('spectral embedding', `tile ${x} must have fixed H, W that are multiples of ${p}`);
  return g.scope('spectral_embed', () => {
    const kernel = generateSpectralKernel(g, params, wavelengths, cfg);
    const bands = cast(shapeOf(wavelengths), x.dtype); // [1]: C at run time
    const scaled = div(kernel, bands);
    const bias = params.param(g, 'bias', [cfg.width], init.zeros);
    const { patches, grid } = patchify(x, p); // [B, N, C*p*p], (c, i, j) order as the kernel's
    const flatKernel = reshape(scaled, [cfg.width, -1]); // [D, C*p*p]
    return { tokens: add(matmul(patches, transpose(flatKernel, [1, 0])), bias), grid };
  });
}

/** Wavelengths (um) of a sensor's bands, for the `wavelengths` input; every band needs one. */
export function wavelengthsUm(bands: readonly BandInfo[], subject: string): Float32Array {
  const missing = bands.filter((b) => !(typeof b.wavelengthNm === 'number' && b.wavelengthNm > 0));
  if (missing.length) throw new FieldMoeError(subject, `band(s) ${missing.map((b) => b.name || b.index + 1).join(', ')} have no wavelength; a spectral embedding needs one per band`);
  return Float32Array.from(bands, (b) => b.wavelengthNm! / 1000);
}

// ---- per-kind embeddings for sensors without wavelengths -----------------------------------------

/** Sensor kinds embedded without wavelengths, with their fixed band count. */
export const KIND_EMBEDDINGS: Partial<Record<SensorKind, { bands: number; description: string }>> = {
  sar: { bands: 2, description: 'SAR backscatter, VV and VH (dB, per-tile normalised)' },
  lidar: { bands: 1, description: 'LiDAR / DSM elevation (normalised, see depth.ts)' },
  dem: { bands: 1, description: 'DEM elevation (normalised, see depth.ts)' },
};

export function kindEmbeddingBands(kind: SensorKind): number {
  const k = KIND_EMBEDDINGS[kind];
  if (!k) throw new FieldMoeError(`sensor kind ${kind}`, `has no learned embedding (kinds: ${Object.keys(KIND_EMBEDDINGS).join(', ')}); use the spectral embedding`);
  return k.bands;
}

/** Patch embedding of a sensor kind without wavelengths; params sensor_embed.{kind}.{weight,bias}. */
export function sensorKindPatchEmbed(g: Graph, params: ParamSource, x: Value, kind: SensorKind, cfg: Pick<SpectralEmbedConfig, 'width' | 'patchSize'>): { tokens: Value; grid: [number, number] } {
  const bands = kindEmbeddingBands(kind);
  if (x.shape[1] !== bands) throw new FieldMoeError(`sensor kind ${kind}`, `expects ${bands} band(s), the tile has ${x.shape[1]}`);
  const p = cfg.patchSize;
  const { patches, grid } = patchify(x, p);
  return g.scope(`sensor_embed.${kind}`, () => {
    const w = params.param(g, 'weight', [cfg.width, bands, p, p], init.kaimingUniform);
    const b = params.param(g, 'bias', [cfg.width], init.zeros);
    return { tokens: add(matmul(patches, transpose(reshape(w, [cfg.width, bands * p * p]), [1, 0])), b), grid };
  });
}

/** What a sensor contributes to a model: wavelengths for the spectral path, or its kind. */
export type SensorEmbedInput = { x: Value; wavelengths: Value } | { x: Value; kind: SensorKind };

/** One entry point: the spectral path when wavelengths are given, else the sensor kind's. */
export function sensorPatchEmbed(g: Graph, params: ParamSource, input: SensorEmbedInput, cfg: SpectralEmbedConfig): { tokens: Value; grid: [number, number] } {
  return 'wavelengths' in input ? spectralPatchEmbed(g, params, input.x, input.wavelengths, cfg) : sensorKindPatchEmbed(g, params, input.x, input.kind, cfg);
}

// ---- interpolating imported RGB kernels ----------------------------------------------------------

/**
 * The SpectralMoE paper's way to feed C bands to an RGB backbone: each target band's kernel is
 * the linear interpolation, by wavelength, of the pretrained kernels of the two nearest RGB
 * channels (the nearest one outside their range), then all are scaled by 3 / C so the summed
 * response keeps the RGB magnitude. `weight` is [D, 3, p, p] (conv layout, channels in
 * `sourceUm` order, e.g. [0.665, 0.56, 0.49] for R, G, B); returns [D, C, p, p].
 */
export function interpolateRgbKernel(
  weight: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  sourceUm: readonly number[],
  targetUm: readonly number[],
  options: { preserveMagnitude?: boolean } = {},
): { data: Float64Array; shape: [number, number, number, number] } {
  const [d, cin, ph, pw] = shape;
  if (cin !== sourceUm.length) throw new FieldMoeError('RGB kernel interpolation', `kernel has ${cin} channels but ${sourceUm.length} source wavelengths`);
  if (!targetUm.length) throw new FieldMoeError('RGB kernel interpolation', 'no target bands');
  const order = sourceUm.map((w, i) => [w, i] as const).sort((a, b) => a[0] - b[0]);
  const mix = targetUm.map((t) => channelMix(order, t)); // per target: [(channel, weight)]
  const scale = options.preserveMagnitude === false ? 1 : cin / targetUm.length;
  const c = targetUm.length;
  const k = ph * pw;
  const out = new Float64Array(d * c * k);
  for (let o = 0; o < d; o++)
    for (let t = 0; t < c; t++)
      for (const [ch, wt] of mix[t])
        for (let e = 0; e < k; e++) out[(o * c + t) * k + e] += scale * wt * weight[(o * cin + ch) * k + e];
  return { data: out, shape: [d, c, ph, pw] };
}

/** Linear-interpolation weights over sorted (wavelength, channel) pairs, clamped at the ends. */
function channelMix(sorted: readonly (readonly [number, number])[], t: number): [number, number][] {
  if (t <= sorted[0][0]) return [[sorted[0][1], 1]];
  const last = sorted[sorted.length - 1];
  if (t >= last[0]) return [[last[1], 1]];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [w0, c0] = sorted[i];
    const [w1, c1] = sorted[i + 1];
    if (t >= w0 && t <= w1) {
      const f = (t - w0) / (w1 - w0);
      return [
        [c0, 1 - f],
        [c1, f],
      ];
    }
  }
  throw new Error('unreachable');
}

/**
 * Imported RGB weights made to take `targetUm` bands: replaces `${prefix}patch_embed.weight`
 * in a WeightMap by `interpolateRgbKernel` of it (use the ViT config with inChannels = C).
 */
export function adaptRgbWeightsToBands<T extends { shape: readonly number[]; data: ArrayLike<number> }>(
  weights: ReadonlyMap<string, T>,
  prefix: string,
  sourceUm: readonly number[],
  targetUm: readonly number[],
): Map<string, T | { shape: number[]; data: Float64Array }> {
  const name = `${prefix}patch_embed.weight`;
  const w = weights.get(name);
  if (!w || w.shape.length !== 4) throw new FieldMoeError('RGB kernel interpolation', `weights have no 4-D ${name}`);
  const adapted = interpolateRgbKernel(w.data, w.shape as [number, number, number, number], sourceUm, targetUm);
  const out = new Map<string, T | { shape: number[]; data: Float64Array }>(weights);
  out.set(name, { shape: adapted.shape, data: adapted.data });
  return out;
}
