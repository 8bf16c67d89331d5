import { openScene } from '../../scene/index';
import { train, ARCHES, type Arch } from '../../training/train';
import { loadModelPack } from '../../ml/models/export';
import { packSearchPath, resolvePack } from '../../packs/registry';
import { FieldMoeError } from '../../util/errors';
import { idsFlag, intFlag, listFlag, requiredFlag, stringFlag, type Command } from '../command';
import { CLASS_PROPERTY_OPTIONS, CLASS_PROPERTY_USAGE, EP_USAGE, floatFlag, MISSING_USAGE, missingSimulationFlags, providersFlag, providerLines, trainingProgress } from './common';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a new compact model pack (SpectralMoE or MaMOL) on labelled scenes',
  usage: `fieldmoe train --arch spectralmoe|mamol --scene <scene> --labels <file> [--scene ... --labels ...] --out <pack-dir> [options]

Trains a compact model on one or more labelled scenes together (class sets united by name;
pairs of --scene/--labels in order). The backbone trains too, unless --backbone names a pack
whose backbone is then kept frozen (how the default MaMOL pack reuses the default backbone).

  --arch spectralmoe|mamol    architecture
  --scene <path> --labels <file>   a labelled scene (repeat the pair for more)
${CLASS_PROPERTY_USAGE}
  --out <pack-dir>            folder of the new pack (replaced when it exists)
  --backbone <pack>           take and freeze this pack's backbone
  --preset <name>             adapter preset (SpectralMoE: spectralmoe, wo-depth, lora, ...;
                              MaMOL: mamol, wo-dynamic, moe-ada, ...)
  --epochs <N>                at most N epochs (default 20)
  --seed <s>                  seed (default 0)
  --lr <x>                    peak learning rate (default 0.002)
  --missing <ids>             sensors to treat as failed in every scene
${EP_USAGE}
  --threads <N>               onnxruntime threads (default: all cores)
${MISSING_USAGE}`,
  options: {
    arch: { type: 'string' },
    scene: { type: 'string', multiple: true },
    labels: { type: 'string', multiple: true },
    ...CLASS_PROPERTY_OPTIONS,
    out: { type: 'string' },
    backbone: { type: 'string' },
    preset: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    lr: { type: 'string' },
    missing: { type: 'string', multiple: true },
    ep: { type: 'string' },
    threads: { type: 'string' },
    name: { type: 'string' },
    'missing-rate': { type: 'string' },
    'missing-mode': { type: 'string' },
  },
  async run(flags, _positionals, io) {
    const arch = requiredFlag(flags, 'arch', 'train');
    if (!(ARCHES as readonly string[]).includes(arch)) throw new FieldMoeError('--arch', `"${arch}" must be ${ARCHES.join(' or ')}`);
    const out = requiredFlag(flags, 'out', 'train');
    const scenes = listFlag(flags, 'scene');
    const labels = listFlag(flags, 'labels');
    if (!scenes.length) throw new FieldMoeError('--scene', 'is required (with --labels)');
    if (scenes.length !== labels.length) throw new FieldMoeError('--labels', `give one --labels per --scene (${scenes.length} scenes, ${labels.length} labels)`);
    const backboneRef = stringFlag(flags, 'backbone');
    const backbone = backboneRef ? await loadModelPack((await resolvePack(backboneRef, packSearchPath())).dir) : undefined;
    const missing = idsFlag(flags, 'missing');
    const opened = [];
    for (const s of scenes) opened.push(await openScene(s, { missing }));
    const progress = trainingProgress(io);
    try {
      const r = await train(
        {
          arch: arch as Arch,
          sources: opened.map((scene, i) => ({ scene, labels: labels[i] })),
          out,
          name: stringFlag(flags, 'name'),
          preset: stringFlag(flags, 'preset'),
          frozenBackbone: backbone ? { weights: backbone.weights, source: backbone.pack.manifest.name } : undefined,
          epochs: intFlag(flags, 'epochs', 1),
          seed: intFlag(flags, 'seed', 0),
          lr: floatFlag(flags, 'lr', 1e-7, 10),
          missing: missingSimulationFlags(flags),
          classProperty: stringFlag(flags, 'class-property'),
          threads: intFlag(flags, 'threads', 1),
          providers: providersFlag(flags),
        },
        { signal: io.signal, onProgress: progress.onProgress },
      );
      progress.done();
      io.err(providerLines(r.fit));
      io.err(`wrote ${r.out} (${r.fit.history.length} epochs, ${r.classes.length} classes)\n`);
      io.out(JSON.stringify({ out: r.out, classes: r.classes, epochs: r.fit.history.length, validation: r.fit.validation, seconds: r.fit.seconds, provider: r.fit.provider, fallbacks: r.fit.fallbacks }, null, 2) + '\n');
      return 0;
    } finally {
      progress.done();
      for (const s of opened) await s.close();
    }
  },
};
