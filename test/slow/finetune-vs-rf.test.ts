/**
 * The acceptance comparison on shared data: `finetune` with few labelled pixels per
 * class, scored like `fieldmoe eval` on held-out pixels (the validation side of the spatial
 * split, never trained on), against a random forest (sklearn) trained on exactly the same
 * pixels. MaMOL: one fine-tuned model evaluated with each sensor missing in turn against one
 * forest per sensor subset. Results go to test/.artifacts/finetune-vs-rf.json; each case must
 * beat its forest on OA.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openScene } from '../../src-main/engine/scene/index';
import type { Scene } from '../../src-main/engine/scene/types';
import { loadLabels, readLabelledPixels, splitLabels, type LabelSet } from '../../src-main/engine/labels/index';
import { loadPack } from '../../src-main/engine/packs/index';
import { randomForestBaseline } from '../../src-main/engine/eval/index';
import { finetune } from '../../src-main/engine/finetune/finetune';
import { classMap, scoreClassMap, withData } from '../../src-main/engine/finetune/evaluate';
import { artifactDir, REPO_ROOT, sharedData } from '../helpers/paths';

const OUT = artifactDir('finetune-vs-rf');
const results: Record<string, unknown>[] = [];

interface Case {
  name: string;
  pack: string;
  dataset: string;
  labels: string;
  pixelsPerClass: number;
  /** Sensor subsets to evaluate (MaMOL: each sensor missing in turn). */
  missing: string[][];
  missingRate?: number;
  epochs: number;
  /** Sensors that stay failed throughout (fine-tuning too): e.g. a LiDAR/DEM-only scene. */
  absent?: string[];
}

const CASES: Case[] = [
  { name: 'nc-landsat7 20/class', pack: 'default-spectralmoe', dataset: 'nc-landsat7', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30 },
  { name: 'nc-landsat7 100/class', pack: 'default-spectralmoe', dataset: 'nc-landsat7', labels: 'labels.tif', pixelsPerClass: 100, missing: [[]], epochs: 30 },
  { name: 'salinas-a (unseen hyperspectral sensor) 20/class', pack: 'default-spectralmoe', dataset: 'salinas-a', labels: 'labels.tif', pixelsPerClass: 20, missing: [[]], epochs: 30 },
  { name: 'eolearn-slovenia 50/class', pack: 'default-spectralmoe', dataset: 'eolearn-slovenia', labels: 'lulc.tif', pixelsPerClass: 50, missing: [[]], epochs: 30 },
  { name: 'eolearn-slovenia DEM only (an elevation-only scene) MaMOL 50/class', pack: 'default-mamol', dataset: 'eolearn-slovenia', labels: 'lulc.tif', pixelsPerClass: 50, missing: [[]], absent: ['s2'], epochs: 30 },
  { name: 'sen1floods11 S2+S1 MaMOL 50/class', pack: 'default-mamol', dataset: 'sen1floods11-spain', labels: 'labels.tif', pixelsPerClass: 50, missing: [[], ['s1'], ['s2']], missingRate: 0.5, epochs: 20 },
];

/** Spectra of `indices` for the scene's non-missing sensors, NaN replaced by 0 for sklearn. */
async function pixels(scene: Scene, labels: LabelSet, indices: Uint32Array, sensors: string[]) {
  const p = await readLabelledPixels(scene, labels, indices, { sensors });
  for (let i = 0; i < p.features.length; i++) if (p.features[i] !== p.features[i]) p.features[i] = 0;
  return { features: p.features, featureCount: p.featureCount, labels: p.labels };
}

afterAll(async () => {
  await fs.mkdir(OUT, { recursive: true });
  await fs.writeFile(path.join(OUT, 'finetune-vs-rf.json'), JSON.stringify(results, null, 1) + '\n');
});

describe('few-shot fine-tuning against a random forest on the same labels', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = sharedData(c.dataset);
      const labelsFile = path.join(dir, c.labels);
      const absent = c.absent ?? [];
      const scene = await openScene(dir, { missing: absent });
      try {
        const labels = await loadLabels(labelsFile, scene.info);
        const seed = 0;
        // Held out: the validation side of finetune's spatial split (same seed, same fraction).
        const split = splitLabels(labels, { valFraction: 0.2, seed });
        const out = path.join(OUT, c.name.replace(/[^a-z0-9]+/gi, '-'));
        const t0 = performance.now();
        const ft = await finetune({
          model: path.join(REPO_ROOT, 'models', c.pack), scene, labels: labelsFile, out, epochs: c.epochs, pixelsPerClass: c.pixelsPerClass, seed,
          missing: c.missingRate ? { rate: c.missingRate, mode: 'both' } : undefined,
        });
        const seconds = (performance.now() - t0) / 1000;
        const train = ft.fit.trainIndices[0];
        expect(train.length).toBeLessThanOrEqual(c.pixelsPerClass * labels.classes.length);
        for (const missing of c.missing) {
          const sub = await openScene(dir, { missing: [...absent, ...missing] });
          try {
            const pack = await loadPack(out);
            const { classes } = await classMap(sub, pack);
            const ours = scoreClassMap(classes, pack, labels, split.val);
            // Both are scored on the held-out pixels that have sensor data (the map is nodata elsewhere).
            const test = withData(classes, labels, split.val);
            const sensors = sub.info.sensors.filter((s) => !s.failed).map((s) => s.id);
            const rf = await randomForestBaseline(await pixels(sub, labels, train, sensors), await pixels(sub, labels, test, sensors), labels.classes, { seed });
            const row = { case: c.name, missing, trainPixels: train.length, testPixels: test.length, nodataPixels: ours.nodata_pixels, finetuneSeconds: seconds, epochs: ft.fit.history.length, ours: { oa: ours.oa, kappa: ours.kappa, miou: ours.miou, macc: ours.macc }, rf: { oa: rf.metrics.oa, kappa: rf.metrics.kappa, miou: rf.metrics.miou, macc: rf.metrics.macc } };
            results.push(row);
            process.stderr.write(`${JSON.stringify(row)}\n`);
            expect.soft(ours.oa, `${c.name} missing [${missing}]: ours ${ours.oa.toFixed(3)} vs RF ${rf.metrics.oa.toFixed(3)}`).toBeGreaterThan(rf.metrics.oa);
          } finally {
            await sub.close();
          }
        }
      } finally {
        await scene.close();
      }
    });
  }
});
