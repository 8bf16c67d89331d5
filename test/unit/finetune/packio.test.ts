/**
 * Which base weights a fine-tuned model takes (finetune/packio.ts compatibleWeights): those of the
 * same name and shape, and a new class head's parameters at zero whatever the base holds.
 */
import { describe, expect, it } from 'vitest';
import { compatibleWeights, parameterShapes, validationMetrics } from '../../../src-main/engine/finetune/packio';
import type { FitResult } from '../../../src-main/engine/finetune/fit';
import { MAMOL_PAPER_EXPERTS, type ModelConfig } from '../../../src-main/engine/ml/models/index';
import { vitConfig } from '../../../src-main/engine/ml/models/vit';

const mamol = (classes: number): ModelConfig => ({
  architecture: 'mamol',
  config: { vit: vitConfig({ width: 8, depth: 2, heads: 2, patchSize: 2, imageSize: 8 }), modalities: [{ name: 'optical', bands: 4 }, { name: 'sar', bands: 2 }], size: 8, tokenPatch: 2, embedHidden: 8, experts: MAMOL_PAPER_EXPERTS, adaptedBlocks: 1, head: 'dense', classes },
});

/** Every parameter of `model`, filled with ones (so that zeros can only come from compatibleWeights). */
const onesFor = (model: ModelConfig) => new Map([...parameterShapes(model)].map(([name, shape]) => [name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1) }]));

describe('compatibleWeights', () => {
  it('takes the base weights of the same name and shape, and drops the others', () => {
    const base = onesFor(mamol(7));
    base.set('not.a.parameter', { shape: [2], data: new Float32Array(2) });
    const taken = compatibleWeights(mamol(3), base);
    // the head's classifier has 7 classes in the base and 3 in the model
    expect(taken.has('head.classifier.weight')).toBe(false);
    expect(taken.has('not.a.parameter')).toBe(false);
    const shapes = parameterShapes(mamol(3));
    expect(taken.size).toBeGreaterThan(0);
    for (const [name, w] of taken) expect(w.shape).toEqual(shapes.get(name));
    expect(taken.size).toBe([...shapes.keys()].filter((n) => !n.startsWith('head.classifier.')).length);
  });

  it('starts the parameters it is told are fresh (a new head) at zero, in the model\'s shapes', () => {
    const taken = compatibleWeights(mamol(3), onesFor(mamol(3)), (name) => name.startsWith('head.classifier.'));
    const shapes = parameterShapes(mamol(3));
    const fresh = [...taken].filter(([name]) => name.startsWith('head.classifier.'));
    expect(fresh.map(([name]) => name).sort()).toEqual(['head.classifier.bias', 'head.classifier.weight']);
    for (const [name, w] of fresh) {
      expect(w.shape).toEqual(shapes.get(name));
      expect(Array.from(w.data).every((v) => v === 0)).toBe(true);
    }
    // the rest as the base has them
    expect(Array.from(taken.get('head.classifier.weight')!.data)).toHaveLength(shapes.get('head.classifier.weight')!.reduce((a, b) => a * b, 1));
    expect([...taken].filter(([name]) => !name.startsWith('head.classifier.')).every(([, w]) => Array.from(w.data).every((v) => v === 1))).toBe(true);
  });
});

describe('validationMetrics', () => {
  const epoch = (n: number, loss: number) => ({ epoch: n, trainLoss: 1, trainMetrics: {}, lr: 1e-3, val: { loss, metrics: {} } });
  const result = (extra: Partial<FitResult>) => ({ history: [epoch(1, 0.5), epoch(2, 0.4), epoch(3, 0.6)], ...extra }) as FitResult;

  it("reports the kept epoch's validation loss, the start's when early stopping kept it", () => {
    expect(validationMetrics(result({ bestEpoch: 2, bestValLoss: 0.4 }))['val.loss']).toBe(0.4);
    // epoch 0 is not in the history: its loss comes from the fit, not from the last epoch
    expect(validationMetrics(result({ bestEpoch: 0, bestValLoss: 0.3 }))['val.loss']).toBe(0.3);
    // no early stopping: the last epoch's
    expect(validationMetrics(result({}))['val.loss']).toBe(0.6);
    expect(validationMetrics(result({}))['train.epochs']).toBe(3);
  });
});
