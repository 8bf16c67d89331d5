/**
 * Whole-model parity with an independent PyTorch implementation (test/scripts/
 * models_moe_torch_bench.py, fixture by test/scripts/models_moe_fixture.py): tiny SpectralMoE
 * (k = 1 / p = 2 / cross-attention and k = 2 / p = 1 / addition) and MaMOL (patch and dense heads,
 * batch mixing missing patterns) with the same random float32 weights. The script enumerates the
 * parameter names from the config itself, so our naming is checked too.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, softmax } from '../../../src-main/engine/ml/index';
import { readSafetensors } from '../../../src-main/engine/ml/io/safetensors';
import { buildModel, modelSources, type ModelConfig } from '../../../src-main/engine/ml/models/index';
import { checkWeights } from '../../../src-main/engine/ml/models/export';
import { REPO_ROOT } from '../../helpers/paths';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/models/moe_torch.safetensors');
const CASES = ['spectralmoe_k1_p2_xattn', 'spectralmoe_k2_p1_add', 'mamol_patch', 'mamol_dense'];

describe('SpectralMoE and MaMOL match an independent PyTorch implementation (float32)', async () => {
  const file = await readSafetensors(FIXTURE);
  for (const name of CASES)
    it(name, async () => {
      const model = JSON.parse(file.metadata[name]) as ModelConfig;
      const prefix = `${name}/w/`;
      const weights = new Map([...file.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), { shape: t.shape, data: t.data as Float32Array }]));
      const g = new Graph(name);
      const { logits, inputs } = buildModel(g, model, modelSources({ dtype: 'float32', weights, source: FIXTURE }), 'float32');
      checkWeights(g, weights, FIXTURE);
      const probs = softmax(logits, 1);
      const session = await ort.InferenceSession.create(g.toModel({ outputs: [['p', probs]] }), { graphOptimizationLevel: 'all' });
      const feeds: Record<string, ort.Tensor> = {};
      for (const k of Object.keys(inputs)) {
        const t = file.tensors.get(`${name}/in/${k}`);
        if (!t) throw new Error(`${FIXTURE}: no input ${k} for ${name}`);
        feeds[k] = new ort.Tensor('float32', t.data as Float32Array, t.shape);
      }
      const got = (await session.run(feeds)).p.data as Float32Array;
      await session.release();
      const want = file.tensors.get(`${name}/probabilities`)!.data as Float32Array;
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst).toBeLessThan(2e-5);
      // the probabilities are not degenerate (the comparison can fail)
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.05);
    });
});
