import { describe, expect, it } from 'vitest';
import { openSession } from '../../../src-main/engine/runtime/session';
import { Graph, add } from '../../../src-main/engine/ml/index';

function tinyModel(): Uint8Array {
  const g = new Graph('tiny');
  const x = g.input('x', 'float32', ['batch', 2]);
  return g.toModel({ outputs: [['y', add(x, 1)]] });
}

describe('openSession', () => {
  it('falls back to CPU when GPU providers throw, and reports what ran', async () => {
    const lines: string[] = [];
    const opened = await openSession(tinyModel(), { providers: ['cuda', 'webgpu'], threads: 1, log: (l) => lines.push(l) });
    // No GPU on CI: each GPU provider must have been tried, failed, and been reported.
    expect(opened.provider).toBe('cpu');
    expect(opened.fallbacks.map((f) => f.provider)).toEqual(['cuda', 'webgpu']);
    expect(opened.fallbacks.every((f) => f.error.length > 0)).toBe(true);
    expect(lines.some((l) => l.includes('execution provider: cpu'))).toBe(true);
    await opened.session.release();
  });

  it('runs the graph it opened', async () => {
    const { session } = await openSession(tinyModel(), { threads: 1 });
    const ort = await import('onnxruntime-node');
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await session.release();
  });

  it('throws the CPU error for a malformed model', async () => {
    await expect(openSession(Uint8Array.from([1, 2, 3]), { threads: 1 })).rejects.toThrow();
  });
});
