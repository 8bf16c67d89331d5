/**
 * L2-regularised multinomial logistic regression in float64, with an optional fixed per-sample
 * offset of the logits (a residual fit: the model's own logits at the labelled pixels, so that
 * the fitted weights learn what the model lacks). Minimises
 *   sum_n CE(o_n + W x_n + b, y_n) + (l2 / 2) ||W||^2
 * (the bias unpenalised; sklearn's LogisticRegression with C = 1 / l2) by full-batch gradient
 * descent with Nesterov momentum and a step from the Hessian's bound, restarted when the loss
 * rises. The objective is convex, so the start (zero) does not matter.
 */
export interface LogRegProblem {
  /** Samples x features, row-major. */
  x: Float64Array;
  n: number;
  d: number;
  /** Classes. */
  k: number;
  /** Class per sample, 0..k-1. */
  y: Int32Array | readonly number[];
  /** Fixed logits per sample, n x k (default zero). */
  offset?: Float64Array;
  /** L2 strength on the weights (default 1). */
  l2?: number;
  iterations?: number;
  /** Stop when the gradient's max-norm falls below this (default 1e-7, per sample mean units). */
  tolerance?: number;
}

export interface LogRegFit {
  /** k x d, row-major. */
  weights: Float64Array;
  /** k. */
  bias: Float64Array;
  loss: number;
  iterations: number;
  /** Max-norm of the objective's gradient at the result (divided by n). */
  gradient: number;
}

/** Objective (divided by n) and its gradient at (w, b). */
export function logRegObjective(p: LogRegProblem, w: Float64Array, b: Float64Array, gw?: Float64Array, gb?: Float64Array): number {
  const { x, n, d, k, y, offset } = p;
  const l2 = p.l2 ?? 1;
  gw?.fill(0);
  gb?.fill(0);
  const z = new Float64Array(k);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = b[c] + (offset ? offset[i * k + c] : 0);
      for (let j = 0; j < d; j++) s += w[c * d + j] * x[i * d + j];
      z[c] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[c] - max);
    loss += max + Math.log(sum) - z[y[i]];
    if (!gw || !gb) continue;
    for (let c = 0; c < k; c++) {
      const r = Math.exp(z[c] - max) / sum - (c === y[i] ? 1 : 0);
      gb[c] += r;
      for (let j = 0; j < d; j++) gw[c * d + j] += r * x[i * d + j];
    }
  }
  let reg = 0;
  for (let m = 0; m < k * d; m++) {
    reg += w[m] * w[m];
    if (gw) gw[m] = (gw[m] + l2 * w[m]) / n;
  }
  if (gb) for (let c = 0; c < k; c++) gb[c] /= n;
  return (loss + 0.5 * l2 * reg) / n;
}

