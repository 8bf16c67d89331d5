/**
 * The logistic regression that starts the pixel head's linear path (finetune/logreg.ts): its
 * gradient against finite differences, the optimum's stationarity (gradient zero, the L2 term
 * balancing the data term), separation of a linearly separable set, the fixed offset (a residual
 * fit adds nothing where the offset already classifies), and the cross-validated L2 strength.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../src-main/engine/util/random';
import { crossValidatedL2, lbfgsFit, fitLogReg, logRegObjective, logRegSubset, NEWTON_MAX_PARAMS, newtonFit, type LogRegProblem } from '../../../src-main/engine/finetune/logreg';

/** Deterministic pseudo-random numbers in [-1, 1), from the engine's one seeded generator. */
function noise(seed: number): () => number {
  const r = seededRng(seed);
  return () => 2 * r() - 1;
}

/** n points in d dims, k classes around centres c * spread on each axis, plus noise. */
function blobs(n: number, d: number, k: number, spread: number, seed: number): LogRegProblem {
  const r = noise(seed);
  const x = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < d; j++) x[i * d + j] = (j % k === y[i] ? spread : 0) + r();
  }
  return { x, n, d, k, y };
}

const predict = (p: LogRegProblem, w: Float64Array, b: Float64Array, i: number) => {
  let best = 0;
  let bestV = -Infinity;
  for (let c = 0; c < p.k; c++) {
    let v = b[c] + (p.offset ? p.offset[i * p.k + c] : 0);
    for (let j = 0; j < p.d; j++) v += w[c * p.d + j] * p.x[i * p.d + j];
    if (v > bestV) [best, bestV] = [c, v];
  }
  return best;
};

