/**
 * The pixel head: a per-pixel MLP on the raw input spectra whose class logits are added to the
 * model's dense logits (our extension, used by few-shot fine-tuning). The ViT sees a tile
 * through 4x4-pixel tokens and upsamples its class map; with a few dozen labels per class the
 * adapters cannot learn fine spectral distinctions from that, while a pixel classifier can
 * (this is what a random forest on the labelled spectra does). With this head the adapted model
 * is at least a pixel classifier plus the backbone's spatial context.
 *
 * Per input x [B, C, H, W]: z = (x - shift) * scale per band (parameters initialised from the
 * scene by fine-tuning, so that every band enters at unit scale whatever its range), zeroed
 * where the input is missing (availability m_i, as the dummy of MaMOL eq. 3). Then
 * h = GELU(sum_i (W_i z_i + W'_i s_i) + U m + b), logits = V h + c, where s_i are the optional
 * spatial-context features of input i (window means and standard deviations of z_i, standardised
 * in turn; `context`), V zero-initialised so the head starts
 * as the identity on the model's output. All products are 1x1 convolutions written as
 * [hidden, C] x [B, C, H W] matmuls (no transposes). Params `pixel_head.*`.
 */
import type { Graph, Value } from '../graph/graph';
import { add, concat, gelu, matmul, mul, reduceMean, relu, reshape, slice, sqrt, sub, unsqueeze } from '../ops/index';
import { init, type ParamSource } from './init';

export interface PixelHeadConfig {
  /** Width of the hidden layer; 0: linear (logits = sum_i V_i z_i + U m + c). */
  hidden: number;
  /**
   * The graph inputs it reads (fixed band counts), in order. `relative`: the input enters as its
   * deviation from the tile's mean per band (elevation: height above the surroundings, which
   * transfers across a scene where absolute elevation does not).
   */
  inputs: readonly PixelHeadInputSpec[];
  /**
   * A linear path beside the MLP: logits += sum_i L_i z_i + l, with L_i
   * `pixel_head.<name>.linear.weight` [classes, bands] on input i's standardised bands (zeroed
   * where the input is missing; on its context features too where `contextInto` says so) and l
   * `pixel_head.linear.bias` [classes, 1]. Fine-tuning starts it from a logistic regression
   * fitted to the labelled pixels (finetune/logreg.ts).
   */
  linear?: boolean;
  /**
   * Inputs (names among `inputs`) whose absence gives the linear path its own weights: per such
   * input j, logits += (1 - m_j) (sum_{i != j} L_i^j z_i + l^j), with L_i^j
   * `pixel_head.<i>.linear_without_<j>.weight` and l^j `pixel_head.linear_without_<j>.bias`.
   * With two inputs, each sensor subset then has a linear classifier of its own: one set of
   * weights for all of them must serve both the sensors together, where the model's own logits
   * already say much, and each sensor alone, where they say less.
   */
  linearWithout?: readonly string[];
}

export interface PixelHeadInputSpec {
  name: string;
  bands: number;
  relative?: boolean;
  /**
   * Spatial context: odd window sides k. Per k, the head also reads each band's mean and standard
   * deviation over the k x k window around the pixel (within the tile; fewer pixels at its
   * edges), standardised by `pixel_head.<name>.context.shift/scale` [1, 2 K C, 1, 1] and
   * projected by `context.weight` [hidden, 2 K C]. Features in the order (k, mean|std, band).
   * What a speckled SAR pixel or a DEM cell says alone is little; its neighbourhood's mean
   * (speckle filtered), roughness and height above the surroundings say more.
   */
  context?: readonly number[];
  /**
   * Which paths read the context features (default: the hidden layer only). 'linear': the linear
   * path too, by `<path>_context.weight` [classes, 2 K C] beside each of its band weights (e.g.
   * `pixel_head.<name>.linear_context.weight`). On an optical input fine-tuning gives them to the
   * linear path alone, whose start then chooses by cross-validation whether they help (fit.ts
   * linearPathStart): texture tells trees from grass at 1 m, while at 10 m the MLP overfitted them.
   */
  contextInto?: readonly ('hidden' | 'linear')[];
  /** A `relative` input's tile means into the linear path too (`<path>_tile.weight` [classes, C]): the level the relative values lose. */
  tileMeanIntoLinear?: boolean;
}

export interface PixelHeadInput {
  /** [B, bands, H, W]. */
  x: Value;
  /** [B, 1] availability of this input (1 present, 0 missing), or undefined (always present). */
  available?: Value;
}

/** Scope of the head's parameters: every one is named `pixel_head.*`. */
export const PIXEL_HEAD_SCOPE = 'pixel_head';

/** Per-band standardisation of input `name` (z = (x - shift) scale): `pixel_head.<name>.norm.*`, [1, C, 1, 1]. */
export const pixelHeadStatNames = (name: string) => ({
  shift: `${PIXEL_HEAD_SCOPE}.${name}.norm.shift`,
  scale: `${PIXEL_HEAD_SCOPE}.${name}.norm.scale`,
  contextShift: `${PIXEL_HEAD_SCOPE}.${name}.context.shift`,
  contextScale: `${PIXEL_HEAD_SCOPE}.${name}.context.scale`,
});

