#!/usr/bin/python3
"""PyTorch baseline for bench/train_step.bench.ts: the same adapter-sized model (2 pre-norm
transformer blocks, width 192, 3 heads, MLP ratio 4, frozen weights, rank-16 LoRA on qkv and
proj, a trainable linear head, cross-entropy, AdamW), float32, batch 16 x 196 tokens.
Prints one JSON line: {"steps_per_s": ..., "threads": ...}.
Usage: /usr/bin/python3 test/scripts/train_step_torch_bench.py THREADS WARMUP STEPS"""
import json
import sys
import time

import torch
import torch.nn.functional as F

threads, warmup, steps = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)
B, N, D, H, R, C, BLOCKS = 16, 196, 192, 3, 16, 10, 2
HD = D // H


def frozen(*shape, scale=0.02):
    return torch.randn(*shape) * scale  # plain tensors: no gradient


def trainable(*shape, scale=0.02):
    return (torch.randn(*shape) * scale).requires_grad_(True)


blocks = []
for _ in range(BLOCKS):
    blocks.append({
        'ln1_w': torch.ones(D), 'ln1_b': torch.zeros(D),
        'qkv_w': frozen(D, 3 * D), 'qkv_b': torch.zeros(3 * D),
        'qkv_A': trainable(D, R), 'qkv_B': trainable(R, 3 * D),
        'proj_w': frozen(D, D), 'proj_b': torch.zeros(D),
        'proj_A': trainable(D, R), 'proj_B': trainable(R, D),
        'ln2_w': torch.ones(D), 'ln2_b': torch.zeros(D),
        'fc1_w': frozen(D, 4 * D), 'fc1_b': torch.zeros(4 * D),
        'fc2_w': frozen(4 * D, D), 'fc2_b': torch.zeros(D),
    })
norm_w, norm_b = torch.ones(D), torch.zeros(D)
head_w, head_b = trainable(D, C), torch.zeros(C).requires_grad_(True)
params = [p for b in blocks for k, p in b.items() if p.requires_grad] + [head_w, head_b]


def lora(x, w, b, A, Bm):
    return x @ w + b + (x @ A) @ Bm


def block(x, p):
    h = F.layer_norm(x, (D,), p['ln1_w'], p['ln1_b'])
    qkv = lora(h, p['qkv_w'], p['qkv_b'], p['qkv_A'], p['qkv_B'])
    q, k, v = qkv.reshape(B, N, 3, H, HD).permute(2, 0, 3, 1, 4)
    a = torch.softmax((q @ k.transpose(-1, -2)) * HD ** -0.5, dim=-1)
    o = (a @ v).transpose(1, 2).reshape(B, N, D)
    x = x + lora(o, p['proj_w'], p['proj_b'], p['proj_A'], p['proj_B'])
    h = F.layer_norm(x, (D,), p['ln2_w'], p['ln2_b'])
    return x + F.gelu(h @ p['fc1_w'] + p['fc1_b']) @ p['fc2_w'] + p['fc2_b']


def loss_fn(x, y):
    for p in blocks:
        x = block(x, p)
    x = F.layer_norm(x, (D,), norm_w, norm_b)
    return F.cross_entropy(x.mean(dim=1) @ head_w + head_b, y)


opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
x = torch.randn(B, N, D)
y = torch.randint(0, C, (B,))


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(x, y)
    loss.backward()
    opt.step()
    return float(loss)


for _ in range(warmup):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - t0
print(json.dumps({'steps_per_s': steps / elapsed, 'threads': torch.get_num_threads()}))
