/**
 * TrainLoop and Trainer runtime: determinism from a seed, prompt cancellation, early stopping
 * that restores the best weights, progress events, weight export/import, LR schedules.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import {
  accuracyCounts,
  adamw,
  buildEvalModel,
  buildTrainStep,
  constantLr,
  cosineLr,
  crossEntropy,
  readSafetensors,
  Rng,
  sgd,
  stepLr,
  Trainer,
  TrainLoop,
  withWarmup,
  type Dataset,
  type ForwardFn,
  type TrainProgress,
  type WeightAveraging,
} from '../../../src-main/engine/ml/index';
import { CancelledError } from '../../../src-main/engine/util/errors';
import { copyParameters, keepMidpoint } from '../../../src-main/engine/finetune/fit';
import type { Progress } from '../../../src-main/engine/jobs/job';

const F = 5;
const C = 3;
const B = 8;

/** A float32 MLP classifier with a noise input in training (to check that noise is seeded too). */
const forward: ForwardFn = ({ g, noise }) => {
  const rng = new Rng(1);
  const p = (name: string, shape: number[], scale: number) =>
    g.param(name, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);
  const x = g.input('x', 'float32', [B, F]);
  const labels = g.input('labels', 'int64', [B]);
  const h = ml.relu(ml.add(ml.matmul(x, p('fc1.weight', [F, 16], 0.5)), p('fc1.bias', [16], 0.1)));
  let logits = ml.add(ml.matmul(h, p('fc2.weight', [16, C], 0.5)), p('fc2.bias', [C], 0.1));
  const eps = noise('logits', [B, C]);
  if (eps) logits = ml.add(logits, ml.mul(eps, 0.1));
  return { loss: crossEntropy(logits, labels), metrics: accuracyCounts(logits, labels) };
};

/** Points whose class is the argmax of a fixed linear map; `flip` permutes the labels. */
function dataset(size: number, seed: number, flip = false): Dataset {
  const rng = new Rng(seed);
  const xs = rng.fillNormal(new Float32Array(size * F));
  const ys = Array.from({ length: size }, (_, i) => {
    const s = [0, 1, 2].map((c) => xs[i * F + c] - 0.5 * xs[i * F + 3 + (c % 2)]);
    const y = s.indexOf(Math.max(...s));
    return flip ? (y + 1) % C : y;
  });
  return {
    size,
    batch(indices) {
      const x = new Float32Array(indices.length * F);
      indices.forEach((ix, k) => x.set(xs.subarray(ix * F, ix * F + F), k * F));
      return {
        x: new ort.Tensor('float32', x, [indices.length, F]),
        labels: new ort.Tensor('int64', BigInt64Array.from(indices.map((ix) => BigInt(ys[ix]))), [indices.length]),
      };
    },
  };
}

const step = buildTrainStep(forward, { optimizer: adamw({ weightDecay: 0.01 }), clipGradNorm: 1 });
const evalModel = buildEvalModel(forward);
const opened: Trainer[] = [];
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-loop-'));
afterAll(async () => {
  for (const t of opened) await t.release();
  await fs.rm(tmp, { recursive: true, force: true });
});

async function open(seed: number): Promise<Trainer> {
  const t = await Trainer.open(step, evalModel, { seed });
  opened.push(t);
  return t;
}

const weightsOf = (t: Trainer) => new Map([...t.parameters()].map(([k, v]) => [k, Array.from(v.data as Float32Array)]));

