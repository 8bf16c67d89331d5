import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeMetrics, confusionMatrix } from '../../../src-main/engine/eval/metrics';
import { REPO_ROOT } from '../../helpers/paths';

// Produced by test/scripts/eval_metrics_fixture.py (scikit-learn); regenerate with /usr/bin/python3.
interface SklearnCase {
  name: string;
  k: number;
  truth: number[];
  pred: number[];
  sklearn: {
    accuracy: number;
    kappa: number;
    jaccard_per_class: number[];
    jaccard_macro: number;
    f1_per_class: number[];
    f1_macro: number;
    precision_per_class: number[];
    recall_per_class: number[];
    balanced_accuracy: number;
    confusion: number[][];
  };
  undefined: { iou: boolean[]; recall: boolean[]; precision: boolean[] };
}
const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/labels/metrics_sklearn.json'), 'utf8')) as { cases: SklearnCase[] };

const TOL = 1e-12;
const classesFor = (k: number) => Array.from({ length: k }, (_, i) => ({ id: i + 1, name: `c${i + 1}` }));

/** Our null (0/0) must sit exactly where sklearn divided by zero; elsewhere values agree. */
function expectPerClass(ours: (number | null)[], sklearn: number[], undefinedAt: boolean[]) {
  ours.forEach((v, c) => {
    if (undefinedAt[c]) expect(v).toBeNull();
    else expect(Math.abs((v as number) - sklearn[c])).toBeLessThan(TOL);
  });
}

describe('metrics against scikit-learn', () => {
  expect(fixture.cases.length).toBeGreaterThanOrEqual(4);
  for (const c of fixture.cases) {
    it(c.name, () => {
      const m = computeMetrics(c.truth, c.pred, classesFor(c.k));
      expect(m.confusion).toEqual(c.sklearn.confusion);
      expect(Math.abs(m.oa - c.sklearn.accuracy)).toBeLessThan(TOL);
      expect(Math.abs(m.kappa - c.sklearn.kappa)).toBeLessThan(TOL);
      expect(Math.abs(m.miou - c.sklearn.jaccard_macro)).toBeLessThan(TOL);
      expect(Math.abs(m.mf1 - c.sklearn.f1_macro)).toBeLessThan(TOL);
      expect(Math.abs(m.macc - c.sklearn.balanced_accuracy)).toBeLessThan(TOL);
      expectPerClass(m.per_class.map((p) => p.iou), c.sklearn.jaccard_per_class, c.undefined.iou);
      expectPerClass(m.per_class.map((p) => p.f1), c.sklearn.f1_per_class, c.undefined.iou);
      expectPerClass(m.per_class.map((p) => p.producers_accuracy), c.sklearn.recall_per_class, c.undefined.recall);
      expectPerClass(m.per_class.map((p) => p.users_accuracy), c.sklearn.precision_per_class, c.undefined.precision);
      expect(m.per_class.map((p) => p.support)).toEqual(c.sklearn.confusion.map((row) => row.reduce((a, b) => a + b, 0)));
      expect(m.n).toBe(c.truth.length);
    });
  }
});

describe('metrics conventions', () => {
  it('excludes classes absent from truth and prediction from the means', () => {
    const truth = [0, 0, 1, 1];
    const pred = [0, 1, 1, 1];
    const with3 = computeMetrics(truth, pred, classesFor(3));
    const with2 = computeMetrics(truth, pred, classesFor(2));
    expect(with3.per_class[2].iou).toBeNull();
    expect(with3.miou).toBeCloseTo(with2.miou, 15);
    expect(with3.macc).toBeCloseTo(with2.macc, 15);
    // IoU class 0: 1/2, class 1: 2/3.
    expect(with3.miou).toBeCloseTo((1 / 2 + 2 / 3) / 2, 15);
  });

  it('skips unlabelled truth (negative) and rejects out-of-range indices', () => {
    const cm = confusionMatrix([0, -1, 1], [0, 1, 1], 2);
    expect(Array.from(cm.counts)).toEqual([1, 0, 0, 1]);
    expect(() => confusionMatrix([0, 2], [0, 1], 2)).toThrow(/out of range/);
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(/truth has 1 values/);
  });

  it('writes the JSON shape of fieldmoe eval', () => {
    const m = computeMetrics([0, 1, 2, 2], [0, 1, 2, 1], [
      { id: 3, name: 'water' },
      { id: 5, name: 'forest' },
      { id: 9, name: 'urban' },
    ]);
    const json = JSON.parse(JSON.stringify(m));
    for (const key of ['oa', 'kappa', 'miou', 'macc']) {
      expect(json[key]).toBeGreaterThanOrEqual(0);
      expect(json[key]).toBeLessThanOrEqual(1);
    }
    expect(json.oa).toBeCloseTo(0.75, 15);
    expect(json.per_class[2]).toEqual({ id: 9, name: 'urban', iou: 0.5, f1: 2 / 3, producers_accuracy: 0.5, users_accuracy: 1, support: 2 });
    expect(json.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
  });
});
