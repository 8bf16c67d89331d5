/**
 * CPU inference throughput of the default SpectralMoE and MaMOL configs (models/index.ts:
 * ViT width 192, depth 8, patch 8 on 96-pixel tiles for SpectralMoE with a same-shape depth ViT;
 * MaMOL dense on 64-pixel tiles, 4-pixel tokens, a 144-band + 1-band sensor pair), as exported
 * in packs (float32, class probabilities), against the same architectures written in PyTorch
 * (test/scripts/models_moe_torch_bench.py, Debian torch) with the same weights, inputs and
 * thread count, in the same run. The torch side first checks that its probabilities match ours.
 *
 * Figures: infer.<arch>.mpx_per_s (megapixels classified per second by onnxruntime) and
 * infer.<arch>.ratio_vs_torch (ours / torch; > 1 means faster), plus the agreement.
 *
 * Env: FIELDMOE_BENCH_THREADS (default: all cores), FIELDMOE_BENCH_SECONDS (per model, side and
 * round, default 4), FIELDMOE_BENCH_ROUNDS (default 3), FIELDMOE_BENCH_SPIN (onnxruntime spinning, 0),
 * FIELDMOE_BENCH_PROVIDER (default cpu; e.g. webgpu or cuda on a GPU machine; torch stays on CPU).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src-main/engine/ml/index';
import { writeSafetensors, type StoredTensor } from '../src-main/engine/ml/io/safetensors';
import { buildModel, defaultMamol, defaultSpectralMoe, getArchitecture, modelSources, type ModelConfig } from '../src-main/engine/ml/models/index';
import { graphWeights, inferenceGraph, PROBABILITIES_OUTPUT } from '../src-main/engine/ml/models/export';
import { rng, gaussian } from '../test/helpers/gradcheck';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.resolve(here, '../test/scripts/models_moe_torch_bench.py');
const BATCH = 4;

const MODELS: Record<string, ModelConfig> = {
  spectralmoe: defaultSpectralMoe({ bands: 6, classes: 8 }),
  mamol: defaultMamol({ modalities: [{ name: 'hs', bands: 144 }, { name: 'lidar', bands: 1 }], classes: 15 }),
};

/** Seeded weights with non-zero adapters (zero-initialised B matrices would make experts no-ops). */
function benchWeights(model: ModelConfig) {
  const g = new Graph('init');
  buildModel(g, model, modelSources({ dtype: 'float32', seed: 1 }), 'float32');
  const w = graphWeights(g);
  const rand = rng(2);
  for (const [name, t] of w) if (/\.b$|experts\.b$|alpha$/.test(name)) t.data.forEach((_, i) => (t.data[i] = 0.05 * gaussian(rand)));
  return w;
}

/** Inputs for one batch: random tiles; MaMOL with LiDAR missing on every other tile. */
function benchInputs(model: ModelConfig): Map<string, StoredTensor> {
  const rand = rng(3);
  const out = new Map<string, StoredTensor>();
  for (const spec of getArchitecture(model.architecture).inputs(model.config)) {
    const shape = spec.shape.map((d) => (d === 'N' ? BATCH : (d as number)));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = spec.role === 'availability' ? Float32Array.from({ length: n }, (_, i) => (i % 2 === 1 && Math.floor(i / 2) % 2 === 1 ? 0 : 1)) : Float32Array.from({ length: n }, () => gaussian(rand));
    out.set(spec.name, { dtype: 'float32', shape, data });
  }
  return out;
}

async function timeOrt(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, seconds: number): Promise<number> {
  await session.run(feeds);
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    runs++;
  }
  return (performance.now() - start) / 1000 / runs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Rounds alternate between onnxruntime and torch (each timing every model for `seconds`), and
 * each side's figure is its median round, so both see the same background load.
 */
export default async function bench(): Promise<Record<string, number>> {
  const threads = Number(process.env.FIELDMOE_BENCH_THREADS ?? os.cpus().length);
  const seconds = Number(process.env.FIELDMOE_BENCH_SECONDS ?? 4);
  const rounds = Number(process.env.FIELDMOE_BENCH_ROUNDS ?? 3);
  const provider = process.env.FIELDMOE_BENCH_PROVIDER ?? 'cpu';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-infer-bench-'));
  const figures: Record<string, number> = {};
  const sessions: Record<string, { session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }> = {};
  const ours: Record<string, number[]> = {};
  const theirs: Record<string, number[]> = {};
  const diffs: Record<string, number> = {};
  try {
    for (const [arch, model] of Object.entries(MODELS)) {
      const weights = benchWeights(model);
      const { graph, probabilities } = inferenceGraph(model, weights);
      const bytes = graph.toModel({ outputs: [[PROBABILITIES_OUTPUT, probabilities]] });
      const session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
        // No spin-waiting between ops, as torch's OMP_WAIT_POLICY=PASSIVE below (fair on a busy machine).
        extra: { session: { intra_op: { allow_spinning: process.env.FIELDMOE_BENCH_SPIN ?? '0' } } },
      });
      const inputs = benchInputs(model);
      const feeds = Object.fromEntries([...inputs].map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, t.shape)]));
      const expected = (await session.run(feeds))[PROBABILITIES_OUTPUT];
      sessions[arch] = { session, feeds };
      await writeSafetensors(path.join(dir, `${arch}.safetensors`), new Map([...weights].map(([k, w]) => [k, { dtype: 'float32', shape: w.shape, data: w.data as Float32Array }])));
      await writeSafetensors(path.join(dir, `${arch}.inputs.safetensors`), inputs);
      await writeSafetensors(path.join(dir, `${arch}.expected.safetensors`), new Map([['probabilities', { dtype: 'float32', shape: [...expected.dims], data: expected.data as Float32Array }]]));
      writeFileSync(path.join(dir, `${arch}.json`), JSON.stringify(model));
      ours[arch] = [];
      theirs[arch] = [];
    }
    // PASSIVE: OpenMP threads sleep instead of spinning. With the default (spinning) policy torch's
    // 2-thread element-wise ops ran 15x slower than 1-thread ones on a loaded 2-core machine.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
    for (let r = 0; r < rounds; r++) {
      for (const arch of Object.keys(MODELS)) ours[arch].push(await timeOrt(sessions[arch].session, sessions[arch].feeds, seconds));
      const out = execFileSync('/usr/bin/python3', [SCRIPT, dir, String(threads), String(seconds)], { encoding: 'utf8', maxBuffer: 1 << 20, env });
      const torch = JSON.parse(out.trim().split('\n').pop()!) as Record<string, { max_abs_diff: number; seconds_per_batch: number }>;
      for (const arch of Object.keys(MODELS)) {
        theirs[arch].push(torch[arch].seconds_per_batch);
        diffs[arch] = Math.max(diffs[arch] ?? 0, torch[arch].max_abs_diff);
      }
    }
    for (const [arch, model] of Object.entries(MODELS)) {
      const tile = getArchitecture(arch).tile(model.config).size;
      const mpx = (seconds: number) => (BATCH * tile * tile) / seconds / 1e6;
      figures[`infer.${arch}.mpx_per_s`] = mpx(median(ours[arch]));
      figures[`infer.${arch}.ratio_vs_torch`] = median(theirs[arch]) / median(ours[arch]);
      figures[`infer.${arch}.torch_mpx_per_s`] = mpx(median(theirs[arch]));
      figures[`infer.${arch}.max_abs_diff_vs_torch`] = diffs[arch];
    }
    figures['infer.threads'] = threads;
    figures['infer.load_average_1min'] = os.loadavg()[0];
  } finally {
    for (const s of Object.values(sessions)) await s.session.release();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
