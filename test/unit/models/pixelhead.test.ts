/**
 * The pixel head (ml/models/pixelhead.ts) against a direct float64 computation of
 * V GELU(sum_i W_i (x_i - shift_i) scale_i m_i + U m + b) + c, its linear variant, an input read
 * relative to its tile mean, spatial context (window means and standard deviations, clipped at
 * the tile's edges), the linear path beside the MLP (sum_i L_i z_i m_i + l, and per input j
 * whose absence has weights of its own (1 - m_j)(sum_{i != j} L_i^j z_i m_i + l^j)), context
 * features read by the linear path (alone or with the hidden layer), and finite-difference gradients of every parameter (the standardisations included).
 */
import { describe, expect, it } from 'vitest';
import { Graph, reshape, type Value } from '../../../src-main/engine/ml/index';
import { CONTEXT_VARIANCE_EPS, pixelHead, type PixelHeadConfig } from '../../../src-main/engine/ml/models/pixelhead';
import { providerGaps } from '../../../src-main/engine/ml/models/export';
import { gradCheck, relError, type GradInput } from '../../helpers/gradcheck';
import { InputParams, RandomParams, trainableInputs } from '../../fixtures/models/moe-params';
import { runGraph } from './vit-run';
import { BATCH_DIM, findFrontier } from '../../../src-main/engine/finetune/cut';

const B = 2;
const H = 3;
const W = 4;
const CLASSES = 3;
const CFG: PixelHeadConfig = { hidden: 4, inputs: [{ name: 'a', bands: 3 }, { name: 'b', bands: 2 }] };
// sample 0 has both inputs, sample 1 lacks input b
const AVAILABLE = Float64Array.from([1, 1, 1, 0]);

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-9; integrate the series instead
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function build(g: Graph, src: RandomParams | InputParams, cfg: PixelHeadConfig, xs: Value[], available: Value): Value {
  const columns = cfg.inputs.map((_, i) => reshape(sliceColumn(available, i), [-1, 1]));
  return pixelHead(g, src, cfg, cfg.inputs.map((_, i) => ({ x: xs[i], available: columns[i] })), CLASSES, available);
}

function sliceColumn(m: Value, i: number): Value {
  const g = m.graph;
  return g.op1('Slice', [m, g.ints([i], 'starts'), g.ints([i + 1], 'ends'), g.ints([1], 'axes')]);
}

