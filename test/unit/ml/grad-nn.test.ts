import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { float32Agreement } from '../../helpers/gradcheck';
import { nnCases } from './grad-cases';
import { expectGradCases } from './grad-run';

expectGradCases('nn gradient rules (float64, onnxruntime CPU)', nnCases);

// Ops whose float32 graph differs from the float64 one that the gradient checks run.
describe('float32 forms agree with the checked float64 forms', () => {
  it('Erf: native float32 kernel vs float64 decomposition (values and GELU gradients)', async () => {
    const r = await float32Agreement([{ name: 'a', shape: [64], sample: (rand) => 8 * rand() - 4 }], (_g, [a]) => ml.gelu(a));
    expect(r.outputRelError).toBeLessThan(1e-5);
    expect(r.gradRelError).toBeLessThan(1e-5);
  });

  it('LayerNormalization: saved Mean/InvStdDev (float32) vs recomputed statistics (float64)', async () => {
    const r = await float32Agreement(
      [{ name: 'x', shape: [4, 3, 8] }, { name: 'scale', shape: [8] }, { name: 'bias', shape: [8] }],
      (_g, [x, s, b]) => ml.layerNorm(x, s, b),
    );
    expect(r.outputRelError).toBeLessThan(1e-5);
    expect(r.gradRelError).toBeLessThan(1e-4);
  });
});
