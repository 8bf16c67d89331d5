#!/bin/bash
# On the GPU machine, after scripts/gpu/prepare.sh here, carrying .gpu and .gl: bash scripts/gpu/classify-providers.sh (results under $OUT)
cd "$(dirname "$0")/../.."
. scripts/gpu/setup.sh
W=/tmp/w; mkdir -p $W
timeout 240 node $G/providers.mjs --providers webgpu --batches 4,32 --seconds 3 --placement --json $OUT/gpu-providers.json > $OUT/providers.log 2>$OUT/providers.err; echo "providers rc=$?"; cat $OUT/providers.log
grep -h "placed on\|All nodes" $OUT/providers.err | cut -c1-300 | head -8
for p in default-spectralmoe default-mamol; do echo "== diff $p"; timeout 90 node $G/provider-diff.mjs models/$p webgpu 0 2>&1 | grep -v "W:onnxruntime" | tail -4 | cut -c1-400; done
run() { name=$1; shift; t0=$(date +%s.%N); node $G/fieldmoe.mjs classify "$@" --out $W/$name.tif --confidence $W/$name.conf.tif > $W/$name.json 2> $W/$name.log; echo "$name rc=$? wall $(awk "BEGIN{print $(date +%s.%N) - $t0}") s"; grep -E '"provider"' $W/$name.json | head -2; }
for ep in webgpu cpu; do
  run nc-smoe-$ep --model models/default-spectralmoe --scene $D/nc-landsat7 --ep $ep
  run flood-mamol-$ep --model models/default-mamol --scene $D/sen1floods11-spain --missing s1 --ep $ep
done
python3 - <<'PY'
import tifffile, numpy as np
o='/tmp/w'
for n in ['nc-smoe','flood-mamol']:
    a=tifffile.imread(f'{o}/{n}-webgpu.tif'); b=tifffile.imread(f'{o}/{n}-cpu.tif')
    ca=tifffile.imread(f'{o}/{n}-webgpu.conf.tif'); cb=tifffile.imread(f'{o}/{n}-cpu.conf.tif')
    print(n, a.shape, 'class pixels differing webgpu vs cpu:', int((a!=b).sum()), 'of', a.size, 'max |conf diff|', float(np.nanmax(np.abs(ca-cb))))
PY
