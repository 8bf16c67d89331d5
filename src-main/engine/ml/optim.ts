/**
 * Optimizers as graph ops, with PyTorch's update rules (torch.optim.SGD / AdamW and
 * torch.nn.utils.clip_grad_norm_), so a train step is one ONNX graph: parameters, gradients
 * and optimizer state in, updated parameters and state out. The learning rate and the step
 * counter are graph inputs, so schedules live in TypeScript and bias correction follows the
 * counter the caller feeds.
 */
import type { Dim, Value } from './graph/graph';
import { add, div, min, mul, pow, sqrt, sub, where, equal } from './ops/elementwise';
import { reduceSum } from './ops/reduce';

/** What an optimizer update sees for one parameter. */
export interface ParamUpdate {
  /** The parameter's stable name (for per-parameter options such as no-decay sets). */
  name: string;
  param: Value;
  grad: Value;
  /** The current optimizer state tensors, one per slot, each shaped like the parameter. */
  state: readonly Value[];
}

/** Scalars shared by all parameters of one step: the learning rate and the 1-based step number. */
export interface StepScalars {
  lr: Value;
  step: Value;
}

export interface Optimizer {
  readonly kind: string;
  /** Names of the per-parameter state tensors (zero-initialised, shaped like the parameter). */
  readonly slots: readonly string[];
  /** Builds the update; `shared` is what `prepare` made once for the step. */
  prepare(scalars: StepScalars): unknown;
  update(p: ParamUpdate, shared: unknown): { param: Value; state: Value[] };
}

/**
 * The usual parameters to keep out of weight decay (timm's and most fine-tuning recipes'):
 * every vector or scalar (biases, norm scales and shifts, learnable scalars such as alpha),
 * plus by name norms, gate/router weights, position embeddings and class/register tokens.
 */
export function defaultNoDecay(name: string, shape: readonly Dim[] = [0, 0]): boolean {
  if (shape.length <= 1) return true;
  const parts = name.toLowerCase().split('.');
  const last = parts[parts.length - 1];
  if (['bias', 'alpha', 'pos_embed', 'cls_token', 'reg_token', 'register_tokens'].includes(last)) return true;
  return parts.some((p) => p.includes('norm') || /^ln(_|\d|$)/.test(p) || p.includes('gate'));
}

/** Decides weight decay per parameter, by name and shape. */
export type NoDecay = (name: string, shape: readonly Dim[]) => boolean;

export interface SgdOptions {
  momentum?: number;
  dampening?: number;
  /** L2 penalty added to the gradient (coupled, as in torch.optim.SGD). */
  weightDecay?: number;
  nesterov?: boolean;
  noDecay?: NoDecay;
}

/** torch.optim.SGD: d = g + wd p; buf = mu buf + (1 - dampening) d (buf = d on step 1); p -= lr (d + mu buf | buf). */
export function sgd(options: SgdOptions = {}): Optimizer {
  const { momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, noDecay = () => false } = options;
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
  return {
    kind: 'sgd',
    slots: momentum !== 0 ? ['momentum'] : [],
    prepare: (s) => s,
    update({ name, param, grad, state }, shared) {
      const { lr, step } = shared as StepScalars;
      let d = weightDecay !== 0 && !noDecay(name, param.shape) ? add(grad, mul(param, weightDecay)) : grad;
      if (momentum === 0) return { param: sub(param, mul(lr, d)), state: [] };
      const blended = add(mul(state[0], momentum), dampening !== 0 ? mul(d, 1 - dampening) : d);
      // PyTorch starts the buffer at d itself; with dampening 0 that equals the blend from zero.
      const buf = dampening !== 0 ? where(equal(step, 1), d, blended) : blended;
      d = nesterov ? add(d, mul(buf, momentum)) : buf;
      return { param: sub(param, mul(lr, d)), state: [buf] };
    },
  };
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (p -= lr * wd * p), as in torch.optim.AdamW (default 0.01). */
  weightDecay?: number;
  /** Parameters exempt from weight decay; default `defaultNoDecay`. */
  noDecay?: NoDecay;
}

/** torch.optim.AdamW (amsgrad off), bias correction from the fed step counter. */
export function adamw(options: AdamWOptions = {}): Optimizer {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01, noDecay = defaultNoDecay } = options;
  return {
    kind: 'adamw',
    slots: ['exp_avg', 'exp_avg_sq'],
    prepare({ lr, step }) {
      const bc1 = sub(1, pow(lr.graph.scalar(beta1, lr.dtype), step));
      const bc2 = sub(1, pow(lr.graph.scalar(beta2, lr.dtype), step));
      return { stepSize: div(lr, bc1), bc2Sqrt: sqrt(bc2), decay: sub(1, mul(lr, weightDecay)) };
    },
    update({ name, param, grad, state }, shared) {
      const { stepSize, bc2Sqrt, decay } = shared as { stepSize: Value; bc2Sqrt: Value; decay: Value };
      const p = weightDecay !== 0 && !noDecay(name, param.shape) ? mul(param, decay) : param;
      const m = add(mul(state[0], beta1), mul(grad, 1 - beta1));
      const v = add(mul(state[1], beta2), mul(mul(grad, grad), 1 - beta2));
      const denom = add(div(sqrt(v), bc2Sqrt), eps);
      return { param: sub(p, mul(stepSize, div(m, denom))), state: [m, v] };
    },
  };
}

/** Sum of squares of all elements, as a scalar. */
function sumOfSquares(x: Value): Value {
  const sq = mul(x, x);
  return x.rank === 0 ? sq : reduceSum(sq, [...x.shape.keys()], false);
}

/**
 * torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm / (norm + 1e-6)) where
 * norm is the global L2 norm. Returns the scaled gradients and the norm before clipping.
 */
export function clipGradNorm(grads: readonly Value[], maxNorm: number): { grads: Value[]; norm: Value } {
  if (!grads.length) throw new Error('clipGradNorm: no gradients');
  const norm = sqrt(grads.map(sumOfSquares).reduce((a, b) => add(a, b)));
  const coef = min(div(norm.graph.scalar(maxNorm, norm.dtype), add(norm, 1e-6)), 1);
  return { grads: grads.map((gr) => mul(gr, coef)), norm };
}
