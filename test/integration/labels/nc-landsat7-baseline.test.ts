import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomForestBaseline } from '../../../src-main/engine/eval';
import { loadLabels, readLabelledPixels, splitLabels, subsamplePerClass, type LabelSet, type LabelledPixels } from '../../../src-main/engine/labels';
import { openScene, type Scene } from '../../../src-main/engine/scene';
import { sharedData } from '../../helpers/paths';

let scene: Scene;
let set: LabelSet;
beforeAll(async () => {
  scene = await openScene(sharedData('nc-landsat7', 'sensors.json'));
  set = await loadLabels(sharedData('nc-landsat7', 'labels.tif'), scene.info);
});
afterAll(() => scene?.close());

/** Keeps the pixels where every sensor is valid (the Landsat B7 has a larger nodata area). */
function validOnly(p: LabelledPixels): LabelledPixels {
  const rows = Array.from(p.valid.keys()).filter((r) => p.valid[r]);
  const features = new Float32Array(rows.length * p.featureCount);
  rows.forEach((r, k) => features.set(p.features.subarray(r * p.featureCount, (r + 1) * p.featureCount), k * p.featureCount));
  return { ...p, indices: Uint32Array.from(rows, (r) => p.indices[r]), features, labels: Int32Array.from(rows, (r) => p.labels[r]), valid: new Uint8Array(rows.length).fill(1) };
}

describe('random-forest baseline on nc-landsat7 with a spatial split', () => {
  it('reads the labelled pixels exactly as GDAL does', async () => {
    const idx = [0, 500, 1500, set.x.length - 1];
    const px = await readLabelledPixels(scene, set, idx);
    expect(px.featureCount).toBe(6);
    const coords = idx.map((i) => `(${set.x[i]}, ${set.y[i]})`).join(', ');
    const gdal = execFileSync('/usr/bin/python3', ['-c', `from osgeo import gdal\nimport json\na = gdal.Open('${sharedData('nc-landsat7', 'landsat7_2000.tif')}').ReadAsArray()\nprint(json.dumps([a[:, y, x].tolist() for x, y in [${coords}]]))`], { encoding: 'utf8' });
    const expected = JSON.parse(gdal) as number[][];
    idx.forEach((i, row) => {
      expect(Array.from(px.features.subarray(row * 6, row * 6 + 6))).toEqual(expected[row]);
      expect(px.labels[row]).toBe(set.classIndex[i]);
    });
  });

  it('trains on the training blocks and scores the validation blocks, all labels and 20 per class', async () => {
    const split = splitLabels(set, { seed: 0, blockSize: 32, bufferPixels: 2 });
    const val = validOnly(await readLabelledPixels(scene, set, split.val));
    const full = validOnly(await readLabelledPixels(scene, set, split.train));
    const few = validOnly(await readLabelledPixels(scene, set, subsamplePerClass(set, split.train, 20, 0)));
    expect(few.labels.length).toBeLessThanOrEqual(20 * set.classes.length);
    const results = [];
    for (const train of [full, few]) {
      const r = await randomForestBaseline(train, val, set.classes, { seed: 0, trees: 100 });
      expect(r.metrics.n).toBe(val.labels.length);
      expect(r.metrics.oa).toBeCloseTo(r.sklearn.oa, 12);
      results.push(r.metrics);
    }
    console.log(`nc-landsat7 RF (val ${val.labels.length} px): all ${full.labels.length} train px OA ${results[0].oa.toFixed(3)} kappa ${results[0].kappa.toFixed(3)} mIoU ${results[0].miou.toFixed(3)}; 20/class (${few.labels.length} px) OA ${results[1].oa.toFixed(3)} kappa ${results[1].kappa.toFixed(3)} mIoU ${results[1].miou.toFixed(3)}`);
    // A 6-band Landsat forest separates these classes far above chance (1/7).
    expect(results[0].oa).toBeGreaterThan(0.6);
    expect(results[1].oa).toBeGreaterThan(0.4);
  });
});
