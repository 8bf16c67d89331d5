#!/usr/bin/python3
"""Writes test/fixtures/ml/mixed.safetensors with an independent writer (struct + json + torch
tensor bytes), holding every dtype our reader takes, so the reader is checked against bytes it
did not write.  Run: /usr/bin/python3 test/scripts/make_safetensors_fixture.py"""
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'ml', 'mixed.safetensors')
values = [1.0, -2.5, 0.333251953125, 65504.0, -0.0001, 3.140625]
tensors = {
    'half': torch.tensor(values, dtype=torch.float16).reshape(2, 3),
    'bf16': torch.tensor(values, dtype=torch.bfloat16).reshape(3, 2),
    'f32': torch.tensor(values, dtype=torch.float32),
    'f64': torch.tensor(values, dtype=torch.float64).reshape(1, 6),
    'i64': torch.tensor([-3, 0, 2**40], dtype=torch.int64),
    'i32': torch.tensor([[7, -8]], dtype=torch.int32),
    'u8': torch.tensor([0, 255, 9], dtype=torch.uint8),
    'flags': torch.tensor([True, False, True, True], dtype=torch.bool),
    'scalar': torch.tensor(4.5, dtype=torch.float32),
}
names = {torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float32: 'F32', torch.float64: 'F64',
         torch.int64: 'I64', torch.int32: 'I32', torch.uint8: 'U8', torch.bool: 'BOOL'}
header = {'__metadata__': {'format': 'pt', 'made_by': 'make_safetensors_fixture.py'}}
blobs = b''
for name, t in tensors.items():
    raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else t.numpy().astype('uint8').tobytes()
    header[name] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [len(blobs), len(blobs) + len(raw)]}
    blobs += raw
h = json.dumps(header).encode()
with open(OUT, 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + blobs)
expected = {k: [float(v) for v in t.double().reshape(-1).tolist()] if t.is_floating_point() else [int(v) for v in t.reshape(-1).tolist()] for k, t in tensors.items()}
with open(OUT.replace('.safetensors', '.expected.json'), 'w') as f:
    json.dump(expected, f)
print('wrote', os.path.relpath(OUT), os.path.getsize(OUT), 'bytes')
