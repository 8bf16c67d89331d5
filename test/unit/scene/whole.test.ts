import { describe, expect, it } from 'vitest';
import { openScene } from '../../../src-main/engine/scene/index';
import { readWhole, wholeReadBytes } from '../../../src-main/engine/scene/whole';
import { sharedData } from '../../helpers/paths';

describe('readWhole', () => {
  it('reads every pixel of the sensors asked for when they fit, and refuses before reading when they do not', async () => {
    const scene = await openScene(sharedData('sen1floods11-spain'));
    try {
      const { width, height } = scene.info;
      // S2: 13 float32 bands + a validity byte per pixel; S1 with only its first band read
      expect(wholeReadBytes(scene.info, ['s2'])).toBe(width * height * (13 * 4 + 1));
      expect(wholeReadBytes(scene.info, ['s2', 's1'], new Map([['s1', [0]]]))).toBe(width * height * (13 * 4 + 1 + 4 + 1));

      const blocks = await readWhole(scene, { sensors: ['s1'] });
      expect([blocks.get('s1')!.width, blocks.get('s1')!.height, blocks.get('s1')!.bands]).toEqual([width, height, 2]);

      const refused = readWhole(scene, { sensors: ['s2'] }, wholeReadBytes(scene.info, ['s2']) - 1);
      await expect(refused).rejects.toMatchObject({ name: 'FieldMoeError', subject: scene.info.source });
      await expect(refused).rejects.toThrow(/read sensors s2 at once over 512 x 512 pixels.*: 13 MB, more than the 13 MB allowed here.*Label a smaller area/);
    } finally {
      await scene.close();
    }
  });
});
