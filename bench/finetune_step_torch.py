#!/usr/bin/python3
"""The fine-tuning train step of bench/finetune.bench.ts in PyTorch: the default SpectralMoE
pack from its first adapted layer on (the frozen patch embedding and block 0 are a cached
input, as in our fine-tuning), SpectralMoE layers + decoder + pixel head trainable (the pixel
head, src-main/engine/ml/models/pixelhead.ts, in its own AdamW group at its learning-rate
multiple), per-pixel cross-entropy (ignore -1), clip_grad_norm 1, AdamW. Reuses the reference
forward of test/scripts/models_moe_torch_bench.py (ViT blocks, linear, layer norm, and the
SpectralMoE routing, eqs. 1-5, with the experts' tokens T_e = A_e B_e kept factored as in our
graph). Gates are noise-free and there is no load-balancing term (ours has both: it does
slightly more work).

    /usr/bin/python3 bench/finetune_step_torch.py DIR THREADS SECONDS

DIR: config.json (ModelConfig + pixelHeadLrScale), weights.safetensors, batch.safetensors (x0
[B, 1+N, d] after block 0, labels as float [B, T, T], image [B, C, T, T] for the pixel head).
Prints one JSON line.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "scripts"))
import models_moe_torch_bench as ref  # noqa: E402


def moe_route(w, p, f, gate, moe, shared):
    """Eqs. 1-5 without noise, from the reference module, with the experts kept factored as in
    our graph (T_e = A_e B_e is never formed); the weight-only terms (B_e W_T, A_e^T / sqrt(d))
    are recomputed here every step because A and B are being trained."""
    terms = ref.expert_factors(w[p + ".experts.a"], w[p + ".experts.b"], shared)
    return ref.moe_route(w, p, f, terms, gate, moe)


def pixel_head(w, cfg, image):
    """V GELU(sum_i W_i ((x_i - shift_i) scale_i) + b) + c per pixel, as [B, classes, T, T]."""
    ph, b, t = cfg["pixelHead"], image.shape[0], cfg["tile"]
    hidden = sum(w[f"pixel_head.{i['name']}.weight"] @ ((image - w[f"pixel_head.{i['name']}.norm.shift"]) * w[f"pixel_head.{i['name']}.norm.scale"]).flatten(2) for i in ph["inputs"])
    h = F.gelu(hidden + w["pixel_head.hidden.bias"])
    return (w["pixel_head.out.weight"] @ h + w["pixel_head.out.bias"]).reshape(b, -1, t, t)


def forward(w, cfg, x, image):
    vit, moe = cfg["vit"], cfg["adapters"]["moe"]
    shared = {k: w["moe.shared." + k] for k in ["w_t", "b_t", "alpha"]}
    mlp_w, mlp_b = w["moe.shared.mlp.weight"], w["moe.shared.mlp.bias"]
    feats = {}
    for i in range(vit["depth"]):
        if i > 0:
            x = ref.vit_block(w, f"backbone.blocks.{i}", x, vit)
        p = f"backbone.moe.{i}"
        gate = (p + (".gate.visual" if moe["dualGating"] else ".gate.shared")) if moe["experts"] > 1 else None
        fv = x[:, 1:]
        df = moe_route(w, p, fv, gate, moe, shared)
        out = fv + shared["alpha"] * ((df + fv) @ mlp_w + mlp_b)
        x = torch.cat([x[:, :1], out], 1)
        if i in cfg["decoder"]["levels"]:
            feats[i] = x[:, 1:]
    dec = cfg["decoder"]
    fused = sum(ref.linear(w, f"decoder.proj.{j}", ref.layer_norm(w, f"decoder.norm.{j}", feats[l], 1e-6)) for j, l in enumerate(dec["levels"]))
    logits = ref.linear(w, "decoder.classifier", F.gelu(fused))
    gh = cfg["tile"] // vit["patchSize"]
    grid = logits.transpose(1, 2).reshape(logits.shape[0], dec["classes"], gh, gh)
    logits = F.interpolate(grid, size=(cfg["tile"], cfg["tile"]), mode="bilinear", align_corners=False)
    return logits + pixel_head(w, cfg, image) if cfg.get("pixelHead") else logits


def main():
    folder, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    spec = json.load(open(f"{folder}/config.json"))
    cfg = spec["config"]
    w = ref.read_safetensors(f"{folder}/weights.safetensors")
    batch = ref.read_safetensors(f"{folder}/batch.safetensors")
    x0, labels, image = batch["x0"], batch["labels"].long(), batch["image"]
    trainable = [k for k in w if k.startswith(("backbone.moe.", "moe.", "decoder.", "pixel_head."))]
    for k in trainable:
        w[k].requires_grad_(True)
    groups = [
        {"params": [w[k] for k in trainable if not k.startswith("pixel_head.")]},
        {"params": [w[k] for k in trainable if k.startswith("pixel_head.")], "lr": 1e-3 * spec.get("pixelHeadLrScale", 1)},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-3, weight_decay=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(w, cfg, x0, image), labels, ignore_index=-1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([w[k] for k in trainable], 1.0)
        opt.step()
        return float(loss)

    first = step()
    step()
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        step()
        runs += 1
    print(json.dumps({"torch": torch.__version__, "threads": threads, "seconds_per_step": (time.perf_counter() - start) / runs, "runs": runs, "first_loss": first, "trainable": len(trainable)}))


if __name__ == "__main__":
    main()