/** The head computed directly from the recorded parameter values. */
function reference(params: Map<string, Float64Array>, cfg: PixelHeadConfig, xs: Float64Array[], m: Float64Array): Float64Array {
  const P = H * W;
  const linear = cfg.hidden === 0;
  const width = linear ? CLASSES : cfg.hidden;
  const out = new Float64Array(B * CLASSES * P);
  const get = (n: string) => params.get(`pixel_head.${n}`)!;
  for (let b = 0; b < B; b++)
    for (let p = 0; p < P; p++) {
      // per input: its standardised bands at p, and its standardised context features there
      const bands = cfg.inputs.map((spec, i) => {
        const [shift, scale] = [get(`${spec.name}.norm.shift`), get(`${spec.name}.norm.scale`)];
        const plane = (c: number) => xs[i].subarray((b * spec.bands + c) * P, (b * spec.bands + c + 1) * P);
        const mean = (c: number) => (spec.relative ? plane(c).reduce((a, v) => a + v, 0) / P : 0);
        return (c: number, q: number) => (plane(c)[q] - mean(c) - shift[c]) * scale[c];
      });
      const context = cfg.inputs.map((spec, i) => {
        if (!spec.context) return [];
        // window statistics straight from the definition: the pixels of the k x k window inside the tile
        const features: number[] = [];
        const [py, px] = [Math.floor(p / W), p % W];
        for (const k of spec.context)
          for (const stat of ['mean', 'std'])
            for (let c = 0; c < spec.bands; c++) {
              const r = (k - 1) / 2;
              const vals: number[] = [];
              for (let y = Math.max(0, py - r); y <= Math.min(H - 1, py + r); y++) for (let x = Math.max(0, px - r); x <= Math.min(W - 1, px + r); x++) vals.push(bands[i](c, y * W + x));
              const mu = vals.reduce((a, v) => a + v, 0) / vals.length;
              const variance = vals.reduce((a, v) => a + (v - mu) ** 2, 0) / vals.length;
              features.push(stat === 'mean' ? mu : Math.sqrt(variance + CONTEXT_VARIANCE_EPS));
            }
        const [cShift, cScale] = [get(`${spec.name}.context.shift`), get(`${spec.name}.context.scale`)];
        return features.map((f, n) => (f - cShift[n]) * cScale[n]);
      });
      const pre = Array.from({ length: width }, (_, j) => get(linear ? 'out.bias' : 'hidden.bias')[j]);
      cfg.inputs.forEach((spec, i) => {
        const w = get(`${spec.name}.weight`);
        for (let j = 0; j < width; j++) for (let c = 0; c < spec.bands; c++) pre[j] += w[j * spec.bands + c] * bands[i](c, p) * m[b * 2 + i];
        const hidden = spec.context && (spec.contextInto?.includes('hidden') ?? true);
        expect(params.has(`pixel_head.${spec.name}.context.weight`)).toBe(!!hidden);
        if (!hidden) return;
        const cw = get(`${spec.name}.context.weight`);
        expect(cw.length).toBe(width * context[i].length);
        for (let j = 0; j < width; j++) context[i].forEach((f, n) => (pre[j] += cw[j * context[i].length + n] * f * m[b * 2 + i]));
      });
      const u = get('available.weight');
      for (let j = 0; j < width; j++) for (let i = 0; i < 2; i++) pre[j] += m[b * 2 + i] * u[i * width + j];
      // one linear classifier `path` on the inputs but `skip`: L_i z_i m_i (and L'_i s_i m_i where it reads context) plus its bias
      const classifier = (path: string, k: number, skip = -1) => {
        let v = get(`${path}.bias`)[k];
        cfg.inputs.forEach((spec, i) => {
          if (i === skip) return;
          const l = get(`${spec.name}.${path}.weight`);
          expect(l.length).toBe(CLASSES * spec.bands);
          for (let c = 0; c < spec.bands; c++) v += l[k * spec.bands + c] * bands[i](c, p) * m[b * 2 + i];
          const reads = !!spec.contextInto?.includes('linear');
          expect(params.has(`pixel_head.${spec.name}.${path}_context.weight`)).toBe(reads);
          if (!reads) return;
          const lc = get(`${spec.name}.${path}_context.weight`);
          context[i].forEach((f, n) => (v += lc[k * context[i].length + n] * f * m[b * 2 + i]));
        });
        // tile means of a relative input, scaled as it standardises: sum_c T_i,c mean(x_c) scale_c m_i
        cfg.inputs.forEach((spec, i) => {
          if (i === skip) return;
          expect(params.has(`pixel_head.${spec.name}.${path}_tile.weight`)).toBe(!!(spec.relative && spec.tileMeanIntoLinear));
          if (!(spec.relative && spec.tileMeanIntoLinear)) return;
          const lt = get(`${spec.name}.${path}_tile.weight`);
          const scale = get(`${spec.name}.norm.scale`);
          for (let c = 0; c < spec.bands; c++) {
            const plane = xs[i].subarray((b * spec.bands + c) * P, (b * spec.bands + c + 1) * P);
            v += lt[k * spec.bands + c] * (plane.reduce((a, x) => a + x, 0) / P) * scale[c] * m[b * 2 + i];
          }
        });
        return v;
      };
      for (let k = 0; k < CLASSES; k++) {
        let v = linear ? pre[k] : get('out.bias')[k];
        if (!linear) for (let j = 0; j < width; j++) v += get('out.weight')[k * width + j] * gelu(pre[j]);
        if (cfg.linear && !linear) {
          v += classifier('linear', k);
          // per input j whose absence has its own weights: (1 - m_j) (sum_{i != j} L_i^j z_i m_i + l^j)
          for (const name of cfg.linearWithout ?? []) {
            const j = cfg.inputs.findIndex((s) => s.name === name);
            expect(params.has(`pixel_head.${name}.linear_without_${name}.weight`)).toBe(false);
            v += (1 - m[b * 2 + j]) * classifier(`linear_without_${name}`, k, j);
          }
        }
        out[(b * CLASSES + k) * P + p] = v;
      }
    }
  return out;
}

