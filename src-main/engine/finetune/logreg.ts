/**
 * L2-regularised multinomial logistic regression in float64, with an optional fixed per-sample
 * offset of the logits (a residual fit: the model's own logits at the labelled pixels, so that
 * the fitted weights learn what the model lacks). Minimises
 *   sum_n CE(o_n + W x_n + b, y_n) + (l2 / 2) ||W||^2
 * (the bias unpenalised; sklearn's LogisticRegression with C = 1 / l2) by damped Newton steps on
 * small problems, else by L-BFGS. The objective is convex, so the start (zero, or a warm start)
 * does not matter.
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
  /** Max-norm of the objective's gradient at the result (divided by n; Newton: over the classes that move). */
  gradient: number;
}

/** Sample i's logits under (w, b) into z (its offset included); returns their maximum. */
function sampleLogits(p: LogRegProblem, w: Float64Array, b: Float64Array, i: number, z: Float64Array): number {
  const { x, d, k, offset } = p;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    let s = b[c] + (offset ? offset[i * k + c] : 0);
    for (let j = 0; j < d; j++) s += w[c * d + j] * x[i * d + j];
    z[c] = s;
    if (s > max) max = s;
  }
  return max;
}

/** Objective (divided by n) and its gradient at (w, b). */
export function logRegObjective(p: LogRegProblem, w: Float64Array, b: Float64Array, gw?: Float64Array, gb?: Float64Array): number {
  const { x, n, d, k, y } = p;
  const l2 = p.l2 ?? 1;
  gw?.fill(0);
  gb?.fill(0);
  const z = new Float64Array(k);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const max = sampleLogits(p, w, b, i, z);
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

/**
 * Up to how many parameters (classes x (features + 1)) fitLogReg takes Newton steps: each solves
 * that many equations (a Cholesky factorisation, cubic in them), where gradient descent needs
 * hundreds of steps once the features are correlated (a band and its window means) and the L2
 * weak. Above it, L-BFGS.
 */
export const NEWTON_MAX_PARAMS = 400;

/** Minimises the objective from zero, or from `start` (a warm start: a fit of a nearby problem). */
export function fitLogReg(p: LogRegProblem, start?: Pick<LogRegFit, 'weights' | 'bias'>): LogRegFit {
  const free = labelledClasses(p);
  return free.length * (p.d + 1) <= NEWTON_MAX_PARAMS ? newtonFit(p, free, start) : lbfgsFit(p, start);
}

/** The classes some sample has. */
function labelledClasses(p: LogRegProblem): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < p.n; i++) seen.add(p.y[i]);
  return [...seen].sort((a, b) => a - b);
}

/**
 * Damped Newton: each step solves H s = -g (H the objective's Hessian), halved until the
 * objective falls. Only the `free` classes (those with samples) move: a class no sample has
 * keeps its start (zero, the model's own logits), which loses nothing, as the free classes'
 * unpenalised biases can rise against it (a pack's classes a scene lacks: sen1floods11 has 2 of
 * the default MaMOL pack's 7).
 */
