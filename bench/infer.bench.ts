/**
 * CPU inference throughput of the default SpectralMoE and MaMOL configs (models/index.ts:
 * ViT width 192, depth 8, patch 8 on 96-pixel tiles for SpectralMoE with a same-shape depth ViT;
 * MaMOL dense on 64-pixel tiles, 4-pixel tokens, a 144-band + 1-band sensor pair), as exported
 * in packs (float32, class probabilities), against the same architectures written in PyTorch
 * (test/scripts/models_moe_torch_bench.py, Debian torch) with the same weights, inputs and
 * thread count, in the same run. The torch side first checks that its probabilities match ours.
 * Both sides compute SpectralMoE's experts the same way: factored through A_e, B_e (the tokens
 * T_e = A_e B_e are never formed; spectralmoe.ts perceptualMap / aggregateExperts and the
 * script's moe_route), with the weight-only terms folded once (onnxruntime's constant folding,
 * the script's expert_terms cache).
 *
 * Figures: infer.<arch>.mpx_per_s (megapixels classified per second by onnxruntime, median
 * round) and infer.<arch>.ratio_vs_torch (ours / torch; > 1 means faster): the median over rounds
 * of the ratio within a round, where each round times ours and torch back to back on one model
 * (order alternating), so a change in background load hits both sides of a ratio alike;
 * ratio_vs_torch_low / _high are the lowest and highest round, the spread to quote;
 * ratio_vs_torch_best compares the fastest single batch of each side over all rounds (the least
 * disturbed one on a busy machine). Plus the agreement of the two outputs.
 *
 * Thread waiting: each library runs as it runs fastest here, and neither spins while the other
 * has its turn. onnxruntime's pool spins between the ops of a run and stops when the run returns
 * (session.force_spinning_stop). Torch's OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE). On this
 * 2-core machine, one quiet run of each setting gave these torch throughputs for SpectralMoE:
 * 0.363 Mpx/s PASSIVE, 0.346 with a short spin (GOMP_SPINCOUNT=2000), 0.156 with GNU OpenMP's
 * default spin, and 0.083 ACTIVE. onnxruntime gave 0.64 spinning against 0.53 without.
 *
 * Env: FIELDMOE_BENCH_THREADS (default: all cores), FIELDMOE_BENCH_SECONDS (per model, side and
 * round, default 2), FIELDMOE_BENCH_ROUNDS (default 7), FIELDMOE_BENCH_SPIN (onnxruntime spinning
 * within a run, default 1), OMP_WAIT_POLICY (torch's, default PASSIVE),
 * FIELDMOE_BENCH_PROVIDER (default cpu; e.g. webgpu or cuda on a GPU machine; torch stays on CPU).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
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

export const MODELS: Record<string, ModelConfig> = {
  spectralmoe: defaultSpectralMoe({ bands: 6, classes: 8 }),
  mamol: defaultMamol({ modalities: [{ name: 'hs', bands: 144 }, { name: 'lidar', bands: 1 }], classes: 15 }),
};

/** Seeded weights with non-zero adapters (zero-initialised B matrices would make experts no-ops). */
export function benchWeights(model: ModelConfig) {
  const g = new Graph('init');
  buildModel(g, model, modelSources({ dtype: 'float32', seed: 1 }), 'float32');
  const w = graphWeights(g);
  const rand = rng(2);
  for (const [name, t] of w) if (/\.b$|experts\.b$|alpha$/.test(name)) t.data.forEach((_, i) => (t.data[i] = 0.05 * gaussian(rand)));
  return w;
}

/** Inputs for one batch: random tiles; MaMOL with LiDAR missing on every other tile. */
export function benchInputs(model: ModelConfig, batch = BATCH): Map<string, StoredTensor> {
  const rand = rng(3);
  const out = new Map<string, StoredTensor>();
  for (const spec of getArchitecture(model.architecture).inputs(model.config)) {
    const shape = spec.shape.map((d) => (d === 'N' ? batch : (d as number)));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = spec.role === 'availability' ? Float32Array.from({ length: n }, (_, i) => (i % 2 === 1 && Math.floor(i / 2) % 2 === 1 ? 0 : 1)) : Float32Array.from({ length: n }, () => gaussian(rand));
    out.set(spec.name, { dtype: 'float32', shape, data });
  }
  return out;
}

