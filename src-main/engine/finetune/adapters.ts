/**
 * Adapter choices for fine-tuning (`--adapter`): per architecture, how the base pack's model
 * config becomes the fine-tuned one (a preset of ml/models/adapters.ts) and which of the base
 * pack's weights keep training. Weights the base pack lacks (a new head, a new adapter, the
 * embedding of a new sensor shape) always train; the frozen backbone never does.
 */
import { depthSourceOf, MAMOL_PRESETS, PIXEL_HEAD_SCOPE, SEG_PRESETS, SPECTRALMOE_PAPER_DEFAULTS, usesDepthAvailability, type ModelConfig } from '../ml/models/index';
import { FieldMoeError } from '../util/errors';
import type { MissingSimulation } from './fit';

/** The pixel head (ml/models/pixelhead.ts) is a head: every adapter choice trains it. */
export const PIXEL_HEAD_PREFIX = `${PIXEL_HEAD_SCOPE}.`;

/** SpectralMoE's elevation input (ml/models/index.ts). */
const DEPTH_INPUT = 'depth';

export const ADAPTER_CHOICES = ['spectralmoe', 'mamol', 'lora', 'rein', 'head-only'] as const;
export type AdapterChoice = (typeof ADAPTER_CHOICES)[number];

interface ArchitectureAdapters {
  /** Adapter choices this architecture supports, with the preset each maps to. */
  presets: Partial<Record<AdapterChoice, string>>;
  /** Applies a preset to the config (classes already set). */
  apply(model: ModelConfig, preset: string): ModelConfig;
  /** Base-pack weights that keep training under `choice` (others present in the base stay frozen). */
  trains(choice: AdapterChoice, name: string): boolean;
  /** Parameter-name prefix of the class head (replaced for a new class set). */
  headPrefix: string;
  /**
   * The weights that first read input `name` into the frozen backbone, zeroed for an input opened
   * to a sensor's own bands (bandmap.ts openUnfitting); absent where inputs cannot open.
   */
  firstEmbeddingWeights?(name: string): string[];
  /** Sets the number of classes. */
  withClasses(model: ModelConfig, classes: number): ModelConfig;
  /** The default adapter. */
  defaultChoice: AdapterChoice;
  /** The missing-sensor simulation fine-tuning runs on a scene of two sensors or more unless told otherwise. */
  defaultMissing?: MissingSimulation;
  /**
   * The config without the branches of optional inputs the scene never provides, when that is
   * exactly the same function (so the fine-tuned model does not compute them to multiply by 0).
   */
  withoutAbsent(model: ModelConfig, provided: (input: string) => boolean): ModelConfig;
}

const REGISTRY: Record<string, ArchitectureAdapters> = {
  spectralmoe: {
    presets: { spectralmoe: 'spectralmoe', lora: 'lora', rein: 'rein', 'head-only': 'frozen' },
    apply(model, preset) {
      if (model.architecture !== 'spectralmoe') throw new Error('unreachable');
      const cfg = model.config;
      const base = cfg.adapters.moe ?? SPECTRALMOE_PAPER_DEFAULTS;
      const adapters = SEG_PRESETS[preset].apply(base);
      // Depth stays on wherever the pack has a depth source (an elevation source needs no encoder).
      if (adapters.moe) adapters.moe = { ...adapters.moe, depth: adapters.moe.depth && depthSourceOf(cfg).source !== 'none' };
      return { architecture: 'spectralmoe', config: { ...cfg, adapters } };
    },
    // The wavelength-conditioned embedding stays as trained with the backbone (the adapters,
    // also scoped under backbone.*, train).
    trains: (choice, name) => (choice === 'head-only' ? name.startsWith('decoder.') || name.startsWith(PIXEL_HEAD_PREFIX) : !name.startsWith('backbone.spectral_embed.')),
    headPrefix: 'decoder.classifier.',
    withClasses(model, classes) {
      if (model.architecture !== 'spectralmoe') throw new Error('unreachable');
      return { architecture: 'spectralmoe', config: { ...model.config, decoder: { ...model.config.decoder, classes } } };
    },
    defaultChoice: 'spectralmoe',
    // Absent optional elevation runs exactly as "w/o depth" (gateDepth): drop the depth branch.
    withoutAbsent(model, provided) {
      if (model.architecture !== 'spectralmoe') throw new Error('unreachable');
      const cfg = model.config;
      if (!cfg.adapters.moe || !usesDepthAvailability(cfg) || provided(DEPTH_INPUT)) return model;
      return { architecture: 'spectralmoe', config: { ...cfg, adapters: { ...cfg.adapters, moe: { ...cfg.adapters.moe, depth: false } } } };
    },
  },
  mamol: {
    presets: { mamol: 'mamol', lora: 'lora', 'head-only': 'frozen' },
    apply(model, preset) {
      if (model.architecture !== 'mamol') throw new Error('unreachable');
      return { architecture: 'mamol', config: { ...model.config, experts: MAMOL_PRESETS[preset].apply(model.config.experts) } };
    },
    // Modality embeddings stay as trained with the backbone (a new sensor shape gets a new one).
    trains: (choice, name) => (choice === 'head-only' ? name.startsWith('head.') || name.startsWith(PIXEL_HEAD_PREFIX) : !name.startsWith('embed.')),
    headPrefix: 'head.classifier.',
    firstEmbeddingWeights: (name) => [`embed.${name}.fc1.weight`],
    withClasses(model, classes) {
      if (model.architecture !== 'mamol') throw new Error('unreachable');
      return { architecture: 'mamol', config: { ...model.config, classes } };
    },
    defaultChoice: 'mamol',
    // The default pack's own training setting. Fine-tuned without it, the model forgets how to do
    // without a sensor: default-mamol on sen1floods11 with SAR at half resolution, 200 labels per
    // class, 5 epochs, scored with S2 missing: OA 0.885 unadapted, 0.775 fine-tuned without the
    // simulation (kappa 0.22, next to the 0.73 share of the largest class), 0.869 with it (and with
    // rate 0.3).
    defaultMissing: { rate: 0.5, mode: 'both' },
    // Every modality's absence is a pattern the experts and router see: nothing to drop.
    withoutAbsent: (model) => model,
  },
};

export function architectureAdapters(architecture: string): ArchitectureAdapters {
  const a = REGISTRY[architecture];
  if (!a) throw new FieldMoeError(`architecture "${architecture}"`, `cannot be fine-tuned (known: ${Object.keys(REGISTRY).join(', ')})`);
  return a;
}

/** The preset for `choice` on `architecture`, or a one-line error listing the valid choices. */
export function presetFor(architecture: string, choice: string): { preset: string; choice: AdapterChoice } {
  const a = architectureAdapters(architecture);
  const preset = a.presets[choice as AdapterChoice];
  if (!preset) {
    const known = (ADAPTER_CHOICES as readonly string[]).includes(choice);
    throw new FieldMoeError('--adapter', `"${choice}" ${known ? `does not apply to a ${architecture} pack` : `is not an adapter (${ADAPTER_CHOICES.join(', ')})`} (choices for this pack: ${Object.keys(a.presets).join(', ')})`);
  }
  return { preset, choice: choice as AdapterChoice };
}
