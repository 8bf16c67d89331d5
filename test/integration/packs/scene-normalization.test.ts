import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../../../src-main/engine/packs/index';
import { meanStd, sceneSums, withSceneNormalization } from '../../../src-main/engine/packs/sceneNormalization';
import { mapBands } from '../../../src-main/engine/packs/bandmap';
import { readSceneBlocks, uniformStats } from '../../../src-main/engine/finetune/samples';
import { openScene } from '../../../src-main/engine/scene/index';
import { REPO_ROOT, sharedData } from '../../helpers/paths';

describe('per-scene normalisation', () => {
  it("gives a perScene input the scene's own mean and std, those training gave it, and leaves other packs as they are", async () => {
    const scene = await openScene(sharedData('eolearn-slovenia'));
    try {
      const pack = await loadPack(path.join(REPO_ROOT, 'models/default-spectralmoe'));
      const image = pack.manifest.inputs.find((i) => i.name === 'image')!;
      // the manifest's are nc-landsat7's counts (0..255); eolearn holds reflectance 0..1
      expect(image.normalization).toMatchObject({ type: 'uniform', perScene: true });
      const { manifest, notes } = await withSceneNormalization(scene, pack.manifest);
      const { bindings } = mapBands(scene.info, pack.manifest);
      const blocks = await readSceneBlocks(scene, bindings);
      const i = bindings.findIndex((b) => b.input.name === 'image');
      const trained = uniformStats(blocks[i], bindings[i]);
      expect(trained.mean).toBeLessThan(1);
      expect(manifest.inputs.find((x) => x.name === 'image')!.normalization).toEqual({ type: 'uniform', mean: trained.mean, std: trained.std, perScene: true });
      expect(notes).toContainEqual(expect.stringMatching(/^input image normalised by sensor s2's own mean and std/));
      // a pack without perScene (a fine-tuned one, the tiny ones) is returned as it is
      const tiny = await loadPack(path.join(REPO_ROOT, 'models/tiny-landsat7'));
      expect((await withSceneNormalization(scene, tiny.manifest)).manifest).toBe(tiny.manifest);
    } finally {
      await scene.close();
    }
  });

  it('samples windows spread over a scene too large to read whole, close to the whole-scene figures', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const bands = scene.info.sensors.find((s) => s.id === 's2')!.bands.map((b) => b.index);
      const whole = meanStd(await sceneSums(scene, 's2', bands))!;
      const reads: { width: number; height: number }[] = [];
      const spied = { info: scene.info, close: async () => {}, readWindow: (w: { x: number; y: number; width: number; height: number }, o?: Parameters<typeof scene.readWindow>[1]) => (reads.push(w), scene.readWindow(w, o)) };
      const s = meanStd(await sceneSums(spied, 's2', bands, undefined, 0))!;
      expect(reads.length).toBe(16);
      for (const r of reads) expect([r.width, r.height]).toEqual([128, 128]);
      expect(Math.abs(s.mean - whole.mean)).toBeLessThan(0.05 * whole.std);
      expect(Math.abs(s.std / whole.std - 1)).toBeLessThan(0.05);
    } finally {
      await scene.close();
    }
  });
});
