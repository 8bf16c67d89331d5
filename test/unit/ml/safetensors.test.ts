import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  expectTensor,
  readSafetensors,
  writeSafetensors,
  type StoredTensor,
} from '../../../src-main/engine/ml/io/safetensors';
import { FieldMoeError } from '../../../src-main/engine/util/errors';
import { REPO_ROOT } from '../../helpers/paths';

const fixtureDir = path.join(REPO_ROOT, 'test/fixtures/ml');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-st-'));
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

/** A valid file with one F32 tensor, as bytes we then corrupt on purpose. */
function fileWith(header: object, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors reader', () => {
  it('reads every dtype written by an independent (Python) writer, widening F16/BF16 to float32', async () => {
    const file = path.join(fixtureDir, 'mixed.safetensors');
    const expected = JSON.parse(readFileSync(path.join(fixtureDir, 'mixed.expected.json'), 'utf8')) as Record<string, number[]>;
    const st = await readSafetensors(file);
    expect(st.metadata).toEqual({ format: 'pt', made_by: 'make_safetensors_fixture.py' });
    const dtypes = Object.fromEntries([...st.tensors].map(([k, t]) => [k, t.dtype]));
    expect(dtypes).toEqual({ half: 'float32', bf16: 'float32', f32: 'float32', f64: 'float64', i64: 'int64', i32: 'int32', u8: 'uint8', flags: 'bool', scalar: 'float32' });
    expect(st.tensors.get('half')!.shape).toEqual([2, 3]);
    expect(st.tensors.get('bf16')!.shape).toEqual([3, 2]);
    expect(st.tensors.get('scalar')!.shape).toEqual([]);
    for (const [name, values] of Object.entries(expected)) {
      const got = Array.from(st.tensors.get(name)!.data as ArrayLike<number | bigint>, Number);
      expect(got, name).toEqual(values);
    }
    expect(st.tensors.get('i64')!.data).toBeInstanceOf(BigInt64Array);
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(4), /shorter than its 8-byte header length/],
    ['a header length past the end', (() => { const b = new Uint8Array(16); b[0] = 200; return b; })(), /runs past the end/],
    ['a header that is not JSON', fileWith({}, new Uint8Array()).map((b, i) => (i === 8 ? 0x7b + 1 : b)), /header is not JSON/],
    ['an unknown dtype', fileWith({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor w: unsupported dtype "F8_E4M3"/],
    ['a byte size that does not match the shape', fileWith({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)), /tensor w: holds 12 bytes but F32 of shape \[2,2\] needs 16/],
    ['offsets outside the data', fileWith({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /tensor w: byte range \[0, 8\) lies outside the data/],
    ['a negative shape', fileWith({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor w: shape \[-1\] is not a list/],
    ['non-string metadata', fileWith({ __metadata__: { a: 1 } }, new Uint8Array()), /__metadata__ must map strings to strings/],
  ])('rejects %s with a one-line error naming the file', (_what, bytes, message) => {
    let err: unknown;
    try {
      decodeSafetensors(bytes, '/data/model.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FieldMoeError);
    expect((err as Error).message).toMatch(/^\/data\/model\.safetensors: /);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('names the file when it cannot be read', async () => {
    await expect(readSafetensors(path.join(tmp, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: cannot read weights \(ENOENT\)/);
  });
});

describe('safetensors writer', () => {
  const tensors = new Map<string, StoredTensor>([
    ['blocks.0.attn.qkv.A', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
    ['blocks.0.alpha', { dtype: 'float64', shape: [], data: Float64Array.of(1e-3) }],
    ['ids', { dtype: 'int64', shape: [2], data: BigInt64Array.of(-1n, 2n ** 50n) }],
    ['i32', { dtype: 'int32', shape: [1, 1], data: Int32Array.of(-7) }],
    ['bytes', { dtype: 'uint8', shape: [3], data: Uint8Array.of(1, 2, 250) }],
    ['mask', { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) }],
  ]);

  it('round-trips every writable dtype, shape, order and the metadata', async () => {
    const file = path.join(tmp, 'w.safetensors');
    await writeSafetensors(file, tensors, { model: 'spectralmoe', epoch: '3' });
    const back = await readSafetensors(file);
    expect(back.metadata).toEqual({ model: 'spectralmoe', epoch: '3' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(Array.from(b.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    // Data starts 8-byte aligned, so readers can map tensors in place.
    const bytes = await fs.readFile(file);
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    expect((await fs.readdir(tmp)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the previous file when a write fails', async () => {
    const file = path.join(tmp, 'keep.safetensors');
    await writeSafetensors(file, tensors);
    const before = await fs.readFile(file);
    const bad = new Map([['x', { dtype: 'int8' as const, shape: [1], data: Int8Array.of(1) }]]);
    await expect(writeSafetensors(file, bad)).rejects.toThrow(/keep\.safetensors: tensor x: cannot write dtype int8/);
    expect(Buffer.compare(await fs.readFile(file), before)).toBe(0);
    const wrongSize = new Map([['x', { dtype: 'float32' as const, shape: [3], data: new Float32Array(2) }]]);
    expect(() => encodeSafetensors(wrongSize, {}, 'out.safetensors')).toThrow(/out\.safetensors: tensor x: shape \[3\] needs 3 values, got 2/);
  });

  it('expectTensor checks presence, dtype and shape, naming file and tensor', () => {
    const st = decodeSafetensors(encodeSafetensors(tensors), 'ckpt.safetensors');
    expect(expectTensor(st, 'ckpt.safetensors', 'ids', 'int64', [2]).data).toBeInstanceOf(BigInt64Array);
    expect(() => expectTensor(st, 'ckpt.safetensors', 'head.weight', 'float32', [2])).toThrow('ckpt.safetensors: has no tensor head.weight');
    expect(() => expectTensor(st, 'ckpt.safetensors', 'ids', 'float32', [2])).toThrow('ckpt.safetensors: tensor ids is int64, expected float32');
    expect(() => expectTensor(st, 'ckpt.safetensors', 'blocks.0.attn.qkv.A', 'float32', [3, 2])).toThrow(
      'ckpt.safetensors: tensor blocks.0.attn.qkv.A has shape [2,3], expected [3,2]',
    );
  });
});
