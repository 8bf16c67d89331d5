#!/usr/bin/python3
"""
Fixtures for the ViT tests (test/unit/models/vit*.test.ts, weights*.test.ts). Run with Debian's
python3 (torch 1.13 + torchvision), no network, no transformers:

    /usr/bin/python3 test/scripts/models_vit_fixture.py

Writes to test/fixtures/models/:
  vit_torchvision.safetensors  torchvision VisionTransformer state_dict (its own names) with
                               random weights, plus io.input, io.block0 (tokens after encoder
                               layer 0), io.final (encoder output, after encoder.ln).
  vit_dinov2_hf.safetensors    a Hugging Face Dinov2WithRegisters-layout checkpoint (key names
                               and shapes as in transformers' modeling_dinov2*.py), random
                               weights, and io.* from the reference forward below, at the
                               stored tile size and at a tile that needs position interpolation.
  vit_clip_hf.safetensors      a Hugging Face CLIPModel checkpoint's vision tower (plus a few
                               text-tower tensors the importer must ignore) and io.*.
  vit_interp.safetensors       F.interpolate results for the position-embedding resampler.

The DINOv2 and CLIP references are written here from the papers' / HF code's equations in plain
torch, keyed by the checkpoint names, so they share nothing with the TypeScript under test.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F
import torchvision

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'models')


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float64:
            t = t.float()
        assert t.dtype == torch.float32, name
        b = t.numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - (len(h) + 8) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f'{path}: {8 + len(h) + offset} bytes, {len(tensors)} tensors')


def randomize(params, gen, std=0.3):
    """Every weight random and non-trivial (LayerNorm scales around 1), so each one matters."""
    out = {}
    for name, p in params.items():
        r = torch.randn(p.shape, generator=gen, dtype=torch.float64) * std
        if name.endswith(('norm1.weight', 'norm2.weight', 'ln_1.weight', 'ln_2.weight', 'ln.weight', 'layernorm.weight',
                          'layer_norm1.weight', 'layer_norm2.weight', 'pre_layrnorm.weight', 'post_layernorm.weight')):
            r = 1 + r
        out[name] = r.float()
    return out


# ---- torchvision -------------------------------------------------------------------------------

def torchvision_fixture(gen):
    m = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=4)
    m.eval()
    sd = randomize(dict(m.state_dict()), gen)
    m.load_state_dict(sd)
    x = torch.randn(2, 3, 32, 32, generator=gen)
    captured = {}
    m.encoder.layers[0].register_forward_hook(lambda _m, _i, o: captured.__setitem__('block0', o))
    with torch.no_grad():
        tokens = m._process_input(x)
        cls = m.class_token.expand(x.shape[0], -1, -1)
        final = m.encoder(torch.cat([cls, tokens], dim=1))
    tensors = dict(sd)
    tensors.update({'io.input': x, 'io.block0': captured['block0'], 'io.final': final})
    write_safetensors(os.path.join(OUT, 'vit_torchvision.safetensors'), tensors,
                      {'config': json.dumps(dict(width=32, depth=2, heads=4, patchSize=8, mlpRatio=2, imageSize=32))})


# ---- DINOv2 (HF layout) ------------------------------------------------------------------------

def dinov2_keys(d, depth, mlp, c, p, n, regs):
    keys = {
        'embeddings.cls_token': [1, 1, d],
        'embeddings.mask_token': [1, d],
        'embeddings.position_embeddings': [1, 1 + n, d],
        'embeddings.patch_embeddings.projection.weight': [d, c, p, p],
        'embeddings.patch_embeddings.projection.bias': [d],
    }
    if regs:
        keys['embeddings.register_tokens'] = [1, regs, d]
    for i in range(depth):
        b = f'encoder.layer.{i}.'
        for k in ['norm1', 'norm2']:
            keys[b + k + '.weight'] = [d]
            keys[b + k + '.bias'] = [d]
        for k in ['query', 'key', 'value']:
            keys[b + f'attention.attention.{k}.weight'] = [d, d]
            keys[b + f'attention.attention.{k}.bias'] = [d]
        keys[b + 'attention.output.dense.weight'] = [d, d]
        keys[b + 'attention.output.dense.bias'] = [d]
        keys[b + 'layer_scale1.lambda1'] = [d]
        keys[b + 'layer_scale2.lambda1'] = [d]
        keys[b + 'mlp.fc1.weight'] = [mlp, d]
        keys[b + 'mlp.fc1.bias'] = [mlp]
        keys[b + 'mlp.fc2.weight'] = [d, mlp]
        keys[b + 'mlp.fc2.bias'] = [d]
    keys['layernorm.weight'] = [d]
    keys['layernorm.bias'] = [d]
    return keys


def mha(x, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, heads):
    b, t, d = x.shape
    hd = d // heads
    split = lambda y: y.view(b, t, heads, hd).transpose(1, 2)
    q, k, v = split(F.linear(x, q_w, q_b)), split(F.linear(x, k_w, k_b)), split(F.linear(x, v_w, v_b))
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
    return F.linear((a @ v).transpose(1, 2).reshape(b, t, d), o_w, o_b)


def dinov2_forward(w, x, depth, heads, p, g0, regs, eps=1e-6):
    d = w['embeddings.cls_token'].shape[-1]
    b, _, h, wd = x.shape
    gh, gw = h // p, wd // p
    patches = F.conv2d(x, w['embeddings.patch_embeddings.projection.weight'], w['embeddings.patch_embeddings.projection.bias'], stride=p)
    patches = patches.flatten(2).transpose(1, 2)
    pos = w['embeddings.position_embeddings']
    cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
    if (gh, gw) != (g0, g0):
        grid = patch_pos.reshape(1, g0, g0, d).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode='bicubic', align_corners=False)
        patch_pos = grid.permute(0, 2, 3, 1).reshape(1, gh * gw, d)
    t = torch.cat([w['embeddings.cls_token'].expand(b, -1, -1) + cls_pos, patches + patch_pos], dim=1)
    if regs:
        t = torch.cat([t[:, :1], w['embeddings.register_tokens'].expand(b, -1, -1), t[:, 1:]], dim=1)
    outs = []
    for i in range(depth):
        L = lambda k: w[f'encoder.layer.{i}.{k}']
        y = F.layer_norm(t, (d,), L('norm1.weight'), L('norm1.bias'), eps)
        y = mha(y, L('attention.attention.query.weight'), L('attention.attention.query.bias'),
                L('attention.attention.key.weight'), L('attention.attention.key.bias'),
                L('attention.attention.value.weight'), L('attention.attention.value.bias'),
                L('attention.output.dense.weight'), L('attention.output.dense.bias'), heads)
        t = t + L('layer_scale1.lambda1') * y
        y = F.layer_norm(t, (d,), L('norm2.weight'), L('norm2.bias'), eps)
        y = F.linear(F.gelu(F.linear(y, L('mlp.fc1.weight'), L('mlp.fc1.bias'))), L('mlp.fc2.weight'), L('mlp.fc2.bias'))
        t = t + L('layer_scale2.lambda1') * y
        outs.append(t)
    final = F.layer_norm(t, (d,), w['layernorm.weight'], w['layernorm.bias'], eps)
    return outs, final


def dinov2_fixture(gen):
    d, depth, heads, p, img, regs, mlp = 32, 2, 4, 8, 32, 2, 128
    g0 = img // p
    keys = dinov2_keys(d, depth, mlp, 3, p, g0 * g0, regs)
    w = randomize({k: torch.zeros(s) for k, s in keys.items()}, gen)
    x = torch.randn(2, 3, img, img, generator=gen)
    x2 = torch.randn(1, 3, 48, 40, generator=gen)  # grid 6 x 5: position embeddings interpolated
    with torch.no_grad():
        outs, final = dinov2_forward(w, x, depth, heads, p, g0, regs)
        _, final2 = dinov2_forward(w, x2, depth, heads, p, g0, regs)
    tensors = dict(w)
    tensors.update({'io.input': x, 'io.block0': outs[0], 'io.final': final, 'io.input_resized': x2, 'io.final_resized': final2})
    write_safetensors(os.path.join(OUT, 'vit_dinov2_hf.safetensors'), tensors,
                      {'config': json.dumps(dict(width=d, depth=depth, heads=heads, patchSize=p, mlpRatio=mlp / d, imageSize=img, registers=regs))})


# ---- CLIP vision (HF layout) -------------------------------------------------------------------

def clip_keys(d, depth, mlp, c, p, n):
    v = 'vision_model.'
    keys = {
        v + 'embeddings.class_embedding': [d],
        v + 'embeddings.patch_embedding.weight': [d, c, p, p],
        v + 'embeddings.position_embedding.weight': [1 + n, d],
        v + 'pre_layrnorm.weight': [d],
        v + 'pre_layrnorm.bias': [d],
        v + 'post_layernorm.weight': [d],
        v + 'post_layernorm.bias': [d],
    }
    for i in range(depth):
        b = f'{v}encoder.layers.{i}.'
        for k in ['q_proj', 'k_proj', 'v_proj', 'out_proj']:
            keys[b + f'self_attn.{k}.weight'] = [d, d]
            keys[b + f'self_attn.{k}.bias'] = [d]
        for k in ['layer_norm1', 'layer_norm2']:
            keys[b + k + '.weight'] = [d]
            keys[b + k + '.bias'] = [d]
        keys[b + 'mlp.fc1.weight'] = [mlp, d]
        keys[b + 'mlp.fc1.bias'] = [mlp]
        keys[b + 'mlp.fc2.weight'] = [d, mlp]
        keys[b + 'mlp.fc2.bias'] = [d]
    # Parts of a full CLIPModel checkpoint that a vision import must skip.
    keys['visual_projection.weight'] = [16, d]
    keys['text_projection.weight'] = [16, 24]
    keys['logit_scale'] = [1]
    keys['text_model.embeddings.token_embedding.weight'] = [10, 24]
    return keys


def clip_forward(w, x, depth, heads, p, eps=1e-5):
    v = 'vision_model.'
    d = w[v + 'embeddings.class_embedding'].shape[0]
    b = x.shape[0]
    patches = F.conv2d(x, w[v + 'embeddings.patch_embedding.weight'], None, stride=p).flatten(2).transpose(1, 2)
    t = torch.cat([w[v + 'embeddings.class_embedding'].expand(b, 1, -1), patches], dim=1)
    t = t + w[v + 'embeddings.position_embedding.weight'][None]
    t = F.layer_norm(t, (d,), w[v + 'pre_layrnorm.weight'], w[v + 'pre_layrnorm.bias'], eps)
    outs = []
    for i in range(depth):
        L = lambda k: w[f'{v}encoder.layers.{i}.{k}']
        y = F.layer_norm(t, (d,), L('layer_norm1.weight'), L('layer_norm1.bias'), eps)
        t = t + mha(y, L('self_attn.q_proj.weight'), L('self_attn.q_proj.bias'), L('self_attn.k_proj.weight'), L('self_attn.k_proj.bias'),
                    L('self_attn.v_proj.weight'), L('self_attn.v_proj.bias'), L('self_attn.out_proj.weight'), L('self_attn.out_proj.bias'), heads)
        y = F.layer_norm(t, (d,), L('layer_norm2.weight'), L('layer_norm2.bias'), eps)
        h = F.linear(y, L('mlp.fc1.weight'), L('mlp.fc1.bias'))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        t = t + F.linear(h, L('mlp.fc2.weight'), L('mlp.fc2.bias'))
        outs.append(t)
    # HF applies post_layernorm to the pooled cls token only; FieldMoE applies it to every token
    # (dense features), which is what this reference does too.
    final = F.layer_norm(t, (d,), w[v + 'post_layernorm.weight'], w[v + 'post_layernorm.bias'], eps)
    return outs, final


def clip_fixture(gen):
    d, depth, heads, p, img, mlp = 32, 2, 4, 8, 32, 128
    keys = clip_keys(d, depth, mlp, 3, p, (img // p) ** 2)
    w = randomize({k: torch.zeros(s) for k, s in keys.items()}, gen)
    x = torch.randn(2, 3, img, img, generator=gen)
    with torch.no_grad():
        outs, final = clip_forward(w, x, depth, heads, p)
    tensors = dict(w)
    tensors.update({'io.input': x, 'io.block0': outs[0], 'io.final': final})
    write_safetensors(os.path.join(OUT, 'vit_clip_hf.safetensors'), tensors,
                      {'config': json.dumps(dict(width=d, depth=depth, heads=heads, patchSize=p, mlpRatio=mlp / d, imageSize=img))})


# ---- position-embedding resampling ------------------------------------------------------------

def interp_fixture(gen):
    grid = torch.randn(1, 3, 5, 5, generator=gen, dtype=torch.float64)
    tensors = {'grid': grid}
    cases = []
    for mode in ['bicubic', 'bilinear']:
        for align in [False, True]:
            for size in [(7, 4), (3, 2), (5, 5), (1, 9)]:
                name = f'{mode}.{int(align)}.{size[0]}x{size[1]}'
                tensors[name] = F.interpolate(grid, size=size, mode=mode, align_corners=align)
                cases.append(name)
    # The original DINOv2 code resizes with scale_factor = (out + 0.1) / in instead of a size.
    for out_h, out_w in [(7, 4), (3, 6)]:
        name = f'bicubic.offset.{out_h}x{out_w}'
        tensors[name] = F.interpolate(grid, scale_factor=((out_h + 0.1) / 5, (out_w + 0.1) / 5), mode='bicubic', align_corners=False)
        cases.append(name)
    write_safetensors(os.path.join(OUT, 'vit_interp.safetensors'), tensors, {'cases': json.dumps(cases)})


if __name__ == '__main__':
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261127)
    torchvision_fixture(gen)
    dinov2_fixture(gen)
    clip_fixture(gen)
    interp_fixture(gen)
