/**
 * Element-wise ops with their gradient rules. Binary rules reduce their gradients with
 * `sumToShape`, which is how every rule here handles broadcasting.
 */
import { attr, type Value } from '../graph/graph';
import { defineOp, type GradContext, type OpDef, type ValueType } from '../graph/registry';
import { broadcastShapes, sumToShape } from '../graph/shape';
import type { DType } from '../graph/dtype';

export type Operand = Value | number;

/** Turns a JS number into a scalar constant of `like`'s dtype. */
export function lift(x: Operand, like: Value): Value {
  return typeof x === 'number' ? like.graph.scalar(x, like.dtype) : x;
}

function binaryInfer(inputs: readonly (Value | undefined)[]): ValueType[] {
  const [a, b] = inputs as Value[];
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a} vs ${b}`);
  return [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }];
}

function sameAsInput(inputs: readonly (Value | undefined)[]): ValueType[] {
  return [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }];
}

function binary(type: string, a: Operand, b: Operand): Value {
  const [x, y] = typeof a === 'number' ? [lift(a, b as Value), b as Value] : [a, lift(b, a)];
  return x.graph.op1(type, [x, y]);
}

function unary(type: string, x: Value): Value {
  return x.graph.op1(type, [x]);
}

/** Gradient pair for a binary op: each partial is reduced to its operand's shape. */
function binaryGrads(ctx: GradContext, da: () => Value, db: () => Value): (Value | undefined)[] {
  const [a, b] = ctx.x as Value[];
  return [ctx.needs(0) ? sumToShape(ctx.g, da(), a.shape) : undefined, ctx.needs(1) ? sumToShape(ctx.g, db(), b.shape) : undefined];
}

// ---- binary arithmetic -------------------------------------------------------------------------

export const add = (a: Operand, b: Operand) => binary('Add', a, b);
defineOp({
  type: 'Add',
  infer: binaryInfer,
  grad: (ctx) => binaryGrads(ctx, () => ctx.dy[0]!, () => ctx.dy[0]!),
});

export const sub = (a: Operand, b: Operand) => binary('Sub', a, b);
defineOp({
  type: 'Sub',
  infer: binaryInfer,
  grad: (ctx) => binaryGrads(ctx, () => ctx.dy[0]!, () => neg(ctx.dy[0]!)),
});

export const mul = (a: Operand, b: Operand) => binary('Mul', a, b);
defineOp({
  type: 'Mul',
  infer: binaryInfer,
  grad: (ctx) => {
    const [a, b] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    return binaryGrads(ctx, () => mul(dy, b), () => mul(dy, a));
  },
});

export const div = (a: Operand, b: Operand) => binary('Div', a, b);
defineOp({
  type: 'Div',
  infer: binaryInfer,
  grad: (ctx) => {
    const [, b] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    // d(a/b)/db = -a/b^2 = -y/b
    return binaryGrads(ctx, () => div(dy, b), () => neg(div(mul(dy, ctx.y[0]), b)));
  },
});

export const pow = (a: Operand, b: Operand) => binary('Pow', a, b);
defineOp({
  type: 'Pow',
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape) }],
  grad: (ctx) => {
    const [a, b] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (only asked for when b is trained)
    return binaryGrads(ctx, () => mul(dy, mul(b, pow(a, sub(b, 1)))), () => mul(dy, mul(ctx.y[0], log(a))));
  },
});

export const max = (a: Operand, b: Operand) => binary('Max', a, b);
export const min = (a: Operand, b: Operand) => binary('Min', a, b);
for (const type of ['Max', 'Min'] as const)
  defineOp({
    type,
    infer: binaryInfer,
    grad: (ctx) => {
      // The gradient goes to the selected operand; ties send it to the first one.
      const [a, b] = ctx.x as Value[];
      const dy = ctx.dy[0]!;
      const firstWins = ctx.g.op1(type === 'Max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, b]);
      const zero = ctx.g.scalar(0, dy.dtype);
      return binaryGrads(
        ctx,
        () => where(firstWins, dy, zero),
        () => where(firstWins, zero, dy),
      );
    },
  });

// ---- comparisons and selection (no gradient to the condition) --------------------------------

for (const type of ['Greater', 'Less', 'Equal', 'GreaterOrEqual', 'LessOrEqual'])
  defineOp({ type, infer: (inputs) => [{ dtype: 'bool', shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape) }] });
for (const type of ['And', 'Or'])
  defineOp({ type, infer: (inputs) => [{ dtype: 'bool', shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape) }] });
defineOp({ type: 'Not', infer: sameAsInput });

export const greater = (a: Operand, b: Operand) => binary('Greater', a, b);
export const less = (a: Operand, b: Operand) => binary('Less', a, b);
export const equal = (a: Operand, b: Operand) => binary('Equal', a, b);

export function where(cond: Value, a: Operand, b: Operand): Value {
  const like = typeof a === 'number' ? (b as Value) : a;
  return cond.graph.op1('Where', [cond, lift(a, like), lift(b, like)]);
}
defineOp({
  type: 'Where',
  infer: (inputs) => [{ dtype: inputs[1]!.dtype, shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape, inputs[2]!.shape) }],
  grad: (ctx) => {
    const [cond, a, b] = ctx.x as Value[];
    const dy = ctx.dy[0]!;
    const zero = ctx.g.scalar(0, dy.dtype);
    return [
      undefined,
      ctx.needs(1) ? sumToShape(ctx.g, where(cond, dy, zero), a.shape) : undefined,
      ctx.needs(2) ? sumToShape(ctx.g, where(cond, zero, dy), b.shape) : undefined,
    ];
  },
});

// ---- unary -------------------------------------------------------------------------------------

/** Defines a unary op whose derivative is an expression of x, y and dy. */
function unaryOp(type: string, rule?: (x: Value, y: Value, dy: Value) => Value, extra: Partial<OpDef> = {}): void {
  defineOp({
    type,
    infer: sameAsInput,
    grad: rule && ((ctx) => [rule(ctx.x[0]!, ctx.y[0], ctx.dy[0]!)]),
    ...extra,
  });
}

export const neg = (x: Value) => unary('Neg', x);
unaryOp('Neg', (_x, _y, dy) => neg(dy));

export const exp = (x: Value) => unary('Exp', x);
unaryOp('Exp', (_x, y, dy) => mul(dy, y));

export const log = (x: Value) => unary('Log', x);
unaryOp('Log', (x, _y, dy) => div(dy, x));

export const sqrt = (x: Value) => unary('Sqrt', x);
unaryOp('Sqrt', (_x, y, dy) => div(mul(dy, 0.5), y));

export const reciprocal = (x: Value) => unary('Reciprocal', x);
unaryOp('Reciprocal', (_x, y, dy) => neg(mul(dy, mul(y, y))));

export const abs = (x: Value) => unary('Abs', x);
unaryOp('Abs', (x, _y, dy) => mul(dy, sign(x)));

export const sign = (x: Value) => unary('Sign', x);
unaryOp('Sign', (_x, _y, dy) => mul(dy, 0)); // zero almost everywhere

export const tanh = (x: Value) => unary('Tanh', x);
unaryOp('Tanh', (_x, y, dy) => mul(dy, sub(1, mul(y, y))));

export const sigmoid = (x: Value) => unary('Sigmoid', x);
unaryOp('Sigmoid', (_x, y, dy) => mul(dy, mul(y, sub(1, y))));

export const relu = (x: Value) => unary('Relu', x);
unaryOp('Relu', (x, _y, dy) => where(greater(x, 0), dy, 0));

export const erf = (x: Value) => unary('Erf', x);
unaryOp('Erf', (x, _y, dy) => mul(dy, mul(2 / Math.sqrt(Math.PI), exp(neg(mul(x, x))))), {
  lowerFloat64: (_g, node) => [erfFloat64(node.inputs[0]!)],
});

/**
 * erf to double precision (max relative error 4.5e-16 against scipy) from ops that have float64
 * kernels, because onnxruntime's CPU provider has Erf for float32 only. Used for float64
 * graphs (gradient checks) only. |x| < 2.5: erf(x) = 2/sqrt(pi) e^(-x^2) x sum_n 2^n x^(2n) /
 * (2n+1)!!, whose terms are all positive (no cancellation); otherwise the continued fraction
 * erfc(x) = e^(-x^2) / (sqrt(pi) (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))).
 */
function erfFloat64(x: Value): Value {
  const a = abs(min(max(x, -6), 6)); // erf(6) rounds to 1 in double
  const t = mul(a, a);
  const terms = 60;
  const c = [1];
  for (let n = 1; n <= terms; n++) c.push((c[n - 1] * 2) / (2 * n + 1));
  let p = add(mul(t, c[terms]), c[terms - 1]);
  for (let n = terms - 2; n >= 0; n--) p = add(mul(p, t), c[n]);
  const series = mul(mul(a, p), mul(exp(neg(t)), 2 / Math.sqrt(Math.PI)));
  let f = a;
  for (let k = 60; k >= 1; k--) f = add(a, div(k / 2, f));
  const fraction = sub(1, div(exp(neg(t)), mul(f, Math.sqrt(Math.PI))));
  return mul(sign(x), where(less(a, 2.5), series, fraction));
}

export const softplus = (x: Value) => unary('Softplus', x);
unaryOp('Softplus', (x, _y, dy) => mul(dy, sigmoid(x)));

export const identity = (x: Value) => unary('Identity', x);
unaryOp('Identity', (_x, _y, dy) => dy);

// ---- cast ----------------------------------------------------------------------------------------

const CAST_CODES: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float64: 11 };

export function cast(x: Value, to: DType): Value {
  return x.dtype === to ? x : x.graph.op1('Cast', [x], { to: attr.i(CAST_CODES[to]) });
}
defineOp({
  type: 'Cast',
  infer: (inputs, node) => {
    const code = node.attr<number>('to');
    const dtype = (Object.keys(CAST_CODES) as DType[]).find((k) => CAST_CODES[k] === code)!;
    return [{ dtype, shape: inputs[0]!.shape }];
  },
  grad: (ctx) => {
    const x = ctx.x[0]!;
    const float = x.dtype === 'float32' || x.dtype === 'float64';
    return [float ? cast(ctx.dy[0]!, x.dtype) : undefined];
  },
});
