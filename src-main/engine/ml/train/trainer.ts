/**
 * Runs train-step and eval graphs in onnxruntime. Parameters and optimizer state live in two
 * preallocated buffer sets: step t reads set A and writes set B (preallocated outputs), then the
 * sets swap, so nothing is copied between steps and nothing is allocated per step.
 */
import * as ort from 'onnxruntime-node';
import { openSession, type OpenedSession, type Provider, type SessionOptions } from '../../runtime/session';
import { dtypeOfArray, type AnyTypedArray, type FloatDType } from '../graph/dtype';
import type { Dim } from '../graph/graph';
import { readSafetensors, writeSafetensors, expectTensor, type StoredTensor } from '../io/safetensors';
import { FieldMoeError } from '../../util/errors';
import { Rng } from './rng';
import { GRAD, LOSS, METRIC, OUTPUT, type CarriedTensor, type EvalModel, type TensorSpec, type TrainStepModel } from './step';

/** Batch tensors by input name. */
export type Feeds = Record<string, ort.Tensor>;

export interface StepResult {
  loss: number;
  metrics: Record<string, number>;
}

export interface EvalResult extends StepResult {
  /** The eval graph's extra outputs (`outputs` of the forward), by name. */
  outputs: Record<string, ort.Tensor>;
}

export interface TrainerOptions extends SessionOptions {
  /** Seeds the gate-noise generator (default 0). */
  seed?: number;
}

/** Copies of every carried tensor (parameters, optimizer state, counter), e.g. the best epoch. */
export type TrainerSnapshot = Map<string, AnyTypedArray>;

type FloatArray = Float32Array | Float64Array;

