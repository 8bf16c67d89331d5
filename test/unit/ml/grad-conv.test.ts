import { describe, expect, it } from 'vitest';
import * as ml from '../../../src-main/engine/ml/index';
import { float32Agreement, type GradInput } from '../../helpers/gradcheck';
import { convCases } from './grad-cases';
import { expectGradCases } from './grad-run';

expectGradCases('Conv gradient rules (float64 via im2col lowering, onnxruntime CPU)', convCases);

// float32 runs the native Conv/ConvTranspose kernels; float64 runs our lowerings. Agreement of
// values and of all three gradients shows the lowerings mean what onnxruntime's kernels mean.
describe('native float32 Conv/ConvTranspose agree with the float64 lowerings', () => {
  const cases: [string, GradInput[], ml.Conv2dOptions][] = [
    ['stride 2, asymmetric pads', [{ name: 'x', shape: [2, 3, 9, 8] }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }], { strides: [2, 2], pads: [1, 0, 2, 1] }],
    ['groups, dilation, stride (1, 3)', [{ name: 'x', shape: [2, 4, 8, 9] }, { name: 'w', shape: [6, 2, 2, 3] }, { name: 'b', shape: [6] }], { strides: [1, 3], dilations: [2, 1], pads: [0, 1, 1, 0], group: 2 }],
  ];
  for (const [name, inputs, options] of cases)
    it(name, async () => {
      const r = await float32Agreement(inputs, (_g, [x, w, b]) => ml.conv2d(x, w, b, options));
      expect(r.outputRelError).toBeLessThan(1e-5);
      expect(r.gradRelError).toBeLessThan(1e-5);
    });
});
