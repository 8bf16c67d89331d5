import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecoveryStore, emptyProject, openProject, saveProject } from '../../../src-main/engine/project/project';
import type { ProjectDocument } from '../../../src-main/ipc/contract';

function sampleProject(dir: string): ProjectDocument {
  return {
    ...emptyProject('NC test'),
    scene: {
      sensors: [{ id: 'l7', file: path.join(dir, 'l7.tif'), kind: 'multispectral', failed: true, bands: [{ name: 'B1', wavelengthNm: 485 }] }],
      failureRegions: [{ sensor: 'l7', geometry: { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [10, 10], [0, 0]]] } }],
    },
    classes: [{ id: 1, name: 'water', colour: '#1f77b4' }],
    labels: [{ id: 'a', classId: 1, tool: 'rectangle', geometry: { type: 'Polygon', coordinates: [[[1, 1], [2, 1], [2, 2], [1, 1]]] } }],
    view: { center: [10, 20], zoom: 3, sensor: 'l7', bands: [2, 1, 0], stretch: { low: 2, high: 98 } },
  };
}

describe('project files', () => {
  it('saves and opens a project with everything in it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-proj-'));
    const file = path.join(dir, 'a.fieldmoe.json');
    const doc = sampleProject(dir);
    await saveProject(file, doc);
    const opened = await openProject(file);
    expect(opened.document).toEqual(doc);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('resolves relative paths against the project folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-proj-'));
    const file = path.join(dir, 'rel.fieldmoe.json');
    const doc = sampleProject(dir);
    doc.scene!.sensors[0].file = 'data/l7.tif';
    writeFileSync(file, JSON.stringify(doc));
    expect((await openProject(file)).document.scene!.sensors[0].file).toBe(path.join(dir, 'data/l7.tif'));
  });

  it.each([
    ['{"format": "fieldmoe-project", "version": 1, "name": ', /damaged project file: not valid JSON/],
    ['{"hello": 1}', /not a FieldMoE project/],
    [JSON.stringify({ ...emptyProject(), labels: [{ id: 'x', classId: 'water', tool: 'polygon', geometry: null }] }), /damaged project file: project\.labels\[0\]\.classId: expected integer/],
    [JSON.stringify({ ...emptyProject(), version: 7 }), /damaged project file: project\.version/],
  ])('gives a one-line error naming the file for a damaged project (%#)', async (text, message) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-proj-'));
    const file = path.join(dir, 'bad.fieldmoe.json');
    writeFileSync(file, text);
    const err = await openProject(file).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(file)).toBe(true);
    expect((err as Error).message).not.toContain('\n');
  });

  it('reports a missing project file', async () => {
    await expect(openProject('/nonexistent/p.fieldmoe.json')).rejects.toThrow('/nonexistent/p.fieldmoe.json: project file not found');
  });

  it('refuses to save an invalid document', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-proj-'));
    const bad = { ...emptyProject(), classes: [{ id: 1, name: 'x', colour: 'blue' }] } as ProjectDocument;
    await expect(saveProject(path.join(dir, 'x.fieldmoe.json'), bad)).rejects.toThrow(/refusing to save an invalid project.*#rrggbb/);
  });
});

describe('autosave and crash recovery', () => {
  it('keeps the autosave until a discard, and offers it after a crash', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-rec-'));
    const store = new RecoveryStore(dir);
    expect(await store.read()).toBeNull();
    const doc = sampleProject(dir);
    await store.autosave('/p/x.fieldmoe.json', doc);
    // A new store (as after a restart) finds it.
    const found = await new RecoveryStore(dir).read();
    expect(found?.projectPath).toBe('/p/x.fieldmoe.json');
    expect(found?.document).toEqual(doc);
    expect(await store.discard()).toBe(true);
    expect(await store.read()).toBeNull();
  });

  it('moves a damaged autosave aside instead of failing start-up', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fm-rec-'));
    const store = new RecoveryStore(dir);
    writeFileSync(store.file, '{"document": {"format": "fieldmoe-project"');
    expect(await store.read()).toBeNull();
    const kept = readdirSync(dir).filter((f) => f.includes('.damaged-'));
    expect(kept.length).toBe(1);
    expect(readFileSync(path.join(dir, kept[0]), 'utf8')).toContain('fieldmoe-project');
  });
});
