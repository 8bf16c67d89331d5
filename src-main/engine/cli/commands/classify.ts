import { classifyToFiles } from '../../classify';
import { resolvePack, packSearchPath } from '../../packs/registry';
import { FieldMoeError } from '../../util/errors';
import { intFlag, requiredFlag, stringFlag, type Command } from '../command';
import { progressPrinter } from '../progress';
import { EP_USAGE, providersFlag } from './common';
import { openSceneFromFlags, SCENE_OPTIONS, SCENE_USAGE, WAVELENGTHS_OPTIONS, WAVELENGTHS_USAGE, wavelengthsFromFlags } from '../scene-flags';

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'classify a scene with a model pack into a GeoTIFF class map (+ confidence)',
  usage: `fieldmoe classify --model <pack> --scene <scene> --out <class.tif> [options]

Runs the pack over the scene tile by tile and writes a uint8 class map with the pack's colour
table (0 = nodata) and, with --confidence, a float32 map of the winning class probability.
Progress goes to stderr, a JSON summary to stdout. Ctrl-C cancels and leaves no output file.

  --model <pack>              pack folder, its manifest.json, or a pack name from models/
  --out <class.tif>           class map to write
  --confidence <conf.tif>     confidence map to write
${SCENE_USAGE}
  --tile <N>                  tile edge in pixels (default: the pack's)
  --overlap <N>               overlap between tiles in pixels (default: the pack's)
  --batch <N>                 tiles per inference call (default: the pack's)
${EP_USAGE}
  --threads <N>               inference threads (default: all cores)
${WAVELENGTHS_USAGE}`,
  options: {
    ...SCENE_OPTIONS,
    model: { type: 'string' },
    out: { type: 'string' },
    confidence: { type: 'string' },
    tile: { type: 'string' },
    overlap: { type: 'string' },
    batch: { type: 'string' },
    ep: { type: 'string' },
    threads: { type: 'string' },
    ...WAVELENGTHS_OPTIONS,
  },
  async run(flags, _positionals, io) {
    const out = requiredFlag(flags, 'out', 'classify');
    const model = requiredFlag(flags, 'model', 'classify');
    const options = {
      out,
      confidence: stringFlag(flags, 'confidence'),
      tile: intFlag(flags, 'tile', 1),
      overlap: intFlag(flags, 'overlap', 0),
      batch: intFlag(flags, 'batch', 1),
      threads: intFlag(flags, 'threads', 1),
      providers: providersFlag(flags),
      wavelengths: wavelengthsFromFlags(flags),
      log: (line: string) => io.err(`${line}\n`),
    };
    if (options.confidence && options.confidence === out) throw new FieldMoeError('--confidence', 'must differ from --out');
    const pack = await resolvePack(model, packSearchPath());
    const scene = await openSceneFromFlags(flags);
    const progress = progressPrinter(io);
    try {
      const report = await classifyToFiles(scene, pack, options, { signal: io.signal, onProgress: progress.onProgress });
      progress.done();
      io.err(`wrote ${report.out}${report.confidence ? ` and ${report.confidence}` : ''} (${report.tiles} tiles on ${report.provider}${report.degraded ? ', DEGRADED' : ''})\n`);
      io.out(JSON.stringify(report, null, 2) + '\n');
      return 0;
    } finally {
      progress.done();
      await scene.close();
    }
  },
};
