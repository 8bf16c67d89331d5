#!/usr/bin/python3
"""Writes test/fixtures/labels/metrics_sklearn.json: random (truth, prediction) label pairs and
the values scikit-learn computes for them, so the TypeScript metrics are checked against an
independent implementation. Run with /usr/bin/python3 (numpy + sklearn):

    /usr/bin/python3 test/scripts/eval_metrics_fixture.py test/fixtures/labels/metrics_sklearn.json
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, cohen_kappa_score, confusion_matrix,
                             f1_score, jaccard_score, precision_score, recall_score)


def noisy_predictions(rng, truth, k, p_correct, pred_classes):
    pred = truth.copy()
    flip = rng.random(truth.size) > p_correct
    pred[flip] = rng.choice(pred_classes, size=int(flip.sum()))
    return pred


def case(name, k, truth, pred):
    labels = list(range(k))
    present = sorted(set(truth.tolist()) | set(pred.tolist()))
    cm = confusion_matrix(truth, pred, labels=labels)
    undefined = {
        # 0/0 cases, which our metrics report as null and sklearn as 0 (zero_division=0).
        "iou": [bool(cm[c, :].sum() + cm[:, c].sum() == 0) for c in labels],
        "recall": [bool(cm[c, :].sum() == 0) for c in labels],
        "precision": [bool(cm[:, c].sum() == 0) for c in labels],
    }
    return {
        "name": name,
        "k": k,
        "truth": truth.tolist(),
        "pred": pred.tolist(),
        "present": present,
        "sklearn": {
            "accuracy": accuracy_score(truth, pred),
            "kappa": cohen_kappa_score(truth, pred),
            "jaccard_per_class": jaccard_score(truth, pred, labels=labels, average=None, zero_division=0).tolist(),
            "jaccard_macro": jaccard_score(truth, pred, average="macro", zero_division=0),
            "f1_per_class": f1_score(truth, pred, labels=labels, average=None, zero_division=0).tolist(),
            "f1_macro": f1_score(truth, pred, average="macro", zero_division=0),
            "precision_per_class": precision_score(truth, pred, labels=labels, average=None, zero_division=0).tolist(),
            "recall_per_class": recall_score(truth, pred, labels=labels, average=None, zero_division=0).tolist(),
            "balanced_accuracy": balanced_accuracy_score(truth, pred),
            "confusion": cm.tolist(),
        },
        "undefined": undefined,
    }


def main(out_path):
    rng = np.random.default_rng(20261127)
    cases = []
    t = rng.integers(0, 5, 300)
    cases.append(case("five classes, 70% correct", 5, t, noisy_predictions(rng, t, 5, 0.7, np.arange(5))))
    t = rng.choice(7, size=500, p=[0.4, 0.25, 0.15, 0.1, 0.05, 0.04, 0.01])
    cases.append(case("seven unbalanced classes, 85% correct", 7, t, noisy_predictions(rng, t, 7, 0.85, np.arange(7))))
    # Class 5 appears nowhere (excluded from means), class 4 only in predictions, class 3 only in truth.
    t = rng.choice([0, 1, 2, 3], size=200)
    p = noisy_predictions(rng, t, 6, 0.6, np.array([0, 1, 2, 4]))
    p[t == 3] = rng.choice([0, 1, 2, 4], size=int((t == 3).sum()))
    cases.append(case("absent, prediction-only and truth-only classes", 6, t, p))
    t = rng.integers(0, 3, 50)
    cases.append(case("perfect prediction", 3, t, t.copy()))
    with open(out_path, "w") as f:
        json.dump({"generator": "test/scripts/eval_metrics_fixture.py", "sklearn": sklearn.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/labels/metrics_sklearn.json")
