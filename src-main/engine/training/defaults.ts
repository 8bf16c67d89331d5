/**
 * The default packs' recipe (`npm run train:default`, scripts/train-default.ts), reproducible
 * from ../shared/data alone:
 *  1. backbone: a compact SpectralMoE-shaped model without adapters (ViT + wavelength embedding
 *     + decoder), every weight trained, supervised on nc-landsat7, eolearn-slovenia (S2) and
 *     sen1floods11 (S2) together;
 *  2. default-spectralmoe: that backbone frozen, SpectralMoE adapters + decoder + elevation depth
 *     branch trained on the same scenes, eolearn with its DEM (the elevation input is optional
 *     and availability-gated: scenes without it train and run as the w/o-depth variant);
 *  3. default-mamol: the same frozen backbone, MaMOL modality embeddings + experts + dense head
 *     trained on sen1floods11 (S2 + S1) and eolearn-slovenia (S2 + DEM) with the missing-rate
 *     simulation, so any sensor may be missing.
 * Each pack's card then gets its classify accuracy on held-back labels (the spatial split's
 * validation pixels) with each sensor missing in turn; test/integration/finetune checks them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { splitLabels } from '../labels/split';
import type { LabelSet } from '../labels/types';
import type { ModelPack } from '../packs/index';
import { FieldMoeError } from '../util/errors';
import { TRAINING_FILE } from '../finetune/packio';

export const DEFAULT_SEED = 0;
export const DEFAULT_VAL_SPLIT = 0.2;

export interface LabelledScene {
  /** Folder under shared/data. */
  dataset: string;
  labels: string;
}

export const NC_LANDSAT7: LabelledScene = { dataset: 'nc-landsat7', labels: 'labels.tif' };
export const EOLEARN: LabelledScene = { dataset: 'eolearn-slovenia', labels: 'lulc.tif' };
export const SEN1FLOODS11: LabelledScene = { dataset: 'sen1floods11-spain', labels: 'labels.tif' };
/** Every scene the default packs (their shared backbone included) train on, each on the training side of its split (heldOutIndices is the other side). */
export const DEFAULT_TRAINING_SCENES: readonly LabelledScene[] = [NC_LANDSAT7, EOLEARN, SEN1FLOODS11];

export interface CardCheck {
  /** Pack folder name under models/. */
  pack: string;
  scene: LabelledScene;
  /** Sensors marked missing for the run. */
  missing: string[];
  /**
   * 'training': feed each input with the normalisation the pack was trained with on this scene
   * (its training.json), as `fieldmoe finetune` recomputes it for a scene, instead of the
   * manifest's (that of the first training scene with the sensor, e.g. nc-landsat7's 0..255
   * Landsat counts for an image input, which makes eolearn's 0..1 reflectance meaningless).
   */
  normalization?: 'training';
}

export const CARD_CHECKS: CardCheck[] = [
  { pack: 'default-spectralmoe', scene: NC_LANDSAT7, missing: [] },
  { pack: 'default-spectralmoe', scene: EOLEARN, missing: [], normalization: 'training' },
  { pack: 'default-spectralmoe', scene: EOLEARN, missing: ['dem'], normalization: 'training' },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: [] },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: ['s1'] },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: ['s2'] },
  { pack: 'default-mamol', scene: EOLEARN, missing: [] },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['dem'] },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['s2'] },
  // eolearn's optical data is reflectance 0..1, the manifest normalises for sen1floods11's x10000:
  // as is, optical input is near constant. These rows show the pack with the scene's own scaling.
  { pack: 'default-mamol', scene: EOLEARN, missing: [], normalization: 'training' },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['dem'], normalization: 'training' },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['s2'], normalization: 'training' },
];

/** Manifest metric key of a card check, e.g. `heldout.sen1floods11-spain.missing-s1.oa`. */
export function cardMetricKey(check: CardCheck, metric: string): string {
  return `heldout.${check.scene.dataset}${check.normalization ? `.${check.normalization}-norm` : ''}.${check.missing.length ? `missing-${check.missing.join('+')}` : 'all-sensors'}.${metric}`;
}

/** The scene cell of a card check's row in the card's held-back table. */
export function cardSceneLabel(check: CardCheck): string {
  return check.normalization ? `${check.scene.dataset} (${check.normalization} normalisation)` : check.scene.dataset;
}

/** The pack as a card check runs it: as is, or with the scene's training-time normalisation. */
export async function packForCheck(pack: ModelPack, check: CardCheck): Promise<ModelPack> {
  if (!check.normalization) return pack;
  const file = path.join(pack.dir, TRAINING_FILE);
  const provenance = JSON.parse(await fs.readFile(file, 'utf8')) as { sources?: { scene: string; normalization: { mean: number; std: number }[] }[] };
  const source = provenance.sources?.find((s) => s.scene.startsWith(`${check.scene.dataset}/`));
  if (!source) throw new FieldMoeError(file, `records no training on ${check.scene.dataset}`);
  const inputs = pack.manifest.inputs.map((input, i) => ({ ...input, normalization: { type: 'uniform' as const, ...source.normalization[i] } }));
  return { ...pack, manifest: { ...pack.manifest, inputs } };
}

export function scenePath(dataRoot: string, s: LabelledScene): string {
  return path.join(dataRoot, s.dataset);
}

export function labelsPath(dataRoot: string, s: LabelledScene): string {
  return path.join(dataRoot, s.dataset, s.labels);
}

/** The held-back pixels: the validation side of the training split (same seed and fraction). */
export function heldOutIndices(labels: LabelSet): Uint32Array {
  return splitLabels(labels, { valFraction: DEFAULT_VAL_SPLIT, seed: DEFAULT_SEED }).val;
}
