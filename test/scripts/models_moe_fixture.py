#!/usr/bin/python3
"""Writes test/fixtures/models/moe_torch.safetensors: tiny SpectralMoE and MaMOL models with
random float32 weights, inputs, and the class probabilities computed by the independent PyTorch
implementation in models_moe_torch_bench.py. The parameter names and shapes are enumerated here
from the config (not taken from our code), so the test also checks our naming.

    /usr/bin/python3 test/scripts/models_moe_fixture.py
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models_moe_torch_bench import mamol, spectralmoe  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "models", "moe_torch.safetensors")


def vit(width, depth, heads, patch, image, channels):
    return {
        "width": width, "depth": depth, "heads": heads, "patchSize": patch, "mlpRatio": 2, "inChannels": channels,
        "imageSize": image, "activation": "gelu", "layerScale": None, "registers": 0, "clsToken": True, "preNorm": False,
        "finalNorm": True, "layerNormEps": 1e-6, "qkvBias": True, "patchBias": True,
        "posInterpolation": {"mode": "bicubic", "alignCorners": False},
    }


def vit_params(prefix, c, patch_embed=True):
    d, m, g = c["width"], c["width"] * c["mlpRatio"], c["imageSize"] // c["patchSize"]
    out = {}
    if patch_embed:
        out["patch_embed.weight"] = [d, c["inChannels"], c["patchSize"], c["patchSize"]]
        out["patch_embed.bias"] = [d]
    out["cls_token"] = [1, 1, d]
    out["pos_embed"] = [1, 1 + g * g, d]
    for i in range(c["depth"]):
        b = f"blocks.{i}."
        out.update({b + "norm1.weight": [d], b + "norm1.bias": [d], b + "attn.qkv.weight": [3 * d, d], b + "attn.qkv.bias": [3 * d],
                    b + "attn.proj.weight": [d, d], b + "attn.proj.bias": [d], b + "norm2.weight": [d], b + "norm2.bias": [d],
                    b + "mlp.fc1.weight": [m, d], b + "mlp.fc1.bias": [m], b + "mlp.fc2.weight": [d, m], b + "mlp.fc2.bias": [d]})
    out["norm.weight"] = [d]
    out["norm.bias"] = [d]
    return {prefix + k: v for k, v in out.items()}


def spectral_case(top_k, p, fusion):
    v = vit(8, 2, 2, 2, 8, 3)
    moe = {"experts": 3, "tokensPerExpert": 4, "rank": 2, "topK": top_k, "p": p, "dualGating": True, "depth": True,
           "fusion": fusion, "alphaInit": 0.001, "loadLambda": 1000}
    cfg = {"vit": v, "depthVit": v, "depthSource": {"source": "elevation", "kind": "lidar"}, "adapters": {"moe": moe, "loraRank": None},
           "decoder": {"levels": [0, 1], "hidden": 6, "classes": 3}, "tile": 8, "embedding": {"kind": "patch"}}
    d, e = v["width"], moe["experts"]
    params = {**vit_params("backbone.", v), **vit_params("depth_encoder.", v, patch_embed=False)}
    params.update({"depth_branch.sensor_embed.lidar.weight": [d, 1, 2, 2], "depth_branch.sensor_embed.lidar.bias": [d]})
    params.update({"moe.shared.w_t": [d, d], "moe.shared.b_t": [d], "moe.shared.mlp.weight": [d, d], "moe.shared.mlp.bias": [d], "moe.shared.alpha": [1]})
    for l in range(v["depth"]):
        q = f"backbone.moe.{l}."
        params.update({q + "experts.a": [e, moe["tokensPerExpert"], moe["rank"]], q + "experts.b": [e, moe["rank"], d]})
        for which in ["visual", "depth"]:
            params.update({q + f"gate.{which}.w_gate": [d, e], q + f"gate.{which}.w_noise": [d, e]})
    for j in range(2):
        params.update({f"decoder.norm.{j}.weight": [d], f"decoder.norm.{j}.bias": [d], f"decoder.proj.{j}.weight": [6, d], f"decoder.proj.{j}.bias": [6]})
    params.update({"decoder.classifier.weight": [3, 6], "decoder.classifier.bias": [3]})
    inputs = {"image": [2, 3, 8, 8], "depth": [2, 1, 8, 8]}
    return {"architecture": "spectralmoe", "config": cfg}, params, inputs, spectralmoe


def mamol_case(head):
    v = vit(8, 3, 2, 2, 4, 3)
    ex = {"rank": 2, "shared": True, "modalitySpecific": True, "dynamic": 2, "topK": 1, "routerSeesPattern": True, "patternDim": 3, "routerHidden": 5}
    mods = [{"name": "hs", "bands": 5}, {"name": "lidar", "bands": 1}]
    cfg = {"vit": v, "modalities": mods, "size": 4, "tokenPatch": 2, "embedHidden": 7, "experts": ex, "adaptedBlocks": 2, "head": head, "classes": 4}
    d, M, r = v["width"], 2, ex["rank"]
    params = vit_params("backbone.", v, patch_embed=False)
    for mod in mods:
        params.update({f"embed.{mod['name']}.fc1.weight": [7, mod["bands"] * 4], f"embed.{mod['name']}.fc1.bias": [7],
                       f"embed.{mod['name']}.fc2.weight": [d, 7], f"embed.{mod['name']}.fc2.bias": [d]})
    params.update({"experts.pattern_embed.weight": [3, 2**M], "experts.pattern_embed.bias": [3]})
    for b in [1, 2]:
        q = f"backbone.blocks.{b}.experts."
        params.update({q + "static.a": [d, (1 + M) * r], q + "static.b": [(1 + M) * r, d], q + "router.phi_z.weight": [5, d],
                       q + "router.phi_z.bias": [5], q + "router.phi_t.weight": [5, 3], q + "router.w.weight": [2, 5],
                       q + "dynamic.a": [d, 2 * r], q + "dynamic.b": [2 * r, d]})
    params.update({"head.classifier.weight": [4, M * d], "head.classifier.bias": [4]})
    inputs = {"hs": [4, 5, 4, 4], "lidar": [4, 1, 4, 4], "available": [4, 2]}
    return {"architecture": "mamol", "config": cfg}, params, inputs, mamol


CASES = {
    "spectralmoe_k1_p2_xattn": spectral_case(1, 2, "cross-attention"),
    "spectralmoe_k2_p1_add": spectral_case(2, 1, "add"),
    "mamol_patch": mamol_case("patch"),
    "mamol_dense": mamol_case("dense"),
}


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for k, t in tensors.items():
        b = np.ascontiguousarray(t.numpy().astype("<f4")).tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    gen = torch.Generator().manual_seed(0)
    tensors, meta = {}, {}
    for case, (model, params, inputs, fn) in CASES.items():
        w = {k: torch.randn(s, generator=gen) * 0.4 for k, s in params.items()}
        for k in w:
            if k.endswith("norm1.weight") or k.endswith("norm2.weight") or k.endswith("norm.weight"):
                w[k] = 1 + 0.1 * torch.randn(w[k].shape, generator=gen)
        x = {k: torch.randn(s, generator=gen) for k, s in inputs.items()}
        if "available" in x:
            x["available"] = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        with torch.no_grad():
            probs = fn(w, model["config"], x)
        for k, t in w.items():
            tensors[f"{case}/w/{k}"] = t
        for k, t in x.items():
            tensors[f"{case}/in/{k}"] = t
        tensors[f"{case}/probabilities"] = probs
        meta[case] = json.dumps(model)
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
