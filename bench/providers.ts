/**
 * Inference of the default SpectralMoE and MaMOL configs (the models of infer.bench.ts, same
 * weights and inputs) on each execution provider of this machine, against onnxruntime's CPU
 * provider on the same machine, in the same process. For GPU machines; not part of `npm run bench`.
 *
 *   npx tsx bench/providers.ts [--providers webgpu,cuda] [--batches 4,32] [--seconds 3] [--json out.json]
 *
 * Per model, provider and batch size: megapixels per second (mean over a timed window after two
 * warm-up runs), speedup over CPU at the same batch size, the largest absolute difference of the
 * class probabilities from CPU's, and the provider that really ran (sessions open through
 * `openSession`, which falls back to CPU when a provider throws, as the app does).
 * Which nodes a GPU provider left to the CPU provider is onnxruntime's own verbose placement log
 * ("Node(s) placed on [CPUExecutionProvider]"): with --placement, one extra session per GPU
 * provider is opened at log severity 0, and that log goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { getArchitecture } from '../src-main/engine/ml/models/index';
import { inferenceGraph, PROBABILITIES_OUTPUT } from '../src-main/engine/ml/models/export';
import { defaultThreads, isProvider, openSession, type Provider } from '../src-main/engine/runtime/session';
import { maxAbsDiff } from '../test/fixtures/models/moe-reference';
import { benchInputs, benchWeights, MODELS } from './infer.bench';

const { values: args } = parseArgs({
  options: {
    providers: { type: 'string', default: 'webgpu,cuda' },
    batches: { type: 'string', default: '4,32' },
    seconds: { type: 'string', default: '3' },
    threads: { type: 'string' },
    json: { type: 'string' },
    placement: { type: 'boolean', default: false },
  },
});
const providers = ['cpu', ...args.providers!.split(',').filter((p) => p && p !== 'cpu')];
for (const p of providers) if (!isProvider(p)) throw new Error(`--providers: unknown provider '${p}'`);
const batches = args.batches!.split(',').map(Number);
const seconds = Number(args.seconds);
const threads = Number(args.threads ?? defaultThreads());

type Feeds = Record<string, ort.Tensor>;

function feedsFor(arch: string, batch: number): Feeds {
  return Object.fromEntries([...benchInputs(MODELS[arch], batch)].map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, t.shape)]));
}

/** Seconds per run over a window, after two warm-up runs (GPU providers compile shaders on the first). */
async function secondsPerRun(session: ort.InferenceSession, feeds: Feeds): Promise<number> {
  for (let i = 0; i < 2; i++) await session.run(feeds);
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    runs++;
  }
  return (performance.now() - start) / 1000 / runs;
}

/** Opens one session at verbose log severity so onnxruntime prints where each node was placed. */
async function logPlacement(bytes: Uint8Array, provider: Provider, arch: string): Promise<void> {
  process.stderr.write(`\n=== placement: ${arch} on ${provider} ===\n`);
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 0 });
    await s.release();
  } catch (err) {
    process.stderr.write(`placement session failed: ${(err as Error).message}\n`);
  }
}

const results: Record<string, unknown>[] = [];
for (const [arch, model] of Object.entries(MODELS)) {
  const { graph, probabilities } = inferenceGraph(model, benchWeights(model));
  const bytes = graph.toModel({ outputs: [[PROBABILITIES_OUTPUT, probabilities]] });
  const tile = getArchitecture(arch).tile(model.config).size;
  const cpu: Record<number, { seconds: number; probabilities: Float32Array }> = {};
  for (const requested of providers as Provider[]) {
    const t0 = performance.now();
    const { session, provider, fallbacks } = await openSession(bytes, { providers: [requested], threads, log: (l) => process.stderr.write(`${l}\n`) });
    const openSeconds = (performance.now() - t0) / 1000;
    try {
      for (const batch of batches) {
        const feeds = feedsFor(arch, batch);
        const out = (await session.run(feeds))[PROBABILITIES_OUTPUT].data as Float32Array;
        const s = await secondsPerRun(session, feeds);
        if (requested === 'cpu') cpu[batch] = { seconds: s, probabilities: out };
        const row = {
          arch, requested, provider, batch, tile, threads,
          open_seconds: +openSeconds.toFixed(3),
          mpx_per_s: +((batch * tile * tile) / s / 1e6).toFixed(4),
          speedup_vs_cpu: +(cpu[batch].seconds / s).toFixed(3),
          max_abs_diff_vs_cpu: maxAbsDiff(out, cpu[batch].probabilities),
          fallback_error: fallbacks.map((f) => `${f.provider}: ${f.error.split('\n')[0]}`).join('; ') || undefined,
        };
        results.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    } finally {
      await session.release();
    }
    if (args.placement && requested !== 'cpu' && provider === requested) await logPlacement(bytes, requested, arch);
  }
}
const text = JSON.stringify(results, null, 1) + '\n';
if (args.json) writeFileSync(args.json, text);
else process.stdout.write(text);
