/**
 * SpectralMoE equations 1-7 and 9-11, each against the independent float64 reference in
 * test/fixtures/models/moe-reference.ts (plain loops written from the paper).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/ml/index';
import {
  aggregateExperts, crossAttentionFusion, expertAdjustments, gateLogits, loadBalancingLoss, moeOutput,
  perceptualMap, topKGates, type GateRecord,
} from '../../../src-main/engine/ml/models/spectralmoe';
import { transpose } from '../../../src-main/engine/ml/ops/index';
import * as ref from '../../fixtures/models/moe-reference';
import { rng } from '../../helpers/gradcheck';

const N = 7;
const D = 5;
const E = 4;
const M = 3;
const R = 2;

function data(seed: number) {
  const rand = rng(seed);
  return {
    f: ref.randn(rand, N, D),
    f2: ref.randn(rand, N, D),
    wGate: ref.randn(rand, D, E),
    wNoise: ref.randn(rand, D, E),
    eps: ref.randn(rand, N, E),
    a: ref.randn(rand, E, M, R),
    b: ref.randn(rand, E, R, D),
    wT: ref.randn(rand, D, D),
    bT: ref.randn(rand, D),
    mlpW: ref.randn(rand, D, D),
    mlpB: ref.randn(rand, D),
  };
}
type Data = ReturnType<typeof data>;
const shapes: Record<keyof Data, number[]> = {
  f: [1, N, D], f2: [1, N, D], wGate: [D, E], wNoise: [D, E], eps: [1, N, E], a: [E, M, R], b: [E, R, D], wT: [D, D], bT: [D], mlpW: [D, D], mlpB: [D],
};

function inputs(g: Graph, x: Data) {
  const vals = Object.fromEntries(Object.keys(x).map((k) => [k, g.input(k, 'float64', shapes[k as keyof Data])])) as Record<keyof Data, ReturnType<Graph['input']>>;
  const feeds = Object.fromEntries(Object.entries(x).map(([k, v]) => [k, { data: v, shape: shapes[k as keyof Data] }]));
  return { v: vals, feeds };
}

const expertsOf = (x: Data) => ref.tokensRef(
  Array.from({ length: E }, (_, e) => ref.rows(x.a.subarray(e * M * R, (e + 1) * M * R), R)),
  Array.from({ length: E }, (_, e) => ref.rows(x.b.subarray(e * R * D, (e + 1) * R * D), D)),
);

describe('SpectralMoE eq. 1: Lp-distance noisy gate', () => {
  for (const p of [1, 2] as const)
    for (const noisy of [false, true])
      it(`p = ${p}, ${noisy ? 'with' : 'without'} noise`, async () => {
        const x = data(10 + p);
        const g = new Graph('t');
        const { v, feeds } = inputs(g, x);
        const h = gateLogits(v.f, v.wGate, v.wNoise, p, noisy ? v.eps : undefined);
        const out = await ref.runGraph(g, { h: h.noisy }, feeds, Object.values(v));
        const want = ref.gateRef(ref.rows(x.f, D), ref.rows(x.wGate, E), p, noisy ? ref.rows(x.wNoise, E) : undefined, noisy ? ref.rows(x.eps, E) : undefined);
        expect(ref.maxAbsDiff(out.h, ref.flat(want))).toBeLessThan(1e-10);
        // the noise must matter when on
        if (noisy) expect(ref.maxAbsDiff(out.h, ref.flat(ref.gateRef(ref.rows(x.f, D), ref.rows(x.wGate, E), p)))).toBeGreaterThan(1e-3);
      });
});

describe('SpectralMoE eq. 2: top-k gates', () => {
  for (const k of [1, 2])
    it(`k = ${k}`, async () => {
      const x = data(20 + k);
      const g = new Graph('t');
      const { v, feeds } = inputs(g, x);
      const h = gateLogits(v.f, v.wGate, undefined, 2).noisy;
      const out = await ref.runGraph(g, { g: topKGates(h, k) }, feeds, Object.values(v));
      const want = ref.topkRef(ref.gateRef(ref.rows(x.f, D), ref.rows(x.wGate, E), 2), k);
      expect(ref.maxAbsDiff(out.g, ref.flat(want))).toBeLessThan(1e-12);
      const nonzero = ref.rows(out.g, E).map((r) => r.filter((y) => y > 0).length);
      expect(nonzero.every((c) => c === k)).toBe(true);
    });

  it('breaks ties towards the lower expert index, keeping exactly k', async () => {
    const g = new Graph('t');
    const h = g.input('h', 'float64', [2, 4]);
    const vals = Float64Array.from([1, 3, 3, 0, 2, 2, 2, 2]);
    const out = await ref.runGraph(g, { g: topKGates(h, 2) }, { h: { data: vals, shape: [2, 4] } });
    expect(Array.from(out.g)).toEqual(ref.flat(ref.topkRef(ref.rows(vals, 4), 2)));
    expect(Array.from(out.g)).toEqual([0, 0.5, 0.5, 0, 0.5, 0.5, 0, 0]);
  });

  it('k = 1 keeps the first of tied maxima, exactly one per row', async () => {
    const g = new Graph('t');
    const h = g.input('h', 'float64', [4, 4]);
    const vals = Float64Array.from([1, 3, 3, 0, 2, 2, 2, 2, -1, -5, -1, -2, 0, 0, 0, 7]);
    const out = await ref.runGraph(g, { g: topKGates(h, 1) }, { h: { data: vals, shape: [4, 4] } });
    expect(Array.from(out.g)).toEqual(ref.flat(ref.topkRef(ref.rows(vals, 4), 1)));
    expect(Array.from(out.g)).toEqual([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });
});

// The graph never forms T_e = A_e B_e (it multiplies through the factors); the reference does,
// as the paper defines the experts' tokens (expertsOf).
describe('SpectralMoE eqs. 3-5: experts', () => {
  it('eq. 3 perceptual map', async () => {
    const x = data(30);
    const g = new Graph('t');
    const { v, feeds } = inputs(g, x);
    // the map is expert-major [B, E, N, m]; the reference is [N][E][m]
    const out = await ref.runGraph(g, { amap: transpose(perceptualMap(v.f, v.a, v.b), [0, 2, 1, 3]) }, feeds, Object.values(v));
    const want = ref.mapRef(ref.rows(x.f, D), expertsOf(x));
    expect(ref.maxAbsDiff(out.amap, ref.flat(want))).toBeLessThan(1e-12);
    // rows are distributions over the m tokens and not all uniform (the scores matter)
    const rowsOut = ref.rows(out.amap, M);
    expect(Math.max(...rowsOut.map((r) => Math.abs(r.reduce((a, b) => a + b, 0) - 1)))).toBeLessThan(1e-12);
    expect(Math.max(...rowsOut.flat()) - Math.min(...rowsOut.flat())).toBeGreaterThan(0.1);
  });

  for (const k of [1, 2])
    it(`eqs. 4-5 gate-weighted aggregation, k = ${k}`, async () => {
      const x = data(40 + k);
      const g = new Graph('t');
      const { v, feeds } = inputs(g, x);
      const map = perceptualMap(v.f, v.a, v.b);
      const gates = topKGates(gateLogits(v.f, v.wGate, undefined, 1).noisy, k);
      const out = await ref.runGraph(g, { df: aggregateExperts(map, gates, v.a, v.b, v.wT, v.bT, k === 1), dz: expertAdjustments(map, v.a, v.b, v.wT, v.bT) }, feeds, Object.values(v));
      const tr = expertsOf(x);
      const mapR = ref.mapRef(ref.rows(x.f, D), tr);
      const gR = ref.topkRef(ref.gateRef(ref.rows(x.f, D), ref.rows(x.wGate, E), 1), k);
      const want = ref.aggregateRef(mapR, gR, tr, ref.rows(x.wT, D), Array.from(x.bT));
      expect(ref.maxAbsDiff(out.df, ref.flat(want))).toBeLessThan(1e-10);
      // eq. 4 per expert: with one-hot gates the aggregate picks that expert's dz_e
      for (let e = 0; e < E; e++) {
        const onehot = gR.map(() => Array.from({ length: E }, (_, j) => (j === e ? 1 : 0)));
        const dzE = ref.aggregateRef(mapR, onehot, tr, ref.rows(x.wT, D), Array.from(x.bT));
        const got = ref.rows(out.dz, D).filter((_, row) => row % E === e);
        expect(ref.maxAbsDiff(ref.flat(got), ref.flat(dzE))).toBeLessThan(1e-10);
      }
    });

  it('eqs. 4-5 with arbitrary gate weights (not summing to 1): the b_T term scales with sum_e g_e', async () => {
    const x = data(45);
    const g = new Graph('t');
    const { v, feeds } = inputs(g, x);
    const rand = rng(46);
    const gw = Float64Array.from({ length: N * E }, () => 2 * rand() - 0.5);
    const gates = g.input('gates', 'float64', [1, N, E]);
    const out = await ref.runGraph(g, { df: aggregateExperts(perceptualMap(v.f, v.a, v.b), gates, v.a, v.b, v.wT, v.bT) }, { ...feeds, gates: { data: gw, shape: [1, N, E] } }, [...Object.values(v), gates]);
    const tr = expertsOf(x);
    const want = ref.aggregateRef(ref.mapRef(ref.rows(x.f, D), tr), ref.rows(gw, E), tr, ref.rows(x.wT, D), Array.from(x.bT));
    expect(ref.maxAbsDiff(out.df, ref.flat(want))).toBeLessThan(1e-10);
  });

  it('eqs. 4-5 ungated, one expert ("w/o MoE"): gate 1', async () => {
    const x = data(47);
    const g = new Graph('t');
    const a1 = g.input('a1', 'float64', [1, M, R]);
    const b1 = g.input('b1', 'float64', [1, R, D]);
    const { v, feeds } = inputs(g, x);
    const a1d = x.a.subarray(0, M * R);
    const b1d = x.b.subarray(0, R * D);
    const out = await ref.runGraph(g, { df: aggregateExperts(perceptualMap(v.f, a1, b1), undefined, a1, b1, v.wT, v.bT) },
      { ...feeds, a1: { data: a1d, shape: [1, M, R] }, b1: { data: b1d, shape: [1, R, D] } }, [...Object.values(v), a1, b1]);
    const tr = ref.tokensRef([ref.rows(a1d, R)], [ref.rows(b1d, D)]);
    const want = ref.aggregateRef(ref.mapRef(ref.rows(x.f, D), tr), Array.from({ length: N }, () => [1]), tr, ref.rows(x.wT, D), Array.from(x.bT));
    expect(ref.maxAbsDiff(out.df, ref.flat(want))).toBeLessThan(1e-10);
  });
});

describe('SpectralMoE eqs. 6-7: fusion and output', () => {
  it('eq. 6 full cross-attention over all tokens', async () => {
    const x = data(50);
    const g = new Graph('t');
    const { v, feeds } = inputs(g, x);
    const out = await ref.runGraph(g, { y: crossAttentionFusion(v.f, v.f2) }, feeds, Object.values(v));
    const want = ref.crossRef(ref.rows(x.f, D), ref.rows(x.f2, D));
    expect(ref.maxAbsDiff(out.y, ref.flat(want))).toBeLessThan(1e-12);
    // not the code's diagonal-only slip: off-diagonal depth tokens contribute
    const diag = ref.rows(x.f2, D);
    expect(ref.maxAbsDiff(out.y, ref.flat(diag))).toBeGreaterThan(1e-3);
  });

  it('eq. 7 residual MLP with alpha', async () => {
    const x = data(60);
    const g = new Graph('t');
    const { v, feeds } = inputs(g, x);
    const alpha = g.input('alpha', 'float64', [1]);
    const out = await ref.runGraph(g, { y: moeOutput(v.f, v.f2, v.mlpW, v.mlpB, alpha) }, { ...feeds, alpha: { data: Float64Array.of(0.37), shape: [1] } }, [...Object.values(v), alpha]);
    const want = ref.outputRef(ref.rows(x.f, D), ref.rows(x.f2, D), ref.rows(x.mlpW, D), Array.from(x.mlpB), 0.37);
    expect(ref.maxAbsDiff(out.y, ref.flat(want))).toBeLessThan(1e-12);
  });
});

describe('SpectralMoE eqs. 9-11: load-balancing loss', () => {
  for (const k of [1, 2])
    it(`importance CV^2${k === 1 ? ' + smooth load' : ''}, k = ${k}, two modalities, two layers`, async () => {
      const x = data(70 + k);
      const g = new Graph('t');
      const { v, feeds } = inputs(g, x);
      const records: GateRecord[] = [];
      const wants: number[][] = [[], []];
      for (const layer of [0, 1])
        for (const [mod, f, fr] of [['visual', v.f, x.f], ['depth', v.f2, x.f2]] as const) {
          const p = layer === 0 ? 2 : 1;
          const logits = gateLogits(f, v.wGate, v.wNoise, p, v.eps);
          records.push({ layer, modality: mod, logits, gates: topKGates(logits.noisy, k) });
          const fR = ref.rows(fr, D);
          const clean = ref.gateRef(fR, ref.rows(x.wGate, E), p);
          const noisy = ref.gateRef(fR, ref.rows(x.wGate, E), p, ref.rows(x.wNoise, E), ref.rows(x.eps, E));
          const std = fR.map((fi) => Array.from({ length: E }, (_, e) => ref.softplus(ref.dot(fi, ref.col(ref.rows(x.wNoise, E), e)))));
          let term = ref.cv2Ref(ref.importanceRef(ref.topkRef(noisy, k)));
          if (k === 1) term += ref.cv2Ref(ref.smoothLoadRef(clean, noisy, std, k));
          wants[layer].push(term);
        }
      const loss = loadBalancingLoss(records, { loadLambda: 3, topK: k });
      const out = await ref.runGraph(g, { loss }, feeds, Object.values(v));
      const want = (3 * (wants[0][0] + wants[0][1]) / 2 + 3 * (wants[1][0] + wants[1][1]) / 2) / 2;
      expect(Math.abs(out.loss[0] - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      expect(want).toBeGreaterThan(0);
    });
});
