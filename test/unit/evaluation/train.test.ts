/** The protocols' fit-and-predict harness on tiny models and data. */
import { describe, expect, it } from 'vitest';
import { batchFeeds, fitAndPredict, IGNORE_LABEL, type Examples } from '../../../src-main/engine/evaluation/index';
import { defaultMamol, type ModelConfig } from '../../../src-main/engine/ml/models/index';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';
import { Rng } from '../../../src-main/engine/ml/train/rng';

/** n samples of 3 classes: modality "a" (4 bands, 2x2) carries the class, "b" is noise. */
function toy(n: number, seed: number): Examples {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const a = new Float32Array(n * 16);
  for (let i = 0; i < n; i++) for (let k = 0; k < 16; k++) a[i * 16 + k] = (k >> 2 === labels[i] ? 2 : 0) + 0.3 * rng.normal();
  return {
    inputs: {
      a: { data: a, shape: [4, 2, 2] },
      b: { data: Float32Array.from({ length: n * 4 }, () => rng.normal()), shape: [1, 2, 2] },
      available: { data: new Float32Array(n * 2).fill(1), shape: [2] },
      unused: { data: new Float32Array(n), shape: [1] },
    },
    labels,
    labelShape: [],
    count: n,
  };
}

function tinyMamol(): ModelConfig {
  const m = defaultMamol({ modalities: [{ name: 'a', bands: 4 }, { name: 'b', bands: 1 }], classes: 3, head: 'patch', size: 2, tokenPatch: 1 });
  if (m.architecture !== 'mamol') throw new Error('unreachable');
  return { architecture: 'mamol', config: { ...m.config, vit: vitConfig({ width: 16, depth: 2, heads: 2, patchSize: 1, imageSize: 2 }), embedHidden: 16, adaptedBlocks: 1 } };
}

describe('fit and predict', () => {
  it('batches inputs and int64 labels in the order of the indices', () => {
    const ex = toy(6, 1);
    const f = batchFeeds(ex, [4, 1]);
    expect(f.a.dims).toEqual([2, 4, 2, 2]);
    expect(Array.from(f.a.data as Float32Array)).toEqual([...ex.inputs.a.data.subarray(64, 80), ...ex.inputs.a.data.subarray(16, 32)]);
    expect(Array.from(f.labels.data as BigInt64Array)).toEqual([1n, 1n]);
    expect(f.labels.type).toBe('int64');
    expect(batchFeeds(ex, [0], false).labels).toBeUndefined();
  });

  it('learns a separable toy problem with a tiny MaMOL, ignoring inputs the model does not take, deterministically', async () => {
    const settings = { epochs: 12, batchSize: 16, lr: 1e-2, weightDecay: 0, warmupFraction: 0.1, seed: 3, threads: 1 };
    const train = toy(96, 1);
    train.labels[0] = IGNORE_LABEL; // skipped by the loss
    const test = toy(30, 2);
    const r = await fitAndPredict(tinyMamol(), train, test, settings);
    expect(r.predictions).toHaveLength(30);
    const accuracy = r.predictions.filter((p, i) => p === test.labels[i]).length / 30;
    expect(accuracy).toBeGreaterThan(0.9);
    expect(r.trainLoss[r.trainLoss.length - 1]).toBeLessThan(r.trainLoss[0]);
    expect(r.trainableParams).toBeGreaterThan(0);
    const again = await fitAndPredict(tinyMamol(), train, test, settings);
    expect(Array.from(again.predictions)).toEqual(Array.from(r.predictions));
  });
});
