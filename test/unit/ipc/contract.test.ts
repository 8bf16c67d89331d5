import { describe, expect, it } from 'vitest';
import { METHODS, isMethodName, layerSpecCheck, projectDocumentCheck } from '../../../src-main/ipc/contract';
import { validate } from '../../../src-main/ipc/validate';
import { emptyProject } from '../../../src-main/engine/project/project';

const check = (method: keyof typeof METHODS, params: unknown) => validate(METHODS[method].params as (v: unknown, p: string) => unknown, params);

describe('IPC contract validators', () => {
  it('accepts well-formed params', () => {
    expect(check('render.tile', { layer: { kind: 'composite', sceneId: 's', sensor: 'l7', bands: [2, 1, 0], stretch: { low: 2, high: 98 } }, z: 3, x: 1, y: 2 }).ok).toBe(true);
    expect(check('job.start', { kind: 'classify', params: { sceneId: 's', pack: '/p', provider: 'auto' } }).ok).toBe(true);
    expect(check('dialog.open', { purpose: 'scene', multiple: true }).ok).toBe(true);
    expect(validate(projectDocumentCheck, emptyProject()).ok).toBe(true);
  });

  it.each([
    ['render.tile', { layer: { kind: 'composite', sceneId: 's', sensor: 'l7', bands: [2, 1], stretch: { low: 2, high: 98 } }, z: 1, x: 0, y: 0 }, 'params.layer.bands: expected array of 3'],
    ['render.tile', { layer: { kind: 'hologram' }, z: 1, x: 0, y: 0 }, 'params.layer.kind: expected composite | classes | confidence'],
    ['render.tile', { layer: { kind: 'classes', resultId: 'r' }, z: -1, x: 0, y: 0 }, 'params.z: expected integer'],
    ['render.tile', { layer: { kind: 'classes', resultId: 'r' }, z: 1, x: 0.5, y: 0 }, 'params.x: expected integer'],
    ['job.start', { kind: 'classify', params: { sceneId: 's', pack: '/p', provider: 'quantum' } }, 'params.params.provider: expected'],
    ['job.start', { kind: 'rm -rf', params: {} }, 'params.kind: expected classify | finetune'],
    ['scene.open', { path: 42 }, 'params.path: expected non-empty string, got number'],
    ['scene.open', { path: '/x', evil: true }, 'params.evil: unknown field'],
    ['dialog.open', null, 'params: expected object, got null'],
    ['project.save', { path: '/x', document: { ...emptyProject(), classes: [{ id: 1, name: 'a', colour: 'red' }] } }, 'params.document.classes[0].colour: expected #rrggbb colour'],
    ['export.classMap', { resultId: '', out: '/x.tif' }, 'params.resultId: expected non-empty string'],
  ] as const)('rejects malformed %s params with a one-line path to the problem', (method, params, message) => {
    const r = check(method, params);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  it('knows its method names and nothing else', () => {
    expect(isMethodName('scene.open')).toBe(true);
    expect(isMethodName('__proto__')).toBe(false);
    expect(isMethodName('constructor')).toBe(false);
    expect(isMethodName(7)).toBe(false);
  });

  it('rejects a layer spec with an out-of-range stretch', () => {
    expect(validate(layerSpecCheck, { kind: 'composite', sceneId: 's', sensor: 'x', bands: [0, 0, 0], stretch: { low: -5, high: 98 } }).ok).toBe(false);
  });
});