export function fitLogReg(p: LogRegProblem): LogRegFit {
  const { x, n, d, k } = p;
  const l2 = p.l2 ?? 1;
  const iterations = p.iterations ?? 3000;
  const tolerance = p.tolerance ?? 1e-7;
  // Hessian bound (per n): softmax curvature <= 1/2, times the largest mean squared norm of [x, 1], plus l2 / n.
  let sq = 0;
  for (let i = 0; i < n; i++) {
    let s = 1;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    sq += s;
  }
  const lipschitz = 0.5 * (sq / Math.max(n, 1)) + l2 / Math.max(n, 1);
  const step = 1 / lipschitz;
  const w = new Float64Array(k * d);
  const b = new Float64Array(k);
  const yw = w.slice();
  const yb = b.slice();
  const gw = new Float64Array(k * d);
  const gb = new Float64Array(k);
  let prevW = w.slice();
  let prevB = b.slice();
  let t = 1;
  let loss = logRegObjective(p, w, b);
  let it = 0;
  let gmax = Infinity;
  for (; it < iterations; it++) {
    logRegObjective(p, yw, yb, gw, gb);
    gmax = maxAbs(gw, gb);
    if (gmax < tolerance) {
      w.set(yw);
      b.set(yb);
      break;
    }
    prevW = w.slice();
    prevB = b.slice();
    for (let m = 0; m < k * d; m++) w[m] = yw[m] - step * gw[m];
    for (let c = 0; c < k; c++) b[c] = yb[c] - step * gb[c];
    const next = logRegObjective(p, w, b);
    if (next > loss) {
      // restart momentum: a plain gradient step from the last iterate
      t = 1;
      logRegObjective(p, prevW, prevB, gw, gb);
      for (let m = 0; m < k * d; m++) w[m] = prevW[m] - step * gw[m];
      for (let c = 0; c < k; c++) b[c] = prevB[c] - step * gb[c];
      loss = logRegObjective(p, w, b);
      yw.set(w);
      yb.set(b);
      continue;
    }
    loss = next;
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const beta = (t - 1) / tNext;
    t = tNext;
    for (let m = 0; m < k * d; m++) yw[m] = w[m] + beta * (w[m] - prevW[m]);
    for (let c = 0; c < k; c++) yb[c] = b[c] + beta * (b[c] - prevB[c]);
  }
  const fgw = new Float64Array(k * d);
  const fgb = new Float64Array(k);
  loss = logRegObjective(p, w, b, fgw, fgb);
  return { weights: w, bias: b, loss, iterations: it, gradient: maxAbs(fgw, fgb) };
}

/** The largest absolute entry of the gradient (weights and bias). */
function maxAbs(gw: Float64Array, gb: Float64Array): number {
  let m = 0;
  for (const g of gw) m = Math.max(m, Math.abs(g));
  for (const g of gb) m = Math.max(m, Math.abs(g));
  return m;
}

/** The problem restricted to samples `rows` (in that order). */
export function logRegSubset(p: LogRegProblem, rows: readonly number[]): LogRegProblem {
  const { d, k } = p;
  const x = new Float64Array(rows.length * d);
  const offset = p.offset ? new Float64Array(rows.length * k) : undefined;
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(p.x.subarray(r * d, (r + 1) * d), i * d);
    offset?.set(p.offset!.subarray(r * k, (r + 1) * k), i * k);
    y[i] = p.y[r];
  });
  return { ...p, x, n: rows.length, y, offset };
}

/**
 * The L2 strength of `grid` with the lowest cross-validated log loss: samples in `folds` folds by
 * group (samples of one group, e.g. copies of one pixel, stay together; group g in fold g mod
 * folds), each fold scored (mean cross-entropy, no penalty) by the fit on the others. Ties keep
 * the stronger regularisation. Also returns each strength's loss.
 */
export function crossValidatedL2(p: LogRegProblem, groups: readonly number[], grid: readonly number[], folds = 5): { l2: number; losses: number[] } {
  const ids = [...new Set(groups)];
  const foldOf = new Map(ids.map((g, i) => [g, i % folds]));
  // The folds' problems, split once for every strength of the grid.
  const splits: { train: LogRegProblem; test: LogRegProblem }[] = [];
  for (let f = 0; f < Math.min(folds, ids.length); f++) {
    const train: number[] = [];
    const test: number[] = [];
    groups.forEach((g, i) => (foldOf.get(g) === f ? test : train).push(i));
    if (train.length && test.length) splits.push({ train: logRegSubset(p, train), test: { ...logRegSubset(p, test), l2: 0 } });
  }
  const losses = grid.map((l2) => {
    let total = 0;
    let count = 0;
    for (const { train, test } of splits) {
      const fitted = fitLogReg({ ...train, l2, iterations: Math.min(p.iterations ?? 1000, 1000) });
      total += logRegObjective(test, fitted.weights, fitted.bias) * test.n;
      count += test.n;
    }
    return count ? total / count : Infinity;
  });
  let best = grid.length - 1;
  for (let i = grid.length - 1; i >= 0; i--) if (losses[i] < losses[best]) best = i;
  return { l2: grid[best], losses };
}
