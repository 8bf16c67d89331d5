#!/bin/bash
# On the GPU machine, after scripts/gpu/prepare.sh here, carrying .gpu and .gl: bash scripts/gpu/finetune-providers.sh [eps] (results: $OUT/r.tgz + stdout)
# Fine-tuning (train-step graphs) on WebGPU against CPU, same machine, same seeds.
cd "$(dirname "$0")/../.."
EPS=${1:-webgpu cpu}
. scripts/gpu/setup.sh
W=/tmp/ftw; R=/tmp/ftr; rm -rf $W $R; mkdir -p $W $R
OUT=${OUT:-/tmp/ftout}; mkdir -p $OUT
SMOE="--model models/default-spectralmoe --scene $D/nc-landsat7 --labels $D/nc-landsat7/labels.tif --epochs 30 --tiles-per-class 29 --patience 0 --seed 0"
MAMOL="--model models/default-mamol --scene $D/sen1floods11-spain --labels $D/sen1floods11-spain/labels.tif --epochs 8 --pixels-per-class 50 --tiles-per-class 24 --missing-rate 0.5 --missing-mode both --patience 0 --seed 0"
TRAIN="--arch mamol --backbone models/default-spectralmoe --scene $D/sen1floods11-spain --labels $D/sen1floods11-spain/labels.tif --epochs 2 --missing-rate 0.5"
ft() { # name timeout verb args...
  n=$1; t=$2; shift 2; t0=$(date +%s.%N)
  timeout $t node $G/fieldmoe.mjs "$@" --out $W/$n > $R/$n.json 2> $R/$n.log; rc=$?
  echo "$n rc=$rc wall $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s $(grep -o '"provider": "[a-z]*"' $R/$n.json | head -1)"
  [ -f $W/$n/training.json ] && cp $W/$n/training.json $R/$n.training.json
}
for ep in $EPS; do
  ft smoe-$ep 120 finetune $SMOE --ep $ep
  ft mamol-$ep 90 finetune $MAMOL --ep $ep
  ft train-$ep 90 train $TRAIN --ep $ep
done
for ep in $EPS; do
  timeout 60 node $G/fieldmoe.mjs eval --model $W/smoe-$ep --scene $D/nc-landsat7 --labels $D/nc-landsat7/labels.tif --ep cpu --json $R/smoe-$ep.eval.json >/dev/null 2>&1
  timeout 60 node $G/fieldmoe.mjs eval --model $W/mamol-$ep --scene $D/sen1floods11-spain --labels $D/sen1floods11-spain/labels.tif --ep cpu --json $R/mamol-$ep.eval.json >/dev/null 2>&1
done
# onnxruntime's placement log for the train-step, eval and feature-cache sessions (1 epoch)
for ep in $EPS; do [ $ep = cpu ] && continue
  timeout 60 node $G/fieldmoe-verbose.mjs finetune $SMOE --epochs 1 --ep $ep --out $W/place-smoe > $R/place-smoe.full 2>&1
  timeout 60 node $G/fieldmoe-verbose.mjs finetune $MAMOL --epochs 1 --ep $ep --out $W/place-mamol > $R/place-mamol.full 2>&1
  for m in smoe mamol; do grep -E "placed on|All nodes|Node\(s\) placed|Session creation|Stacktrace|Error" $R/place-$m.full | cut -c1-600 | head -40 > $R/place-$m.txt; gzip $R/place-$m.full; echo "== placement $m"; head -12 $R/place-$m.txt; done
done
python3 - "$R" $EPS <<'PY'
import json, sys
R = sys.argv[1]; eps = sys.argv[2:]
def load(p):
    try: return json.load(open(p))
    except Exception as e: return None
for run in ['smoe', 'mamol', 'train']:
    rows = {ep: load(f'{R}/{run}-{ep}.training.json') for ep in eps}
    for ep, t in rows.items():
        if not t: print(run, ep, 'no training.json'); continue
        h = t['history']; v = (t.get('validation') or {}).get('pooled') or {}
        print(f"{run} {ep}: provider {t.get('provider')} epochs {len(h)} seconds {t['seconds']} first/last train loss {h[0].get('trainLoss', h[0].get('loss'))} / {h[-1].get('trainLoss', h[-1].get('loss'))} val OA {v.get('oa')}")
    if all(rows.values()) and len(eps) == 2:
        a, b = (rows[e]['history'] for e in eps)
        fig = {'train loss': lambda r: r['trainLoss'], 'val loss': lambda r: r['val']['loss'], 'val correct': lambda r: r['val']['metrics']['correct'], 'train correct': lambda r: r['trainMetrics']['correct']}
        for k, f in fig.items():
            try: d = [abs(f(x) - f(y)) for x, y in zip(a, b)]
            except Exception: continue
            print(f"  {run} |{k} {eps[0]} - {eps[1]}| first/max/last over {len(d)} epochs: {d[0]:.3g} / {max(d):.3g} / {d[-1]:.3g}")
for run in ['smoe', 'mamol']:
    for ep in eps:
        e = load(f'{R}/{run}-{ep}.eval.json')
        if e: print(f"eval (CPU) of the pack trained on {ep}, {run}: OA {e['oa']:.4f} kappa {e['kappa']:.4f} mIoU {e['miou']:.4f} n {e['n']}")
PY
tar -C /tmp -czf $OUT/r.tgz $(basename $R)
