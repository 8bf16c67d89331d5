/**
 * The training loop in TypeScript: seeded shuffling into batches, epochs, the learning-rate
 * schedule, validation with early stopping (and restoring the best weights), progress events
 * with an ETA, and cancellation between steps. Graph execution is the Trainer's business.
 */
import { ProgressMeter, throwIfCancelled, type JobContext, type Progress } from '../../jobs/job';
import { FieldMoeError } from '../../util/errors';
import { Rng } from './rng';
import { constantLr, type LrSchedule } from './schedule';
import type { Feeds, Trainer, TrainerSnapshot } from './trainer';

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
  loss: number;
  lr: number;
  val?: Evaluation;
}

export interface TrainReport {
  history: EpochRecord[];
  steps: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  bestValLoss?: number;
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
    if (options.batchSize < 1 || options.epochs < 1) throw new Error('TrainLoop: batchSize and epochs must be at least 1');
    this.schedule = typeof options.lr === 'number' ? constantLr(options.lr) : options.lr;
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

  async run(job: JobContext = {}): Promise<TrainReport> {
    const { epochs, earlyStopping } = this.options;
    const rng = new Rng(this.options.seed ?? 0);
    const perEpoch = this.epochBatches(new Rng(0)).length;
    if (!perEpoch) throw new Error(`TrainLoop: ${this.data.size} examples make no batch of ${this.options.batchSize}`);
    const totalSteps = perEpoch * epochs;
    const report: TrainReport = { history: [], steps: 0, stoppedEarly: false, restoredBest: false };
    let best: { loss: number; epoch: number; snapshot: TrainerSnapshot } | undefined;
    let sinceBest = 0;
    let current = { epoch: 0, loss: NaN, lr: 0, val: undefined as Evaluation | undefined };
    const emit = (p: TrainProgress) => job.onProgress?.(p);
    const meter = new ProgressMeter('train', totalSteps, (p) =>
      emit({ ...p, epoch: current.epoch, epochs, step: report.steps, totalSteps, loss: current.loss, lr: current.lr, val: current.val }),
    );

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
        lossSum += r.loss;
        for (const [k, v] of Object.entries(r.metrics)) metricSums[k] = (metricSums[k] ?? 0) + v;
        current = { epoch, loss: r.loss, lr, val: undefined };
        meter.update(report.steps, `epoch ${epoch}/${epochs} step ${report.steps}/${totalSteps} loss ${r.loss.toPrecision(4)}`);
      }
      const record: EpochRecord = { epoch, trainLoss: lossSum / batches.length, trainMetrics: metricSums, lr: current.lr };
      if (this.options.validation) {
        record.val = await this.evaluate(this.options.validation, job);
        current = { ...current, val: record.val };
        emit({
          stage: 'validate',
          fraction: report.steps / totalSteps,
          message: `epoch ${epoch}/${epochs} val loss ${record.val.loss.toPrecision(4)}`,
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
      if (earlyStopping && record.val) {
        if (!best || record.val.loss < best.loss - (earlyStopping.minDelta ?? 0)) {
          best = { loss: record.val.loss, epoch, snapshot: this.trainer.snapshot() };
          sinceBest = 0;
        } else if (++sinceBest >= earlyStopping.patience) {
          report.stoppedEarly = epoch < epochs;
          break;
        }
      }
    }
    if (best) {
      report.bestEpoch = best.epoch;
      report.bestValLoss = best.loss;
      if (earlyStopping?.restoreBest ?? true) {
        this.trainer.restore(best.snapshot);
        report.restoredBest = true;
      }
    }
    return report;
  }

  /** Loss and summed metrics of the eval graph over `data`, in order, in batches. */
  async evaluate(data: Dataset, job: JobContext = {}): Promise<Evaluation> {
    const size = this.options.validationBatchSize ?? this.options.batchSize;
    let lossSum = 0;
    const metrics: Record<string, number> = {};
    for (let i = 0; i < data.size; i += size) {
      throwIfCancelled(job.signal);
      const indices = Array.from({ length: Math.min(size, data.size - i) }, (_, k) => i + k);
      const r = await this.trainer.evaluate(await data.batch(indices));
      lossSum += r.loss * indices.length;
      for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
    }
    return { loss: lossSum / data.size, metrics };
  }
}
