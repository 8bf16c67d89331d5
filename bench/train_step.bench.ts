/**
 * Train-step throughput of an adapter-sized model: 2 pre-norm transformer blocks of width 192,
 * 3 heads, MLP ratio 4, frozen weights, rank-16 LoRA on qkv and proj plus a linear head
 * trainable, AdamW, float32, batch 16 x 196 tokens. Ours (one ONNX train step through the
 * Trainer) against the same model in PyTorch (Debian torch, same thread count), measured in
 * the same run in alternating rounds, best round of each (the machine may be shared).
 *   train_step.steps_per_s       our steps per second
 *   train_step.torch_steps_per_s PyTorch's
 *   train_step.ratio_vs_torch    ours / PyTorch (goal >= 1)
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import * as ml from '../src-main/engine/ml/index';
import { adamw, buildTrainStep, crossEntropy, Rng, Trainer, type ForwardFn } from '../src-main/engine/ml/index';
import { defaultThreads } from '../src-main/engine/runtime/session';

const B = 16;
const N = 196;
const D = 192;
const H = 3;
const HD = D / H;
const R = 16;
const C = 10;
const BLOCKS = 2;
const WARMUP = 2;
const STEPS = 5;
const ROUNDS = 3;

const here = path.dirname(fileURLToPath(import.meta.url));
const TORCH_SCRIPT = path.resolve(here, '../test/scripts/train_step_torch_bench.py');

/** The benchmark model, the same as the PyTorch script's. */
export const adapterModel: ForwardFn = ({ g }) => {
  const rng = new Rng(0);
  const randn = (shape: number[], scale = 0.02) => rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), scale);
  const frozen = (name: string, shape: number[]) => g.param(name, randn(shape), shape, { trainable: false });
  const filled = (name: string, shape: number[], value: number, trainable = false) =>
    g.param(name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape, { trainable });
  const trainable = (name: string, shape: number[]) => g.param(name, randn(shape), shape);
  /** x W + b + (x A) B, with W frozen and the rank-R adapter A, B trainable. */
  const lora = (x: ml.Value, name: string, dIn: number, dOut: number) =>
    g.scope(name, () =>
      ml.add(ml.add(ml.matmul(x, frozen('weight', [dIn, dOut])), filled('bias', [dOut], 0)), ml.matmul(ml.matmul(x, trainable('lora_A', [dIn, R])), trainable('lora_B', [R, dOut]))),
    );
  const ln = (x: ml.Value, name: string) => g.scope(name, () => ml.layerNorm(x, filled('weight', [D], 1), filled('bias', [D], 0)));

  let x = g.input('x', 'float32', [B, N, D]);
  const labels = g.input('labels', 'int64', [B]);
  for (let i = 0; i < BLOCKS; i++)
    x = g.scope(`blocks.${i}`, () => {
      const qkv = lora(ln(x, 'norm1'), 'attn.qkv', D, 3 * D);
      const heads = ml.transpose(ml.reshape(qkv, [B, N, 3, H, HD]), [2, 0, 3, 1, 4]); // [3,B,H,N,HD]
      const [q, k, v] = ml.split(heads, [1, 1, 1], 0).map((t) => ml.reshape(t, [B, H, N, HD]));
      const attn = ml.softmax(ml.mul(ml.matmul(q, ml.transposeLast2(k)), HD ** -0.5), -1);
      const o = ml.reshape(ml.transpose(ml.matmul(attn, v), [0, 2, 1, 3]), [B, N, D]);
      let y = ml.add(x, lora(o, 'attn.proj', D, D));
      const normed = ln(y, 'norm2');
      const hidden = g.scope('mlp', () => {
        const h = ml.gelu(ml.add(ml.matmul(normed, frozen('fc1.weight', [D, 4 * D])), filled('fc1.bias', [4 * D], 0)));
        return ml.add(ml.matmul(h, frozen('fc2.weight', [4 * D, D])), filled('fc2.bias', [D], 0));
      });
      y = ml.add(y, hidden);
      return y;
    });
  const pooled = ml.reduceMean(ln(x, 'norm'), [1], false);
  const logits = ml.add(ml.matmul(pooled, trainable('head.weight', [D, C])), filled('head.bias', [C], 0, true));
  return { loss: crossEntropy(logits, labels) };
};

async function oursRound(trainer: Trainer, batch: Record<string, ort.Tensor>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await trainer.step(batch, 1e-3);
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await trainer.step(batch, 1e-3);
  return STEPS / ((performance.now() - t0) / 1000);
}

async function torchRound(threads: number): Promise<number> {
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [TORCH_SCRIPT, String(threads), String(WARMUP), String(STEPS)], {
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  return (JSON.parse(stdout.trim().split('\n').pop()!) as { steps_per_s: number }).steps_per_s;
}

export default async function bench(): Promise<Record<string, number>> {
  const threads = defaultThreads();
  const step = buildTrainStep(adapterModel, { optimizer: adamw({ weightDecay: 0.01 }) });
  const trainer = await Trainer.open(step, undefined, { threads });
  const rng = new Rng(1);
  const batch = {
    x: new ort.Tensor('float32', rng.fillNormal(new Float32Array(B * N * D)), [B, N, D]),
    labels: new ort.Tensor('int64', BigInt64Array.from({ length: B }, () => BigInt(rng.int(C))), [B]),
  };
  let ours = 0;
  let torch = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      ours = Math.max(ours, await oursRound(trainer, batch));
      torch = Math.max(torch, await torchRound(threads));
    }
  } finally {
    await trainer.release();
  }
  return {
    'train_step.steps_per_s': ours,
    'train_step.torch_steps_per_s': torch,
    'train_step.ratio_vs_torch': ours / torch,
    'train_step.threads': threads,
    'train_step.trainable_params': step.carried.filter((c) => c.role === 'param').reduce((n, c) => n + c.init.length, 0),
  };
}
