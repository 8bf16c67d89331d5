/**
 * Train-step and eval graphs from one forward-building function. The train step is a plain ONNX
 * model: trainable parameters, optimizer state, the step counter, the learning rate, the batch
 * and the gate noise go in; updated parameters, state and counter, the loss and metrics come
 * out. Every carried tensor has an input `K` and an output `next:K`, so the runtime feeds the
 * outputs of step t as the inputs of step t+1 by swapping buffers. Frozen parameters stay
 * initializers, where onnxruntime can fold them.
 */
import { Graph, type Dim, type Value } from '../graph/graph';
import { isFloat, type AnyTypedArray, type DType, type FloatDType } from '../graph/dtype';
import { gradients } from '../autodiff';
import { add } from '../ops/elementwise';
import { clipGradNorm, type Optimizer } from '../optim';

/** What the forward function may ask of the builder. */
export interface ForwardContext {
  readonly g: Graph;
  readonly mode: 'train' | 'eval';
  /**
   * Standard-normal noise of `shape` (e.g. noisy gating): in training a graph input fed each
   * step from the trainer's seeded generator; in eval `undefined` (no noise). Symbolic dims must
   * also appear in a batch input, from which they are resolved at run time.
   */
  noise(name: string, shape: readonly Dim[]): Value | undefined;
}

export interface ForwardResult {
  /** Scalar training loss. */
  loss: Value;
  /** Scalar metrics reported per step and per evaluation (e.g. correct count, labelled count). */
  metrics?: Record<string, Value>;
  /** Extra eval-graph outputs (e.g. logits); not part of the train step. */
  outputs?: Record<string, Value>;
}

/**
 * Builds the model on `ctx.g`: parameters with `g.param` (trainable or frozen), batch inputs
 * with `g.input`, noise with `ctx.noise`. It runs once per graph built, so it must be
 * deterministic (seeded initial values).
 */
export type ForwardFn = (ctx: ForwardContext) => ForwardResult;

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/** A tensor that a step reads as `input` and writes as `output`, to be fed back next step. */
export interface CarriedTensor {
  input: string;
  output: string;
  role: 'param' | 'state' | 'step';
  /** The parameter it belongs to (for params and their optimizer state). */
  param?: string;
  dtype: FloatDType;
  shape: number[];
  /** The value before the first step. */
  init: AnyTypedArray;
}

export interface TrainStepOptions {
  optimizer: Optimizer;
  /** Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_); off when undefined. */
  clipGradNorm?: number;
  /** Also output `grad:<param>` (the gradients before clipping): for checks, costs memory. */
  outputGradients?: boolean;
  graphName?: string;
  metadata?: Record<string, string>;
}

export interface TrainStepModel {
  model: Uint8Array;
  dtype: FloatDType;
  optimizer: string;
  /** Trainable parameters, then optimizer state, then the step counter. */
  carried: CarriedTensor[];
  trainable: string[];
  /** Frozen parameters and their values (initializers of the graph). */
  frozen: Map<string, { shape: number[]; data: AnyTypedArray }>;
  batchInputs: TensorSpec[];
  noiseInputs: TensorSpec[];
  /** Name of the scalar learning-rate input. */
  lrInput: string;
  /** Metric names; outputs are `metric:<name>`. */
  metrics: string[];
  /** Names of the `grad:<param>` outputs, when asked for. */
  gradientOutputs: string[];
  /** Name of the `grad_norm` output, when clipping. */
  gradNormOutput?: string;
}

export interface EvalModel {
  model: Uint8Array;
  dtype: FloatDType;
  /** Trainable parameters the eval graph takes as inputs (the trainer's current values). */
  paramInputs: string[];
  batchInputs: TensorSpec[];
  metrics: string[];
  /** Extra outputs; outputs are `output:<name>`. */
  outputs: string[];
}

export const NEXT = (input: string) => `next:${input}`;
export const STATE = (slot: string, param: string) => `${slot}:${param}`;
export const METRIC = (name: string) => `metric:${name}`;
export const GRAD = (param: string) => `grad:${param}`;
export const OUTPUT = (name: string) => `output:${name}`;
export const LOSS = 'loss';
export const STEP = 'step';
export const LR = 'lr';
const NOISE_PREFIX = 'noise:';

interface Built {
  g: Graph;
  result: ForwardResult;
  noise: Value[];
}

function runForward(forward: ForwardFn, mode: 'train' | 'eval', graphName: string): Built {
  const g = new Graph(graphName);
  const noise: Value[] = [];
  const ctx: ForwardContext = {
    g,
    mode,
    noise(name, shape) {
      if (mode === 'eval') return undefined;
      const v = g.input(`${NOISE_PREFIX}${name}`, forwardDtype(g), shape);
      noise.push(v);
      return v;
    },
  };
  const result = forward(ctx);
  if (result.loss.graph !== g) throw new Error('forward: the loss belongs to another graph');
  if (result.loss.shape.some((d) => d !== 1)) throw new Error(`forward: the loss must be a scalar, got ${result.loss}`);
  for (const [k, m] of Object.entries(result.metrics ?? {}))
    if (m.shape.some((d) => d !== 1)) throw new Error(`forward: metric ${k} must be a scalar, got ${m}`);
  return { g, result, noise };
}

/** The float dtype of the model: that of its first float parameter (float32 by default). */
function forwardDtype(g: Graph): FloatDType {
  for (const p of g.params.values()) if (isFloat(p.value.dtype)) return p.value.dtype as FloatDType;
  return 'float32';
}

function specOf(v: Value): TensorSpec {
  return { name: v.name, dtype: v.dtype, shape: [...v.shape] };
}

