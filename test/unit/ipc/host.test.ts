import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineHost, type HostToMain } from '../../../src-main/engine/host/host';
import { realServices } from '../../../src-main/engine/host/wiring';
import type { EngineServices } from '../../../src-main/engine/host/services';
import type { AppEvent, Reply } from '../../../src-main/ipc/contract';
import { CancelledError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { decodePng } from '../../helpers/png';

function makeHost(services: EngineServices) {
  const sent: HostToMain[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-host-'));
  const host = new EngineHost({ workDir: path.join(dir, 'work'), stateDir: path.join(dir, 'state'), services, send: (m) => sent.push(m) });
  const events = () => sent.filter((m): m is Extract<HostToMain, { type: 'event' }> => m.type === 'event').map((m) => m.event);
  return { host, sent, events };
}

async function waitFor<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('engine host', () => {
  it('answers malformed requests with an error reply and keeps running', async () => {
    const { host, sent } = makeHost({});
    host.handle(null);
    host.handle({ type: 'request' });
    host.handle('garbage');
    host.handle({ type: 'request', id: 1, method: 'no.such', params: {} });
    host.handle({ type: 'request', id: 2, method: 'dialog.open', params: { purpose: 'scene' } });
    host.handle({ type: 'request', id: 3, method: 'render.tile', params: { layer: 5, z: 0, x: 0, y: 0 } });
    host.handle({ type: 'request', id: 4, method: 'engine.capabilities', params: {} });
    await waitFor(() => (sent.length >= 4 ? true : undefined));
    const replies = new Map(sent.flatMap((m) => (m.type === 'response' ? [[m.id, m.reply] as [number, Reply<unknown>]] : [])));
    expect(replies.get(1)).toEqual({ ok: false, error: 'unknown engine method: "no.such"' });
    expect(replies.get(2)).toEqual({ ok: false, error: 'unknown engine method: "dialog.open"' });
    expect(replies.get(3)).toMatchObject({ ok: false, error: expect.stringContaining('render.tile: params.layer') });
    expect(replies.get(4)?.ok).toBe(true);
  });

  it('reports missing engine capabilities honestly', async () => {
    const { host } = makeHost({});
    const caps = await host.request('engine.capabilities', {});
    expect(caps.ok && (caps.result as Record<string, { available: boolean; reason?: string }>).finetune).toEqual({ available: false, reason: expect.stringMatching(/Fine-tuning is not in this build/) });
    const start = await host.request('job.start', { kind: 'finetune', params: {} });
    expect(start).toEqual({ ok: false, error: expect.stringContaining('finetune: Fine-tuning is not in this build') });
  });

  it('runs jobs with streamed progress and cancels them', async () => {
    const services: EngineServices = {
      openScene: (await realServices()).openScene,
      listPacks: async () => [],
      classify: async (_req, ctx) => {
        for (let i = 0; i < 1000; i++) {
          ctx.onProgress?.({ stage: 'classify', fraction: i / 1000, etaSeconds: 1 });
          if (ctx.signal?.aborted) throw new CancelledError();
          await new Promise((r) => setTimeout(r, 5));
        }
        return { provider: 'cpu', degraded: false, notes: [], classes: [] };
      },
    };
    const { host, events } = makeHost(services);
    const opened = await host.request('scene.open', { path: sharedData('nc-landsat7') });
    expect(opened.ok).toBe(true);
    const sceneId = (opened as { result: { sceneId: string } }).result.sceneId;
    const started = await host.request('job.start', { kind: 'classify', params: { sceneId, pack: '/none', provider: 'auto' } });
    expect(started.ok).toBe(true);
    const jobId = (started as { result: { jobId: string } }).result.jobId;
    await waitFor(() => events().find((e) => e.type === 'job.progress'));
    host.handle({ type: 'cancel', jobId });
    const failed = await waitFor(() => events().find((e): e is Extract<AppEvent, { type: 'job.failed' }> => e.type === 'job.failed'));
    expect(failed).toMatchObject({ jobId, cancelled: true, error: 'cancelled' });
  });

  it('opens nc-landsat7 and renders composite tiles, a preview and stats from the real scene', async () => {
    const { host } = makeHost(await realServices());
    const opened = await host.request('scene.open', { path: sharedData('nc-landsat7') });
    if (!opened.ok) throw new Error(opened.error);
    const { sceneId, info, spec } = opened.result as { sceneId: string; info: { width: number; sensors: { id: string; bands: { wavelengthNm?: number }[] }[] }; spec: { sensors: { kind: string }[] } };
    expect(info.width).toBe(489);
    expect(info.sensors[0].bands.map((b) => b.wavelengthNm)).toEqual([485, 560, 660, 835, 1650, 2220]);
    expect(spec.sensors[0].kind).toBe('multispectral');
    const layer = { kind: 'composite', sceneId, sensor: 'l7', bands: [2, 1, 0], stretch: { low: 2, high: 98 } };
    const tile = await host.request('render.tile', { layer, z: 1, x: 0, y: 0 });
    if (!tile.ok) throw new Error(tile.error);
    const { rgba } = decodePng(tile.result as Uint8Array);
    const opaque = rgba.filter((v, i) => i % 4 === 3 && v === 255).length;
    expect(opaque).toBeGreaterThan(256 * 200); // mostly data...
    expect(opaque).toBeLessThan(256 * 256); // ...with a nodata corner
    const preview = await host.request('render.preview', { layer, maxSize: 200 });
    expect(preview.ok && decodePng(preview.result as Uint8Array).width).toBe(200);
    const stats = await host.request('scene.stats', { sceneId, sensor: 'l7' });
    if (!stats.ok) throw new Error(stats.error);
    const s = stats.result as { bands: { min: number; max: number; validFraction: number }[] };
    expect(s.bands).toHaveLength(6);
    expect(s.bands[0].min).toBeGreaterThanOrEqual(1);
    expect(s.bands[0].max).toBeLessThanOrEqual(255);
    expect(s.bands[0].validFraction).toBeGreaterThan(0.5);
    const bad = await host.request('render.tile', { layer: { ...layer, bands: [9, 1, 0] }, z: 1, x: 0, y: 0 });
    expect(bad).toEqual({ ok: false, error: 'sensor l7: has 6 bands; band 10 does not exist' });
    const gone = await host.request('scene.stats', { sceneId: 'nope', sensor: 'l7' });
    expect(gone.ok).toBe(false);
  });
});