describe('logistic regression', () => {
  it('gradient matches finite differences (with an offset and L2)', () => {
    const p = { ...blobs(30, 4, 3, 1, 1), l2: 0.7 };
    const r = noise(9);
    p.offset = Float64Array.from({ length: 30 * 3 }, () => r());
    const w = Float64Array.from({ length: 12 }, () => r());
    const b = Float64Array.from({ length: 3 }, () => r());
    const gw = new Float64Array(12);
    const gb = new Float64Array(3);
    logRegObjective(p, w, b, gw, gb);
    const h = 1e-6;
    for (let m = 0; m < 12; m++) {
      const [wp, wm] = [w.slice(), w.slice()];
      wp[m] += h;
      wm[m] -= h;
      expect((logRegObjective(p, wp, b) - logRegObjective(p, wm, b)) / (2 * h)).toBeCloseTo(gw[m], 6);
    }
    for (let c = 0; c < 3; c++) {
      const [bp, bm] = [b.slice(), b.slice()];
      bp[c] += h;
      bm[c] -= h;
      expect((logRegObjective(p, w, bp) - logRegObjective(p, w, bm)) / (2 * h)).toBeCloseTo(gb[c], 6);
    }
  });

  it('reaches the optimum: gradient zero, and no nearby point is lower', () => {
    const p = { ...blobs(60, 3, 3, 1, 2), l2: 1 };
    const fit = fitLogReg({ ...p, iterations: 20000, tolerance: 1e-10 });
    expect(fit.gradient).toBeLessThan(1e-8);
    // stationarity spelled out: the data gradient of each weight equals -l2 w / n
    const gw = new Float64Array(9);
    logRegObjective({ ...p, l2: 0 }, fit.weights, fit.bias, gw, new Float64Array(3));
    fit.weights.forEach((w, m) => expect(gw[m] + (p.l2 * w) / p.n).toBeCloseTo(0, 8));
    const r = noise(3);
    for (let t = 0; t < 20; t++) {
      const w = fit.weights.map((v) => v + 1e-3 * r());
      expect(logRegObjective(p, w, fit.bias)).toBeGreaterThanOrEqual(fit.loss - 1e-12);
    }
    // L2 shrinks: the stronger penalty gives smaller weights
    const strong = fitLogReg({ ...p, l2: 100 });
    const norm = (w: Float64Array) => Math.hypot(...w);
    expect(norm(strong.weights)).toBeLessThan(norm(fit.weights));
  });

  it('Newton and L-BFGS reach the same optimum; fitLogReg takes Newton steps on small problems', () => {
    const p = { ...blobs(60, 4, 3, 1, 9), l2: 0.1 };
    const newton = newtonFit({ ...p, tolerance: 1e-10 }, [0, 1, 2]);
    const lbfgs = lbfgsFit({ ...p, tolerance: 1e-10 });
    expect(newton.gradient).toBeLessThan(1e-9);
    expect(newton.iterations).toBeLessThan(30);
    // (its line search stops where float64 no longer tells the losses apart)
    expect(lbfgs.gradient).toBeLessThan(1e-8);
    expect(lbfgs.iterations).toBeGreaterThan(newton.iterations);
    expect(newton.loss).toBeCloseTo(lbfgs.loss, 9);
    newton.weights.forEach((w, m) => expect(w).toBeCloseTo(lbfgs.weights[m], 5));
    expect(fitLogReg(p).iterations).toBeLessThan(30);
    // above NEWTON_MAX_PARAMS, L-BFGS, which weak L2 on correlated features does not hold back
    const wide = { ...blobs(40, Math.ceil(NEWTON_MAX_PARAMS / 3), 3, 1, 10), l2: 0.1 };
    const fit = fitLogReg(wide);
    expect(fit.gradient).toBeLessThan(1e-7);
    expect(fit.iterations).toBeLessThan(3000);
  });

  it('Newton moves only the classes with samples; the others keep their start, at no cost in loss', () => {
    // classes 0 and 2 labelled, class 1 none
    const base = blobs(60, 3, 3, 2, 11);
    const y = Int32Array.from(base.y, (c) => (c === 1 ? 2 : c));
    const p = { ...base, y, l2: 1 };
    const newton = fitLogReg(p);
    expect(Array.from(newton.weights.subarray(3, 6))).toEqual([0, 0, 0]);
    expect(newton.bias[1]).toBe(0);
    expect(newton.gradient).toBeLessThan(1e-7);
    // every class free: class 1's bias sinks and its weights stay small, the loss barely lower
    const all = lbfgsFit({ ...p, iterations: 50000, tolerance: 1e-9 });
    expect(all.bias[1]).toBeLessThan(-3);
    expect(newton.loss - all.loss).toBeGreaterThanOrEqual(-1e-9);
    expect(newton.loss - all.loss).toBeLessThan(0.01);
  });

  it('separates a linearly separable set', () => {
    const p = { ...blobs(90, 5, 3, 4, 4), l2: 0.01 };
    const fit = fitLogReg(p);
    for (let i = 0; i < p.n; i++) expect(predict(p, fit.weights, fit.bias, i)).toBe(p.y[i]);
    expect(fit.loss).toBeLessThan(0.05);
  });

  it('fits the residual: with an offset that already classifies, the weights stay small; against a wrong one, they correct it', () => {
    const p = blobs(60, 3, 3, 3, 5);
    const good = Float64Array.from({ length: 60 * 3 }, (_, m) => (Math.floor(m / 3) % 3 === m % 3 ? 8 : 0));
    const withGood = fitLogReg({ ...p, offset: good, l2: 1 });
    const without = fitLogReg({ ...p, l2: 1 });
    expect(Math.hypot(...withGood.weights)).toBeLessThan(0.25 * Math.hypot(...without.weights));
    // offset favouring class 0 everywhere by 2: the fit still classifies every point
    const biased = Float64Array.from({ length: 60 * 3 }, (_, m) => (m % 3 === 0 ? 2 : 0));
    const fixed = fitLogReg({ ...p, offset: biased, l2: 0.1 });
    const wrongBefore = Array.from({ length: 60 }, (_, i) => predict({ ...p, offset: biased }, new Float64Array(9), new Float64Array(3), i) !== p.y[i]).filter(Boolean).length;
    expect(wrongBefore).toBe(40);
    for (let i = 0; i < p.n; i++) expect(predict({ ...p, offset: biased }, fixed.weights, fixed.bias, i)).toBe(p.y[i]);
  });

  it('subsets rows with their offsets', () => {
    const p = { ...blobs(5, 2, 2, 1, 6), offset: Float64Array.from({ length: 10 }, (_, i) => i) };
    const s = logRegSubset(p, [3, 1]);
    expect(s.n).toBe(2);
    expect(Array.from(s.x)).toEqual([...p.x.subarray(6, 8), ...p.x.subarray(2, 4)]);
    expect(Array.from(s.offset!)).toEqual([6, 7, 2, 3]);
    expect(Array.from(s.y)).toEqual([p.y[3], p.y[1]]);
  });

  it('cross-validation picks weak L2 for informative features and strong L2 for pure noise', () => {
    const grid = [0.01, 1, 1000];
    const informative = blobs(60, 3, 3, 2, 7);
    expect(crossValidatedL2(informative, Array.from({ length: 60 }, (_, i) => i), grid).l2).toBeLessThan(1000);
    // labels unrelated to the features, and an offset that already fits them: nothing to add
    const r = noise(8);
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 3);
    const pure = { n: 60, d: 6, k: 3, x: Float64Array.from({ length: 360 }, () => 3 * r()), y, offset: Float64Array.from({ length: 180 }, (_, m) => (y[Math.floor(m / 3)] === m % 3 ? 2 : 0)) };
    const cv = crossValidatedL2(pure, Array.from({ length: 60 }, (_, i) => i), grid);
    expect(cv.l2).toBe(1000);
    expect(cv.losses[2]).toBeLessThan(cv.losses[0]);
  });
});
