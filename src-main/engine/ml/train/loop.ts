/**
 * The training loop in TypeScript: seeded shuffling into batches, epochs, the learning-rate
 * schedule, validation with early stopping (and restoring the best weights), progress events
 * with an ETA, and cancellation between steps. Graph execution is the Trainer's business.
 */
import { ProgressMeter, throwIfCancelled, type JobContext, type Progress } from '../../jobs/job';
import { FieldMoeError } from '../../util/errors';
import { Rng } from './rng';
import { constantLr, type LrSchedule } from './schedule';
import type { StoredTensor } from '../io/safetensors';
import type { EvalResult, Feeds, Trainer, TrainerSnapshot } from './trainer';

/** Examples addressable by index; a batch is the tensors for a list of indices. */
export interface Dataset {
  readonly size: number;
  /** Tensors named like the graph's batch inputs, for these examples in this order. */
  batch(indices: readonly number[]): Feeds | Promise<Feeds>;
}

export interface EarlyStopping {
  /** Epochs without a validation-loss improvement before stopping. */
  patience: number;
  /** Smallest decrease that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the weights of the best epoch at the end (default true). */
  restoreBest?: boolean;
  /**
   * Score the weights before the first step too, as epoch 0: when no epoch's validation loss
   * beats them, training leaves them as they were (default false).
   */
  includeStart?: boolean;
  /**
   * With `includeStart`: whether an epoch's per-sample validation losses (TrainLoopOptions.
   * sampleLosses) may replace the start's. An epoch must pass it to be kept; among those that
   * do, the lowest validation loss wins. Patience still counts epochs without a new lowest
   * loss. Default: any lower loss passes.
   */
  beatsStart?: (epoch: readonly number[], start: readonly number[]) => boolean;
}

export interface TrainLoopOptions {
  epochs: number;
  batchSize: number;
  /** A fixed learning rate or a schedule over the global step index. */
  lr: number | LrSchedule;
  /** Seeds the batch order (the trainer's own seed drives gate noise). Default 0. */
  seed?: number;
  shuffle?: boolean;
  /** Drop the last incomplete batch so every step has the same shapes (default true). */
  dropLast?: boolean;
  validation?: Dataset;
  validationBatchSize?: number;
  earlyStopping?: EarlyStopping;
  /** Average the trainable parameters over the steps (see WeightAveraging). */
  averaging?: WeightAveraging;
  /**
   * Each sample's loss in a validation batch (`indices` of the validation set), for paired
   * comparisons with the start (EarlyStopping.beatsStart).
   */
  sampleLosses?: (result: EvalResult, indices: readonly number[], batch: Feeds) => number[];
}

/**
 * An exponential moving average of the trainable parameters, updated after every step:
 * validation (and so early stopping) scores the averaged weights, and they are the result (the
 * best epoch's average when early stopping restores the best). Training itself goes on from
 * the live weights. The average is bias-corrected, as Adam's moments: after step t it is
 * sum_i decay^(t-i) w_i / sum_i decay^(t-i) over the weights w_1..w_t after each step, so the
 * initial weights carry no weight and the first steps are not pulled towards them.
 * Fine-tuning uses it on elevation-only scenes (finetune/fit.ts averagingFor).
 */
export interface WeightAveraging {
  /** Per-step decay in [0, 1): 0 keeps the live weights; 0.9 averages over about 10 steps. */
  decay: number;
  /**
   * Steps before averaging starts (default 0), e.g. a learning-rate warm-up: until then the
   * average is the live weights; after it, it averages the weights after steps start+1..t.
   */
  start?: number;
}

export interface Evaluation {
  /** Mean of the batch losses weighted by batch size. */
  loss: number;
  /** Sums over batches (metrics are counts such as correct/labelled). */
  metrics: Record<string, number>;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  trainMetrics: Record<string, number>;
  val?: Evaluation;
  lr: number;
}

/** Progress with the training specifics; `onProgress` receives these. */
export interface TrainProgress extends Progress {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  /** Training loss (none on the start's validation, epoch 0, before any step). */
  loss?: number;
  lr: number;
  val?: Evaluation;
}

export interface TrainReport {
  history: EpochRecord[];
  steps: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  bestValLoss?: number;
  /** Its per-sample validation losses (TrainLoopOptions.sampleLosses; empty without). */
  bestValSamples?: number[];
  restoredBest: boolean;
}

export class TrainLoop {
  private readonly schedule: LrSchedule;

