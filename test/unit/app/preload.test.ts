import { describe, expect, it, vi } from 'vitest';
import { IPC_CHANNELS, type FieldMoeApi } from '../../../src-main/ipc/contract';

const exposed = new Map<string, unknown>();
const listeners = new Map<string, (...a: unknown[]) => void>();
const invoke = vi.fn();
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
  ipcRenderer: {
    invoke: (...a: unknown[]) => invoke(...a),
    on: (ch: string, l: (...a: unknown[]) => void) => listeners.set(ch, l),
    removeListener: (ch: string) => listeners.delete(ch),
  },
}));

describe('preload (electron mocked)', () => {
  it('exposes only the typed invoke/onEvent API, unwrapping one-line errors', async () => {
    await import('../../../src-main/preload/index');
    expect([...exposed.keys()]).toEqual(['fieldmoe']);
    const api = exposed.get('fieldmoe') as FieldMoeApi;
    expect(Object.keys(api).sort()).toEqual(['invoke', 'onEvent']);
    invoke.mockResolvedValueOnce({ ok: true, result: { closed: true } });
    await expect(api.invoke('scene.close', { sceneId: 's' })).resolves.toEqual({ closed: true });
    expect(invoke).toHaveBeenLastCalledWith(IPC_CHANNELS.invoke, 'scene.close', { sceneId: 's' });
    invoke.mockResolvedValueOnce({ ok: false, error: '/x.tif: not a GeoTIFF' });
    await expect(api.invoke('scene.open', { path: '/x.tif' })).rejects.toThrow('/x.tif: not a GeoTIFF');
    const got: unknown[] = [];
    const off = api.onEvent((e) => got.push(e));
    listeners.get(IPC_CHANNELS.event)!({}, { type: 'engine.restarted', reason: 'r' });
    expect(got).toEqual([{ type: 'engine.restarted', reason: 'r' }]);
    off();
    expect(listeners.has(IPC_CHANNELS.event)).toBe(false);
  });
});