export function newtonFit(p: LogRegProblem, free: readonly number[], start?: Pick<LogRegFit, 'weights' | 'bias'>): LogRegFit {
  const { n, d, k } = p;
  const l2 = p.l2 ?? 1;
  const tolerance = p.tolerance ?? 1e-7;
  const m = free.length * (d + 1);
  // the free parameters as one vector: free class f's weights, then its bias at f (d + 1)
  const w0 = start ? Float64Array.from(start.weights) : new Float64Array(k * d);
  const b0 = start ? Float64Array.from(start.bias) : new Float64Array(k);
  const theta = new Float64Array(m);
  free.forEach((c, f) => {
    theta.set(w0.subarray(c * d, (c + 1) * d), f * (d + 1));
    theta[f * (d + 1) + d] = b0[c];
  });
  const split = (t: Float64Array) => {
    const w = w0.slice();
    const b = b0.slice();
    free.forEach((c, f) => {
      w.set(t.subarray(f * (d + 1), f * (d + 1) + d), c * d);
      b[c] = t[f * (d + 1) + d];
    });
    return { w, b };
  };
  const gw = new Float64Array(k * d);
  const gb = new Float64Array(k);
  let { w, b } = split(theta);
  let loss = logRegObjective(p, w, b, gw, gb);
  let it = 0;
  const freeGradient = () => Math.max(...free.map((c) => Math.max(Math.abs(gb[c]), ...Array.from(gw.subarray(c * d, (c + 1) * d), Math.abs))));
  for (; it < (p.iterations ?? 100) && freeGradient() >= tolerance; it++) {
    const h = newtonHessian(p, w, b, free);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) h[r * m + c] /= n;
      // the bias directions are flat along adding one constant to every class: a small ridge keeps H definite
      h[r * m + r] += (r % (d + 1) === d ? 0 : l2 / n) + 1e-9;
    }
    const g = new Float64Array(m);
    free.forEach((c, f) => {
      g.set(gw.subarray(c * d, (c + 1) * d), f * (d + 1));
      g[f * (d + 1) + d] = gb[c];
    });
    const step = choleskySolve(h, g, m);
    let t = 1;
    for (;;) {
      const trial = theta.map((v, r) => v - t * step[r]);
      const next = split(trial);
      const trialLoss = logRegObjective(p, next.w, next.b);
      if (trialLoss <= loss || t < 1e-8) {
        theta.set(trial);
        ({ w, b } = next);
        loss = logRegObjective(p, w, b, gw, gb);
        break;
      }
      t /= 2;
    }
    if (t < 1e-8) break;
  }
  return { weights: w, bias: b, loss, iterations: it, gradient: freeGradient() };
}

/**
 * The objective's Hessian (times n, over the `free` classes' weights and biases, m = free x (d + 1)):
 * sum_i (diag(q_i) - q_i q_i^T) (x) [x_i, 1][x_i, 1]^T. Each entry is symmetric in the two classes
 * and in the two features, so a quarter of them are summed and the rest copied: the Hessian was
 * most of the regression's time, and the regression (its cross-validation) a quarter of a
 * few-shot fine-tuning's (the bench's nc-landsat7 run: 6 of 26 s).
 */
function newtonHessian(p: LogRegProblem, w: Float64Array, b: Float64Array, free: readonly number[]): Float64Array {
  const { x, n, d, k } = p;
  const D = d + 1;
  const F = free.length;
  const m = F * D;
  const h = new Float64Array(m * m);
  const q = new Float64Array(k);
  const xi = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) xi[j] = x[i * d + j];
    xi[d] = 1;
    const max = sampleLogits(p, w, b, i, q);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += (q[c] = Math.exp(q[c] - max));
    for (let c = 0; c < k; c++) q[c] /= sum;
    for (let f1 = 0; f1 < F; f1++)
      for (let f2 = f1; f2 < F; f2++) {
        const [c1, c2] = [free[f1], free[f2]];
        const a = (c1 === c2 ? q[c1] : 0) - q[c1] * q[c2];
        if (a === 0) continue;
        for (let j1 = 0; j1 < D; j1++) {
          const row = (f1 * D + j1) * m + f2 * D;
          const v = a * xi[j1];
          for (let j2 = j1; j2 < D; j2++) h[row + j2] += v * xi[j2];
        }
      }
  }
  for (let f1 = 0; f1 < F; f1++)
    for (let f2 = f1; f2 < F; f2++)
      for (let j1 = 0; j1 < D; j1++)
        for (let j2 = j1; j2 < D; j2++) {
          const v = h[(f1 * D + j1) * m + f2 * D + j2];
          h[(f1 * D + j2) * m + f2 * D + j1] = v;
          h[(f2 * D + j1) * m + f1 * D + j2] = v;
          h[(f2 * D + j2) * m + f1 * D + j1] = v;
        }
  return h;
}

