/**
 * The default packs' model cards state their held-back accuracy with each sensor missing in
 * turn (written by npm run train:default); this recomputes every figure with fieldmoe classify's
 * pipeline on the shared scenes and compares.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../../../src-main/engine/packs/index';
import { loadLabels } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/index';
import { evaluatePack } from '../../../src-main/engine/finetune/evaluate';
import { CARD_CHECKS, cardMetricKey, cardSceneLabel, heldOutIndices, labelsPath, packForCheck, scenePath } from '../../../src-main/engine/training/defaults';
import { REPO_ROOT, sharedData } from '../../helpers/paths';

describe('default packs: the classify accuracy in the model card', () => {
  for (const check of CARD_CHECKS) {
    it(`${check.pack} on ${cardSceneLabel(check)}, missing [${check.missing.join(', ')}]`, async () => {
      const dir = path.join(REPO_ROOT, 'models', check.pack);
      const pack = await packForCheck(await loadPack(dir), check);
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

  it('each pack is small', async () => {
    const { statSync, readdirSync } = await import('node:fs');
    for (const name of ['default-spectralmoe', 'default-mamol']) {
      const dir = path.join(REPO_ROOT, 'models', name);
      const bytes = readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
      expect(bytes).toBeLessThan(20 * 1024 * 1024);
    }
  });
});
