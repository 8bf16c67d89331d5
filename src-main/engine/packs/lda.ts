/**
 * Linear discriminant analysis in float64: class means, a pooled covariance (with a small ridge
 * so nearly collinear bands stay solvable) and the linear logits
 *   logit_k(x) = x . S^-1 mu_k - 0.5 mu_k . S^-1 mu_k + log prior_k.
 * The tiny placeholder packs are fitted with it: deterministic, closed form, no training loop.
 */
export interface LinearModel {
  /** [features x classes], row-major. */
  weights: Float64Array;
  bias: Float64Array;
  features: number;
  classes: number;
}

export interface LdaOptions {
  /** Class priors from the label counts (dense labels) or uniform (sampled labels). */
  priors: 'empirical' | 'uniform';
  /** Ridge added to the covariance diagonal, relative to its mean variance. */
  ridge?: number;
}

/** Fits LDA to `x` (n x d, row-major) with labels 0..K-1. */
export function fitLda(x: Float64Array, labels: Uint8Array, d: number, K: number, options: LdaOptions): LinearModel {
  const n = labels.length;
  const counts = new Float64Array(K);
  const means = new Float64Array(K * d);
  for (let i = 0; i < n; i++) {
    const k = labels[i];
    counts[k]++;
    for (let j = 0; j < d; j++) means[k * d + j] += x[i * d + j];
  }
  for (let k = 0; k < K; k++) {
    if (counts[k] === 0) throw new Error(`LDA: class ${k} has no samples`);
    for (let j = 0; j < d; j++) means[k * d + j] /= counts[k];
  }
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const k = labels[i];
    for (let a = 0; a < d; a++) {
      const da = x[i * d + a] - means[k * d + a];
      for (let b = 0; b <= a; b++) cov[a * d + b] += da * (x[i * d + b] - means[k * d + b]);
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) cov[b * d + a] = cov[a * d + b] = cov[a * d + b] / (n - K);
    trace += cov[a * d + a];
  }
  const ridge = (options.ridge ?? 1e-3) * (trace / d);
  for (let a = 0; a < d; a++) cov[a * d + a] += ridge;
  const sinvMu = solve(cov, d, means, K); // d x K
  const weights = new Float64Array(d * K);
  const bias = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let q = 0;
    for (let j = 0; j < d; j++) {
      weights[j * K + k] = sinvMu[j * K + k];
      q += means[k * d + j] * sinvMu[j * K + k];
    }
    const prior = options.priors === 'uniform' ? 1 / K : counts[k] / n;
    bias[k] = -0.5 * q + Math.log(prior);
  }
  return { weights, bias, features: d, classes: K };
}

/** Index of the largest logit of row i. */
export function predict(model: LinearModel, x: Float64Array, i: number): number {
  const { weights, bias, features: d, classes: K } = model;
  let best = 0;
  let bestV = -Infinity;
  for (let k = 0; k < K; k++) {
    let v = bias[k];
    for (let j = 0; j < d; j++) v += x[i * d + j] * weights[j * K + k];
    if (v > bestV) {
      bestV = v;
      best = k;
    }
  }
  return best;
}

/** Solves S X = B^T for symmetric positive definite S (d x d) by Cholesky; B is K x d. Returns X as d x K. */
function solve(s: Float64Array, d: number, b: Float64Array, K: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = s[i * d + j];
      for (let k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = i === j ? Math.sqrt(sum) : sum / l[j * d + j];
    }
  }
  const out = new Float64Array(d * K);
  const y = new Float64Array(d);
  for (let c = 0; c < K; c++) {
    for (let i = 0; i < d; i++) {
      let sum = b[c * d + i];
      for (let k = 0; k < i; k++) sum -= l[i * d + k] * y[k];
      y[i] = sum / l[i * d + i];
    }
    for (let i = d - 1; i >= 0; i--) {
      let sum = y[i];
      for (let k = i + 1; k < d; k++) sum -= l[k * d + i] * out[k * K + c];
      out[i * K + c] = sum / l[i * d + i];
    }
  }
  return out;
}
