import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../../src-main/engine/eval';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-npy-'));
const numpy = (code: string) => execFileSync('/usr/bin/python3', ['-c', `import numpy as np\n${code}`], { encoding: 'utf8' }).trim();

describe('.npy exchange with NumPy', () => {
  it('writes arrays NumPy reads with the same dtype, shape and values', async () => {
    const f = path.join(dir, 'a.npy');
    await writeNpy(f, Float32Array.from([1.5, -2, 3.25, 4, 5, 6]), [2, 3]);
    expect(numpy(`a = np.load('${f}'); print(a.dtype, a.shape, a.tolist())`)).toBe('float32 (2, 3) [[1.5, -2.0, 3.25], [4.0, 5.0, 6.0]]');
    const g = path.join(dir, 'b.npy');
    await writeNpy(g, Int32Array.from([7, -8, 9]), [3]);
    expect(numpy(`a = np.load('${g}'); print(a.dtype, a.shape, a.tolist())`)).toBe('int32 (3,) [7, -8, 9]');
  });

  it('reads what NumPy writes', async () => {
    const f = path.join(dir, 'c.npy');
    numpy(`np.save('${f}', np.arange(12, dtype=np.float64).reshape(3, 4) / 4)`);
    const a = await readNpy(f);
    expect(a.shape).toEqual([3, 4]);
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 12 }, (_, i) => i / 4));
    const u = path.join(dir, 'u.npy');
    numpy(`np.save('${u}', np.array([3, 0, 255], dtype=np.uint8))`);
    expect(Array.from((await readNpy(u)).data)).toEqual([3, 0, 255]);
  });

  it('rejects files it cannot read with a one-line error naming the file', async () => {
    const f = path.join(dir, 'c128.npy');
    numpy(`np.save('${f}', np.zeros(3, dtype=np.complex128))`);
    await expect(readNpy(f)).rejects.toThrow(new RegExp(`^${f}: unsupported .npy dtype <c16`));
    await expect(writeNpy(path.join(dir, 'bad.npy'), new Float32Array(5), [2, 3])).rejects.toThrow(/shape 2x3 does not match 5 values/);
  });
});
