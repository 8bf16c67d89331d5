/**
 * The MaMOL paper's missing-modality protocol (section 5.1, after MMP, Lee et al. 2023): the
 * missing rate eta is the fraction of samples that lack some modality. With two modalities,
 * "missing both" means eta/2 of the samples lack the first, eta/2 the second and 1 - eta are
 * complete; "missing modality i" means eta lack modality i and 1 - eta are complete. Table 1
 * states each setting as the availability of each modality (e.g. eta = 50 %, missing LiDAR:
 * HS 100 %, LiDAR 50 %; missing both: 75 % / 75 %).
 *
 * For M > 2 modalities the incomplete samples are split evenly over the M "one sensor missing"
 * configurations, the issue's `--missing-mode both` generalisation (the paper's text suggests
 * every incomplete configuration, eta / (2^M - 2) each; for M = 2 both read the same).
 */
import { FieldMoeError } from '../util/errors';
import { Rng } from '../ml/train/rng';

/** Which modalities may be missing: one named modality, or any single one ("both"). */
export type MissingCondition = { kind: 'only'; modality: number } | { kind: 'any-one' };

export interface MissingSetting {
  /** eta, fraction of incomplete samples (0..1). */
  rate: number;
  condition: MissingCondition;
}

/** Availability per sample: `available[s * M + i]` is 1 when modality i of sample s is present. */
export interface MissingPatterns {
  modalities: number;
  available: Uint8Array;
}

/** Counts of samples per configuration: exact, the remainder going to the first configurations. */
function configurationCounts(n: number, rate: number, configs: number): number[] {
  const incomplete = Math.round(rate * n);
  const base = Math.floor(incomplete / configs);
  return Array.from({ length: configs }, (_, c) => base + (c < incomplete - base * configs ? 1 : 0));
}

/**
 * Availability of `n` samples over `modalities` sensors for `setting`, assigned to samples by
 * a seeded permutation (the same seed gives the same patterns).
 */
export function missingPatterns(n: number, modalities: number, setting: MissingSetting, seed: number): MissingPatterns {
  const { rate, condition } = setting;
  if (!(rate >= 0 && rate <= 1)) throw new FieldMoeError('missing rate', `${rate} is not in 0..1`);
  if (modalities < 2) throw new FieldMoeError('missing modalities', `a missing-modality protocol needs at least 2 modalities, got ${modalities}`);
  if (condition.kind === 'only' && !(condition.modality >= 0 && condition.modality < modalities && Number.isInteger(condition.modality)))
    throw new FieldMoeError('missing modality', `${condition.modality} is not one of the ${modalities} modalities`);
  const missingOf = condition.kind === 'only' ? [condition.modality] : Array.from({ length: modalities }, (_, i) => i);
  const counts = configurationCounts(n, rate, missingOf.length);
  const available = new Uint8Array(n * modalities).fill(1);
  const order = new Rng(seed).permutation(n);
  let k = 0;
  missingOf.forEach((modality, c) => {
    for (let j = 0; j < counts[c]; j++) available[order[k++] * modalities + modality] = 0;
  });
  return { modalities, available };
}

/** Fraction of samples in which each modality is present. */
export function availabilityRates(p: MissingPatterns): number[] {
  const n = p.available.length / p.modalities;
  return Array.from({ length: p.modalities }, (_, i) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += p.available[k * p.modalities + i];
    return n ? s / n : 0;
  });
}

/** The availability pattern of sample `s` as a bit mask (bit i = modality i present). */
export function patternMask(p: MissingPatterns, s: number): number {
  let m = 0;
  for (let i = 0; i < p.modalities; i++) if (p.available[s * p.modalities + i]) m |= 1 << i;
  return m;
}

/** Table 1's row label: each modality's availability in percent, e.g. "100% / 50%". */
export function availabilityLabel(setting: MissingSetting, modalities: number): string {
  const rates = Array.from({ length: modalities }, (_, i) => {
    if (setting.condition.kind === 'only') return setting.condition.modality === i ? 1 - setting.rate : 1;
    return 1 - setting.rate / modalities;
  });
  return rates.map((r) => `${Math.round(r * 100)}%`).join(' / ');
}
