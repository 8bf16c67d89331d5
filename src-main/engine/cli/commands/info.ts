import { describeScene, sceneStats } from '../../scene';
import { FieldMoeError } from '../../util/errors';
import type { Command } from '../command';
import { progressPrinter } from '../progress';
import { openSceneFromFlags, SCENE_OPTIONS, SCENE_USAGE } from '../scene-flags';

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a scene as JSON: sensors, bands, wavelengths, size, CRS, nodata, statistics',
  usage: `fieldmoe info <scene> [options]

Prints JSON to stdout: every sensor with its file, kind, bands and wavelengths, size, sample
type, CRS, geotransform and nodata, plus per-band statistics from a decimated sample.

${SCENE_USAGE}
  --no-stats                  skip the statistics pass`,
  options: { ...SCENE_OPTIONS, 'no-stats': { type: 'boolean' } },
  positionals: true,
  async run(flags, positionals, io) {
    if (positionals.length > 1) throw new FieldMoeError('fieldmoe info', `takes one scene, got ${positionals.length}: ${positionals.join(' ')}`);
    const scene = await openSceneFromFlags(flags, positionals[0]);
    try {
      const description = describeScene(scene);
      const progress = progressPrinter(io);
      const stats = flags['no-stats'] ? undefined : await sceneStats(scene, { signal: io.signal, onProgress: progress.onProgress });
      progress.done();
      io.out(JSON.stringify({ ...description, ...(stats ? { stats } : {}) }, null, 2) + '\n');
      return 0;
    } finally {
      await scene.close();
    }
  },
};
