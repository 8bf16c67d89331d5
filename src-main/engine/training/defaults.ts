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
import path from 'node:path';
import { splitLabels } from '../labels/split';
import type { LabelSet } from '../labels/types';

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
}

/** The card's held-back rows: fieldmoe classify as is (each scene normalised by its own statistics, as at training: packs/sceneNormalization.ts). */
export const CARD_CHECKS: CardCheck[] = [
  { pack: 'default-spectralmoe', scene: NC_LANDSAT7, missing: [] },
  { pack: 'default-spectralmoe', scene: EOLEARN, missing: [] },
  { pack: 'default-spectralmoe', scene: EOLEARN, missing: ['dem'] },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: [] },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: ['s1'] },
  { pack: 'default-mamol', scene: SEN1FLOODS11, missing: ['s2'] },
  { pack: 'default-mamol', scene: EOLEARN, missing: [] },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['dem'] },
  { pack: 'default-mamol', scene: EOLEARN, missing: ['s2'] },
];

/** Manifest metric key of a card check, e.g. `heldout.sen1floods11-spain.missing-s1.oa`. */
export function cardMetricKey(check: CardCheck, metric: string): string {
  return `heldout.${check.scene.dataset}.${check.missing.length ? `missing-${check.missing.join('+')}` : 'all-sensors'}.${metric}`;
}

/** The scene cell of a card check's row in the card's held-back table. */
export function cardSceneLabel(check: CardCheck): string {
  return check.scene.dataset;
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