function staticShape(v: Value): number[] {
  return v.shape.map((d) => {
    if (typeof d !== 'number') throw new Error(`parameter ${v.name} has a symbolic shape`);
    return d;
  });
}

/** Builds the train-step ONNX model of `forward` with `options.optimizer`. */
export function buildTrainStep(forward: ForwardFn, options: TrainStepOptions): TrainStepModel {
  const { g, result, noise } = runForward(forward, 'train', options.graphName ?? 'train_step');
  const loss = result.loss;
  const dtype = loss.dtype;
  if (!isFloat(dtype)) throw new Error(`forward: the loss must be float32 or float64, got ${loss}`);

  const params = [...g.params.values()];
  const trainable = params.filter((p) => p.trainable && isFloat(p.value.dtype));
  for (const p of trainable)
    if (p.value.dtype !== dtype) throw new Error(`trainable parameter ${p.value.name} is ${p.value.dtype} but the loss is ${dtype}`);
  if (!trainable.length) throw new Error('forward: no trainable parameters');

  const raw = gradients(loss, trainable.map((p) => p.value));
  const rawGrads = trainable.map((p) => raw.get(p.value)!);
  const clipped = options.clipGradNorm !== undefined ? clipGradNorm(rawGrads, options.clipGradNorm) : undefined;
  const grads = clipped?.grads ?? rawGrads;

  const lr = g.input(LR, dtype, []);
  const step = g.input(STEP, dtype, []);
  const opt = options.optimizer;
  const shared = opt.prepare({ lr, step });

  const carried: CarriedTensor[] = [];
  const outputs: [string, Value][] = [];
  const stateInputs: Value[] = [];
  trainable.forEach((p, i) => {
    const name = p.value.name;
    const shape = staticShape(p.value);
    const state = opt.slots.map((slot) => g.input(STATE(slot, name), dtype, shape));
    stateInputs.push(...state);
    const next = opt.update({ name, param: p.value, grad: grads[i], state }, shared);
    carried.push({ input: name, output: NEXT(name), role: 'param', param: name, dtype, shape, init: p.data });
    outputs.push([NEXT(name), next.param]);
    state.forEach((s, k) => {
      carried.push({ input: s.name, output: NEXT(s.name), role: 'state', param: name, dtype, shape, init: zeros(dtype, shape) });
      outputs.push([NEXT(s.name), next.state[k]]);
    });
  });
  carried.push({ input: STEP, output: NEXT(STEP), role: 'step', dtype, shape: [], init: zeros(dtype, [], 1) });
  outputs.push([NEXT(STEP), add(step, 1)]);
  outputs.push([LOSS, loss]);
  const metrics = Object.entries(result.metrics ?? {});
  for (const [k, m] of metrics) outputs.push([METRIC(k), m]);
  const gradientOutputs = options.outputGradients ? trainable.map((p) => GRAD(p.value.name)) : [];
  if (options.outputGradients) trainable.forEach((p, i) => outputs.push([GRAD(p.value.name), rawGrads[i]]));
  if (clipped) outputs.push(['grad_norm', clipped.norm]);

  const noiseSet = new Set(noise);
  const batch = g.inputs.filter((v) => !noiseSet.has(v) && v !== lr && v !== step && !stateInputs.includes(v));
  const model = g.toModel({
    outputs,
    paramsAsInputs: new Set(trainable.map((p) => p.value.name)),
    keepInputs: [lr, step, ...stateInputs, ...trainable.map((p) => p.value), ...noise, ...batch],
    metadata: { 'fieldmoe.graph': 'train_step', 'fieldmoe.optimizer': opt.kind, ...options.metadata },
  });
  const frozen = new Map<string, { shape: number[]; data: AnyTypedArray }>();
  for (const p of params) if (!trainable.includes(p)) frozen.set(p.value.name, { shape: staticShape(p.value), data: p.data });
  return {
    model,
    dtype,
    optimizer: opt.kind,
    carried,
    trainable: trainable.map((p) => p.value.name),
    frozen,
    batchInputs: batch.map(specOf),
    noiseInputs: noise.map(specOf),
    lrInput: LR,
    metrics: metrics.map(([k]) => k),
    gradientOutputs,
    gradNormOutput: clipped ? 'grad_norm' : undefined,
  };
}

/** Builds the eval model of the same `forward`: no noise, no backward, trainable params as inputs. */
export function buildEvalModel(forward: ForwardFn, options: { graphName?: string; metadata?: Record<string, string> } = {}): EvalModel {
  const { g, result } = runForward(forward, 'eval', options.graphName ?? 'eval');
  const dtype = result.loss.dtype;
  if (!isFloat(dtype)) throw new Error(`forward: the loss must be float32 or float64, got ${result.loss}`);
  const trainable = [...g.params.values()].filter((p) => p.trainable && isFloat(p.value.dtype)).map((p) => p.value.name);
  const metrics = Object.entries(result.metrics ?? {});
  const extra = Object.entries(result.outputs ?? {});
  const outputs: [string, Value][] = [[LOSS, result.loss], ...metrics.map(([k, m]) => [METRIC(k), m] as [string, Value]), ...extra.map(([k, v]) => [OUTPUT(k), v] as [string, Value])];
  const model = g.toModel({
    outputs,
    paramsAsInputs: new Set(trainable),
    keepInputs: g.inputs,
    metadata: { 'fieldmoe.graph': 'eval', ...options.metadata },
  });
  return { model, dtype, paramInputs: trainable, batchInputs: g.inputs.map(specOf), metrics: metrics.map(([k]) => k), outputs: extra.map(([k]) => k) };
}

function zeros(dtype: FloatDType, shape: readonly number[], fill = 0): AnyTypedArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  return a.fill(fill);
}