function floatArray(dtype: FloatDType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

function tensorOf(dtype: FloatDType, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor(dtype, floatArray(dtype, shape.reduce((a, b) => a * b, 1)), shape as number[]);
}

export class Trainer {
  /** Buffer set read by the next step, and the one it writes; swapped after every step. */
  private current = new Map<string, ort.Tensor>();
  private spare = new Map<string, ort.Tensor>();
  private readonly scalarOutputs: Record<string, ort.Tensor> = {};
  private readonly gradOutputs: Record<string, ort.Tensor> = {};
  private readonly lrTensor: ort.Tensor;
  private readonly noiseRng: Rng;
  private readonly noiseTensors = new Map<string, ort.Tensor>();
  private steps = 0;

  private constructor(
    readonly stepModel: TrainStepModel,
    readonly evalModel: EvalModel | undefined,
    private readonly stepSession: ort.InferenceSession,
    private readonly evalSession: ort.InferenceSession | undefined,
    /** The execution provider that runs the train step (after any fallback). */
    readonly provider: Provider,
    /** Providers tried before it that failed, with why (for the run log). */
    readonly fallbacks: OpenedSession['fallbacks'],
    seed: number,
  ) {
    const dt = stepModel.dtype;
    for (const c of stepModel.carried) {
      const a = tensorOf(dt, c.shape);
      (a.data as FloatArray).set(c.init as FloatArray);
      this.current.set(c.input, a);
      this.spare.set(c.input, tensorOf(dt, c.shape));
    }
    for (const name of [LOSS, ...stepModel.metrics.map(METRIC), ...(stepModel.gradNormOutput ? [stepModel.gradNormOutput] : [])])
      this.scalarOutputs[name] = tensorOf(dt, []);
    for (const name of stepModel.gradientOutputs) {
      const c = stepModel.carried.find((x) => GRAD(x.input) === name)!;
      this.gradOutputs[name] = tensorOf(dt, c.shape);
    }
    this.lrTensor = tensorOf(dt, []);
    this.noiseRng = new Rng(seed);
  }

  /** Opens the step (and eval) sessions on the first provider that works, with CPU fallback. */
  static async open(step: TrainStepModel, evalModel?: EvalModel, options: TrainerOptions = {}): Promise<Trainer> {
    if (evalModel && evalModel.dtype !== step.dtype) throw new Error(`eval model is ${evalModel.dtype}, train step is ${step.dtype}`);
    // Float64 steps are reference checks: keep them exact ('all' folds scales into float32).
    const sessionOptions = { graphOptimizationLevel: step.dtype === 'float64' ? ('basic' as const) : ('all' as const), ...options };
    const opened = await openSession(step.model, sessionOptions);
    const ev = evalModel ? await openSession(evalModel.model, { ...sessionOptions, providers: [opened.provider] }) : undefined;
    return new Trainer(step, evalModel, opened.session, ev?.session, opened.provider, opened.fallbacks, options.seed ?? 0);
  }

  /** Number of steps taken since open (or since the last `restore`, which restores it too). */
  get stepCount(): number {
    return this.steps;
  }

  /** One optimizer step on `batch` with learning rate `lr`. */
  async step(batch: Feeds, lr: number): Promise<StepResult> {
    checkBatch(this.stepModel.batchInputs, batch, 'train step');
    (this.lrTensor.data as FloatArray)[0] = lr;
    const feeds: Feeds = { ...batch, [this.stepModel.lrInput]: this.lrTensor };
    for (const [name, t] of this.current) feeds[name] = t;
    for (const spec of this.stepModel.noiseInputs) feeds[spec.name] = this.drawNoise(spec, batch);
    const fetches: Record<string, ort.Tensor> = { ...this.scalarOutputs, ...this.gradOutputs };
    for (const c of this.stepModel.carried) fetches[c.output] = this.spare.get(c.input)!;
    await this.stepSession.run(feeds, fetches);
    [this.current, this.spare] = [this.spare, this.current];
    this.steps++;
    return this.readScalars(this.scalarOutputs, this.stepModel.metrics);
  }

  /** Loss, metrics and outputs of the eval graph at the current parameters. */
  async evaluate(batch: Feeds): Promise<EvalResult> {
    if (!this.evalSession || !this.evalModel) throw new Error('Trainer.evaluate: opened without an eval model');
    checkBatch(this.evalModel.batchInputs, batch, 'eval');
    const feeds: Feeds = {};
    for (const name of this.evalSession.inputNames) {
      const t = batch[name] ?? this.current.get(name);
      if (!t) throw new Error(`Trainer.evaluate: no value for eval input ${name}`);
      feeds[name] = t;
    }
    const out = await this.evalSession.run(feeds);
    const scalars = this.readScalars(out, this.evalModel.metrics);
    const outputs: Record<string, ort.Tensor> = {};
    for (const k of this.evalModel.outputs) outputs[k] = out[OUTPUT(k)];
    return { ...scalars, outputs };
  }

  /** The gradients output by the last step (models built with `outputGradients`). */
  lastGradients(): Map<string, FloatArray> {
    const out = new Map<string, FloatArray>();
    for (const [name, t] of Object.entries(this.gradOutputs)) out.set(name.slice('grad:'.length), t.data as FloatArray);
    return out;
  }

  /** The current value of every trainable parameter (views of live buffers: copy to keep). */
  parameters(): Map<string, StoredTensor> {
    const out = new Map<string, StoredTensor>();
    for (const c of this.carried('param')) out.set(c.input, { dtype: c.dtype, shape: c.shape, data: this.current.get(c.input)!.data as FloatArray });
    return out;
  }

  /** Overwrites trainable parameters by name (e.g. from a checkpoint); optimizer state is kept. */
  setParameters(values: ReadonlyMap<string, StoredTensor>, source = 'parameters'): void {
    for (const c of this.carried('param')) {
      const v = values.get(c.input);
      if (!v) continue;
      if (v.dtype !== c.dtype || v.shape.length !== c.shape.length || v.shape.some((d, i) => d !== c.shape[i]))
        throw new FieldMoeError(source, `tensor ${c.input} is ${v.dtype}[${v.shape.join(',')}], the model needs ${c.dtype}[${c.shape.join(',')}]`);
      (this.current.get(c.input)!.data as FloatArray).set(v.data as FloatArray);
    }
  }

  snapshot(): TrainerSnapshot {
    const snap: TrainerSnapshot = new Map();
    for (const [name, t] of this.current) snap.set(name, (t.data as FloatArray).slice());
    snap.set('#steps', Float64Array.of(this.steps));
    return snap;
  }

  restore(snap: TrainerSnapshot): void {
    for (const [name, t] of this.current) (t.data as FloatArray).set(snap.get(name) as FloatArray);
    this.steps = (snap.get('#steps') as Float64Array)[0];
  }

  /** Writes the trainable parameters (and, if asked, the frozen ones) as safetensors, atomically. */
  async saveWeights(file: string, options: { includeFrozen?: boolean; metadata?: Record<string, string> } = {}): Promise<void> {
    const tensors = new Map(this.parameters());
    if (options.includeFrozen)
      for (const [name, f] of this.stepModel.frozen) tensors.set(name, { dtype: dtypeOfArray(f.data), shape: f.shape, data: f.data });
    await writeSafetensors(file, tensors, options.metadata);
  }

  /** Loads trainable parameters from safetensors; every trainable tensor must be present. */
  async loadWeights(file: string): Promise<void> {
    const st = await readSafetensors(file);
    const values = new Map<string, StoredTensor>();
    for (const c of this.carried('param')) values.set(c.input, expectTensor(st, file, c.input, c.dtype, c.shape));
    this.setParameters(values, file);
  }

  async release(): Promise<void> {
    await this.stepSession.release();
    await this.evalSession?.release();
  }

  private carried(role: CarriedTensor['role']): CarriedTensor[] {
    return this.stepModel.carried.filter((c) => c.role === role);
  }

  private readScalars(out: Record<string, ort.Tensor>, metrics: readonly string[]): StepResult {
    const value = (name: string) => Number((out[name].data as FloatArray)[0]);
    return { loss: value(LOSS), metrics: Object.fromEntries(metrics.map((m) => [m, value(METRIC(m))])) };
  }

  /** Fills (and reuses) the noise tensor of `spec`, resolving symbolic dims from the batch. */
  private drawNoise(spec: TensorSpec, batch: Feeds): ort.Tensor {
    const shape = resolveShape(spec.shape, this.stepModel.batchInputs, batch, spec.name);
    const key = `${spec.name}[${shape.join(',')}]`;
    let t = this.noiseTensors.get(key);
    if (!t) {
      t = tensorOf(this.stepModel.dtype, shape);
      this.noiseTensors.set(key, t);
    }
    this.noiseRng.fillNormal(t.data as FloatArray);
    return t;
  }
}

/** Batch tensors must match the graph's batch inputs in dtype and static dims (clear errors beat onnxruntime's). */
function checkBatch(specs: readonly TensorSpec[], batch: Feeds, graph: string): void {
  for (const spec of specs) {
    const t = batch[spec.name];
    if (!t) throw new Error(`${graph}: the batch has no tensor ${spec.name} (inputs: ${specs.map((s) => s.name).join(', ')})`);
    const dimsOk = t.dims.length === spec.shape.length && spec.shape.every((d, i) => typeof d !== 'number' || d === t.dims[i]);
    if (t.type !== spec.dtype || !dimsOk)
      throw new Error(`${graph}: batch tensor ${spec.name} is ${t.type}[${t.dims.join(',')}], the graph takes ${spec.dtype}[${spec.shape.join(',')}]`);
  }
}

function resolveShape(shape: readonly Dim[], batchSpecs: readonly TensorSpec[], batch: Feeds, what: string): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    for (const spec of batchSpecs) {
      const k = spec.shape.indexOf(d);
      if (k >= 0 && batch[spec.name]) return batch[spec.name].dims[k];
    }
    throw new Error(`${what}: cannot resolve symbolic dim ${d} from the batch inputs`);
  });
}
