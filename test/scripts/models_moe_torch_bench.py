#!/usr/bin/python3
"""The default SpectralMoE and MaMOL inference graphs written independently in PyTorch, for
bench/infer.bench.ts: loads the config and weights the bench exported (safetensors, parsed with
numpy), checks that its probabilities match onnxruntime's on the bench's input (so both sides
time the same function), then times batches with the same thread count.

    /usr/bin/python3 test/scripts/models_moe_torch_bench.py DIR THREADS SECONDS [--serve]

With --serve it prints the agreement line first, then answers "ARCH SECONDS" lines on stdin with
one timing line each (the bench alternates ours and torch per model and round this way).

DIR holds <arch>.json (ModelConfig), <arch>.safetensors, <arch>.inputs.safetensors and
<arch>.expected.safetensors for arch in spectralmoe, mamol. Prints one JSON line.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v["dtype"]
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(body[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


# ---- ViT (timm-like names, PyTorch [out, in] Linear layout) -------------------------------------


def linear(w, p, x, bias=True):
    # F.linear: one addmm with the bias inside, as our graphs' Gemm
    return F.linear(x, w[p + ".weight"], w[p + ".bias"] if bias and (p + ".bias") in w else None)


def layer_norm(w, p, x, eps):
    return F.layer_norm(x, (x.shape[-1],), w[p + ".weight"], w[p + ".bias"], eps)


def attention(w, p, x, heads):
    b, t, d = x.shape
    hd = d // heads
    qkv = linear(w, p + ".qkv", x).reshape(b, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = torch.softmax((q * (1 / math.sqrt(hd))) @ k.transpose(-1, -2), dim=-1)
    return linear(w, p + ".proj", (a @ v).transpose(1, 2).reshape(b, t, d))


def vit_block(w, p, x, cfg, mlp_parallel=None):
    eps = cfg["layerNormEps"]
    act = F.gelu if cfg["activation"] == "gelu" else (lambda z: z * torch.sigmoid(1.702 * z))
    y = x + attention(w, p + ".attn", layer_norm(w, p + ".norm1", x, eps), cfg["heads"])
    n2 = layer_norm(w, p + ".norm2", y, eps)
    z = y + linear(w, p + ".mlp.fc2", act(linear(w, p + ".mlp.fc1", n2)))
    if mlp_parallel is not None:
        z = z + mlp_parallel(n2)
    return z


def assemble(w, p, patches, cfg):
    b = patches.shape[0]
    x = patches + w[p + "pos_embed"][:, 1:]
    cls = (w[p + "cls_token"] + w[p + "pos_embed"][:, :1]).expand(b, 1, -1)
    return torch.cat([cls, x], 1)


def patch_embed(w, p, x, cfg, name="patch_embed"):
    t = F.conv2d(x, w[p + name + ".weight"], w.get(p + name + ".bias"), stride=cfg["patchSize"])
    return t.flatten(2).transpose(1, 2)


# ---- SpectralMoE --------------------------------------------------------------------------------


def topk_gates(h, k):
    vals, idx = h.topk(k, dim=-1)
    return torch.zeros_like(h).scatter(-1, idx, torch.softmax(vals, -1))


def moe_route(w, p, f, terms, gate, moe):
    """Eqs. 1-5 with the experts' tokens T_e = A_e B_e kept factored, as our graph computes them
    (spectralmoe.ts perceptualMap / aggregateExperts): scores (f B_e^T) A_e^T, and since each
    perceptual-map row sums to 1, sum_e g_e M_e (T_e W_T + b_T) = [g_e M_e A_e]_e [B_e W_T]_e
    + (sum_e g_e) b_T. `terms` from expert_terms."""
    b_t, a, a_t, proj, b_shared = terms["b_flat_t"], terms["a"], terms["a_t"], terms["proj"], terms["b_t"]
    e, m, r = a.shape
    lead = f.shape[:-1]
    if gate is None:
        g = None
    else:
        wg = w[gate + ".w_gate"]
        if moe["p"] == 2:
            sq = (f * f).sum(-1, keepdim=True) - 2 * (f @ wg) + (wg * wg).sum(0, keepdim=True)
            h = -torch.sqrt(torch.relu(sq) + 1e-12)
        else:
            h = -(f.unsqueeze(-2) - wg.t()).abs().sum(-1)
        g = topk_gates(h, moe["topK"])
    # expert-major [E, B*N, .]: batched products over E alone, so torch does not broadcast
    # (copy) A_e to every sample as matmul does for [B, E, N, .] @ [E, ., .]
    rows = f.numel() // f.shape[-1]
    low = (f @ b_t).reshape(rows, e, r).transpose(0, 1)  # [E, B*N, r]
    amap = torch.softmax(torch.bmm(low, a_t), -1)  # [E, B*N, m]
    z = torch.bmm(amap, a)  # [E, B*N, r]
    if g is not None:
        z = z * g.reshape(rows, e).t().unsqueeze(-1)
    z = z.transpose(0, 1).reshape(lead + (e * r,))
    if g is None or moe["topK"] == 1:
        # top-1 gates are one-hot (sum 1 exactly): the b_T term is a constant vector, inside the
        # product as a Gemm bias (spectralmoe.ts aggregateExperts with gatesSumToOne)
        bias = b_shared * e if g is None else b_shared
        return torch.addmm(bias, z.reshape(rows, e * r), proj).reshape(lead + (proj.shape[1],))
    return z @ proj + g.sum(-1, keepdim=True) * b_shared


def expert_factors(a, b, shared):
    """The weight-only terms of moe_route: B flattened and transposed [d, E*r], A_e^T / sqrt(d),
    A_e, and B_e W_T stacked [E*r, d]."""
    e, r, d = b.shape
    b_flat = b.reshape(e * r, d)
    return {"b_flat_t": b_flat.t(), "a": a, "a_t": (a.transpose(1, 2) / math.sqrt(d)).contiguous(), "proj": b_flat @ shared["w_t"], "b_t": shared["b_t"]}


_TERMS = {}


def expert_terms(w, p, shared):
    """expert_factors depend on weights only: computed once per weight set and cached
    (onnxruntime constant-folds the same terms in our graph), so torch does not redo them
    every batch."""
    a = w[p + ".experts.a"]
    hit = _TERMS.get(id(a))
    if hit is None or hit[0] is not a:
        # kept beside the weights, not in them (models_moe_fixture.py writes the weight dict out)
        hit = _TERMS[id(a)] = (a, expert_factors(a, w[p + ".experts.b"], shared))
    return hit[1]


def spectralmoe(w, cfg, inputs):
    vit, moe = cfg["vit"], cfg["adapters"]["moe"]
    d = vit["width"]
    shared = {k: w["moe.shared." + k] for k in ["w_t", "b_t", "alpha"]}
    mlp_w, mlp_b = w["moe.shared.mlp.weight"], w["moe.shared.mlp.bias"]
    depth_tokens = None
    if moe["depth"] and cfg["depthSource"]["source"] == "elevation":
        # elevation: the per-kind embedding (depth_branch.sensor_embed.<kind>) replaces the depth
        # encoder's patch embedding; the encoder's blocks are run as they are
        dv = cfg["depthVit"]
        kind = cfg["depthSource"]["kind"]
        emb = patch_embed(w, "depth_branch.", inputs["depth"], dv, f"sensor_embed.{kind}")
        x = assemble(w, "depth_encoder.", emb, dv)
        depth_tokens = []
        for i in range(dv["depth"]):
            x = vit_block(w, f"depth_encoder.blocks.{i}", x, dv)
            depth_tokens.append(x[:, 1:])
    x = assemble(w, "backbone.", patch_embed(w, "backbone.", inputs["image"], vit), vit)
    feats = {}
    for i in range(vit["depth"]):
        x = vit_block(w, f"backbone.blocks.{i}", x, vit)
        p = f"backbone.moe.{i}"
        terms = expert_terms(w, p, shared)
        multi = moe["experts"] > 1
        vgate = (p + (".gate.visual" if moe["dualGating"] else ".gate.shared")) if multi else None
        dgate = (p + (".gate.depth" if moe["dualGating"] else ".gate.shared")) if multi else None
        fv = x[:, 1:]
        df = moe_route(w, p, fv, terms, vgate, moe)
        if depth_tokens is not None:
            dfd = moe_route(w, p, depth_tokens[i], terms, dgate, moe)
            if moe["fusion"] == "cross-attention":
                df = torch.softmax(df @ dfd.transpose(1, 2) / math.sqrt(d), -1) @ dfd
            else:
                df = df + dfd
        out = fv + shared["alpha"] * ((df + fv) @ mlp_w + mlp_b)
        x = torch.cat([x[:, :1], out], 1)
        if i in cfg["decoder"]["levels"]:
            feats[i] = x[:, 1:]
    dec = cfg["decoder"]
    fused = sum(
        linear(w, f"decoder.proj.{j}", layer_norm(w, f"decoder.norm.{j}", feats[l], 1e-6)) for j, l in enumerate(dec["levels"])
    )
    logits = linear(w, "decoder.classifier", F.gelu(fused))
    gh = cfg["tile"] // vit["patchSize"]
    grid = logits.transpose(1, 2).reshape(logits.shape[0], dec["classes"], gh, gh)
    up = F.interpolate(grid, size=(cfg["tile"], cfg["tile"]), mode="bilinear", align_corners=False)
    return torch.softmax(up, 1)


# ---- MaMOL --------------------------------------------------------------------------------------


def lora_sum(z, a, b, coef, r):
    """sum_e coef_e * (z A_e) B_e with A [d, E r], B [E r, d]; coef [..., E]."""
    za = z @ a
    spread = coef.repeat_interleave(r, dim=-1)
    return (za * spread) @ b


def mamol(w, cfg, inputs):
    vit, ex = cfg["vit"], cfg["experts"]
    mods = cfg["modalities"]
    M, d, p = len(mods), vit["width"], cfg["tokenPatch"]
    m = inputs["available"]
    b = m.shape[0]
    toks = []
    for i, mod in enumerate(mods):
        # fc1 over p x p patches as a stride-p conv (mamol.ts embedModality); the zero dummy
        # m_i x is applied after the product, the same and on a smaller tensor
        x = inputs[mod["name"]]
        e = f"embed.{mod['name']}"
        fc1 = w[e + ".fc1.weight"]
        kernel = fc1.reshape(fc1.shape[0], x.shape[1], p, p)
        h = F.conv2d(x, kernel, None, stride=p).flatten(2).transpose(1, 2) * m[:, i].reshape(b, 1, 1)
        toks.append(linear(w, e + ".fc2", F.gelu(h + w[e + ".fc1.bias"])))
    n = toks[0].shape[1]
    stacked = torch.stack(toks, 1).reshape(b * M, n, d)
    m_rows = m.unsqueeze(1).expand(b, M, M).reshape(b * M, M)
    psi = None
    if ex["dynamic"] > 0 and ex["routerSeesPattern"]:
        bits = torch.tensor([[(q >> i) & 1 for q in range(2**M)] for i in range(M)], dtype=torch.float32)
        onehot = ((m_rows @ bits + (1 - m_rows) @ (1 - bits)) == M).float()
        psi = linear(w, "experts.pattern_embed", onehot)
    x = assemble(w, "backbone.", stacked, vit)
    first = vit["depth"] - cfg["adaptedBlocks"]
    for i in range(vit["depth"]):
        def experts(z, i=i):
            pre = f"backbone.blocks.{i}.experts"
            coef = gates = None
            if ex["shared"] or ex["modalitySpecific"]:
                parts = ([torch.ones(b * M, 1)] if ex["shared"] else []) + ([m_rows] if ex["modalitySpecific"] else [])
                coef = torch.cat(parts, 1).unsqueeze(1)
            if ex["dynamic"] > 0:
                h = linear(w, pre + ".router.phi_z", z)
                if psi is not None:
                    h = h + linear(w, pre + ".router.phi_t", psi, bias=False).unsqueeze(1)
                probs = torch.softmax(linear(w, pre + ".router.w", F.gelu(h), bias=False), -1)
                _, idx = probs.topk(ex["topK"], -1)
                gates = torch.zeros_like(probs).scatter(-1, idx, probs.gather(-1, idx))
            if coef is not None and gates is not None:
                # static and dynamic experts as one stacked LoRA (mamol.ts missingAwareExperts)
                a = torch.cat([w[pre + ".static.a"], w[pre + ".dynamic.a"]], 1)
                bb = torch.cat([w[pre + ".static.b"], w[pre + ".dynamic.b"]], 0)
                return lora_sum(z, a, bb, torch.cat([coef.expand(-1, z.shape[1], -1), gates], -1), ex["rank"])
            if coef is not None:
                return lora_sum(z, w[pre + ".static.a"], w[pre + ".static.b"], coef, ex["rank"])
            if gates is not None:
                return lora_sum(z, w[pre + ".dynamic.a"], w[pre + ".dynamic.b"], gates, ex["rank"])
            return 0

        x = vit_block(w, f"backbone.blocks.{i}", x, vit, experts if i >= first else None)
    x = layer_norm(w, "backbone.norm", x, vit["layerNormEps"])
    if cfg["head"] == "patch":
        cls = x[:, 0].reshape(b, M, d) * m.reshape(b, M, 1)
        return torch.softmax(linear(w, "head.classifier", cls.reshape(b, M * d)), 1)
    patches = x[:, 1:].reshape(b, M, n, d) * m.reshape(b, M, 1, 1)
    logits = linear(w, "head.classifier", patches.permute(0, 2, 1, 3).reshape(b, n, M * d))
    g = cfg["size"] // p
    grid = logits.transpose(1, 2).reshape(b, cfg["classes"], g, g)
    up = F.interpolate(grid, size=(cfg["size"], cfg["size"]), mode="bilinear", align_corners=False)
    return torch.softmax(up, 1)


MODELS = {"spectralmoe": spectralmoe, "mamol": mamol}


def time_batches(fn, w, cfg, inputs, seconds):
    fn(w, cfg, inputs)  # warm-up
    runs, best, start = 0, math.inf, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn(w, cfg, inputs)
        best = min(best, time.perf_counter() - t)
        runs += 1
    return {"seconds_per_batch": (time.perf_counter() - start) / runs, "best_seconds": best, "runs": runs}


def main():
    folder, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    serve = "--serve" in sys.argv[4:]
    torch.set_num_threads(threads)
    result = {"torch": torch.__version__, "threads": threads}
    loaded = {}
    with torch.inference_mode():
        for arch, fn in MODELS.items():
            model = json.load(open(f"{folder}/{arch}.json"))
            w = read_safetensors(f"{folder}/{arch}.safetensors")
            inputs = read_safetensors(f"{folder}/{arch}.inputs.safetensors")
            expected = read_safetensors(f"{folder}/{arch}.expected.safetensors")["probabilities"]
            got = fn(w, model["config"], inputs)
            result[arch] = {"max_abs_diff": float((got - expected).abs().max())}
            loaded[arch] = (fn, w, model["config"], inputs)
            if not serve:
                result[arch].update(time_batches(fn, w, model["config"], inputs, seconds))
        print(json.dumps(result), flush=True)
        if not serve:
            return
        # --serve: one JSON line per request "ARCH SECONDS" on stdin, so the caller can alternate
        # with its own timings at a fine grain without reloading torch
        for line in sys.stdin:
            if not line.strip():
                continue
            arch, secs = line.split()
            fn, w, cfg, inputs = loaded[arch]
            print(json.dumps(time_batches(fn, w, cfg, inputs, float(secs))), flush=True)


if __name__ == "__main__":
    main()
