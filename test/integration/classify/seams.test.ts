/**
 * No seams: with a model that looks at a 3x3 neighbourhood (whose tile edges see fewer
 * neighbours), overlap blending must make class changes along tile borders no more frequent
 * than inside tiles. Without overlap the same model shows the seams, which proves the measure
 * can see them.
 */
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../helpers/paths';
import { openScene } from '../../../src-main/engine/scene';
import { loadPack } from '../../../src-main/engine/packs';
import { tileOrigins } from '../../../src-main/engine/classify';
import { packDir, runInMemory } from '../../unit/classify/helpers';

/** Class-change rate between horizontally and vertically adjacent data pixels, split by whether the pair straddles a tile edge. */
function changeRates(classes: Uint8Array, W: number, H: number, tile: number, overlap: number): { border: number; inside: number; borderPairs: number } {
  // A tile edge lies between pixel e-1 and e where a tile starts (e = origin) or ends (e = origin + tile).
  const edges = (n: number) => new Set(tileOrigins(n, tile, overlap).flatMap((o) => [o, o + tile]).filter((e) => e > 0 && e < n));
  const ex = edges(W);
  const ey = edges(H);
  let bc = 0;
  let bn = 0;
  let ic = 0;
  let inn = 0;
  const pair = (a: number, b: number, border: boolean) => {
    if (classes[a] === 0 || classes[b] === 0) return;
    const changed = classes[a] !== classes[b] ? 1 : 0;
    if (border) {
      bc += changed;
      bn++;
    } else {
      ic += changed;
      inn++;
    }
  };
  for (let y = 0; y < H; y++)
    for (let x = 1; x < W; x++) pair(y * W + x - 1, y * W + x, ex.has(x));
  for (let y = 1; y < H; y++)
    for (let x = 0; x < W; x++) pair((y - 1) * W + x, y * W + x, ey.has(y));
  return { border: bc / bn, inside: ic / inn, borderPairs: bn };
}

describe('overlap blending', () => {
  it('leaves no seams for a model with spatial context (nc-landsat7, 128-pixel tiles)', async () => {
    const pack = await loadPack(packDir('tiny-landsat7-context'));
    const scene = await openScene(sharedData('nc-landsat7'));
    try {
      const { width: W, height: H } = scene.info;
      const blended = await runInMemory(scene, pack, { overlap: 32 });
      const r = changeRates(blended.sink.classes, W, H, 128, 32);
      expect(r.borderPairs).toBeGreaterThan(5000);
      expect(r.border).toBeLessThanOrEqual(r.inside);

      const hard = await runInMemory(scene, pack, { overlap: 0 });
      const h = changeRates(hard.sink.classes, W, H, 128, 0);
      expect(h.border).toBeGreaterThan(h.inside);
    } finally {
      await scene.close();
    }
  });
});
