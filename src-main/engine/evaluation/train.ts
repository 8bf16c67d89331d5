/**
 * Supervised training and prediction of a configured model (ml/models registry) for the paper
 * protocols: one forward function gives the train step (AdamW, task loss + the model's auxiliary
 * loss) and the eval graph (logits), run by the kernel's Trainer and TrainLoop.
 *
 * The fine-tuning engine (engine/finetune) adds feature caching, packs and validation splits on
 * top of the same kernel; the protocols only need "fit on these examples, predict those", so
 * they use this thin harness rather than depend on the fine-tuning job.
 */
import * as ort from 'onnxruntime-node';
import { add, accuracyCounts, adamw, buildEvalModel, buildTrainStep, crossEntropy, TrainLoop, Trainer, withWarmup, type Feeds, type ForwardFn } from '../ml/index';
import { buildModel, getArchitecture, modelSources, type ModelConfig } from '../ml/models/index';
import type { JobContext } from '../jobs/job';

/** Label value that the loss and the metrics skip (unlabelled or nodata pixels). */
export const IGNORE_LABEL = -1;

/** Float32 examples by graph input name, batch axis first, plus int64-able labels. */
export interface Examples {
  /** Per input: values for all examples, row-major, and the shape of one example. */
  inputs: Record<string, { data: Float32Array; shape: readonly number[] }>;
  /** Class index per example ([n]) or per pixel ([n, H, W]); IGNORE_LABEL skipped. */
  labels: Int32Array;
  labelShape: readonly number[];
  count: number;
}

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Warm-up steps as a fraction of all steps (MaMOL: 10 %, then linear decay). */
  warmupFraction: number;
  seed: number;
  threads?: number;
}

export interface FitResult {
  /** Predicted class per example or per pixel, in example order. */
  predictions: Int32Array;
  trainLoss: number[];
  seconds: number;
  trainableParams: number;
}

const per = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Tensors of `examples` at `indices` (inputs and, unless `withLabels` is false, labels). */
export function batchFeeds(examples: Examples, indices: readonly number[], withLabels = true): Feeds {
  const feeds: Feeds = {};
  for (const [name, x] of Object.entries(examples.inputs)) {
    const size = per(x.shape);
    const out = new Float32Array(indices.length * size);
    indices.forEach((e, i) => out.set(x.data.subarray(e * size, e * size + size), i * size));
    feeds[name] = new ort.Tensor('float32', out, [indices.length, ...x.shape]);
  }
  if (withLabels) {
    const size = per(examples.labelShape);
    const out = new BigInt64Array(indices.length * size);
    indices.forEach((e, i) => {
      for (let k = 0; k < size; k++) out[i * size + k] = BigInt(examples.labels[e * size + k]);
    });
    feeds.labels = new ort.Tensor('int64', out, [indices.length, ...examples.labelShape]);
  }
  return feeds;
}

/** The forward of `model`: cross-entropy (+ auxiliary loss), accuracy counts, logits. */
function forwardOf(model: ModelConfig, seed: number, labelShape: readonly number[]): ForwardFn {
  return (ctx) => {
    const built = buildModel(ctx.g, model, modelSources({ dtype: 'float32', seed }), 'float32', { noise: (name, shape) => ctx.noise(name, shape) });
    const labels = ctx.g.input('labels', 'int64', ['N', ...labelShape]);
    const ce = crossEntropy(built.logits, labels, { ignoreIndex: IGNORE_LABEL });
    const loss = built.auxLoss ? add(ce, built.auxLoss) : ce;
    const counts = accuracyCounts(built.logits, labels, { ignoreIndex: IGNORE_LABEL });
    return { loss, metrics: { correct: counts.correct, labelled: counts.labelled }, outputs: { logits: built.logits } };
  };
}

/** Trains `model` on `train` and predicts `test` (argmax of the logits over axis 1). */
export async function fitAndPredict(model: ModelConfig, train: Examples, test: Examples, settings: TrainSettings, job: JobContext = {}): Promise<FitResult> {
  const started = performance.now();
  // Examples may carry inputs a variant does not take (depth for "w/o depth"): feed only the graph's.
  const wanted = new Set(getArchitecture(model.architecture).inputs(model.config).map((i) => i.name));
  train = onlyInputs(train, wanted);
  test = onlyInputs(test, wanted);
  const forward = forwardOf(model, settings.seed, train.labelShape);
  const step = buildTrainStep(forward, { optimizer: adamw({ weightDecay: settings.weightDecay }), clipGradNorm: 1 });
  const evalModel = buildEvalModel(forward);
  const trainer = await Trainer.open(step, evalModel, { seed: settings.seed, threads: settings.threads });
  try {
    const stepsPerEpoch = Math.floor(train.count / settings.batchSize);
    const total = Math.max(1, stepsPerEpoch * settings.epochs);
    const warm = Math.max(1, Math.round(total * settings.warmupFraction));
    const linearDecay = (s: number) => settings.lr * Math.max(0, 1 - s / Math.max(1, total - warm));
    const loop = new TrainLoop(trainer, { size: train.count, batch: (idx) => batchFeeds(train, idx) }, {
      epochs: settings.epochs,
      batchSize: Math.min(settings.batchSize, train.count),
      lr: withWarmup(warm, linearDecay),
      seed: settings.seed,
    });
    const report = await loop.run(job);
    const predictions = await predict(trainer, test, settings.batchSize);
    const trainableParams = step.carried.filter((c) => c.role === 'param').reduce((s, c) => s + per(c.shape), 0);
    return { predictions, trainLoss: report.history.map((h) => h.trainLoss), seconds: (performance.now() - started) / 1000, trainableParams };
  } finally {
    await trainer.release();
  }
}

function onlyInputs(examples: Examples, names: ReadonlySet<string>): Examples {
  const missing = [...names].filter((n) => !(n in examples.inputs));
  if (missing.length) throw new Error(`examples lack the model inputs ${missing.join(', ')}`);
  return { ...examples, inputs: Object.fromEntries(Object.entries(examples.inputs).filter(([k]) => names.has(k))) };
}

/** Argmax class of every example (or pixel) of `data`, in order. */
async function predict(trainer: Trainer, data: Examples, batchSize: number): Promise<Int32Array> {
  const size = per(data.labelShape);
  const out = new Int32Array(data.count * size);
  for (let i = 0; i < data.count; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.count - i) }, (_, k) => i + k);
    const r = await trainer.evaluate(batchFeeds(data, idx));
    const logits = r.outputs.logits;
    const classes = logits.dims[1];
    const values = logits.data as Float32Array;
    idx.forEach((e, b) => {
      for (let p = 0; p < size; p++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (values[(b * classes + c) * size + p] > values[(b * classes + best) * size + p]) best = c;
        out[e * size + p] = best;
      }
    });
  }
  return out;
}
