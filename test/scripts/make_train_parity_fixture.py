#!/usr/bin/python3
"""Writes test/fixtures/ml/train_parity.json: PyTorch (float64) reference values for the ML
kernel's losses, gradients and optimizer steps. CI has no torch; the tests read this file.

Run with Debian's python (torch 1.13):  /usr/bin/python3 test/scripts/make_train_parity_fixture.py

The model mirrors `parityForward` in test/unit/ml/train-parity.test.ts:
  h = LN(x W1 + b1); h = gelu(h); a = softmax((h Wq)(h Wk)^T / sqrt(D)); h = h + a (h Wv)
  logits = mean_tokens(h) Wc + bc; loss = CE(logits, y, class weights, ignore -100)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261127)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'ml', 'train_parity.json')

LN_EPS = float(np.float32(1e-5))  # ONNX float attributes are float32


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def flat(x):
    return [float(v) for v in x.detach().reshape(-1).tolist()]


# ---- the parity model --------------------------------------------------------------------------
# D = 4 keeps the attention scale 1/sqrt(D) exact in float32: onnxruntime's extended optimizations fuse
# scalar scales into FusedMatMul's float32 alpha, which would cost ~1e-9 relative in float64.
B, N, D, C = 4, 3, 4, 5
x = rng.normal(size=(B, N, D))
labels = np.array([1, 4, -100, 2], dtype=np.int64)
class_weights = [1.0, 2.0, 0.5, 1.5, 1.0]
init = {
    'lin.weight': rng.normal(size=(D, D)) * 0.5,
    'lin.bias': rng.normal(size=(D,)) * 0.1,
    'ln.weight': 1 + rng.normal(size=(D,)) * 0.1,
    'ln.bias': rng.normal(size=(D,)) * 0.1,
    'attn.q': rng.normal(size=(D, D)) * 0.5,
    'attn.k': rng.normal(size=(D, D)) * 0.5,
    'attn.v': rng.normal(size=(D, D)) * 0.5,
    'head.weight': rng.normal(size=(D, C)) * 0.5,
    'head.bias': rng.normal(size=(C,)) * 0.1,
}
NO_DECAY = {'lin.bias', 'ln.weight', 'ln.bias', 'head.bias'}


def forward(p, xx):
    h = xx @ p['lin.weight'] + p['lin.bias']
    h = F.layer_norm(h, (D,), p['ln.weight'], p['ln.bias'], eps=LN_EPS)
    h = F.gelu(h)
    q, k, v = h @ p['attn.q'], h @ p['attn.k'], h @ p['attn.v']
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D), dim=-1)
    h = h + a @ v
    logits = h.mean(dim=1) @ p['head.weight'] + p['head.bias']
    return F.cross_entropy(logits, torch.tensor(labels), weight=t(class_weights), ignore_index=-100)


def fresh_params():
    return {k: t(v).requires_grad_(True) for k, v in init.items()}


def run_optimizer(make_opt, lrs, clip):
    p = fresh_params()
    opt = make_opt(p)
    losses, norms, first_grads = [], [], None
    for lr in lrs:
        for group in opt.param_groups:
            group['lr'] = lr
        opt.zero_grad()
        loss = forward(p, t(x))
        loss.backward()
        if first_grads is None:
            first_grads = {k: flat(v.grad) for k, v in p.items()}
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(p.values()), clip)))
        losses.append(float(loss))
        opt.step()
    return {
        'lrs': lrs,
        'clip': clip,
        'losses': losses,
        'grad_norms': norms,
        'grads': first_grads,
        'params': {k: flat(v) for k, v in p.items()},
    }


def adamw(p):
    decay = [v for k, v in p.items() if k not in NO_DECAY]
    no_decay = [v for k, v in p.items() if k in NO_DECAY]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                             lr=0.01, betas=(0.9, 0.999), eps=1e-8)


LRS = [0.01, 0.02, 0.015, 0.01, 0.005]
fixture = {
    'model': {
        'B': B, 'N': N, 'D': D, 'C': C, 'ln_eps': LN_EPS,
        'x': flat(t(x)), 'labels': labels.tolist(), 'class_weights': class_weights,
        'init': {k: flat(t(v)) for k, v in init.items()},
        'shapes': {k: list(np.shape(v)) for k, v in init.items()},
        'no_decay': sorted(NO_DECAY),
    },
    'adamw': run_optimizer(adamw, LRS, clip=0.5),
    'sgd_momentum': run_optimizer(
        lambda p: torch.optim.SGD(list(p.values()), lr=0.05, momentum=0.9, weight_decay=0.01), LRS, clip=None),
    'sgd_nesterov_dampened': run_optimizer(
        lambda p: torch.optim.SGD(list(p.values()), lr=0.05, momentum=0.8, dampening=0.0, nesterov=True,
                                  weight_decay=0.01), LRS, clip=1.0),
    'sgd_dampened': run_optimizer(
        lambda p: torch.optim.SGD(list(p.values()), lr=0.05, momentum=0.7, dampening=0.3), LRS, clip=None),
}
assert any(n > 0.5 for n in fixture['adamw']['grad_norms']), 'clipping must be active in the AdamW case'


# ---- cross-entropy cases ------------------------------------------------------------------------
def ce_case(logits_shape, labels_arr, **kw):
    logits = t(rng.normal(size=logits_shape) * 2).requires_grad_(True)
    weight = kw.pop('weight', None)
    loss = F.cross_entropy(logits, torch.tensor(labels_arr), weight=None if weight is None else t(weight), **kw)
    seed = t(rng.normal(size=loss.shape)) if loss.dim() else t(1.0)
    (loss * seed).sum().backward()
    return {
        'logits_shape': list(logits_shape), 'logits': flat(logits), 'labels': np.asarray(labels_arr).reshape(-1).tolist(),
        'labels_shape': list(np.shape(labels_arr)), 'weight': weight, 'ignore_index': kw.get('ignore_index', -100),
        'reduction': kw.get('reduction', 'mean'), 'seed': flat(seed), 'loss': flat(loss), 'grad': flat(logits.grad),
    }


pix_labels = rng.integers(0, 3, size=(2, 4, 5))
pix_labels[0, 1, 2] = 255
pix_labels[1, 3, :] = 255
fixture['cross_entropy'] = {
    'per_sample_plain': ce_case((6, 4), [0, 3, 1, 1, 2, 0]),
    'per_sample_ignore_weights': ce_case((6, 4), [0, 3, -100, 1, 2, -100], weight=[0.5, 1.0, 2.0, 1.5]),
    'per_sample_ignore_in_range': ce_case((5, 4), [0, 2, 2, 1, 3], ignore_index=2),
    'per_sample_sum': ce_case((5, 3), [0, 2, -100, 1, 1], reduction='sum'),
    'per_sample_none': ce_case((5, 3), [0, 2, -100, 1, 1], reduction='none', weight=[1.0, 3.0, 0.5]),
    'per_pixel_ignore_weights': ce_case((2, 3, 4, 5), pix_labels.tolist(), weight=[1.0, 0.3, 2.5], ignore_index=255),
    'per_pixel_plain': ce_case((2, 3, 2, 3), rng.integers(0, 3, size=(2, 2, 3)).tolist()),
}


# ---- load-balancing loss (the authors' noisy top-k gating code, after Shazeer et al.) ------------
def cv_squared(v):
    eps = 1e-10
    if v.shape[0] == 1:
        return torch.tensor(0.0)
    return v.var() / (v.mean() ** 2 + eps)


def prob_in_top_k(clean, noisy, std, top_values, k):
    batch = clean.size(0)
    m = top_values.size(1)
    flat_top = top_values.flatten()
    pos_in = torch.arange(batch) * m + k
    threshold_in = torch.unsqueeze(torch.gather(flat_top, 0, pos_in), 1)
    is_in = torch.gt(noisy, threshold_in)
    threshold_out = torch.unsqueeze(torch.gather(flat_top, 0, pos_in - 1), 1)
    normal = torch.distributions.normal.Normal(torch.tensor([0.0]), torch.tensor([1.0]))
    p_in = normal.cdf((clean - threshold_in) / std)
    p_out = normal.cdf((clean - threshold_out) / std)
    return torch.where(is_in, p_in, p_out)


def load_case(T, E, k):
    clean = t(rng.normal(size=(T, E))).requires_grad_(True)
    std = t(0.3 + rng.random(size=(T, E))).requires_grad_(True)
    noise = t(rng.normal(size=(T, E)))
    noisy = (clean.detach() + noise * std.detach()).requires_grad_(True)
    top_vals, top_idx = noisy.topk(min(k + 1, E), dim=1)
    gate_logits = top_vals[:, :k].detach()
    gates_dense = torch.zeros(T, E).scatter(1, top_idx[:, :k], torch.softmax(gate_logits, dim=1))
    gates = gates_dense.clone().requires_grad_(True)
    importance = gates.sum(0)
    load = prob_in_top_k(clean, noisy, std, top_vals, k).sum(0)
    loss = cv_squared(importance) + cv_squared(load)
    loss.backward()
    return {
        'T': T, 'E': E, 'k': k, 'clean': flat(clean), 'noisy': flat(noisy), 'std': flat(std), 'gates': flat(gates),
        'top_values': flat(top_vals), 'loss': float(loss), 'importance_only': float(cv_squared(importance)),
        'grad_clean': flat(clean.grad), 'grad_std': flat(std.grad), 'grad_gates': flat(gates.grad), 'grad_noisy': flat(noisy.grad),
    }


fixture['load_balancing'] = {'k1': load_case(10, 4, 1), 'k2': load_case(9, 5, 2)}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.relpath(OUT), os.path.getsize(OUT), 'bytes; torch', torch.__version__)
