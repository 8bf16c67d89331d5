import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { gradCheck, type GradInput } from '../../helpers/gradcheck';

const positive = (r: () => number) => 0.5 + 2 * r();
// Values kept away from the kinks of Abs/Relu/Max so central differences are valid.
const awayFromZero = (r: () => number) => (r() < 0.5 ? -1 : 1) * (0.2 + r());

interface Case {
  name: string;
  inputs: GradInput[];
  f: (g: ml.Graph, x: ml.Value[]) => ml.Value;
}

const cases: Case[] = [
  { name: 'Add broadcast', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [3, 1] }], f: (_g, [a, b]) => ml.add(a, b) },
  { name: 'Sub broadcast', inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [2, 3, 4] }], f: (_g, [a, b]) => ml.sub(a, b) },
  { name: 'Mul broadcast', inputs: [{ name: 'a', shape: [2, 1, 4] }, { name: 'b', shape: [3, 1] }], f: (_g, [a, b]) => ml.mul(a, b) },
  { name: 'Div broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [1, 3], sample: positive }], f: (_g, [a, b]) => ml.div(a, b) },
  { name: 'Pow both operands', inputs: [{ name: 'a', shape: [2, 3], sample: positive }, { name: 'b', shape: [3] }], f: (_g, [a, b]) => ml.pow(a, b) },
  { name: 'Pow constant exponent', inputs: [{ name: 'a', shape: [5], sample: positive }], f: (_g, [a]) => ml.pow(a, 2.5) },
  { name: 'Max broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }], f: (_g, [a, b]) => ml.max(a, b) },
  { name: 'Min broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }], f: (_g, [a, b]) => ml.min(a, b) },
  { name: 'Neg', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.neg(a) },
  { name: 'Exp', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.exp(a) },
  { name: 'Log', inputs: [{ name: 'a', shape: [3, 2], sample: positive }], f: (_g, [a]) => ml.log(a) },
  { name: 'Sqrt', inputs: [{ name: 'a', shape: [3, 2], sample: positive }], f: (_g, [a]) => ml.sqrt(a) },
  { name: 'Reciprocal', inputs: [{ name: 'a', shape: [4], sample: positive }], f: (_g, [a]) => ml.reciprocal(a) },
  { name: 'Abs', inputs: [{ name: 'a', shape: [3, 2], sample: awayFromZero }], f: (_g, [a]) => ml.abs(a) },
  { name: 'Tanh', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.tanh(a) },
  { name: 'Sigmoid', inputs: [{ name: 'a', shape: [3, 2] }], f: (_g, [a]) => ml.sigmoid(a) },
  { name: 'Relu', inputs: [{ name: 'a', shape: [3, 2], sample: awayFromZero }], f: (_g, [a]) => ml.relu(a) },
  {
    name: 'Where broadcast',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }, { name: 'c', shape: [2, 3] }],
    f: (_g, [a, b, c]) => ml.where(ml.greater(c, 0), a, b),
  },
  { name: 'MatMul 2D', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'MatMul batch broadcast', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 5] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'MatMul batch both', inputs: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 4, 2] }], f: (_g, [a, b]) => ml.matmul(a, b) },
  { name: 'ReduceSum keepdims', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceSum(a, [1], true) },
  { name: 'ReduceSum drop', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceSum(a, [0, 2], false) },
  { name: 'ReduceMean', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceMean(a, [-1], false) },
  { name: 'ReduceMax', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.reduceMax(a, [1], false) },
  { name: 'Reshape', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.mul(ml.reshape(a, [6, -1]), ml.reshape(a, [6, 4])) },
  { name: 'Transpose', inputs: [{ name: 'a', shape: [2, 3, 4] }], f: (_g, [a]) => ml.transpose(a, [2, 0, 1]) },
  { name: 'Expand', inputs: [{ name: 'a', shape: [3, 1] }], f: (_g, [a]) => ml.expand(a, [2, 3, 4]) },
  { name: 'Unsqueeze/Squeeze', inputs: [{ name: 'a', shape: [3, 4] }], f: (_g, [a]) => ml.squeeze(ml.mul(ml.unsqueeze(a, [0]), ml.unsqueeze(a, [0])), [0]) },
  { name: 'shared input on two paths', inputs: [{ name: 'a', shape: [3, 3] }], f: (_g, [a]) => ml.matmul(a, ml.tanh(a)) },
];

describe('gradient rules (float64, onnxruntime CPU)', () => {
  for (const c of cases)
    it(c.name, async () => {
      const r = await gradCheck(c.inputs, c.f);
      expect(r.maxRelError).toBeLessThan(1e-6);
      expect(r.adjointRelError).toBeLessThan(1e-6);
    });

  it('detects a wrong rule (the check can fail)', async () => {
    // Exp with a deliberately wrong derivative would pass if the harness compared nothing.
    const r = await gradCheck([{ name: 'a', shape: [4] }], (_g, [a]) => ml.exp(a));
    const broken = r.analytic[0].map((v) => v * 1.01);
    const { relError } = await import('../../helpers/gradcheck');
    expect(relError(broken, r.numeric[0])).toBeGreaterThan(1e-3);
  });
});