/** Floor of the context variance under the square root (standardised units), so its gradient stays finite on flat windows. */
export const CONTEXT_VARIANCE_EPS = 1e-4;

/**
 * Per-pixel logits [B, classes, H, W] of `inputs` (in `cfg.inputs` order). `available` [B, M]
 * (the model's availability input, columns in input order) feeds U m when given.
 */
export function pixelHead(g: Graph, src: ParamSource, cfg: PixelHeadConfig, inputs: readonly PixelHeadInput[], classes: number, available?: Value): Value {
  if (inputs.length !== cfg.inputs.length) throw new Error(`pixel head: ${inputs.length} inputs for ${cfg.inputs.length} configured`);
  return g.scope(PIXEL_HEAD_SCOPE, () => {
    const [h, w] = [inputs[0].x.shape[2] as number, inputs[0].x.shape[3] as number];
    const linearOnly = cfg.hidden === 0;
    const width = linearOnly ? classes : cfg.hidden;
    const projections = cfg.inputs.map((spec, i) =>
      g.scope(spec.name, () => bandProjection(g, src, inputs[i], spec, width, [h, w], linearOnly)),
    );
    const hidden = projections.map((p) => p.hidden).reduce((a, b) => add(a, b));
    const bias = src.param(g, linearOnly ? 'out.bias' : 'hidden.bias', [width, 1], init.zeros);
    let pre = add(hidden, bias);
    if (available) {
      // U stored [M, hidden] so that m U is one product: [B, hidden] -> [B, hidden, 1]
      const u = src.param(g, 'available.weight', [available.shape[1] as number, width], init.zeros);
      pre = add(pre, unsqueeze(matmul(available, u), [2]));
    }
    if (linearOnly) return reshape(pre, [0, classes, h, w]);
    const v = src.param(g, 'out.weight', [classes, cfg.hidden], init.zeros);
    const c = src.param(g, 'out.bias', [classes, 1], init.zeros);
    let out = add(matmul(v, gelu(pre)), c);
    if (cfg.linear) out = add(out, linearPath(g, src, cfg, inputs, projections.map((p) => p.linear), classes));
    return reshape(out, [0, classes, h, w]);
  });
}

/** What the linear path reads of one input: its standardised bands [B, C, H W] and, when it takes them, its standardised context features [B, 2 K C, H W]. */
interface LinearFeatures {
  bands: Value;
  context?: Value;
  /** [B, C, 1]: the tile's mean per band (PixelHeadInputSpec `tileMeanIntoLinear`). */
  tile?: Value;
}

/** Whether the linear path reads input `spec`'s context features (PixelHeadInputSpec `contextInto`). */
export const linearReadsContext = (spec: Pick<PixelHeadInputSpec, 'context' | 'contextInto'>) => !!spec.context?.length && !!spec.contextInto?.includes('linear');
/** Whether the hidden layer reads input `spec`'s context features (the default where it has them). */
export const contextIntoHidden = (spec: Pick<PixelHeadInputSpec, 'context' | 'contextInto'>) => !!spec.context?.length && (spec.contextInto?.includes('hidden') ?? true);

/** The linear path (PixelHeadConfig `linear`, `linearWithout`) on the inputs' standardised features: [B, classes, H W]. */
function linearPath(g: Graph, src: ParamSource, cfg: PixelHeadConfig, inputs: readonly PixelHeadInput[], features: readonly LinearFeatures[], classes: number): Value {
  const gated = (v: Value, available?: Value) => (available ? mul(v, unsqueeze(available, [2])) : v);
  const product = (name: string, x: Value) => matmul(src.param(g, name, [classes, x.shape[1] as number], init.zeros), x);
  const term = (suffix: string, f: LinearFeatures) => {
    let t = product(`${suffix}.weight`, f.bands);
    if (f.context) t = add(t, product(`${suffix}_context.weight`, f.context));
    if (f.tile) t = add(t, product(`${suffix}_tile.weight`, f.tile));
    return t;
  };
  const classifier = (suffix: string, skip?: number) => {
    const terms = cfg.inputs.flatMap((spec, i) => (i === skip ? [] : [g.scope(spec.name, () => gated(term(suffix, features[i]), inputs[i].available))]));
    const bias = src.param(g, `${suffix}.bias`, [classes, 1], init.zeros);
    return terms.length ? add(terms.reduce((a, b) => add(a, b)), bias) : bias;
  };
  let out = classifier('linear');
  for (const name of cfg.linearWithout ?? []) {
    const j = cfg.inputs.findIndex((spec) => spec.name === name);
    const available = inputs[j]?.available;
    if (!available) throw new Error(`pixel head: linearWithout names ${name}, not an input with availability`);
    out = add(out, gated(classifier(`linear_without_${name}`, j), sub(1, available)));
  }
  return out;
}

