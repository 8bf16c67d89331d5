import { evaluatePack } from '../../finetune/evaluate';
import { loadLabels } from '../../labels/index';
import { packSearchPath, resolvePack } from '../../packs/registry';
import { checkOutputFile, writeFileAtomic } from '../../util/atomic';
import { intFlag, requiredFlag, stringFlag, type Command } from '../command';
import { progressPrinter } from '../progress';
import { CLASS_PROPERTY_OPTIONS, CLASS_PROPERTY_USAGE, EP_USAGE, providersFlag } from './common';
import { openSceneFromFlags, SCENE_OPTIONS, SCENE_USAGE, WAVELENGTHS_OPTIONS, WAVELENGTHS_USAGE, wavelengthsFromFlags } from '../scene-flags';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'score a model pack against labelled pixels (OA, kappa, mIoU, mAcc, per class)',
  usage: `fieldmoe eval --model <pack> --scene <scene> --labels <file> [--missing ids] [--json out.json]

Classifies the scene with the pack (the same tiled pipeline as classify) and scores the class
map at every labelled pixel. Classes are matched by name; predictions of a class the labels
lack count as errors. Labelled pixels where no sensor has data (nodata in the class map) are
not scored; nodata_pixels counts them. Scores are fractions in 0..1: oa, kappa, miou, macc,
per_class (id: the label class's, null for a pack class the labels lack; pack_id; iou, f1,
producers_accuracy, users_accuracy, support), confusion[truth][pred] and warnings.

  --model <pack>              pack folder, manifest or name from models/
  --labels <file>             label raster (+ classes.json beside it), GeoJSON or shapefile
${CLASS_PROPERTY_USAGE}
  --json <out.json>           write the scores there (they always go to stdout too)
${SCENE_USAGE}
${EP_USAGE}
  --threads <N>               onnxruntime threads (default: all cores)
${WAVELENGTHS_USAGE}`,
  options: {
    ...SCENE_OPTIONS,
    model: { type: 'string' },
    labels: { type: 'string' },
    ...CLASS_PROPERTY_OPTIONS,
    json: { type: 'string' },
    ep: { type: 'string' },
    threads: { type: 'string' },
    ...WAVELENGTHS_OPTIONS,
  },
  async run(flags, _positionals, io) {
    const model = requiredFlag(flags, 'model', 'eval');
    const labelsFile = requiredFlag(flags, 'labels', 'eval');
    const json = stringFlag(flags, 'json');
    if (json) await checkOutputFile(json);
    const threads = intFlag(flags, 'threads', 1);
    const wavelengths = wavelengthsFromFlags(flags);
    const pack = await resolvePack(model, packSearchPath());
    const scene = await openSceneFromFlags(flags);
    const progress = progressPrinter(io);
    try {
      const labels = await loadLabels(labelsFile, scene.info, { signal: io.signal, classProperty: stringFlag(flags, 'class-property') });
      const report = await evaluatePack(scene, pack, labels, { threads, wavelengths, providers: providersFlag(flags), log: (line) => io.err(`${line}\n`) }, { signal: io.signal, onProgress: progress.onProgress });
      progress.done();
      const text = JSON.stringify(report, null, 2) + '\n';
      if (json) await writeFileAtomic(json, text);
      io.err(`OA ${report.oa.toFixed(4)}  kappa ${report.kappa.toFixed(4)}  mIoU ${report.miou.toFixed(4)}  mAcc ${report.macc.toFixed(4)}  (${report.n} labelled pixels${report.nodata_pixels ? `; ${report.nodata_pixels} more on nodata, not scored` : ''}${report.missing.length ? `, missing ${report.missing.join(',')}` : ''})\n`);
      for (const w of report.warnings) io.err(`warning: ${w}\n`);
      io.out(text);
      return 0;
    } finally {
      progress.done();
      await scene.close();
    }
  },
};