  constructor(
    readonly trainer: Trainer,
    readonly data: Dataset,
    readonly options: TrainLoopOptions,
  ) {
    if (options.earlyStopping && !options.validation) throw new Error('TrainLoop: early stopping needs a validation set');
    if (options.earlyStopping?.beatsStart && !options.sampleLosses) throw new Error('TrainLoop: beatsStart compares per-sample losses: give sampleLosses');
    if (options.batchSize < 1 || options.epochs < 1) throw new Error('TrainLoop: batchSize and epochs must be at least 1');
    this.schedule = typeof options.lr === 'number' ? constantLr(options.lr) : options.lr;
    const decay = options.averaging?.decay;
    if (decay !== undefined && !(decay >= 0 && decay < 1)) throw new Error(`TrainLoop: averaging decay must be in [0, 1), not ${decay}`);
  }

  /** Batches of indices for one epoch, shuffled by `rng`. */
  private epochBatches(rng: Rng): number[][] {
    const { batchSize, shuffle = true, dropLast = true } = this.options;
    const order = shuffle ? rng.permutation(this.data.size) : [...Array(this.data.size).keys()];
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) {
      const b = order.slice(i, i + batchSize);
      if (b.length === batchSize || !dropLast) batches.push(b);
    }
    return batches;
  }

  /** `start`: the validation evaluation of the weights as they are now, when the caller already has it (includeStart then reuses it). */
  async run(job: JobContext = {}, start?: Evaluation & { samples: number[] }): Promise<TrainReport> {
    const { epochs, earlyStopping } = this.options;
    const rng = new Rng(this.options.seed ?? 0);
    const perEpoch = this.epochBatches(new Rng(0)).length;
    if (!perEpoch) throw new Error(`TrainLoop: ${this.data.size} examples make no batch of ${this.options.batchSize}`);
    const totalSteps = perEpoch * epochs;
    const report: TrainReport = { history: [], steps: 0, stoppedEarly: false, restoredBest: false };
    let best: { loss: number; samples: number[]; epoch: number; snapshot: TrainerSnapshot } | undefined;
    let sinceLowest = 0;
    let current = { epoch: 0, loss: NaN, lr: 0, val: undefined as Evaluation | undefined };
    const average = this.options.averaging ? new ParameterAverage(this.trainer, this.options.averaging.decay, this.options.averaging.start ?? 0) : undefined;
    const emit = (p: TrainProgress) => job.onProgress?.(p);
    const meter = new ProgressMeter('train', totalSteps, (p) =>
      emit({ ...p, epoch: current.epoch, epochs, step: report.steps, totalSteps, loss: current.loss, lr: current.lr, val: current.val }),
    );

    let startSamples: number[] | undefined;
    if (earlyStopping?.includeStart && this.options.validation) {
      const atStart = start ?? (await this.evaluateSamples(this.options.validation, job));
      startSamples = atStart.samples;
      best = { loss: atStart.loss, samples: atStart.samples, epoch: 0, snapshot: this.trainer.snapshot() };
      // the start is a candidate that early stopping may keep: show its score like an epoch's
      const val = { loss: atStart.loss, metrics: atStart.metrics };
      emit({ stage: 'validate', fraction: 0, message: `epoch 0/${epochs} (the start) val loss ${atStart.loss.toPrecision(4)}`, epoch: 0, epochs, step: 0, totalSteps, lr: 0, val });
    }
    let lowest = best?.loss ?? Infinity;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let lossSum = 0;
      const metricSums: Record<string, number> = {};
      const batches = this.epochBatches(rng);
      for (const indices of batches) {
        throwIfCancelled(job.signal);
        const lr = this.schedule(report.steps);
        const r = await this.trainer.step(await this.data.batch(indices), lr);
        report.steps++;
        if (!Number.isFinite(r.loss))
          throw new FieldMoeError('training', `the loss became ${r.loss} at epoch ${epoch}, step ${report.steps}; lower the learning rate or check the inputs for NaN`);
        average?.update();
        lossSum += r.loss;
        for (const [k, v] of Object.entries(r.metrics)) metricSums[k] = (metricSums[k] ?? 0) + v;
        current = { epoch, loss: r.loss, lr, val: undefined };
        meter.update(report.steps, `epoch ${epoch}/${epochs} step ${report.steps}/${totalSteps} loss ${r.loss.toPrecision(4)}`);
      }
      const record: EpochRecord = { epoch, trainLoss: lossSum / batches.length, trainMetrics: metricSums, lr: current.lr };
      // With averaging, the averaged weights are in place from here to the early-stopping snapshot.
      const live = average?.install();
      let samples: number[] = [];
      if (this.options.validation) {
        const scored = await this.evaluateSamples(this.options.validation, job);
        samples = scored.samples;
        record.val = { loss: scored.loss, metrics: scored.metrics };
        current = { ...current, val: record.val };
        emit({
          stage: 'validate',
          fraction: report.steps / totalSteps,
          message: `epoch ${epoch}/${epochs} train loss ${record.trainLoss.toPrecision(4)} val loss ${record.val.loss.toPrecision(4)}`,
          epoch,
          epochs,
          step: report.steps,
          totalSteps,
          loss: record.trainLoss,
          lr: current.lr,
          val: record.val,
        });
      }
      report.history.push(record);
      let stop = false;
      if (earlyStopping && record.val) {
        const minDelta = earlyStopping.minDelta ?? 0;
        const eligible = !startSamples || !earlyStopping.beatsStart || earlyStopping.beatsStart(samples, startSamples);
        if (eligible && (!best || record.val.loss < best.loss - minDelta)) best = { loss: record.val.loss, samples, epoch, snapshot: this.trainer.snapshot() };
        if (record.val.loss < lowest - minDelta) {
          lowest = record.val.loss;
          sinceLowest = 0;
        } else if (++sinceLowest >= earlyStopping.patience) {
          report.stoppedEarly = epoch < epochs;
          stop = true;
        }
      }
      // Training goes on from the live weights; after the last epoch the averaged ones stay.
      if (live && !stop && epoch < epochs) this.trainer.setParameters(live);
      if (stop) break;
    }
    if (best) {
      report.bestEpoch = best.epoch;
      report.bestValLoss = best.loss;
      report.bestValSamples = best.samples;
      if (earlyStopping?.restoreBest ?? true) {
        this.trainer.restore(best.snapshot);
        report.restoredBest = true;
      }
    }
    return report;
  }

  /** Loss and summed metrics of the eval graph over `data`, in order, in batches (at the trainer's current weights). */
  async evaluate(data: Dataset, job: JobContext = {}): Promise<Evaluation> {
    const { loss, metrics } = await this.evaluateSamples(data, job);
    return { loss, metrics };
  }

  /** evaluate(), with the per-sample losses of TrainLoopOptions.sampleLosses (empty without). */
  async evaluateSamples(data: Dataset, job: JobContext = {}): Promise<Evaluation & { samples: number[] }> {
    const size = this.options.validationBatchSize ?? this.options.batchSize;
    const { sampleLosses } = this.options;
    let lossSum = 0;
    const metrics: Record<string, number> = {};
    const samples: number[] = [];
    for (let i = 0; i < data.size; i += size) {
      throwIfCancelled(job.signal);
      const indices = Array.from({ length: Math.min(size, data.size - i) }, (_, k) => i + k);
      const batch = await data.batch(indices);
      const r = await this.trainer.evaluate(batch);
      lossSum += r.loss * indices.length;
      for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
      if (sampleLosses) samples.push(...sampleLosses(r, indices, batch));
    }
    return { loss: lossSum / data.size, metrics, samples };
  }
}

