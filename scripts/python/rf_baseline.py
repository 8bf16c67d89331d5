#!/usr/bin/python3
"""Random-forest baseline: the classical per-pixel classifier most desktop GIS plugins use.

Trains scikit-learn's RandomForestClassifier on pixel features and labels (.npy), predicts the
test pixels and writes the predictions (.npy, int32). Prints one JSON line with timings and, when
test labels are given, sklearn's overall accuracy and kappa (the caller computes the full metrics
with the same code as the models, src-main/engine/eval/metrics.ts). Deterministic for a seed.

    /usr/bin/python3 scripts/python/rf_baseline.py --train-x X.npy --train-y y.npy \
        --test-x Xt.npy [--test-y yt.npy] --pred-out pred.npy [--seed 0] [--trees 100]
"""
import argparse
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, cohen_kappa_score


def load_features(path):
    x = np.load(path)
    return x.reshape(x.shape[0], -1).astype(np.float32, copy=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-x", required=True)
    p.add_argument("--train-y", required=True)
    p.add_argument("--test-x", required=True)
    p.add_argument("--test-y")
    p.add_argument("--pred-out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--max-depth", type=int, default=None)
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args()

    x_train, y_train = load_features(a.train_x), np.load(a.train_y).astype(np.int64)
    x_test = load_features(a.test_x)
    if x_train.shape[0] != y_train.shape[0] or x_train.shape[1] != x_test.shape[1]:
        sys.exit(f"rf_baseline: shape mismatch: train {x_train.shape}, labels {y_train.shape}, test {x_test.shape}")
    forest = RandomForestClassifier(n_estimators=a.trees, max_depth=a.max_depth, random_state=a.seed, n_jobs=a.jobs)
    t0 = time.perf_counter()
    forest.fit(x_train, y_train)
    t1 = time.perf_counter()
    pred = forest.predict(x_test).astype(np.int32)
    t2 = time.perf_counter()
    np.save(a.pred_out, pred)
    out = {"n_train": int(x_train.shape[0]), "n_test": int(x_test.shape[0]), "n_features": int(x_train.shape[1]),
           "trees": a.trees, "seed": a.seed, "seconds_fit": t1 - t0, "seconds_predict": t2 - t1,
           "sklearn_version": sklearn.__version__}
    if a.test_y:
        y_test = np.load(a.test_y).astype(np.int64)
        out["sklearn_oa"] = accuracy_score(y_test, pred)
        out["sklearn_kappa"] = cohen_kappa_score(y_test, pred)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
