/**
 * The default packs' model cards state their held-back accuracy with each sensor missing in
 * turn (written by npm run train:default); this recomputes every figure with fieldmoe classify's
 * pipeline on the shared scenes and compares.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../../../src-main/engine/packs/index';
import { loadLabels } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/index';
import { evaluatePack, scoreClassMap } from '../../../src-main/engine/finetune/evaluate';
import { classifyToFiles } from '../../../src-main/engine/classify/output';
import { CARD_CHECKS, cardMetricKey, cardSceneLabel, heldOutIndices, labelsPath, scenePath, SEN1FLOODS11 } from '../../../src-main/engine/training/defaults';
import { REPO_ROOT, sharedData } from '../../helpers/paths';
import { sceneWithoutBands } from '../../../scripts/finetune-vs-rf';

describe('default packs: the classify accuracy in the model card', () => {
  for (const check of CARD_CHECKS) {
    it(`${check.pack} on ${cardSceneLabel(check)}, missing [${check.missing.join(', ')}]`, async () => {
      const dir = path.join(REPO_ROOT, 'models', check.pack);
      const pack = await loadPack(dir);
      const data = path.dirname(sharedData(check.scene.dataset));
      const scene = await openScene(scenePath(data, check.scene), { missing: check.missing });
      try {
        const labels = await loadLabels(labelsPath(data, check.scene), scene.info);
        const r = await evaluatePack(scene, pack, labels, { indices: heldOutIndices(labels) });
        for (const m of ['oa', 'kappa', 'miou', 'macc'] as const) {
          const stated = pack.manifest.metrics[cardMetricKey(check, m)];
          expect(stated, `${cardMetricKey(check, m)} in the manifest`).toBeTypeOf('number');
          expect(Math.abs(r[m] - stated)).toBeLessThan(2e-3);
        }
        expect(pack.manifest.card).toContain(`| ${cardSceneLabel(check)} | ${check.missing.join(', ') || 'none'} | ${r.oa.toFixed(3)} |`);
      } finally {
        await scene.close();
      }
    }, 120_000);
  }

  it('default-mamol classifies sen1floods11 with S2 as Level-2A bands (no B10): it fills B10, says so in the file, and scores as the card does', async () => {
    const data = path.dirname(sharedData(SEN1FLOODS11.dataset));
    const source = scenePath(data, SEN1FLOODS11);
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-l2a-'));
    const dir = await sceneWithoutBands(source, { s2: ['B10'] }, tmp);
    const pack = await loadPack(path.join(REPO_ROOT, 'models', 'default-mamol'));
    const scene = await openScene(dir);
    try {
      expect(scene.info.sensors.find((s) => s.id === 's2')!.bands).toHaveLength(12);
      const out = path.join(dir, 'classes.tif');
      const report = await classifyToFiles(scene, pack, { out });
      expect(report.degradedReasons.join()).toContain('sensor s2 lacks band B10 (1375 nm); pack default-mamol filled it with its training mean');
      expect(JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8' })).metadata[''].FIELDMOE_DEGRADED).toMatch(/^yes: .*lacks band B10/);
      const map = await openScene(out);
      const classes = Uint8Array.from((await map.readWindow({ x: 0, y: 0, width: map.info.width, height: map.info.height })).values().next().value!.data, (v) => (v === v ? v : 0));
      await map.close();
      const labels = await loadLabels(labelsPath(data, SEN1FLOODS11), scene.info);
      const oa = scoreClassMap(classes, pack, labels, heldOutIndices(labels)).oa;
      // B10 (cirrus) carries little over water: the pack's training mean costs at most a point or two
      const stated = pack.manifest.metrics[cardMetricKey({ pack: 'default-mamol', scene: SEN1FLOODS11, missing: [] }, 'oa')];
      expect(oa).toBeGreaterThan(stated - 0.02);
    } finally {
      await scene.close();
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }, 120_000);

  it('each pack is small', async () => {
    const { statSync, readdirSync } = await import('node:fs');
    for (const name of ['default-spectralmoe', 'default-mamol']) {
      const dir = path.join(REPO_ROOT, 'models', name);
      const bytes = readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
      expect(bytes).toBeLessThan(20 * 1024 * 1024);
    }
  });
});
