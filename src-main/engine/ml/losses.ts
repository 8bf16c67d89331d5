/**
 * Losses as graph functions (so autodiff sees them like any other op chain):
 * - cross-entropy with ignore index and class weights, per sample ([B,C] logits) or per pixel
 *   ([B,C,H,W] logits), reduced as torch.nn.functional.cross_entropy does;
 * - the SpectralMoE load-balancing loss (model-notes.md): CV^2 of expert importance plus, for
 *   noisy top-k gating, CV^2 of the smooth load (probability of entering the top-k under the
 *   noise), as in the authors' code (after Shazeer et al. 2017).
 */
import type { Value } from './graph/graph';
import { typedArray } from './graph/dtype';
import { add, cast, div, equal, erf, max, mul, neg, sub, where, greater } from './ops/elementwise';
import { reduceMax, reduceMean, reduceSum } from './ops/reduce';
import { reshape, unsqueeze } from './ops/shape';
import { logSoftmax } from './ops/nn';
import { slice } from './ops/slicing';
import { topk } from './ops/topk';

// Boolean logic through the registered And/Not ops.
const and = (a: Value, b: Value) => a.graph.op1('And', [a, b]);
const not = (a: Value) => a.graph.op1('Not', [a]);

export interface CrossEntropyOptions {
  /** Labels equal to this are skipped (PyTorch's default -100; 255 is common for masks). */
  ignoreIndex?: number;
  /** One weight per class (length C); a sample counts with the weight of its label. */
  classWeights?: readonly number[];
  /** 'mean' (weighted mean over non-ignored elements, PyTorch's default), 'sum' or 'none'. */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Per-element pieces of cross-entropy, shared by the loss and the accuracy metric. */
interface LabelMask {
  /** One-hot of the labels over the class axis (float, 0 at ignored elements), logits' shape. */
  onehot: Value;
  /** 1 where the label counts, 0 where ignored; labels' shape. */
  valid: Value;
}

/** The class axis is 1 (PyTorch layout: [B,C] or [B,C,H,W,...]); labels lack it. */
function labelMask(logits: Value, labels: Value, ignoreIndex: number): LabelMask {
  if (labels.dtype !== 'int64') throw new Error(`cross-entropy labels must be int64, got ${labels}`);
  if (logits.rank !== labels.rank + 1 || logits.rank < 2)
    throw new Error(`cross-entropy: logits ${logits} need rank labels+1 with classes on axis 1 (labels ${labels})`);
  const classes = logits.shape[1];
  if (typeof classes !== 'number') throw new Error(`cross-entropy: the class count of ${logits} must be static`);
  const g = logits.graph;
  // Class ids shaped [1, C, 1, ...] so they broadcast against labels unsqueezed on axis 1.
  const idShape = logits.shape.map((_, i) => (i === 1 ? classes : 1));
  const ids = g.constant(typedArray('int64', Array.from({ length: classes }, (_, c) => c)), idShape, 'class_ids');
  const validBool = not(equal(labels, g.scalar(ignoreIndex, 'int64')));
  const hit = and(equal(unsqueeze(labels, [1]), ids), unsqueeze(validBool, [1]));
  return { onehot: cast(hit, logits.dtype), valid: cast(validBool, logits.dtype) };
}

/** The weight of each element's label ([B,...]), 0 where ignored. */
function labelWeights(logits: Value, mask: LabelMask, classWeights?: readonly number[]): Value {
  if (!classWeights) return mask.valid;
  const classes = logits.shape[1] as number;
  if (classWeights.length !== classes) throw new Error(`cross-entropy: ${classWeights.length} class weights for ${classes} classes`);
  const shape = logits.shape.map((_, i) => (i === 1 ? classes : 1)) as number[];
  const w = logits.graph.constant(typedArray(logits.dtype, classWeights), shape, 'class_weights');
  return reduceSum(mul(mask.onehot, w), [1], false);
}

/**
 * Cross-entropy of `logits` ([B,C] or [B,C,H,W]) against int64 `labels` ([B] or [B,H,W]).
 * 'mean' divides by the sum of the label weights of non-ignored elements (the count without
 * class weights), exactly as PyTorch; a batch with nothing labelled gives 0 (PyTorch: NaN),
 * so an unlabelled tile cannot poison the weights.
 */
export function crossEntropy(logits: Value, labels: Value, options: CrossEntropyOptions = {}): Value {
  const mask = labelMask(logits, labels, options.ignoreIndex ?? -100);
  const weights = labelWeights(logits, mask, options.classWeights);
  const logp = logSoftmax(logits, 1);
  const w = options.classWeights ? unsqueeze(weights, [1]) : undefined;
  const picked = reduceSum(mul(logp, w ? mul(mask.onehot, w) : mask.onehot), [1], false);
  const nll = neg(picked);
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return nll;
  const all = [...nll.shape.keys()];
  const total = reduceSum(nll, all, false);
  if (reduction === 'sum') return total;
  const denom = reduceSum(weights, all, false);
  return div(total, max(denom, logits.graph.scalar(Number.MIN_VALUE * 2 ** 60, logits.dtype)));
}

/**
 * Classification counts for metrics: `correct` (label logit is the largest; ties count as
 * correct) and `labelled` (non-ignored elements), both float scalars. Not differentiable.
 */
export function accuracyCounts(logits: Value, labels: Value, options: { ignoreIndex?: number } = {}): { correct: Value; labelled: Value } {
  const mask = labelMask(logits, labels, options.ignoreIndex ?? -100);
  const labelLogit = reduceSum(mul(logits, mask.onehot), [1], false);
  const best = reduceMax(logits, [1], false);
  const hit = mul(cast(equal(labelLogit, best), logits.dtype), mask.valid);
  const all = [...mask.valid.shape.keys()];
  return { correct: reduceSum(hit, all, false), labelled: reduceSum(mask.valid, all, false) };
}

/** torch's cv_squared: var(x) / (mean(x)^2 + 1e-10) with the unbiased variance; 0 for one element. */
export function cvSquared(x: Value): Value {
  if (x.rank !== 1 || typeof x.shape[0] !== 'number') throw new Error(`cvSquared needs a static vector, got ${x}`);
  const n = x.shape[0];
  if (n === 1) return x.graph.scalar(0, x.dtype);
  const mean = reduceMean(x, [0], true);
  const d = sub(x, mean);
  const variance = div(reduceSum(mul(d, d), [0], false), n - 1);
  const m = reshape(mean, []);
  return div(variance, add(mul(m, m), 1e-10));
}

/** Standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2. */
export function normalCdf(x: Value): Value {
  return mul(add(erf(div(x, Math.SQRT2)), 1), 0.5);
}

export interface NoisyGating {
  /** Gate logits without noise, [T, E]. */
  clean: Value;
  /** Gate logits with the noise added, [T, E] (those the top-k was taken of). */
  noisy: Value;
  /** Standard deviation of the noise, [T, E] (softplus(f . w_noise) in SpectralMoE). */
  noiseStd: Value;
  /**
   * The (k+1) largest noisy logits per token, [T, k+1], descending (TopK values): column k-1 is
   * the k-th largest, column k the (k+1)-th. Optional: TopK of `noisy` when omitted.
   */
  topValues?: Value;
}

export interface LoadBalancingOptions {
  /** Gate values after top-k and softmax, [T, E] (zeros outside the top-k). */
  gates: Value;
  /** k of the top-k gate (default 1). */
  k?: number;
  /** Supply while training with noisy gating: adds the smooth load term. */
  noisy?: NoisyGating;
}

/**
 * SpectralMoE's balancing loss for one gate (one modality of one layer): CV^2 of the importance
 * (sum over tokens of the gate values) plus, with noisy gating, CV^2 of the load (sum over tokens
 * of the probability that each expert is in the top-k under the noise). Callers average over
 * modalities and layers and multiply by lambda, as the paper's eqs. 9-11.
 */
export function loadBalancingLoss(options: LoadBalancingOptions): Value {
  const { gates, noisy } = options;
  const k = options.k ?? 1;
  if (gates.rank !== 2) throw new Error(`loadBalancingLoss: gates must be [tokens, experts], got ${gates}`);
  const importance = reduceSum(gates, [0], false);
  const balance = cvSquared(importance);
  if (!noisy) return balance;
  const load = reduceSum(probInTopK(noisy, k), [0], false);
  return add(balance, cvSquared(load));
}

/**
 * P(expert e is in the top-k when its noise is redrawn), the others fixed: if e is in now, it
 * stays in while its noisy logit beats the (k+1)-th largest; if out, it must beat the k-th.
 * Phi((clean - threshold) / std), as in the authors' `_prob_in_top_k`.
 */
function probInTopK(n: NoisyGating, k: number): Value {
  const { thresholdIn, thresholdOut } = thresholds(n, k);
  const isIn = greater(n.noisy, thresholdIn);
  const pIn = normalCdf(div(sub(n.clean, thresholdIn), n.noiseStd));
  const pOut = normalCdf(div(sub(n.clean, thresholdOut), n.noiseStd));
  return where(isIn, pIn, pOut);
}

/** The (k+1)-th and k-th largest noisy logits per token, [T, 1]. */
function thresholds(n: NoisyGating, k: number): { thresholdIn: Value; thresholdOut: Value } {
  const experts = n.noisy.shape[1];
  if (typeof experts !== 'number' || experts < k + 1) throw new Error(`loadBalancingLoss: the load term needs more than k = ${k} experts, got ${n.noisy}`);
  // TopK values carry gradient back to the chosen noisy logits, as torch.topk's do.
  const top = n.topValues ?? topk(n.noisy, k + 1, 1).values;
  if (typeof top.shape[1] !== 'number' || top.shape[1] < k + 1)
    throw new Error(`loadBalancingLoss: topValues ${top} needs at least ${k + 1} columns`);
  return { thresholdIn: slice(top, [k], [k + 1], [1]), thresholdOut: slice(top, [k - 1], [k], [1]) };
}
