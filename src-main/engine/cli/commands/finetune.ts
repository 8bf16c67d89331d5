import { finetune } from '../../finetune/finetune';
import { ADAPTER_CHOICES } from '../../finetune/adapters';
import { FieldMoeError } from '../../util/errors';
import { intFlag, requiredFlag, stringFlag, type Command } from '../command';
import { openSceneFromFlags, SCENE_OPTIONS, SCENE_USAGE, WAVELENGTHS_OPTIONS, WAVELENGTHS_USAGE, wavelengthsFromFlags } from '../scene-flags';
import { CLASS_PROPERTY_OPTIONS, CLASS_PROPERTY_USAGE, EP_USAGE, floatFlag, MISSING_USAGE, missingSimulationFlags, providersFlag, providerLines, trainingProgress } from './common';

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'fine-tune a model pack on a scene and a few labels into a new pack',
  usage: `fieldmoe finetune --model <pack> --scene <scene> --labels <file> --out <pack-dir> [options]

Trains an adapter and the class head on the labelled pixels (the pack's backbone stays frozen;
its features are computed once and cached), validates on a spatially separate part of the
labels, stops early when the validation loss stops improving, and writes a new pack
(full weights, adapter.safetensors, training.json with provenance and validation metrics).
The pack's classes are kept when every label class is one of them, else a new head is trained.

  --model <pack>              base pack folder, manifest or name from models/
  --labels <file>             label raster (+ classes.json beside it), GeoJSON or shapefile
${CLASS_PROPERTY_USAGE}
  --out <pack-dir>            folder of the new pack (replaced when it exists)
${SCENE_USAGE}
  --adapter <name>            ${ADAPTER_CHOICES.join(' | ')} (default: the pack's own)
  --head auto|keep|new        keep the pack's classes or train a new head (default auto)
  --epochs <N>                at most N epochs (default 30)
  --val-split <f>             share of labelled pixels held out for validation (default 0.2)
  --pixels-per-class <N>      few-shot: use at most N labelled training pixels per class
  --tiles-per-class <N>       training tiles drawn per class (default 64)
  --patience <N>              epochs without validation improvement before stopping (default 5)
  --seed <s>                  seed of the split, sampling, initialisation and noise (default 0)
  --lr <x>                    peak learning rate (default 0.001)
  --no-pixel-head             adapt the model alone, without the per-pixel head on the raw
                              bands that is added by default (it lets few-shot fine-tuning
                              use the spectra directly, as a random forest does)
${EP_USAGE}
  --threads <N>               onnxruntime threads (default: all cores)
${MISSING_USAGE}
${WAVELENGTHS_USAGE}`,
  options: {
    ...SCENE_OPTIONS,
    model: { type: 'string' },
    labels: { type: 'string' },
    ...CLASS_PROPERTY_OPTIONS,
    out: { type: 'string' },
    adapter: { type: 'string' },
    head: { type: 'string' },
    epochs: { type: 'string' },
    'val-split': { type: 'string' },
    'pixels-per-class': { type: 'string' },
    patience: { type: 'string' },
    'tiles-per-class': { type: 'string' },
    seed: { type: 'string' },
    lr: { type: 'string' },
    'no-pixel-head': { type: 'boolean' },
    ep: { type: 'string' },
    threads: { type: 'string' },
    'missing-rate': { type: 'string' },
    'missing-mode': { type: 'string' },
    ...WAVELENGTHS_OPTIONS,
  },
  async run(flags, _positionals, io) {
    const head = stringFlag(flags, 'head') ?? 'auto';
    if (!['auto', 'keep', 'new'].includes(head)) throw new FieldMoeError('--head', `"${head}" must be auto, keep or new`);
    const request = {
      model: requiredFlag(flags, 'model', 'finetune'),
      labels: requiredFlag(flags, 'labels', 'finetune'),
      classProperty: stringFlag(flags, 'class-property'),
      out: requiredFlag(flags, 'out', 'finetune'),
      adapter: stringFlag(flags, 'adapter'),
      head: head as 'auto' | 'keep' | 'new',
      epochs: intFlag(flags, 'epochs', 1),
      valSplit: floatFlag(flags, 'val-split', 0.01, 0.99),
      pixelsPerClass: intFlag(flags, 'pixels-per-class', 1),
      patience: intFlag(flags, 'patience', 0),
      tilesPerClass: intFlag(flags, 'tiles-per-class', 1),
      seed: intFlag(flags, 'seed', 0),
      lr: floatFlag(flags, 'lr', 1e-7, 10),
      pixelHead: flags['no-pixel-head'] !== true,
      threads: intFlag(flags, 'threads', 1),
      providers: providersFlag(flags),
      missing: missingSimulationFlags(flags),
      wavelengths: wavelengthsFromFlags(flags),
    };
    const scene = await openSceneFromFlags(flags);
    const progress = trainingProgress(io);
    try {
      const r = await finetune({ ...request, scene }, { signal: io.signal, onProgress: progress.onProgress });
      progress.done();
      io.err(providerLines(r.fit));
      const v = r.fit.validation?.pooled;
      // the weights kept need not be the last epoch's: say which, or the OA matches no epoch line
      const kept = r.fit.bestEpoch === undefined ? '' : r.fit.bestEpoch === 0 ? ', kept the start (no epoch beat it on validation)' : `, kept epoch ${r.fit.bestEpoch}${r.fit.midpoint ? " (its midpoint with the start)" : ''}`;
      io.err(`wrote ${r.out} (adapter ${r.adapter}, ${r.head} head, ${r.fit.history.length} epochs${kept}${v ? `, validation OA ${v.oa.toFixed(3)} kappa ${v.kappa.toFixed(3)}` : ''})\n`);
      for (const w of r.warnings) io.err(`warning: ${w}\n`);
      io.out(JSON.stringify({ out: r.out, adapter: r.adapter, head: r.head, classes: r.classes, epochs: r.fit.history.length, stoppedEarly: r.fit.stoppedEarly, bestEpoch: r.fit.bestEpoch, validation: r.fit.validation?.pooled, seconds: r.fit.seconds, provider: r.fit.provider, fallbacks: r.fit.fallbacks, warnings: r.warnings }, null, 2) + '\n');
      return 0;
    } finally {
      progress.done();
      await scene.close();
    }
  },
};