describe('TrainLoop', () => {
  const train = dataset(64, 2);

  it('is deterministic: the same seeds give bit-identical weights, another seed different ones', async () => {
    const run = async (seed: number) => {
      const t = await open(seed);
      await new TrainLoop(t, train, { epochs: 3, batchSize: B, lr: cosineLr(0.05, 24), seed }).run();
      return weightsOf(t);
    };
    const a = await run(4);
    const b = await run(4);
    const c = await run(5);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.get('fc1.weight')).not.toEqual(Array.from(step.carried.find((x) => x.input === 'fc1.weight')!.init as Float32Array));
  });

  it('learns: training accuracy goes up and the loss goes down', async () => {
    const t = await open(0);
    const report = await new TrainLoop(t, train, { epochs: 15, batchSize: B, lr: 0.02, seed: 1 }).run();
    const first = report.history[0];
    const last = report.history[report.history.length - 1];
    expect(last.trainLoss).toBeLessThan(0.5 * first.trainLoss);
    expect(last.trainMetrics.correct / last.trainMetrics.labelled).toBeGreaterThan(0.85);
    expect(report.steps).toBe(15 * 8);
  });

  it('stops promptly when cancelled, between steps', async () => {
    const t = await open(0);
    const controller = new AbortController();
    let fetched = 0;
    const cancelling: Dataset = {
      size: train.size,
      batch(indices) {
        if (++fetched === 3) controller.abort();
        return train.batch(indices);
      },
    };
    const loop = new TrainLoop(t, cancelling, { epochs: 100, batchSize: B, lr: 0.01 });
    await expect(loop.run({ signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(t.stepCount).toBe(3);
  });

  it('stops early on a rising validation loss and restores the best weights', async () => {
    const t = await open(0);
    // Validation labels are permuted: fitting the training rule makes validation worse.
    const validation = dataset(24, 3, true);
    const events: Progress[] = [];
    const loop = new TrainLoop(t, train, { epochs: 40, batchSize: B, lr: 0.02, validation, earlyStopping: { patience: 3 } });
    const report = await loop.run({ onProgress: (p) => events.push(p) });
    expect(report.stoppedEarly).toBe(true);
    expect(report.history.length).toBeLessThan(40);
    expect(report.history.length).toBe(report.bestEpoch! + 3);
    const valLosses = report.history.map((h) => h.val!.loss);
    expect(report.bestValLoss).toBe(Math.min(...valLosses));
    expect(valLosses[valLosses.length - 1]).toBeGreaterThan(report.bestValLoss!);
    // The restored weights reproduce the best epoch's validation loss, not the last one's.
    const after = await loop.evaluate(validation);
    expect(after.loss).toBeCloseTo(report.bestValLoss!, 6);
    expect(report.restoredBest).toBe(true);
    // Progress events carry epoch, step, loss, ETA and validation metrics.
    const trainEvents = events.filter((e) => e.stage === 'train') as TrainProgress[];
    const valEvents = events.filter((e) => e.stage === 'validate') as TrainProgress[];
    expect(trainEvents.length).toBeGreaterThan(0);
    expect(trainEvents[0]).toMatchObject({ epoch: 1, step: 1, totalSteps: 40 * 8, epochs: 40 });
    expect(Number.isFinite(trainEvents[0].loss)).toBe(true);
    expect(trainEvents.some((e) => e.etaSeconds !== undefined)).toBe(true);
    expect(valEvents.map((e) => e.val!.loss)).toEqual(valLosses);
    expect(valEvents[0].val!.metrics.labelled).toBe(24);
  });

  it('with includeStart, keeps the starting weights when no epoch beats their validation loss', async () => {
    const validation = dataset(24, 3, true);
    const run = async (includeStart: boolean) => {
      const t = await open(0);
      const start = weightsOf(t);
      const loop = new TrainLoop(t, train, { epochs: 40, batchSize: B, lr: 0.02, validation, earlyStopping: { patience: 3, includeStart } });
      const startLoss = (await loop.evaluate(validation)).loss;
      const events: TrainProgress[] = [];
      return { report: await loop.run({ onProgress: (p) => events.push(p as TrainProgress) }), start, after: weightsOf(t), startLoss, events };
    };
    // Permuted validation labels: every epoch of fitting the training rule scores worse than the start.
    const kept = await run(true);
    // the start's score is shown first, as epoch 0, like the epochs it competes with
    const validated = kept.events.filter((e) => e.stage === 'validate');
    expect(validated[0]).toMatchObject({ epoch: 0, message: expect.stringMatching(/^epoch 0\/40 \(the start\) val loss /) });
    expect(validated[0].val!.loss).toBeCloseTo(kept.startLoss, 9);
    expect(validated).toHaveLength(kept.report.history.length + 1);
    expect(Math.min(...kept.report.history.map((h) => h.val!.loss))).toBeGreaterThan(kept.startLoss);
    expect(kept.report.bestEpoch).toBe(0);
    expect(kept.report.bestValLoss).toBeCloseTo(kept.startLoss, 9);
    expect(kept.report.history.length).toBe(3);
    expect(kept.after).toEqual(kept.start);
    // Without it, the best epoch is one that trained.
    const trained = await run(false);
    expect(trained.report.bestEpoch).toBeGreaterThan(0);
    expect(trained.after).not.toEqual(trained.start);
  });

  it('with beatsStart, keeps the start unless an epoch passes it, and counts patience on the lowest loss', async () => {
    // Unpermuted validation: training lowers its loss epoch after epoch.
    const validation = dataset(24, 3);
    const run = async (accept: (epoch: number) => boolean) => {
      const t = await open(0);
      const start = weightsOf(t);
      const asked: { epoch: number; samples: number[]; startSamples: number[] }[] = [];
      const loop = new TrainLoop(t, train, {
        epochs: 12,
        batchSize: B,
        lr: 0.02,
        validation,
        // one made-up loss per sample, so that the predicate sees them in order
        sampleLosses: (r, indices) => indices.map((i) => r.loss + i),
        earlyStopping: {
          patience: 3,
          includeStart: true,
          beatsStart: (samples, startSamples) => {
            asked.push({ epoch: asked.length + 1, samples: [...samples], startSamples: [...startSamples] });
            return accept(asked.length);
          },
        },
      });
      return { report: await loop.run(), start, after: weightsOf(t), asked };
    };
    const never = await run(() => false);
    const losses = never.report.history.map((h) => h.val!.loss);
    // Training went on while the loss fell (patience counts new lows, not the kept start)...
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(never.report.history.length).toBeGreaterThan(3);
    // ...but no epoch passed, so the start stays; the history carries no per-sample losses.
    expect(never.report.history[0].val).not.toHaveProperty('samples');
    expect(never.report.bestEpoch).toBe(0);
    expect(never.after).toEqual(never.start);
    expect(never.asked.map((a) => a.samples.length)).toEqual(losses.map(() => 24));
    expect(never.asked[0].startSamples[5] - never.asked[0].startSamples[4]).toBeCloseTo(1, 9);
    // Epochs from the fourth on pass: the kept one is the lowest loss among them.
    const late = await run((epoch) => epoch >= 4);
    const lateLosses = late.report.history.map((h) => h.val!.loss);
    const lowestLate = Math.min(...lateLosses.slice(3));
    expect(late.report.bestEpoch).toBe(lateLosses.indexOf(lowestLate) + 1);
    expect(late.report.bestValLoss).toBe(lowestLate);
    // the kept epoch's per-sample losses, as the predicate saw them (keepMidpoint reuses them)
    expect(late.report.bestValSamples).toEqual(late.asked[late.report.bestEpoch! - 1].samples);
    expect(never.report.bestValSamples).toEqual(never.asked[0].startSamples);
    expect(late.after).not.toEqual(late.start);
  });

  it('keepMidpoint (fine-tuning) keeps the midpoint of start and trained weights unless the trained ones are clearly better on validation', async () => {
    const run = async (validation: Dataset) => {
      const t = await open(0);
      const start = copyParameters(t);
      // the graph takes batches of B: each sample gets its batch's loss, and a batch is one group
      const pixels = [...Array(validation.size).keys()].map((i) => Math.floor(i / B));
      const loop = new TrainLoop(t, train, { epochs: 4, batchSize: B, lr: 0.02, validation, sampleLosses: (r, indices) => indices.map(() => r.loss) });
      await loop.run();
      const trained = weightsOf(t);
      const result = await keepMidpoint(loop, validation, pixels, start, await loop.evaluateSamples(validation));
      return { result, start, trained, after: weightsOf(t), loss: (await loop.evaluate(validation)).loss };
    };
    // the training rule: the trained weights beat their midpoint with the random start pixel by pixel
    const same = await run(dataset(64, 3));
    expect(same.result).toEqual({ kept: false, loss: same.loss });
    expect(same.after).toEqual(same.trained);
    // permuted labels: training made validation worse, so the midpoint stays, exactly halfway
    const flipped = await run(dataset(64, 3, true));
    expect(flipped.result).toEqual({ kept: true, loss: flipped.loss });
    for (const [name, w] of flipped.after) {
      const a = flipped.start.get(name)!.data as Float32Array;
      expect(w).toEqual(Array.from(Float32Array.from(flipped.trained.get(name)!, (v, i) => (a[i] + v) / 2)));
    }
  });

  it('averages the weights: a bias-corrected EMA of the weights after each step, without changing the training path', async () => {
    const decay = 0.8;
    // The live weights before each step (the dataset is asked for the batch just before it).
    const path = async (averaging?: WeightAveraging) => {
      const t = await open(3);
      const before: Map<string, number[]>[] = [];
      const recording: Dataset = { size: train.size, batch: (ix) => (before.push(weightsOf(t)), train.batch(ix)) };
      // Validation each epoch swaps the averaged weights in and out.
      const report = await new TrainLoop(t, recording, { epochs: 3, batchSize: B, lr: 0.05, seed: 2, validation: dataset(16, 4), averaging }).run();
      return { t, before, report, after: weightsOf(t) };
    };
    const plain = await path();
    const averaged = await path({ decay });
    // Training follows the live weights: step for step the same path as without averaging.
    expect(averaged.before).toEqual(plain.before);
    // By hand: w_1..w_n are the weights after each step of the plain run.
    const ws = [...plain.before.slice(1), plain.after];
    expect(ws.length).toBe(24);
    const ema = (from: number, name: string, i: number) => {
      let num = 0;
      let den = 0;
      ws.slice(from).forEach((w, k, all) => {
        const f = decay ** (all.length - 1 - k);
        num += f * w.get(name)![i];
        den += f;
      });
      return num / den;
    };
    // After a start of 10 steps the average covers w_11..w_n only.
    const started = await path({ decay, start: 10 });
    expect(started.before).toEqual(plain.before);
    for (const [name, final] of averaged.after) {
      final.forEach((v, i) => expect(v).toBeCloseTo(ema(0, name, i), 5));
      started.after.get(name)!.forEach((v, i) => expect(v).toBeCloseTo(ema(10, name, i), 5));
      expect(final).not.toEqual(plain.after.get(name));
      expect(started.after.get(name)).not.toEqual(final);
    }
    // Validation scored the averaged weights: the last epoch's loss is theirs, not the live ones'.
    const last = averaged.report.history[2].val!.loss;
    const loop = new TrainLoop(averaged.t, train, { epochs: 1, batchSize: B, lr: 0, validation: dataset(16, 4) });
    expect((await loop.evaluate(dataset(16, 4))).loss).toBeCloseTo(last, 6);
    expect(last).not.toBeCloseTo(plain.report.history[2].val!.loss, 4);
    // Decay 0, or a start at the last step, is the live weights.
    expect((await path({ decay: 0 })).after).toEqual(plain.after);
    expect((await path({ decay, start: 23 })).after).toEqual(plain.after);
    expect(() => new TrainLoop(plain.t, train, { epochs: 1, batchSize: B, lr: 0.1, averaging: { decay: 1 } })).toThrow(/decay must be in \[0, 1\)/);
  });

  it('with averaging, early stopping judges and restores the averaged weights', async () => {
    const validation = dataset(24, 3, true);
    const run = async (averaging?: { decay: number }) => {
      const t = await open(0);
      const loop = new TrainLoop(t, train, { epochs: 40, batchSize: B, lr: 0.02, validation, earlyStopping: { patience: 3 }, averaging });
      return { loop, report: await loop.run(), after: weightsOf(t) };
    };
    const plain = await run();
    const { loop, report, after } = await run({ decay: 0.9 });
    expect(report.stoppedEarly).toBe(true);
    expect(report.restoredBest).toBe(true);
    expect(report.bestValLoss).toBe(Math.min(...report.history.map((h) => h.val!.loss)));
    expect(report.history.map((h) => h.val!.loss)).not.toEqual(plain.report.history.map((h) => h.val!.loss));
    // What is left is the best epoch's average: it reproduces that validation loss.
    expect((await loop.evaluate(validation)).loss).toBeCloseTo(report.bestValLoss!, 6);
    expect(after).not.toEqual(plain.after);
  });

  it('exports and imports the trained weights as safetensors', async () => {
    const t = await open(0);
    await new TrainLoop(t, train, { epochs: 1, batchSize: B, lr: 0.05 }).run();
    const file = path.join(tmp, 'adapter.safetensors');
    await t.saveWeights(file, { metadata: { model: 'mlp' } });
    const saved = weightsOf(t);
    const st = await readSafetensors(file);
    expect([...st.tensors.keys()].sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    expect(st.metadata.model).toBe('mlp');
    await new TrainLoop(t, train, { epochs: 1, batchSize: B, lr: 0.05 }).run();
    expect(weightsOf(t)).not.toEqual(saved);
    await t.loadWeights(file);
    expect(weightsOf(t)).toEqual(saved);
    // A checkpoint of another shape is refused with the file and tensor named.
    await ml.writeSafetensors(file, new Map([['fc1.weight', { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array(4) }]]));
    await expect(t.loadWeights(file)).rejects.toThrow(/adapter\.safetensors: tensor fc1\.weight has shape \[2,2\], expected \[5,16\]/);
  });

  it('stops with a clear error when the loss becomes NaN, and checks batch tensors', async () => {
    const t = await open(0);
    const poisoned: Dataset = {
      size: train.size,
      async batch(indices) {
        const b = await train.batch(indices);
        if (t.stepCount === 2) (b.x.data as Float32Array)[0] = NaN;
        return b;
      },
    };
    await expect(new TrainLoop(t, poisoned, { epochs: 2, batchSize: B, lr: 0.01 }).run()).rejects.toThrow(
      /^training: the loss became NaN at epoch 1, step 3; lower the learning rate/,
    );
    const b = await train.batch([0, 1, 2]);
    await expect(t.step(b, 0.01)).rejects.toThrow('train step: batch tensor x is float32[3,5], the graph takes float32[8,5]');
    await expect(t.step({ x: (await train.batch([...Array(B).keys()])).x }, 0.01)).rejects.toThrow(/^train step: the batch has no tensor labels/);
  });

  it('runs graphs with a symbolic batch dim, noise shapes resolved from the batch, and a partial last batch', async () => {
    const symbolic: ForwardFn = ({ g, noise }) => {
      const x = g.input('x', 'float32', ['batch', F]);
      const labels = g.input('labels', 'int64', ['batch']);
      const w = g.param('w', new Rng(2).fillNormal(new Float32Array(F * C), 0.3), [F, C]);
      let logits = ml.matmul(x, w);
      const eps = noise('logits', ['batch', C]);
      if (eps) logits = ml.add(logits, ml.mul(eps, 0.01));
      return { loss: crossEntropy(logits, labels), metrics: accuracyCounts(logits, labels) };
    };
    const t = await Trainer.open(buildTrainStep(symbolic, { optimizer: adamw() }), buildEvalModel(symbolic), { threads: 1 });
    opened.push(t);
    const small = dataset(13, 6);
    const report = await new TrainLoop(t, small, { epochs: 2, batchSize: 5, lr: 0.01, dropLast: false, validation: small }).run();
    expect(report.steps).toBe(6); // 5 + 5 + 3 per epoch
    expect(report.history[1].val!.metrics.labelled).toBe(13);
  });

  it('runs SGD steps too (a second optimizer through the same runtime), reporting the provider that ran', async () => {
    const s = buildTrainStep(forward, { optimizer: sgd({ momentum: 0.9 }) });
    // Where CUDA is absent (CI) the trainer falls back to CPU and says why.
    const t = await Trainer.open(s, undefined, { threads: 1, providers: ['cuda'] });
    opened.push(t);
    expect(['cuda', 'cpu']).toContain(t.provider);
    expect(t.fallbacks.map((f) => f.provider)).toEqual(t.provider === 'cpu' ? ['cuda'] : []);
    const b = await train.batch([...Array(B).keys()]);
    const first = await t.step(b, 0.05);
    let last = first;
    for (let i = 0; i < 20; i++) last = await t.step(b, 0.05);
    expect(last.loss).toBeLessThan(first.loss);
  });
});

describe('learning-rate schedules', () => {
  it('constant, step, cosine and warm-up follow their formulas', () => {
    expect(constantLr(0.1)(123)).toBe(0.1);
    expect(stepLr(1, 10, 0.5)(9)).toBe(1);
    expect(stepLr(1, 10, 0.5)(25)).toBe(0.25);
    const cos = cosineLr(1, 100, 0.1);
    expect(cos(0)).toBeCloseTo(1, 12);
    expect(cos(50)).toBeCloseTo(0.55, 12);
    expect(cos(100)).toBeCloseTo(0.1, 12);
    expect(cos(500)).toBeCloseTo(0.1, 12);
    const warm = withWarmup(4, constantLr(0.8));
    expect([0, 1, 2, 3, 4, 9].map(warm)).toEqual([0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8]);
  });
});