/** The bias-corrected exponential moving average of a trainer's trainable parameters (WeightAveraging). */
class ParameterAverage {
  private readonly avg = new Map<string, Float64Array>();
  private steps = 0;
  private wait: number;

  constructor(
    private readonly trainer: Trainer,
    private readonly decay: number,
    start: number,
  ) {
    for (const [name, p] of trainer.parameters()) this.avg.set(name, new Float64Array(p.data.length));
    this.wait = start;
  }

  /** Folds in the trainer's current parameters (call after each step). */
  update(): void {
    // Before the start, keep restarting from the live weights.
    if (this.wait-- >= 0) this.steps = 0;
    this.steps++;
    // Weight of the old average so that it stays the normalised sum of decay^(t-i) w_i.
    const d = this.decay;
    const keep = d === 0 ? 0 : (d * (1 - d ** (this.steps - 1))) / (1 - d ** this.steps);
    for (const [name, p] of this.trainer.parameters()) {
      const a = this.avg.get(name)!;
      const w = p.data as Float32Array | Float64Array;
      for (let i = 0; i < a.length; i++) a[i] = keep * a[i] + (1 - keep) * w[i];
    }
  }

  /** Puts the averaged parameters in the trainer, returning copies of the live ones it replaced. */
  install(): Map<string, StoredTensor> {
    const live = new Map<string, StoredTensor>();
    const averaged = new Map<string, StoredTensor>();
    for (const [name, p] of this.trainer.parameters()) {
      live.set(name, { ...p, data: p.data.slice() });
      const data = p.dtype === 'float64' ? Float64Array.from(this.avg.get(name)!) : Float32Array.from(this.avg.get(name)!);
      averaged.set(name, { ...p, data });
    }
    if (this.steps) this.trainer.setParameters(averaged);
    return live;
  }
}
