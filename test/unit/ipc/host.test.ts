import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineHost, type HostToMain } from '../../../src-main/engine/host/host';
import { realServices, trainFigures } from '../../../src-main/engine/host/wiring';
import type { EngineServices } from '../../../src-main/engine/host/services';
import type { AppEvent, Reply } from '../../../src-main/ipc/contract';
import { CancelledError } from '../../../src-main/engine/util/errors';
import { sharedData } from '../../helpers/paths';
import { decodePng } from '../../helpers/png';
import { loadLabels } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/scene';
import { existsSync, readFileSync } from 'node:fs';
import type { FinetuneRequest } from '../../../src-main/engine/host/services';

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
    const params = { sceneId: 's', pack: '/p', epochs: 3, name: 'x', labels: [], classes: [] };
    const start = await host.request('job.start', { kind: 'finetune', params });
    expect(start).toEqual({ ok: false, error: expect.stringContaining('finetune: Fine-tuning is not in this build') });
    const bad = await host.request('job.start', { kind: 'finetune', params: { ...params, name: '../../etc' } });
    expect(bad).toEqual({ ok: false, error: expect.stringContaining('params.params.name: use letters, digits') });
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
    const tile = await host.request('render.tile', { layer, z: 2, x: 1, y: 1 }); // scene pixels 0..255
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

  it('fine-tunes on the drawn labels: writes them as a labels file the engine reads, streams training figures, saves the pack', async () => {
    const nc = sharedData('nc-landsat7');
    let seen: FinetuneRequest | undefined;
    const services: EngineServices = {
      ...(await realServices()),
      finetune: async (req, ctx) => {
        seen = req;
        ctx.onProgress?.({ stage: 'finetune', fraction: 0.5, train: { epoch: 1, epochs: 2, loss: 0.7, valAccuracy: 0.6 } } as never);
        const { mkdirSync, writeFileSync } = await import('node:fs');
        mkdirSync(req.out, { recursive: true });
        writeFileSync(path.join(req.out, 'manifest.json'), '{}');
        return { pack: req.out, adapter: 'lora', head: 'keep', epochs: 2, stoppedEarly: false, provider: 'cpu', seconds: 1, warnings: [] };
      },
    };
    const { host, events } = makeHost(services);
    const opened = await host.request('scene.open', { path: nc });
    if (!opened.ok) throw new Error(opened.error);
    const sceneId = (opened.result as { sceneId: string }).sceneId;
    // Two rectangles in EPSG:3358 inside the scene (origin 630534, 228114; 28.5 m pixels).
    const rect = (x0: number, y0: number, w: number, h: number) => ({ type: 'Polygon' as const, coordinates: [[[x0, y0], [x0 + w, y0], [x0 + w, y0 - h], [x0, y0 - h], [x0, y0]]] });
    const labels = [
      { id: 'a', classId: 6, tool: 'rectangle', geometry: rect(631000, 227000, 285, 285) },
      { id: 'b', classId: 5, tool: 'polygon', geometry: rect(635000, 222000, 570, 285) },
    ];
    const classes = [{ id: 5, name: 'forest', colour: '#1a9641' }, { id: 6, name: 'water', colour: '#2b83ba' }];
    const started = await host.request('job.start', { kind: 'finetune', params: { sceneId, pack: '/packs/base', epochs: 2, name: 'nc-adapted', labels, classes } });
    if (!started.ok) throw new Error(started.error);
    const done = await waitFor(() => events().find((e): e is Extract<AppEvent, { type: 'job.done' }> => e.type === 'job.done'));
    const progress = events().find((e): e is Extract<AppEvent, { type: 'job.progress' }> => e.type === 'job.progress');
    expect(progress?.progress.train).toEqual({ epoch: 1, epochs: 2, loss: 0.7, valAccuracy: 0.6 });
    expect(seen?.name).toBe('nc-adapted');
    expect(seen?.epochs).toBe(2);
    expect((done.result as { pack: string }).pack).toBe(seen!.out);
    // The labels file is what the engine's labels loader reads, on the scene's grid.
    const scene = await openScene(nc);
    const set = await loadLabels(seen!.labelsFile, scene.info);
    await scene.close();
    expect(set.classes.map((c) => c.name).sort()).toEqual(['forest', 'water']);
    const count = (name: string) => set.classCounts[set.classes.findIndex((c) => c.name === name)];
    // 10 x 10 and 20 x 10 pixels (edges may go either way).
    expect(count('water')).toBeGreaterThanOrEqual(81);
    expect(count('water')).toBeLessThanOrEqual(121);
    expect(count('forest')).toBeGreaterThanOrEqual(171);
    expect(count('forest')).toBeLessThanOrEqual(231);
    expect(JSON.parse(readFileSync(seen!.labelsFile, 'utf8')).crs.properties.name).toBe('urn:ogc:def:crs:EPSG::3358');
    // Save the adapted pack into another folder.
    const dest = path.join(os.tmpdir(), `fm-pack-${Date.now()}`);
    const saved = await host.request('export.pack', { pack: seen!.out, outDir: dest });
    expect(saved).toEqual({ ok: true, result: { dir: path.join(dest, 'nc-adapted') } });
    expect(existsSync(path.join(dest, 'nc-adapted', 'manifest.json'))).toBe(true);
    const again = await host.request('export.pack', { pack: seen!.out, outDir: dest });
    expect(again).toMatchObject({ ok: false, error: expect.stringContaining('already exists') });
  });

  it("charts each epoch's training figures, not the start's validation (epoch 0, no training loss)", () => {
    const val = { loss: 0.9, metrics: { labelled: 10, correct: 7 } };
    expect(trainFigures({ stage: 'validate', fraction: 0, epoch: 0, epochs: 5, val } as never)).toBeUndefined();
    expect(trainFigures({ stage: 'validate', fraction: 0.2, epoch: 1, epochs: 5, loss: 0.5, val } as never)).toEqual({ epoch: 1, epochs: 5, loss: 0.5, valAccuracy: 0.7 });
  });

  it('opens picked files as one sensor each, with kinds guessed and wavelengths from metadata', async () => {
    const { host } = makeHost(await realServices());
    const dir = sharedData('sen1floods11-spain');
    const opened = await host.request('scene.open', { files: [path.join(dir, 'S2Hand.tif'), path.join(dir, 'S1Hand.tif')] });
    if (!opened.ok) throw new Error(opened.error);
    const { spec, info } = opened.result as { spec: { sensors: { id: string; kind: string; bands?: { wavelengthNm?: number }[] }[] }; info: { sensors: { bands: unknown[] }[] } };
    expect(spec.sensors.map((s) => s.id)).toEqual(['S2Hand', 'S1Hand']);
    expect(spec.sensors[0].kind).toBe('multispectral');
    expect(spec.sensors[1].kind).toBe('sar');
    expect(info.sensors[0].bands.length).toBe(13);
    // Edited wavelengths come back in the info the classify pipeline matches packs on.
    const edited = { ...spec, failureRegions: [], sensors: spec.sensors.map((s, i) => ({ ...s, failed: false, bands: i === 0 ? s.bands!.map((b, j) => ({ name: `X${j}`, wavelengthNm: j === 0 ? 444 : b.wavelengthNm })) : s.bands })) };
    const reopened = await host.request('scene.open', { spec: edited });
    if (!reopened.ok) throw new Error(reopened.error);
    const s2 = (reopened.result as { info: { sensors: { bands: { name: string; wavelengthNm?: number }[] }[] } }).info.sensors[0];
    expect(s2.bands[0]).toMatchObject({ name: 'X0', wavelengthNm: 444 });
  });

  it('takes classes from a labels file placed on the scene grid', async () => {
    const { host } = makeHost(await realServices());
    const opened = await host.request('scene.open', { path: sharedData('nc-landsat7') });
    if (!opened.ok) throw new Error(opened.error);
    const sceneId = (opened.result as { sceneId: string }).sceneId;
    const r = await host.request('labels.importClasses', { sceneId, path: sharedData('nc-landsat7', 'labels.tif') });
    if (!r.ok) throw new Error(r.error);
    const { classes, labelledPixels } = r.result as { classes: { id: number; name: string; colour: string }[]; labelledPixels: number };
    expect(classes.map((c) => [c.id, c.name])).toEqual([[1, 'developed'], [2, 'agriculture'], [3, 'herbaceous'], [4, 'shrubland'], [5, 'forest'], [6, 'water'], [7, 'sediment']]);
    for (const c of classes) expect(c.colour).toMatch(/^#[0-9a-f]{6}$/);
    expect(labelledPixels).toBe(2872);
    const missing = await host.request('labels.importClasses', { sceneId, path: '/nope/labels.geojson' });
    expect(missing).toMatchObject({ ok: false, error: expect.stringContaining('/nope/labels.geojson') });
  });
});