/**
 * W z for one input, [B, hidden, H W]: standardised bands, zeroed where missing, projected; and
 * what the linear path reads of the input (its standardised bands, and its context where it
 * takes it). The standardisation is trainable (initialised from the scene by fine-tuning) and is
 * the first operation on the raw input, so training's feature cache (finetune/cut.ts) never
 * stores a copy of the input: it stays a live input, however many bands it has.
 */
function bandProjection(g: Graph, src: ParamSource, inp: PixelHeadInput, spec: PixelHeadInputSpec, hidden: number, [h, w]: [number, number], zeroInit: boolean): { hidden: Value; linear: LinearFeatures } {
  const { bands } = spec;
  const pixels = h * w;
  const shift = src.param(g, 'norm.shift', [1, bands, 1, 1], init.zeros);
  const scale = src.param(g, 'norm.scale', [1, bands, 1, 1], init.ones);
  const relative = spec.relative ? relativeStandardised(inp.x, shift, scale) : undefined;
  const standardised = relative ? relative.z : mul(sub(inp.x, shift), scale);
  const weight = src.param(g, 'weight', [hidden, bands], zeroInit ? init.zeros : init.kaimingUniform);
  const flat = reshape(standardised, [0, bands, pixels]);
  let projected = matmul(weight, flat);
  const linear: LinearFeatures = { bands: flat, ...(relative && spec.tileMeanIntoLinear ? { tile: reshape(relative.tileMean, [0, bands, 1]) } : {}) };
  if (spec.context?.length) {
    const n = 2 * spec.context.length * bands;
    const features = concat(spec.context.flatMap((k) => windowStats(g, standardised, k, h, w)), 1);
    const cShift = src.param(g, 'context.shift', [1, n, 1, 1], init.zeros);
    const cScale = src.param(g, 'context.scale', [1, n, 1, 1], init.ones);
    const context = reshape(mul(sub(features, cShift), cScale), [0, n, pixels]);
    if (contextIntoHidden(spec)) projected = add(projected, matmul(src.param(g, 'context.weight', [hidden, n], zeroInit ? init.zeros : init.kaimingUniform), context));
    if (linearReadsContext(spec)) linear.context = context;
  }
  return { hidden: inp.available ? mul(projected, unsqueeze(inp.available, [2])) : projected, linear };
}

/**
 * ((x - mean x) - shift) scale, the mean over the tile per band, and that mean (of x scale: the
 * level the relative values drop, `tileMeanIntoLinear`), written so that the first
 * operation on the input is trainable: the tile less its mean, computed first, would be frozen
 * and fine-tuning's cache would hold it in the input's place, which the linear path's start
 * reads (a DEM-only fine-tune then started without it).
 */
function relativeStandardised(x: Value, shift: Value, scale: Value): { z: Value; tileMean: Value } {
  const scaled = mul(x, scale);
  const tileMean = reduceMean(scaled, [2, 3], true);
  return { z: sub(sub(scaled, tileMean), mul(shift, scale)), tileMean };
}

/**
 * Mean and standard deviation of each band of z [B, C, H, W] over the k x k window around each
 * pixel, clipped to the tile: the separable box filter A_H z A_W^T with each row of A the window's
 * indicator over its pixel count (so clipped windows average what they hold).
 */
export function windowStats(g: Graph, z: Value, k: number, h: number, w: number): [Value, Value] {
  if (!(Number.isInteger(k) && k >= 1 && k % 2 === 1)) throw new Error(`pixel head: context window ${k} must be an odd positive integer`);
  const rows = g.constant(boxMatrix(h, k, z.dtype === 'float64'), [h, h], `box${k}_rows`);
  const colsT = g.constant(transposed(boxMatrix(w, k, z.dtype === 'float64'), w), [w, w], `box${k}_cols_t`);
  const box = (x: Value) => matmul(matmul(rows, x), colsT);
  const mean = box(z);
  const variance = sub(box(mul(z, z)), mul(mean, mean));
  // Relu clamps rounding below zero (unlike Max, it has a WebGPU kernel, so the head stays on the GPU).
  return [mean, sqrt(add(relu(variance), CONTEXT_VARIANCE_EPS))];
}

/** n x n: row i averages the entries within k/2 of i (clipped to [0, n)). */
export function boxMatrix(n: number, k: number, float64 = false): Float32Array | Float64Array {
  const r = (k - 1) / 2;
  const m = float64 ? new Float64Array(n * n) : new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - r);
    const hi = Math.min(n - 1, i + r);
    for (let j = lo; j <= hi; j++) m[i * n + j] = 1 / (hi - lo + 1);
  }
  return m;
}

function transposed<T extends Float32Array | Float64Array>(m: T, n: number): T {
  const t = m.slice() as T;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}

/** Column `i` of an availability input [B, M] as [B, 1]. */
export function availabilityColumn(available: Value, i: number): Value {
  return slice(available, [i], [i + 1], [1]);
}
