#!/bin/bash
# Here, before a lent GPU machine run (.gpu/ is ignored: add "/.gpu/" to .git/info/exclude): bundles node + onnxruntime-node + our scripts for the lent GPU machine.
# The Vulkan loader for WebGPU travels as Debian debs in .gl/ (see the device tool's README).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/bundle .gpu/stage && mkdir -p .gpu/bundle .gpu/stage/node_modules .gpu/stage/bin
B="node_modules/.bin/esbuild --bundle --platform=node --format=esm --target=node20 --external:onnxruntime-node --log-level=warning"
BANNER='--banner:js=import{createRequire as __cr}from"module";const require=__cr(import.meta.url);'
$B "$BANNER" bench/providers.ts --outfile=.gpu/bundle/providers.mjs
$B "$BANNER" scripts/provider-diff.ts --outfile=.gpu/bundle/provider-diff.mjs
cat > .gpu/stage/cli-entry.ts <<'X'
import { main } from '../../src-main/engine/cli/main';
process.exitCode = await main(process.argv.slice(2));
X
$B "$BANNER" .gpu/stage/cli-entry.ts --outfile=.gpu/bundle/fieldmoe.mjs
cat > .gpu/stage/cli-verbose.ts <<'X'
import * as ort from 'onnxruntime-node';
import { main } from '../../src-main/engine/cli/main';
ort.env.logLevel = 'verbose'; // onnxruntime's node placement log, for every session
process.exitCode = await main(process.argv.slice(2));
X
$B "$BANNER" .gpu/stage/cli-verbose.ts --outfile=.gpu/bundle/fieldmoe-verbose.mjs
cp /usr/bin/node .gpu/stage/bin/node
mkdir -p .gpu/stage/node_modules/onnxruntime-node/bin/napi-v6/linux
cp -r node_modules/onnxruntime-node/{dist,package.json} .gpu/stage/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 .gpu/stage/node_modules/onnxruntime-node/bin/napi-v6/linux/
cp -r node_modules/onnxruntime-common .gpu/stage/node_modules/
[ -f .gpu/pack.tar.xz ] || tar -C .gpu/stage -cJf .gpu/pack.tar.xz bin node_modules
chmod -R u+w .gpu/data 2>/dev/null; rm -rf .gpu/data; mkdir -p .gpu/data && cp -r ../shared/data/nc-landsat7 ../shared/data/sen1floods11-spain .gpu/data/
rm -rf .gpu/stage
du -sh .gpu/pack.tar.xz .gpu/bundle .gpu/data
