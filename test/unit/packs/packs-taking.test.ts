/**
 * A scene a pack cannot bind (registry.ts withPacksTaking): the error names the packs on the
 * search path that take the scene, so that an analyst with a LiDAR-only scene who picked the
 * optical pack learns to pick default-mamol; other errors pass unchanged.
 */
import { describe, expect, it } from 'vitest';
import { loadPack, mapBands, packSearchPath, PackBindingError, withPacksTaking } from '../../../src-main/engine/packs';
import { FieldMoeError } from '../../../src-main/engine/util/errors';
import { REPO_ROOT } from '../../helpers/paths';
import { FakeScene } from '../classify/fakeScene';

const [W, H] = [4, 3];
const lidarOnly = new FakeScene(W, H, [{ id: 'dsm', kind: 'lidar', bands: [{ name: 'dsm' }], data: Float32Array.from({ length: W * H }, (_, i) => 10 + i) }]);

async function bindingError(pack: string): Promise<unknown> {
  try {
    mapBands(lidarOnly.info, (await loadPack(`${REPO_ROOT}/models/${pack}`)).manifest);
  } catch (err) {
    return err;
  }
  throw new Error(`${pack} bound the LiDAR-only scene`);
}

describe('packs that take a scene', () => {
  it('names the built-in packs that take a LiDAR-only scene the optical pack cannot', async () => {
    const err = await bindingError('default-spectralmoe');
    expect(err).toBeInstanceOf(PackBindingError);
    const told = (await withPacksTaking(err, lidarOnly, packSearchPath(), 'default-spectralmoe')) as Error;
    expect(told).toBeInstanceOf(PackBindingError);
    expect(told.message).toBe(`${(err as Error).message} (packs that take this scene: default-mamol)`);
  });

  it('leaves other errors, and binding errors no pack can help with, as they are', async () => {
    const other = new FieldMoeError('scene.tif', 'is not a GeoTIFF');
    expect(await withPacksTaking(other, lidarOnly, packSearchPath(), 'default-spectralmoe')).toBe(other);
    const none = new PackBindingError('scene', 'model pack x needs a sar sensor');
    expect(await withPacksTaking(none, lidarOnly, [], 'x')).toBe(none);
  });
});
