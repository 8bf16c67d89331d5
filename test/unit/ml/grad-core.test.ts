import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { defineOp } from '../../../src-main/engine/ml/index';
import { gradCheck, relError } from '../../helpers/gradcheck';
import { coreCases } from './grad-cases';
import { expectGradCases } from './grad-run';

expectGradCases('core gradient rules (float64, onnxruntime CPU)', coreCases);

describe('the gradient check can fail', () => {
  it('rejects a perturbed gradient', async () => {
    const r = await gradCheck([{ name: 'a', shape: [4] }], (_g, [a]) => ml.exp(a));
    const broken = r.analytic[0].map((v) => v * 1.01);
    expect(relError(broken, r.numeric[0])).toBeGreaterThan(1e-3);
  });

  it('rejects an op registered with a wrong rule', async () => {
    // Softsign(x) = x / (1 + |x|) has derivative 1 / (1 + |x|)^2; this rule forgets the square.
    // Registered only in this test file's worker, so the real registry stays clean.
    defineOp({
      type: 'Softsign',
      infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
      grad: (ctx) => [ml.div(ctx.dy[0]!, ml.add(ml.abs(ctx.x[0]!), 1))],
    });
    const r = await gradCheck([{ name: 'a', shape: [5] }], (g, [a]) => g.op1('Softsign', [a]));
    expect(r.maxRelError).toBeGreaterThan(1e-2);
    expect(r.adjointRelError).toBeGreaterThan(1e-2);
  });
});
