/**
 * The pixel head (ml/models/pixelhead.ts) against a direct float64 computation of
 * V GELU(sum_i W_i (x_i - shift_i) scale_i m_i + U m + b) + c, its linear variant, an input read
 * relative to its tile mean, and
 * finite-difference gradients of every parameter (the standardisation included).
 */
import { describe, expect, it } from 'vitest';
import { Graph, reshape, type Value } from '../../../src-main/engine/ml/index';
import { pixelHead, type PixelHeadConfig } from '../../../src-main/engine/ml/models/pixelhead';
import { gradCheck, relError, type GradInput } from '../../helpers/gradcheck';
import { InputParams, RandomParams, trainableInputs } from '../../fixtures/models/moe-params';
import { runGraph } from './vit-run';

const B = 2;
const H = 2;
const W = 3;
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
      const pre = Array.from({ length: width }, (_, j) => get(linear ? 'out.bias' : 'hidden.bias')[j]);
      cfg.inputs.forEach((spec, i) => {
        const [w, shift, scale] = [get(`${spec.name}.weight`), get(`${spec.name}.norm.shift`), get(`${spec.name}.norm.scale`)];
        const plane = (c: number) => xs[i].subarray((b * spec.bands + c) * P, (b * spec.bands + c + 1) * P);
        const mean = (c: number) => (spec.relative ? plane(c).reduce((a, v) => a + v, 0) / P : 0);
        for (let j = 0; j < width; j++)
          for (let c = 0; c < spec.bands; c++) pre[j] += w[j * spec.bands + c] * (plane(c)[p] - mean(c) - shift[c]) * scale[c] * m[b * 2 + i];
      });
      const u = get('available.weight');
      for (let j = 0; j < width; j++) for (let i = 0; i < 2; i++) pre[j] += m[b * 2 + i] * u[i * width + j];
      for (let k = 0; k < CLASSES; k++) {
        let v = linear ? pre[k] : get('out.bias')[k];
        if (!linear) for (let j = 0; j < width; j++) v += get('out.weight')[k * width + j] * gelu(pre[j]);
        out[(b * CLASSES + k) * P + p] = v;
      }
    }
  return out;
}

describe('pixel head', () => {
  const relative: PixelHeadConfig = { ...CFG, inputs: [CFG.inputs[0], { ...CFG.inputs[1], relative: true }] };
  for (const cfg of [CFG, { ...CFG, hidden: 0 }, relative])
    it(`matches a direct computation (hidden ${cfg.hidden}${cfg.inputs[1].relative ? ', b relative' : ''})`, async () => {
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

  it('gradients of every trainable parameter (float64 finite differences)', async () => {
    const g0 = new Graph('discover');
    const recorded = new RandomParams(2, true);
    build(g0, recorded, CFG, CFG.inputs.map((s) => g0.input(s.name, 'float64', [B, s.bands, H, W])), g0.input('available', 'float64', [B, 2]));
    const { inputs, names } = trainableInputs(recorded.trainable);
    expect(names.filter((n) => n.includes('.norm.')).sort()).toEqual(['pixel_head.a.norm.scale', 'pixel_head.a.norm.shift', 'pixel_head.b.norm.scale', 'pixel_head.b.norm.shift']);
    const data: GradInput[] = [...CFG.inputs.map((s) => ({ name: s.name, shape: [B, s.bands, H, W], wrt: false })), { name: 'available', shape: [B, 2], wrt: false, data: AVAILABLE }];
    const res = await gradCheck([...inputs, ...data], (g, xs) => {
      const given = new Map(names.map((n, i) => [n, xs[i]]));
      const byName = new Map(xs.map((x) => [x.name, x]));
      const logits = build(g, new InputParams(2, true, given), CFG, CFG.inputs.map((s) => byName.get(s.name)!), byName.get('available')!);
      return reshape(logits, [-1]);
    }, { seed: 5, h: 1e-5 });
    expect(res.maxRelError).toBeLessThan(1e-4);
    names.forEach((n, i) => expect(Math.max(...res.analytic[i].map(Math.abs)), n).toBeGreaterThan(0));
  });
});