/** Solves A s = g for symmetric positive definite A (m x m, row-major) by Cholesky. */
function choleskySolve(a: Float64Array, g: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * m + j];
      for (let r = 0; r < j; r++) s -= l[i * m + r] * l[j * m + r];
      l[i * m + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * m + j];
    }
  const z = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = g[i];
    for (let r = 0; r < i; r++) s -= l[i * m + r] * z[r];
    z[i] = s / l[i * m + i];
  }
  const out = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = z[i];
    for (let r = i + 1; r < m; r++) s -= l[r * m + i] * out[r];
    out[i] = s / l[i * m + i];
  }
  return out;
}

/** Pairs of steps and gradient changes L-BFGS keeps. */
const LBFGS_MEMORY = 10;

/**
 * L-BFGS (Nocedal and Wright, algorithm 7.5: the two-loop recursion over the last LBFGS_MEMORY
 * steps, Armijo backtracking from a unit step) from a diagonal bound on the Hessian. It replaced
 * accelerated gradient descent at a fixed step, which weak L2 on many features left far from the
 * optimum at its iteration cap: on Houston 2013's 21-band LiDAR raster (105 features with their
 * window statistics, 15 classes) the linear path's cross-validated start took 55 of 61 s.
 */
export function lbfgsFit(p: LogRegProblem, start?: Pick<LogRegFit, 'weights' | 'bias'>): LogRegFit {
  const { x, n, d, k } = p;
  const l2 = p.l2 ?? 1;
  const iterations = p.iterations ?? 3000;
  const tolerance = p.tolerance ?? 1e-7;
  const size = k * d + k;
  // The starting inverse Hessian: diagonal, from a bound on each parameter's curvature (per n):
  // softmax curvature <= 1/2 times its feature's mean square, plus l2 / n on weights. Feature
  // scales differ widely (window spreads of a sparse LiDAR raster up to 25 times its bands'), and
  // one scale for all left L-BFGS at its iteration cap there.
  const meanSq = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) meanSq[j] += x[i * d + j] ** 2 / Math.max(n, 1);
  const h0 = Float64Array.from({ length: size }, (_, m) => (m < k * d ? 1 / (0.5 * meanSq[m % d] + l2 / Math.max(n, 1)) : 2));
  // the parameters as one vector: the weights (k x d), then the biases
  const theta = new Float64Array(size);
  if (start) {
    theta.set(start.weights);
    theta.set(start.bias, k * d);
  }
  const objective = (t: Float64Array, g: Float64Array) => logRegObjective(p, t.subarray(0, k * d), t.subarray(k * d), g.subarray(0, k * d), g.subarray(k * d));
  let g = new Float64Array(size);
  let f = objective(theta, g);
  const memory: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  let it = 0;
  for (; it < iterations && maxAbs(g) >= tolerance; it++) {
    const q = Float64Array.from(g);
    const alphas: number[] = [];
    for (let m = memory.length - 1; m >= 0; m--) {
      const a = memory[m].rho * dot(memory[m].s, q);
      alphas[m] = a;
      axpy(-a, memory[m].y, q);
    }
    for (let m = 0; m < size; m++) q[m] *= h0[m];
    for (let m = 0; m < memory.length; m++) axpy(alphas[m] - memory[m].rho * dot(memory[m].y, q), memory[m].s, q);
    // q is now H g: the step is -q, downhill unless the memory misleads (then the scaled gradient)
    let slope = -dot(g, q);
    if (!(slope < 0)) {
      memory.length = 0;
      for (let m = 0; m < size; m++) q[m] = g[m] * h0[m];
      slope = -dot(g, q);
    }
    const next = new Float64Array(size);
    const gNext = new Float64Array(size);
    let t = 1;
    let fNext = Infinity;
    for (; t >= 1e-10; t /= 2) {
      for (let m = 0; m < size; m++) next[m] = theta[m] - t * q[m];
      fNext = objective(next, gNext);
      if (fNext <= f + 1e-4 * t * slope) break;
    }
    if (t < 1e-10) break;
    const step = next.map((v, m) => v - theta[m]);
    const change = gNext.map((v, m) => v - g[m]);
    const curvature = dot(step, change);
    if (curvature > 1e-12) {
      memory.push({ s: step, y: change, rho: 1 / curvature });
      if (memory.length > LBFGS_MEMORY) memory.shift();
    }
    theta.set(next);
    g = gNext;
    f = fNext;
  }
  return { weights: theta.slice(0, k * d), bias: theta.slice(k * d), loss: f, iterations: it, gradient: maxAbs(g) };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let m = 0; m < a.length; m++) s += a[m] * b[m];
  return s;
}

