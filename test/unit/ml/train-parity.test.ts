/**
 * Parity with PyTorch (float64): the gradients, losses and parameters after 5 optimizer steps of
 * a small linear + LayerNorm + GELU + softmax-attention + cross-entropy model, and the losses on
 * their own. The reference values come from test/scripts/make_train_parity_fixture.py (torch
 * 1.13), stored in test/fixtures/ml/train_parity.json, because CI has no torch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { adamw, sgd, type Optimizer } from '../../../src-main/engine/ml/optim';
import { crossEntropy, loadBalancingLoss } from '../../../src-main/engine/ml/losses';
import { buildTrainStep, type ForwardFn } from '../../../src-main/engine/ml/train/step';
import { Trainer } from '../../../src-main/engine/ml/train/trainer';
import { REPO_ROOT } from '../../helpers/paths';
import { relError } from '../../helpers/gradcheck';

interface OptimizerRun {
  lrs: number[];
  clip: number | null;
  losses: number[];
  grad_norms: number[];
  grads: Record<string, number[]>;
  params: Record<string, number[]>;
}
interface CeCase {
  logits_shape: number[];
  logits: number[];
  labels: number[];
  labels_shape: number[];
  weight: number[] | null;
  ignore_index: number;
  reduction: 'mean' | 'sum' | 'none';
  seed: number[];
  loss: number[];
  grad: number[];
}
interface LoadCase {
  T: number;
  E: number;
  k: number;
  clean: number[];
  noisy: number[];
  std: number[];
  gates: number[];
  top_values: number[];
  loss: number;
  importance_only: number;
  grad_clean: number[];
  grad_std: number[];
  grad_gates: number[];
  grad_noisy: number[];
}
interface Fixture {
  model: {
    B: number;
    N: number;
    D: number;
    C: number;
    ln_eps: number;
    x: number[];
    labels: number[];
    class_weights: number[];
    init: Record<string, number[]>;
    shapes: Record<string, number[]>;
    no_decay: string[];
  };
  adamw: OptimizerRun;
  sgd_momentum: OptimizerRun;
  sgd_nesterov_dampened: OptimizerRun;
  sgd_dampened: OptimizerRun;
  cross_entropy: Record<string, CeCase>;
  load_balancing: Record<'k1' | 'k2', LoadCase>;
}

const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/ml/train_parity.json'), 'utf8')) as Fixture;
const f64 = (a: number[]) => Float64Array.from(a);
const TOL = 1e-8;

/** The same model as `forward` in the fixture script. */
const parityForward: ForwardFn = ({ g }) => {
  const m = fixture.model;
  const p = (name: string) => g.param(name, f64(m.init[name]), m.shapes[name]);
  const x = g.input('x', 'float64', [m.B, m.N, m.D]);
  const labels = g.input('labels', 'int64', [m.B]);
  let h = ml.add(ml.matmul(x, p('lin.weight')), p('lin.bias'));
  h = ml.layerNorm(h, p('ln.weight'), p('ln.bias'), { epsilon: m.ln_eps });
  h = ml.gelu(h);
  const q = ml.matmul(h, p('attn.q'));
  const k = ml.matmul(h, p('attn.k'));
  const v = ml.matmul(h, p('attn.v'));
  const a = ml.softmax(ml.div(ml.matmul(q, ml.transposeLast2(k)), Math.sqrt(m.D)), -1);
  h = ml.add(h, ml.matmul(a, v));
  const logits = ml.add(ml.matmul(ml.reduceMean(h, [1], false), p('head.weight')), p('head.bias'));
  return { loss: crossEntropy(logits, labels, { classWeights: m.class_weights }) };
};

const batch = () => ({
  x: new ort.Tensor('float64', f64(fixture.model.x), [fixture.model.B, fixture.model.N, fixture.model.D]),
  labels: new ort.Tensor('int64', BigInt64Array.from(fixture.model.labels.map(BigInt)), [fixture.model.B]),
});

const opened: Trainer[] = [];
afterAll(async () => {
  for (const t of opened) await t.release();
});

async function replay(optimizer: Optimizer, run: OptimizerRun) {
  const step = buildTrainStep(parityForward, { optimizer, clipGradNorm: run.clip ?? undefined, outputGradients: true });
  const trainer = await Trainer.open(step, undefined, { threads: 1 });
  opened.push(trainer);
  const losses: number[] = [];
  let firstGrads: Map<string, Float64Array> | undefined;
  for (const lr of run.lrs) {
    losses.push((await trainer.step(batch(), lr)).loss);
    firstGrads ??= new Map([...trainer.lastGradients()].map(([k, v]) => [k, Float64Array.from(v)]));
  }
  return { losses, firstGrads: firstGrads!, params: trainer.parameters() };
}

const noDecay = (name: string) => fixture.model.no_decay.includes(name);
const optimizerRuns: [string, OptimizerRun, Optimizer][] = [
  ['AdamW with weight decay, no-decay set and clipping', fixture.adamw, adamw({ weightDecay: 0.1, noDecay })],
  ['SGD with momentum and weight decay', fixture.sgd_momentum, sgd({ momentum: 0.9, weightDecay: 0.01 })],
  ['SGD nesterov with clipping', fixture.sgd_nesterov_dampened, sgd({ momentum: 0.8, nesterov: true, weightDecay: 0.01 })],
  ['SGD with dampening', fixture.sgd_dampened, sgd({ momentum: 0.7, dampening: 0.3 })],
];