/** Seconds per batch over a window (mean) and the fastest single batch in it (best). */
interface Timing {
  mean: number;
  best: number;
}

async function timeOrt(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, seconds: number): Promise<Timing> {
  await session.run(feeds);
  let runs = 0;
  let best = Infinity;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t);
    runs++;
  }
  return { mean: (performance.now() - start) / 1000 / runs, best: best / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The torch script in --serve mode: one JSON line per request, read in order. */
function torchServer(dir: string, threads: number) {
  // PASSIVE: OpenMP threads sleep instead of spinning, torch's fastest setting here (see the
  // header); with the default (spinning) policy its 2-thread element-wise ops ran 15x slower than
  // 1-thread ones on a loaded 2-core machine.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const child: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', [SCRIPT, dir, String(threads), '0', '--serve'], { env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`torch bench script ended: ${stderr.trim().split('\n').pop()}`);
    return JSON.parse(value as string) as T;
  };
  return {
    agreement: () => next<Record<string, { max_abs_diff: number }>>(),
    time: (arch: string, seconds: number) => {
      child.stdin.write(`${arch} ${seconds}\n`);
      return next<{ seconds_per_batch: number; best_seconds: number }>().then((r): Timing => ({ mean: r.seconds_per_batch, best: r.best_seconds }));
    },
    close: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

/**
 * Per round and model, onnxruntime and torch are timed back to back (which goes first alternates)
 * by one long-lived torch process; figures are medians over rounds (see the header).
 */
export default async function bench(): Promise<Record<string, number>> {
  const threads = Number(process.env.FIELDMOE_BENCH_THREADS ?? os.cpus().length);
  const seconds = Number(process.env.FIELDMOE_BENCH_SECONDS ?? 2);
  const rounds = Number(process.env.FIELDMOE_BENCH_ROUNDS ?? 7);
  const provider = process.env.FIELDMOE_BENCH_PROVIDER ?? 'cpu';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-infer-bench-'));
  const figures: Record<string, number> = {};
  const sessions: Record<string, { session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }> = {};
  const ours: Record<string, Timing[]> = {};
  const theirs: Record<string, Timing[]> = {};
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
        // Spin-waiting between the ops of a run, stopped when the run returns, so it never competes with torch's turn (see the header).
        extra: { session: { intra_op: { allow_spinning: process.env.FIELDMOE_BENCH_SPIN ?? '1' }, force_spinning_stop: '1' } },
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
    const torch = torchServer(dir, threads);
    try {
      const agreement = await torch.agreement();
      for (const arch of Object.keys(MODELS)) diffs[arch] = agreement[arch].max_abs_diff;
      for (let r = 0; r < rounds; r++) {
        for (const arch of Object.keys(MODELS)) {
          const oursFirst = r % 2 === 0;
          if (oursFirst) ours[arch].push(await timeOrt(sessions[arch].session, sessions[arch].feeds, seconds));
          theirs[arch].push(await torch.time(arch, seconds));
          if (!oursFirst) ours[arch].push(await timeOrt(sessions[arch].session, sessions[arch].feeds, seconds));
        }
      }
    } finally {
      torch.close();
    }
    for (const [arch, model] of Object.entries(MODELS)) {
      const tile = getArchitecture(arch).tile(model.config).size;
      const mpx = (seconds: number) => (BATCH * tile * tile) / seconds / 1e6;
      const means = (ts: Timing[]) => ts.map((t) => t.mean);
      const best = (ts: Timing[]) => Math.min(...ts.map((t) => t.best));
      figures[`infer.${arch}.mpx_per_s`] = mpx(median(means(ours[arch])));
      const ratios = ours[arch].map((t, r) => theirs[arch][r].mean / t.mean);
      figures[`infer.${arch}.ratio_vs_torch`] = median(ratios);
      figures[`infer.${arch}.ratio_vs_torch_low`] = Math.min(...ratios);
      figures[`infer.${arch}.ratio_vs_torch_high`] = Math.max(...ratios);
      figures[`infer.${arch}.torch_mpx_per_s`] = mpx(median(means(theirs[arch])));
      figures[`infer.${arch}.ratio_vs_torch_best`] = best(theirs[arch]) / best(ours[arch]);
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
