/**
 * Fine-tuning speed of the default SpectralMoE pack on this CPU.
 *   finetune.seconds_200x30       wall time of `finetune` (SpectralMoE adapter, default config)
 *                                 on nc-landsat7 with 203 labelled training tiles (29 per class x
 *                                 7 classes) for 30 epochs, no early stopping, everything
 *                                 included (reading, graph building, feature cache, validation,
 *                                 pack writing); goal < 30
 *   finetune.seconds_200x30.head_only  the same with the head-only adapter
 *   finetune.steps_per_s          our fine-tuning train steps per second (batch 16)
 *   finetune.torch_steps_per_s    the same step in PyTorch (bench/finetune_step_torch.py; its
 *                                 SpectralMoE experts factored through A_e, B_e as ours)
 *   finetune.step_ratio_vs_torch  ours / PyTorch, same threads, same run; goal >= 1
 * Env: FIELDMOE_BENCH_THREADS (default: all cores), FIELDMOE_BENCH_SECONDS (step timing, default 8),
 * FIELDMOE_BENCH_KEEP=<dir> keeps the PyTorch inputs there (to rerun bench/finetune_step_torch.py alone).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildTrainStep, Trainer, writeSafetensors, type StoredTensor } from '../src-main/engine/ml/index';
import { loadModelPack } from '../src-main/engine/ml/models/export';
import { openScene } from '../src-main/engine/scene/index';
import { openSession, defaultThreads } from '../src-main/engine/runtime/session';
import { finetune } from '../src-main/engine/finetune/finetune';
import { cutForwards, fitOptimizer, LABELS_INPUT, PIXEL_HEAD_LR_SCALE } from '../src-main/engine/finetune/fit';
import { pixelHeadHidden } from '../src-main/engine/finetune/finetune';
import { architectureAdapters } from '../src-main/engine/finetune/adapters';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const PACK = path.join(ROOT, 'models/default-spectralmoe');
const DATA = path.resolve(ROOT, '../shared/data');
const B = 16;

async function timeFinetune(adapter: string, out: string, threads: number): Promise<number> {
  const scene = await openScene(path.join(DATA, 'nc-landsat7'));
  try {
    const t0 = performance.now();
    await finetune({ model: PACK, scene, labels: path.join(DATA, 'nc-landsat7/labels.tif'), out, adapter, epochs: 30, tilesPerClass: 29, patience: 0, seed: 0, threads });
    return (performance.now() - t0) / 1000;
  } finally {
    await scene.close();
  }
}

export default async function bench(): Promise<Record<string, number>> {
  const threads = Number(process.env.FIELDMOE_BENCH_THREADS ?? defaultThreads());
  const seconds = Number(process.env.FIELDMOE_BENCH_SECONDS ?? 8);
  const keep = process.env.FIELDMOE_BENCH_KEEP;
  if (keep) mkdirSync(keep, { recursive: true });
  const tmp = keep ?? mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-finetune-bench-'));
  try {
    const full = await timeFinetune('spectralmoe', path.join(tmp, 'smoe'), threads);
    const headOnly = await timeFinetune('head-only', path.join(tmp, 'head'), threads);

    // One train step as fine-tuning runs it (frozen prefix cached), ours against PyTorch's.
    const base = await loadModelPack(PACK);
    const arch = architectureAdapters('spectralmoe');
    // nc-landsat7 has no DEM: as in finetune, the adapted model drops the absent depth branch
    // (the w/o-depth function, which the PyTorch step implements).
    const adapted = arch.withoutAbsent(arch.apply(base.model, 'spectralmoe'), (input) => input === 'image');
    if (adapted.architecture !== 'spectralmoe') throw new Error('unreachable');
    // As finetune builds it for nc-landsat7's 6 bands: the adapter plus the pixel head.
    const bands = 6;
    const cfg = { ...adapted.config, pixelHead: { hidden: pixelHeadHidden([{ bands }]), inputs: [{ name: 'image', bands }] } };
    const model = { architecture: 'spectralmoe' as const, config: cfg };
    const { train, cut, paramsGraph } = cutForwards({ model, weights: base.weights, trainsAdapter: (n) => arch.trains('spectralmoe', n), trainBackbone: false, seed: 0 });
    const step = buildTrainStep(train, { optimizer: fitOptimizer(1e-4), clipGradNorm: 1 });
    const trainer = await Trainer.open(step, undefined, { threads, seed: 0 });
    const T = cfg.tile;
    const image = Float32Array.from({ length: B * bands * T * T }, (_, i) => Math.sin(i * 0.37));
    const prefixInputs: Record<string, ort.Tensor> = {
      image: new ort.Tensor('float32', image, [B, bands, T, T]),
      wavelengths: new ort.Tensor('float32', Float32Array.of(485, 560, 660, 835, 1650, 2220), [bands]),
    };
    const prefix = (await openSession(cut.prefixModel!, { threads })).session;
    const cached = await prefix.run(Object.fromEntries(prefix.inputNames.map((n) => [n, prefixInputs[n]])));
    const K = cfg.decoder.classes;
    const labels = BigInt64Array.from({ length: B * T * T }, (_, i) => BigInt(i % 7 === 0 ? -1 : (i * 13) % K));
    const feeds: Record<string, ort.Tensor> = { [LABELS_INPUT]: new ort.Tensor('int64', labels, [B, T, T]) };
    for (const s of cut.specs) feeds[s.name] = cached[s.name];
    for (const spec of step.batchInputs) if (!feeds[spec.name] && prefixInputs[spec.name]) feeds[spec.name] = prefixInputs[spec.name];
    for (let i = 0; i < 2; i++) await trainer.step(feeds, 1e-3);
    let runs = 0;
    const t0 = performance.now();
    while (runs < 3 || performance.now() - t0 < seconds * 1000) {
      await trainer.step(feeds, 1e-3);
      runs++;
    }
    const ours = (performance.now() - t0) / 1000 / runs;
    await trainer.release();

    // The torch side starts from the tokens after block 0 (cls + patches), the cut's frontier.
    const cls = cut.specs.findIndex((s) => s.shape.join() === `N,1,${cfg.vit.width}`);
    const patches = cut.specs.findIndex((s) => s.shape.join() === `N,${(T / cfg.vit.patchSize) ** 2},${cfg.vit.width}`);
    if (cls < 0 || patches < 0) throw new Error(`finetune bench: unexpected cache layout ${cut.specs.map((s) => s.shape.join('x')).join(' ')}`);
    const n = (T / cfg.vit.patchSize) ** 2;
    const d = cfg.vit.width;
    const x0 = new Float32Array(B * (n + 1) * d);
    const c = cached[cut.specs[cls].name].data as Float32Array;
    const p = cached[cut.specs[patches].name].data as Float32Array;
    for (let b = 0; b < B; b++) {
      x0.set(c.subarray(b * d, (b + 1) * d), b * (n + 1) * d);
      x0.set(p.subarray(b * n * d, (b + 1) * n * d), b * (n + 1) * d + d);
    }
    await prefix.release();
    writeFileSync(path.join(tmp, 'config.json'), JSON.stringify({ ...model, pixelHeadLrScale: PIXEL_HEAD_LR_SCALE }));
    // Every parameter of the model (the base pack's and the pixel head's initial values).
    const weights = new Map<string, StoredTensor>([...paramsGraph.params].map(([k, p]) => [k, { dtype: 'float32', shape: [...(p.value.shape as number[])], data: Float32Array.from(p.data as Float32Array) }]));
    await writeSafetensors(path.join(tmp, 'weights.safetensors'), weights);
    await writeSafetensors(
      path.join(tmp, 'batch.safetensors'),
      new Map<string, StoredTensor>([
        ['x0', { dtype: 'float32', shape: [B, n + 1, d], data: x0 }],
        ['labels', { dtype: 'float32', shape: [B, T, T], data: Float32Array.from(labels, Number) }],
        ['image', { dtype: 'float32', shape: [B, bands, T, T], data: image }],
      ]),
    );
    const torch = JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'finetune_step_torch.py'), tmp, String(threads), String(seconds)], { encoding: 'utf8' }).trim().split('\n').pop()!);
    return {
      'finetune.seconds_200x30': full,
      'finetune.seconds_200x30.head_only': headOnly,
      'finetune.steps_per_s': 1 / ours,
      'finetune.torch_steps_per_s': 1 / torch.seconds_per_step,
      'finetune.step_ratio_vs_torch': torch.seconds_per_step / ours,
      'finetune.threads': threads,
    };
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  }
}