/** y += a x */
function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let m = 0; m < y.length; m++) y[m] += a * x[m];
}

/** The largest absolute entry of a gradient. */
function maxAbs(g: Float64Array): number {
  let m = 0;
  for (const v of g) m = Math.max(m, Math.abs(v));
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

/** Gradient tolerance of cross-validation's fits: their out-of-fold losses are compared to a few digits, not their weights. */
export const CV_TOLERANCE = 1e-5;

/** Softmax cross-entropy of logits `z` for class `y`: log sum exp z - z_y. */
export function softmaxCrossEntropy(z: ArrayLike<number>, y: number): number {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) max = Math.max(max, z[c]);
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += Math.exp(z[c] - max);
  return max + Math.log(sum) - z[y];
}

/** Each sample's cross-entropy under (w, b) (no penalty). */
export function sampleCrossEntropy(p: LogRegProblem, w: Float64Array, b: Float64Array): Float64Array {
  const { n, k, y } = p;
  const out = new Float64Array(n);
  const z = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sampleLogits(p, w, b, i, z);
    out[i] = softmaxCrossEntropy(z, y[i]);
  }
  return out;
}

/**
 * The L2 strength of `grid` with the lowest cross-validated log loss: samples in `folds` folds by
 * group (samples of one group, e.g. copies of one pixel, stay together; group g in fold g mod
 * folds), each fold scored (mean cross-entropy, no penalty) by the fit on the others. Ties keep
 * the stronger regularisation. Also returns each strength's loss, and each sample's loss out of
 * its fold at the chosen strength (to compare feature sets sample by sample).
 */
export function crossValidatedL2(p: LogRegProblem, groups: readonly number[], grid: readonly number[], folds = 5): { l2: number; losses: number[]; sampleLosses: Float64Array } {
  const ids = [...new Set(groups)];
  const foldOf = new Map(ids.map((g, i) => [g, i % folds]));
  // The folds' problems, split once for every strength of the grid.
  const splits: { rows: number[]; train: LogRegProblem; test: LogRegProblem }[] = [];
  for (let f = 0; f < Math.min(folds, ids.length); f++) {
    const train: number[] = [];
    const test: number[] = [];
    groups.forEach((g, i) => (foldOf.get(g) === f ? test : train).push(i));
    if (train.length && test.length) splits.push({ rows: test, train: logRegSubset(p, train), test: logRegSubset(p, test) });
  }
  const samples = grid.map(() => new Float64Array(p.n).fill(NaN));
  // per fold, the strengths from the strongest down, each fit warm-started from the last (a regularisation path)
  const order = grid.map((_, i) => i).sort((a, b) => grid[b] - grid[a]);
  for (const { rows, train, test } of splits) {
    let start: LogRegFit | undefined;
    for (const i of order) {
      start = fitLogReg({ ...train, l2: grid[i], iterations: Math.min(p.iterations ?? 1000, 1000), tolerance: CV_TOLERANCE }, start);
      sampleCrossEntropy(test, start.weights, start.bias).forEach((v, r) => (samples[i][rows[r]] = v));
    }
  }
  const outOfFold = samples.map((sample) => {
    const scored = sample.filter((v) => v === v);
    return { sample, loss: scored.length ? scored.reduce((a, v) => a + v, 0) / scored.length : Infinity };
  });
  const losses = outOfFold.map((o) => o.loss);
  let best = grid.length - 1;
  for (let i = grid.length - 1; i >= 0; i--) if (losses[i] < losses[best]) best = i;
  return { l2: grid[best], losses, sampleLosses: outOfFold[best].sample };
}
