import { describe, expect, it } from 'vitest';
import { cropLabels, labelledArea, labelledWindows, placeLabels, splitLabels } from '../../../src-main/engine/labels/index';
import { openScene } from '../../../src-main/engine/scene/index';
import { cropScene } from '../../../src-main/engine/scene/crop';
import { packWindows } from '../../../src-main/engine/scene/mosaic';
import { sharedData } from '../../helpers/paths';
import { syntheticSet } from './helpers';

/** Labels in two patches of a 400 x 300 grid: x 150..189, y 100..129 and x 230..249, y 200..209. */
const patches = syntheticSet(400, 300, 2, (x, y) => (x >= 150 && x < 190 && y >= 100 && y < 130 ? 0 : x >= 230 && x < 250 && y >= 200 && y < 210 ? 1 : -1));

describe('labelledWindows and cropLabels', () => {
  it('covers every labelled pixel plus the margin, origin aligned down, clipped to the grid, one window where the margins overlap', () => {
    expect(labelledWindows(patches, patches, 40, 32)).toEqual([{ x: 96, y: 32, width: 290 - 96, height: 250 - 32 }]);
    expect(labelledWindows(patches, patches, 200, 32)).toEqual([{ x: 0, y: 0, width: 400, height: 300 }]);
  });

  it('gives clusters of labels far apart windows of their own, which do not overlap', () => {
    // patch 1 is 40 pixels right of and 70 below patch 0: margins of 8 do not reach across
    const windows = labelledWindows(patches, patches, 8, 32);
    expect(windows).toEqual([
      { x: 128, y: 64, width: 198 - 128, height: 138 - 64 },
      { x: 192, y: 192, width: 258 - 192, height: 218 - 192 },
    ]);
    // three clusters, where joining two boxes makes them reach the third
    const three = syntheticSet(400, 300, 1, (x, y) => ((x === 10 && y === 10) || (x === 100 && y === 40) || (x === 60 && y === 90) ? 0 : -1));
    const joined = labelledWindows(three, three, 30, 1);
    expect(joined).toEqual([{ x: 0, y: 0, width: 131, height: 121 }]);
  });

  it('keeps pixel order and indices, moves coordinates to the window, and refuses a window missing a label', () => {
    const [w] = labelledWindows(patches, patches, 40, 32);
    const cropped = cropLabels(patches, w);
    expect([cropped.width, cropped.height]).toEqual([w.width, w.height]);
    expect(Array.from(cropped.x, (x) => x + w.x)).toEqual(Array.from(patches.x));
    expect(Array.from(cropped.y, (y) => y + w.y)).toEqual(Array.from(patches.y));
    expect(cropped.classIndex).toBe(patches.classIndex);
    expect(() => cropLabels(patches, { ...w, width: 100 })).toThrow(/labelled pixel \(230, 200\) of synthetic lies outside the windows read/);
  });

  it('gives the same validation split as the whole grid, on a crop or a mosaic aligned to its blocks', () => {
    const [w] = labelledWindows(patches, patches, 40, 32);
    const mosaic = placeLabels(patches, packWindows(labelledWindows(patches, patches, 8, 32), 32, 8));
    for (const seed of [0, 1, 2]) {
      const whole = splitLabels(patches, { seed });
      for (const part of [splitLabels(cropLabels(patches, w), { seed }), splitLabels(mosaic, { seed })]) {
        expect(part.val).toEqual(whole.val);
        expect(part.train).toEqual(whole.train);
      }
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
      expect(large.windows).toEqual([{ x: 256, y: 0, width: 372 - 256, height: 92 }]);
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

  it('reads labels in far corners of a large scene as a mosaic of their areas, nodata between them', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const corners = (x: number, y: number) => (x >= 20 && x < 40 && y >= 30 && y < 50) || (x >= 470 && x < 490 && y >= 450 && y < 470);
      const labels = syntheticSet(scene.info.width, scene.info.height, 1, (x, y) => (corners(x, y) ? 0 : -1));
      const area = labelledArea(scene, labels, 32, 0);
      expect(area.cropped).toBe(true);
      expect(area.windows).toEqual([
        { x: 0, y: 0, width: 72, height: 82 },
        { x: 416, y: 416, width: 512 - 416, height: 502 - 416 },
      ]);
      // side by side, the taller second area first and the first at x 128 (96 + a 32-pixel gap)
      expect([area.scene.info.width, area.scene.info.height]).toEqual([128 + 72, 86]);
      expect(area.scene.info.geoTransform).toBeUndefined();
      // each labelled pixel where its area put it: (20, 30) in the first, (489, 469) in the second
      expect([area.labels.x[0], area.labels.y[0]]).toEqual([128 + 20, 30]);
      const last = labels.x.length - 1;
      expect([labels.x[last], labels.y[last]]).toEqual([489, 469]);
      expect([area.labels.x[last], area.labels.y[last]]).toEqual([489 - 416, 469 - 416]);
      // a read across the gap: the second area's right edge, the gap, the first area's left edge
      const across = (await area.scene.readWindow({ x: 80, y: 10, width: 60, height: 4 })).get('s2')!;
      const second = (await scene.readWindow({ x: 496, y: 426, width: 16, height: 4 })).get('s2')!;
      const first = (await scene.readWindow({ x: 0, y: 10, width: 12, height: 4 })).get('s2')!;
      const row = (b: typeof across, c: number, r: number, x: number, w: number) => Array.from(b.data.subarray((c * b.height + r) * b.width + x, (c * b.height + r) * b.width + x + w));
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < across.bands; c++) {
          expect(row(across, c, r, 0, 16)).toEqual(row(second, c, r, 0, 16));
          expect(row(across, c, r, 48, 12)).toEqual(row(first, c, r, 0, 12));
        }
        expect(Array.from(across.valid.subarray(r * 60, r * 60 + 16))).toEqual(Array.from(second.valid.subarray(r * 16, r * 16 + 16)));
        expect(Array.from(across.valid.subarray(r * 60 + 48, r * 60 + 60))).toEqual(Array.from(first.valid.subarray(r * 12, r * 12 + 12)));
        expect(Array.from(across.valid.subarray(r * 60 + 16, r * 60 + 48)).every((v) => v === 0)).toBe(true);
      }
      expect(first.valid.some((v) => v === 1) && second.valid.some((v) => v === 1)).toBe(true);
      // wholly inside the gap: every sensor, every pixel invalid
      const gap = await area.scene.readWindow({ x: 100, y: 84, width: 4, height: 2 });
      expect([...gap.keys()].sort()).toEqual(['s1', 's2']);
      for (const b of gap.values()) expect(b.valid.every((v) => v === 0)).toBe(true);
    } finally {
      await scene.close();
    }
  });
});

describe('packWindows', () => {
  it('places windows at aligned origins, apart by the gap, in rows about as wide as their square', () => {
    const windows = [40, 100, 64, 30, 200].map((side, i) => ({ x: i * 1000, y: 0, width: side, height: side }));
    const layout = packWindows(windows, 32, 16);
    expect(layout.parts.map((p) => p.window.width)).toEqual([200, 100, 64, 40, 30]);
    for (const p of layout.parts) expect([p.x % 32, p.y % 32]).toEqual([0, 0]);
    for (const a of layout.parts)
      for (const b of layout.parts) {
        if (a === b) continue;
        const apart = a.x + a.window.width + 16 <= b.x || b.x + b.window.width + 16 <= a.x || a.y + a.window.height + 16 <= b.y || b.y + b.window.height + 16 <= a.y;
        expect(apart).toBe(true);
      }
    expect(layout.width).toBe(Math.max(...layout.parts.map((p) => p.x + p.window.width)));
    expect(layout.height).toBe(Math.max(...layout.parts.map((p) => p.y + p.window.height)));
    // less than a strip of them all side by side, or stacked
    expect(layout.width * layout.height).toBeLessThan(200 * (200 + 100 + 64 + 40 + 30));
  });
});