describe('pixel head', () => {
  const relative: PixelHeadConfig = { ...CFG, inputs: [CFG.inputs[0], { ...CFG.inputs[1], relative: true }] };
  const context: PixelHeadConfig = { ...CFG, inputs: [{ ...CFG.inputs[0], context: [3, 1] }, { ...CFG.inputs[1], relative: true, context: [5] }] };
  const perSubset: PixelHeadConfig = { ...relative, linear: true, linearWithout: ['a', 'b'] };
  // a's context read by the linear path alone, b's by both, with weights of their own for each input's absence
  const linearContext: PixelHeadConfig = {
    ...perSubset,
    inputs: [{ ...context.inputs[0], contextInto: ['linear'] }, { ...context.inputs[1], contextInto: ['hidden', 'linear'] }],
  };
  // b's tile means into the linear path as well
  const tileMean: PixelHeadConfig = { ...perSubset, inputs: [perSubset.inputs[0], { ...perSubset.inputs[1], tileMeanIntoLinear: true }] };
  const describeCfg = (cfg: PixelHeadConfig) =>
    `${cfg.inputs[0].context ? ', spatial context' : ''}${cfg.inputs[0].contextInto ? ' (into the linear path)' : ''}${cfg.linear ? ', linear path' : ''}${cfg.linearWithout ? ' per sensor subset' : ''}${cfg.inputs[1].tileMeanIntoLinear ? ', b\'s tile means' : ''}`;
  for (const cfg of [CFG, { ...CFG, hidden: 0 }, relative, context, { ...context, hidden: 0 }, { ...context, linear: true }, perSubset, linearContext, tileMean])
    it(`matches a direct computation (hidden ${cfg.hidden}${cfg.inputs[1].relative ? ', b relative' : ''}${describeCfg(cfg)})`, async () => {
      const g = new Graph('pixel-head');
      const xs = cfg.inputs.map((s) => g.input(s.name, 'float64', [B, s.bands, H, W]));
      const available = g.input('available', 'float64', [B, 2]);
      // every parameter random (zero-initialised V or U would hide terms); all recorded
      const src = new RandomParams(3, true);
      const logits = build(g, src, cfg, xs, available);
      const params = new Map([...g.params].map(([n, p]) => [n, p.data as Float64Array]));
      expect(g.params.get('pixel_head.a.norm.scale')!.value.shape).toEqual([1, 3, 1, 1]);
      const data = cfg.inputs.map((s, i) => Float64Array.from({ length: B * s.bands * H * W }, (_, k) => Math.sin(k * 0.7 + i)));
      const feeds = Object.fromEntries([...cfg.inputs.map((s, i) => [s.name, { data: data[i], shape: [B, s.bands, H, W] }]), ['available', { data: AVAILABLE, shape: [B, 2] }]]);
      const out = await runGraph(g, { logits }, feeds);
      expect(out.logits.dims).toEqual([B, CLASSES, H, W]);
      expect(relError(out.logits.data, reference(params, cfg, data, AVAILABLE))).toBeLessThan(1e-9);
    });

  it('leaves nothing of itself for fine-tuning to cache, a relative input included (its first operation on each input is trainable)', () => {
    const g = new Graph('cut');
    // inputs always present: the availability's own frozen reshaping is not what this checks
    const inputs = context.inputs.map((s) => ({ x: g.input(s.name, 'float64', [BATCH_DIM, s.bands, H, W]) }));
    const logits = pixelHead(g, new RandomParams(2, true), context, inputs, CLASSES);
    // the tile less its mean, taken before the trainable standardisation, was cached in the relative input's place
    expect(findFrontier(g, [logits]).map((v) => `${v.producer?.opType} ${v.producer?.inputs.map((i) => i?.name)}`)).toEqual([]);
  });

  // sample 1 lacks input b, so the weights for b's absence get gradients (a's would not: a is never missing)
  for (const cfg of [CFG, context, { ...CFG, linear: true }, { ...CFG, linear: true, linearWithout: ['b'] }, { ...linearContext, linearWithout: ['b'] }, { ...tileMean, linearWithout: ['b'] }])
    it(`gradients of every trainable parameter (float64 finite differences${describeCfg(cfg)})`, async () => {
      const g0 = new Graph('discover');
      const recorded = new RandomParams(2, true);
      build(g0, recorded, cfg, cfg.inputs.map((s) => g0.input(s.name, 'float64', [B, s.bands, H, W])), g0.input('available', 'float64', [B, 2]));
      const { inputs, names } = trainableInputs(recorded.trainable);
      const stats = ['a', 'b'].flatMap((i) => [`pixel_head.${i}.norm.scale`, `pixel_head.${i}.norm.shift`, ...(cfg.inputs[0].context ? [`pixel_head.${i}.context.scale`, `pixel_head.${i}.context.shift`] : [])]);
      expect(names.filter((n) => n.includes('.norm.') || /context\.s/.test(n)).sort()).toEqual(stats.sort());
      const data: GradInput[] = [...cfg.inputs.map((s) => ({ name: s.name, shape: [B, s.bands, H, W], wrt: false })), { name: 'available', shape: [B, 2], wrt: false, data: AVAILABLE }];
      const res = await gradCheck([...inputs, ...data], (g, xs) => {
        const given = new Map(names.map((n, i) => [n, xs[i]]));
        const byName = new Map(xs.map((x) => [x.name, x]));
        const logits = build(g, new InputParams(2, true, given), cfg, cfg.inputs.map((s) => byName.get(s.name)!), byName.get('available')!);
        return reshape(logits, [-1]);
      }, { seed: 5, h: 1e-5 });
      expect(res.maxRelError).toBeLessThan(1e-4);
      names.forEach((n, i) => expect(Math.max(...res.analytic[i].map(Math.abs)), n).toBeGreaterThan(0));
    });
});

describe('pixel head on execution providers', () => {
  it('uses only operators with CPU, CUDA and WebGPU kernels, spatial context included', () => {
    const cfg: PixelHeadConfig = { hidden: 4, inputs: [{ name: 'a', bands: 3, context: [3, 7] }, { name: 'b', bands: 2, relative: true, context: [3] }] };
    const g = new Graph('gaps');
    const logits = build(g, new RandomParams(1, true), cfg, cfg.inputs.map((s) => g.input(s.name, 'float64', [B, s.bands, H, W])), g.input('available', 'float64', [B, 2]));
    expect(providerGaps(g, [logits])).toEqual({});
  });
});