describe('train step matches PyTorch (float64)', () => {
  it.each(optimizerRuns)('%s: gradients, losses and parameters after 5 steps', async (_name, run, optimizer) => {
    const ours = await replay(optimizer, run);
    for (const [name, grad] of Object.entries(run.grads)) expect(relError(ours.firstGrads.get(name)!, grad), `grad ${name}`).toBeLessThan(TOL);
    expect(relError(ours.losses, run.losses)).toBeLessThan(TOL);
    for (const [name, value] of Object.entries(run.params)) {
      const p = ours.params.get(name)!;
      expect(relError(p.data as Float64Array, value), `param ${name}`).toBeLessThan(TOL);
      // The update moved the parameter: a no-op optimizer would not pass the check above.
      expect(relError(p.data as Float64Array, fixture.model.init[name])).toBeGreaterThan(1e-4);
    }
  });
});

/** Runs a graph of float64 inputs and returns its outputs, for the loss checks. */
async function runGraph(g: ml.Graph, outputs: [string, ml.Value][], feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(g.toModel({ outputs }), { graphOptimizationLevel: 'disabled' });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(outputs.map(([k]) => [k, Float64Array.from(out[k].data as Float64Array)]));
  } finally {
    await session.release();
  }
}

describe('cross-entropy matches torch.nn.functional.cross_entropy', () => {
  it.each(Object.entries(fixture.cross_entropy))('%s: value and gradient', async (_name, c) => {
    const g = new ml.Graph('ce');
    const logits = g.input('logits', 'float64', c.logits_shape);
    const labels = g.input('labels', 'int64', c.labels_shape);
    const loss = crossEntropy(logits, labels, { ignoreIndex: c.ignore_index, classWeights: c.weight ?? undefined, reduction: c.reduction });
    const seed = g.input('seed', 'float64', loss.shape as number[]);
    const seeded = ml.mul(loss, seed);
    const total = seeded.rank ? ml.reduceSum(seeded, [...seeded.shape.keys()], false) : seeded;
    const grad = ml.gradients(total, [logits]).get(logits)!;
    const out = await runGraph(g, [['loss', loss], ['grad', grad]], {
      logits: new ort.Tensor('float64', f64(c.logits), c.logits_shape),
      labels: new ort.Tensor('int64', BigInt64Array.from(c.labels.map(BigInt)), c.labels_shape),
      seed: new ort.Tensor('float64', f64(c.seed), loss.shape as number[]),
    });
    expect(relError(out.loss, c.loss)).toBeLessThan(TOL);
    expect(relError(out.grad, c.grad)).toBeLessThan(TOL);
  });
});

describe('load-balancing loss matches the authors’ noisy top-k code', () => {
  const cases: ['k1' | 'k2', boolean][] = [['k1', false], ['k1', true], ['k2', false], ['k2', true]];
  it.each(cases)('%s (TopK values fed: %s): value and gradients w.r.t. gates, clean and noisy logits, noise std', async (key, feedTop) => {
    const c = fixture.load_balancing[key];
    const g = new ml.Graph('load');
    const shape = [c.T, c.E];
    const gates = g.input('gates', 'float64', shape);
    const clean = g.input('clean', 'float64', shape);
    const noisy = g.input('noisy', 'float64', shape);
    const std = g.input('std', 'float64', shape);
    const kTop = Math.min(c.k + 1, c.E);
    const top = g.input('top', 'float64', [c.T, kTop]);
    const topFeed: Record<string, ort.Tensor> = feedTop ? { top: new ort.Tensor('float64', f64(c.top_values), [c.T, kTop]) } : {};
    // Thresholds come from TopK values when fed, else from `noisy` itself.
    const noisyGating = { clean, noisy, noiseStd: std, topValues: feedTop ? top : undefined };
    const loss = loadBalancingLoss({ gates, k: c.k, noisy: noisyGating });
    const importanceOnly = loadBalancingLoss({ gates, k: c.k });
    const wrt = [gates, clean, noisy, std];
    const grads = ml.gradients(loss, wrt);
    const out = await runGraph(
      g,
      [['loss', loss], ['importance', importanceOnly], ...wrt.map((v) => [`d_${v.name}`, grads.get(v)!] as [string, ml.Value])],
      {
        gates: new ort.Tensor('float64', f64(c.gates), shape),
        clean: new ort.Tensor('float64', f64(c.clean), shape),
        noisy: new ort.Tensor('float64', f64(c.noisy), shape),
        std: new ort.Tensor('float64', f64(c.std), shape),
        ...topFeed,
      },
    );
    expect(relError(out.loss, [c.loss])).toBeLessThan(TOL);
    expect(relError(out.importance, [c.importance_only])).toBeLessThan(TOL);
    expect(relError(out.d_gates, c.grad_gates)).toBeLessThan(TOL);
    expect(relError(out.d_clean, c.grad_clean)).toBeLessThan(TOL);
    expect(relError(out.d_std, c.grad_std)).toBeLessThan(TOL);
    // Thresholds computed from `noisy` carry its gradient, as torch's topk values do.
    if (!feedTop) expect(relError(out.d_noisy, c.grad_noisy)).toBeLessThan(TOL);
  });
});
