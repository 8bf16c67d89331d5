import { describe, expect, it } from 'vitest';
import { cropLabels, labelledArea, labelledWindow, splitLabels } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/index';
import { cropScene } from '../../../src-main/engine/scene/crop';
import { sharedData } from '../../helpers/paths';
import { syntheticSet } from './helpers';

/** Labels in two patches of a 400 x 300 grid: x 150..189, y 100..129 and x 230..249, y 200..209. */
const patches = syntheticSet(400, 300, 2, (x, y) => (x >= 150 && x < 190 && y >= 100 && y < 130 ? 0 : x >= 230 && x < 250 && y >= 200 && y < 210 ? 1 : -1));

describe('labelledWindow and cropLabels', () => {
  it('covers every labelled pixel plus the margin, origin aligned down, clipped to the grid', () => {
    expect(labelledWindow(patches, patches, 16, 32)).toEqual({ x: 128, y: 64, width: 266 - 128, height: 226 - 64 });
    expect(labelledWindow(patches, patches, 200, 32)).toEqual({ x: 0, y: 0, width: 400, height: 300 });
  });

  it('keeps pixel order and indices, moves coordinates to the window, and refuses a window missing a label', () => {
    const w = labelledWindow(patches, patches, 16, 32);
    const cropped = cropLabels(patches, w);
    expect([cropped.width, cropped.height]).toEqual([w.width, w.height]);
    expect(Array.from(cropped.x, (x) => x + w.x)).toEqual(Array.from(patches.x));
    expect(Array.from(cropped.y, (y) => y + w.y)).toEqual(Array.from(patches.y));
    expect(cropped.classIndex).toBe(patches.classIndex);
    expect(() => cropLabels(patches, { ...w, width: 100 })).toThrow(/labelled pixel \(230, 200\) of synthetic lies outside/);
  });

  it('gives the same validation split as the whole grid, the window being aligned to its blocks', () => {
    const w = labelledWindow(patches, patches, 16, 32);
    for (const seed of [0, 1, 2]) {
      const [whole, part] = [splitLabels(patches, { seed }), splitLabels(cropLabels(patches, w), { seed })];
      expect(part.val).toEqual(whole.val);
      expect(part.train).toEqual(whole.train);
    }
  });
});

describe('labelledArea and cropScene', () => {
  it('reads a small scene whole and a large one over the labels, the crop reading what the scene holds there', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const labels = syntheticSet(scene.info.width, scene.info.height, 1, (x, y) => (x >= 300 && x < 340 && y >= 40 && y < 60 ? 0 : -1));
      const small = labelledArea(scene, labels, 32);
      expect(small.cropped).toBe(false);
      expect(small.scene).toBe(scene);
      expect(small.labels).toBe(labels);

      const large = labelledArea(scene, labels, 32, 0);
      expect(large.cropped).toBe(true);
      expect(large.window).toEqual({ x: 256, y: 0, width: 372 - 256, height: 92 });
      expect([large.scene.info.width, large.scene.info.height]).toEqual([116, 92]);
      const [t, c] = [scene.info.geoTransform!, large.scene.info.geoTransform!];
      expect(c[0]).toBeCloseTo(t[0] + 256 * t[1]);
      expect(c[3]).toBe(t[3]);
      const inCrop = (await large.scene.readWindow({ x: 10, y: 5, width: 20, height: 8 })).get('s2')!;
      const inScene = (await scene.readWindow({ x: 266, y: 5, width: 20, height: 8 })).get('s2')!;
      expect(inCrop.data).toEqual(inScene.data);
      expect(inCrop.valid).toEqual(inScene.valid);
      expect(() => cropScene(scene, { x: 500, y: 0, width: 20, height: 20 })).toThrow(/not within the 512 x 512 scene/);
    } finally {
      await scene.close();
    }
  });
});
