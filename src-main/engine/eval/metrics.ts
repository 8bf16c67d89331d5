import { FieldMoeError } from '../util/errors';

/** Rows = truth, columns = predicted; counts[t * k + p]. */
export interface ConfusionMatrix {
  k: number;
  counts: Float64Array;
}

/** Per-class scores; null where undefined (0/0: the class is in neither truth nor prediction
 * for IoU/F1, absent from truth for producer's accuracy, never predicted for user's accuracy). */
export interface ClassMetrics {
  /** The label class's id; null for a column of predictions only, a pack class the labels lack. */
  id: number | null;
  /** The pack class's id, where the column is one (eval: matched by name). */
  pack_id?: number;
  name: string;
  iou: number | null;
  f1: number | null;
  /** Recall: correct / truth pixels of the class. */
  producers_accuracy: number | null;
  /** Precision: correct / predicted pixels of the class. */
  users_accuracy: number | null;
  /** Truth pixels of the class. */
  support: number;
}

/** A class of the confusion matrix, as ClassMetrics names it. */
export type ClassColumn = Pick<ClassMetrics, 'id' | 'pack_id' | 'name'>;

/**
 * The evaluation JSON of `fieldmoe eval` and the baselines. All scores are fractions in 0..1.
 * Means skip classes absent from both truth and prediction (they say nothing about the model):
 * `miou` averages IoU over classes in truth or prediction (sklearn jaccard_score macro);
 * `macc` averages producer's accuracy over classes present in the truth (sklearn
 * balanced_accuracy_score; a class only predicted has no accuracy of its own, its errors already
 * lower the other classes' accuracy).
 */
export interface Metrics {
  oa: number;
  kappa: number;
  miou: number;
  macc: number;
  /** Mean F1 over classes in truth or prediction (sklearn f1_score macro). */
  mf1: number;
  /** Pixels evaluated. */
  n: number;
  per_class: ClassMetrics[];
  /** confusion[truth][predicted]. */
  confusion: number[][];
}

/**
 * Counts (truth, prediction) pairs of class indices 0..k-1. A negative truth means "not
 * labelled" and is skipped; any other value out of range is a bug in the caller and throws.
 */
export function confusionMatrix(truth: ArrayLike<number>, pred: ArrayLike<number>, k: number): ConfusionMatrix {
  if (truth.length !== pred.length) throw new FieldMoeError('metrics', `truth has ${truth.length} values but prediction has ${pred.length}`);
  const counts = new Float64Array(k * k);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    if (t < 0) continue;
    const p = pred[i];
    if (!(t < k && p >= 0 && p < k && Number.isInteger(t) && Number.isInteger(p))) {
      throw new FieldMoeError('metrics', `class index out of range at ${i} (truth ${t}, prediction ${p}, ${k} classes)`);
    }
    counts[t * k + p]++;
  }
  return { k, counts };
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const mean = (xs: (number | null)[]): number => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length > 0 ? v.reduce((s, x) => s + x, 0) / v.length : 0;
};

export function metricsFromConfusion(cm: ConfusionMatrix, classes: readonly ClassColumn[]): Metrics {
  const { k, counts } = cm;
  if (classes.length !== k) throw new FieldMoeError('metrics', `${classes.length} class names for a ${k}-class confusion matrix`);
  const rowSum = new Float64Array(k);
  const colSum = new Float64Array(k);
  let n = 0;
  let correct = 0;
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      const c = counts[t * k + p];
      rowSum[t] += c;
      colSum[p] += c;
      n += c;
    }
    correct += counts[t * k + t];
  }
  const per_class: ClassMetrics[] = classes.map((cls, c) => {
    const tp = counts[c * k + c];
    const union = rowSum[c] + colSum[c] - tp;
    return {
      id: cls.id,
      ...(cls.pack_id !== undefined ? { pack_id: cls.pack_id } : {}),
      name: cls.name,
      iou: ratio(tp, union),
      f1: ratio(2 * tp, rowSum[c] + colSum[c]),
      producers_accuracy: ratio(tp, rowSum[c]),
      users_accuracy: ratio(tp, colSum[c]),
      support: rowSum[c],
    };
  });
  const oa = n > 0 ? correct / n : 0;
  let expected = 0;
  for (let c = 0; c < k; c++) expected += (rowSum[c] * colSum[c]) / (n * n || 1);
  // Cohen's kappa; when chance agreement is total (one class everywhere) kappa is 0/0: report 0.
  const kappa = expected < 1 ? (oa - expected) / (1 - expected) : 0;
  const confusion = Array.from({ length: k }, (_, t) => Array.from(counts.subarray(t * k, t * k + k)));
  return {
    oa,
    kappa,
    miou: mean(per_class.map((m) => m.iou)),
    macc: mean(per_class.map((m) => m.producers_accuracy)),
    mf1: mean(per_class.map((m) => m.f1)),
    n,
    per_class,
    confusion,
  };
}

/** Metrics of predicted vs true class indices (negative truth = unlabelled, skipped). */
export function computeMetrics(truth: ArrayLike<number>, pred: ArrayLike<number>, classes: readonly ClassColumn[]): Metrics {
  return metricsFromConfusion(confusionMatrix(truth, pred, classes.length), classes);
}
