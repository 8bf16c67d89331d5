/**
 * Maps a scene's sensors and bands onto a pack's inputs. Each pack input binds to one scene
 * sensor of an accepted kind whose bands satisfy the input's band spec; when none does, the
 * error lists exactly what the pack needs and what each candidate sensor has.
 */
import { ELEVATION_KINDS, type BandInfo, type SceneInfo, type SensorInfo } from '../scene/types';
import { FieldMoeError } from '../util/errors';
import type { BandRequirement, PackInput, PackManifest } from './manifest';

export interface InputBinding {
  input: PackInput;
  /** Position of the input in the manifest (its column in the availability tensor). */
  index: number;
  /** The scene sensor feeding this input; undefined when an optional input has no sensor. */
  sensor?: SensorInfo;
  /** Band indices of `sensor`, one per channel of the input tensor. */
  bandIndices: number[];
  /** Wavelength of each channel (nm), for wavelength-conditioned inputs. */
  wavelengths: number[];
  /** Per-channel normalisation: value' = (value - mean) * invStd. */
  mean: Float32Array;
  invStd: Float32Array;
  /** Whether the sensor is present and not marked failed for the whole scene. */
  available: boolean;
  channels: number;
  /** The input took the sensor's own bands, its list not fitting them (BandMapOptions.openUnfitting). */
  opened?: boolean;
}

export interface BandMapping {
  bindings: InputBinding[];
  /** Sensors that must be read (bound ones). */
  sensorIds: string[];
  /** Why sensors of a kind an optional input takes were left unbound (their bands did not fit). */
  unmatched: { sensor: string; problem: string }[];
}

export interface BandMapOptions {
  /** Wavelengths (nm) per sensor id for sensors whose files carry none (`--wavelengths`). */
  wavelengths?: ReadonlyMap<string, readonly number[]>;
  /**
   * Fine-tuning: an optional input whose band list does not fit a sensor of its kind takes the
   * sensor's own bands instead (the binding's input becomes an `any` input of that count, and
   * `opened` says so), as a sensor the pack never saw: a 4-band camera for MaMOL's Sentinel-2
   * list. So does an elevation sensor with more bands than the list reads (a LiDAR stack: DSM,
   * derived heights, intensity), which would otherwise give band 1 alone. On Houston 2013's 21-band
   * LiDAR raster (the DSM and 20 morphological features; forest harness, 20 labels per class,
   * seeds 0-5) all bands through the pixel head scored 0.34 / 0.24 / 0.37 / 0.26 / 0.33 / 0.40
   * against band 1's 0.27 / 0.18 / 0.45 / 0.21 / 0.21 / 0.28 (mean +5.7 points); with the linear
   * path's regression solved to its optimum (logreg.ts lbfgsFit) and no window statistics on so
   * many bands (finetune.ts CONTEXT_MAX_BANDS), 0.37 / 0.46 / 0.55 / 0.43 / 0.44 / 0.59, in 8 to
   * 15 s; with their tile means in the linear path too (finetune.ts RELATIVE_STACK_LEVEL), 0.38 /
   * 0.46 / 0.59 / 0.42 / 0.49 / 0.71, in 18 to 26 s. The forest on the 21 bands scores 0.70 / 0.45 /
   * 0.63 / 0.36 / 0.57 / 0.67: above it at seeds 1, 3 and 5, below on average. Offline (sklearn, same scene, 30% of its 48-pixel cells held out, 20/class,
   * seeds 0-5, mean OA) an MLP on the 21 standardised bands scored 0.38 against 0.21 on the DSM
   * alone, and no learner a head could hold beat the forest on the 21 (0.43; logistic regression
   * 0.36, and on 16 quantile bins per band 0.44, an MLP on them 0.45, per seed within 3 points of
   * the forest either way). Heights split into classes at thresholds, which a forest fits directly.
   */
  openUnfitting?: boolean;
}

/** Applies `--wavelengths` overrides, checking that each names a sensor and gives every band. */
export function applyWavelengthOverrides(info: SceneInfo, overrides: ReadonlyMap<string, readonly number[]> | undefined, flag = '--wavelengths'): Map<string, BandInfo[]> {
  const bands = new Map(info.sensors.map((s) => [s.id, s.bands] as const));
  for (const [id, nm] of overrides ?? []) {
    const sensor = info.sensors.find((s) => s.id === id);
    if (!sensor) throw new FieldMoeError(flag, `names sensor "${id}", which is not in the scene (sensors: ${info.sensors.map((s) => s.id).join(', ')})`);
    // bands a pack fills in (fillBands.ts) keep their wavelength: the flag names the file's bands
    const fileBands = sensor.bands.filter((b) => b.fill === undefined);
    if (nm.length !== fileBands.length) throw new FieldMoeError(flag, `gives ${nm.length} wavelengths for sensor ${id}, which has ${fileBands.length} bands`);
    bands.set(id, sensor.bands.map((b, i) => (b.fill === undefined ? { ...b, wavelengthNm: nm[i] } : b)));
  }
  return bands;
}

export function mapBands(info: SceneInfo, manifest: PackManifest, options: BandMapOptions = {}): BandMapping {
  const bandsOf = applyWavelengthOverrides(info, options.wavelengths);
  const fileBandsOf = (sensor: SensorInfo) => bandsOf.get(sensor.id)!.filter((b) => b.fill === undefined);
  const used = new Set<string>();
  const misfits: { sensor: string; problem: string }[] = [];
  const bindings = manifest.inputs.map((input, index) => {
    const candidates = info.sensors.filter((s) => !used.has(s.id) && input.sensorKinds.includes(s.kind));
    const problems: { sensor: string; problem: string }[] = [];
    for (const sensor of candidates) {
      const match = matchBands(input, sensor, bandsOf.get(sensor.id)!);
      if (typeof match === 'string') {
        problems.push({ sensor: sensor.id, problem: match });
        continue;
      }
      used.add(sensor.id);
      if (opens(input, options) && ELEVATION_KINDS.includes(sensor.kind) && fileBandsOf(sensor).length > match.indices.length) return openedBinding(input, index, sensor, fileBandsOf(sensor));
      return binding(input, index, sensor, match.indices, match.wavelengths);
    }
    const unfitting = opens(input, options) ? candidates.find((c) => problems.some((p) => p.sensor === c.id)) : undefined;
    if (unfitting) {
      used.add(unfitting.id);
      return openedBinding(input, index, unfitting, fileBandsOf(unfitting));
    }
    misfits.push(...problems);
    if (input.optional) return binding(input, index, undefined, [], []);
    throw new PackBindingError(info.source, `model pack ${manifest.name} ${describeNeed(input)}; ${problems.length ? problems.map((p) => p.problem).join('; ') : `the scene has ${describeSensors(info.sensors)}`}`);
  });
  // a sensor that fitted a later input is not unmatched
  const unmatched = misfits.filter((m) => !used.has(m.sensor));
  // every input optional and none bound: the sensors' bands did not fit, or they are of kinds the pack does not take
  if (bindings.every((b) => !b.sensor))
    throw new PackBindingError(
      info.source,
      unmatched.length
        ? `model pack ${manifest.name} can read none of the scene's sensors: ${unmatched.map((m) => m.problem).join('; ')}`
        : `model pack ${manifest.name} takes ${manifest.inputs.map((i) => `${i.name} (${i.sensorKinds.join(', ')})`).join(', ')} sensors; the scene has ${describeSensors(info.sensors)} (give a sensor's kind in sensors.json, or as --sensor id=file:kind)`,
    );
  if (bindings.every((b) => !b.available))
    throw new FieldMoeError(info.source, `every sensor model pack ${manifest.name} needs is marked missing or failed (${bindings.map((b) => b.sensor?.id ?? b.input.name).join(', ')}); nothing to classify`);
  return { bindings, sensorIds: bindings.filter((b) => b.sensor).map((b) => b.sensor!.id), unmatched };
}

/**
 * What of the scene the pack does not read, for the analyst: bands of a bound sensor its input
 * does not take (a LiDAR raster whose band 1 is the elevation input), and sensors no input is
 * bound to (a second LiDAR file). Failed sensors and filled bands are not listed.
 */
export function describeUnread(info: SceneInfo, mapping: Pick<BandMapping, 'bindings' | 'unmatched'>, pack: string): string[] {
  return info.sensors.flatMap((s) => {
    if (s.failed) return [];
    const bound = mapping.bindings.find((b) => b.sensor?.id === s.id);
    const misfit = mapping.unmatched.find((m) => m.sensor === s.id);
    if (!bound) return [misfit ? `sensor ${s.id} is not read: ${misfit.problem.replace(/^scene sensor \S+ /, 'it ')}` : `sensor ${s.id} (${s.kind}) is not read: pack ${pack} has no input left for it`];
    const fileBands = s.bands.filter((b) => b.fill === undefined);
    const unread = fileBands.filter((b) => !bound.bandIndices.includes(b.index));
    if (!unread.length) return [];
    const names = unread.slice(0, 5).map((b) => `${b.index + 1}${b.name ? ` (${b.name})` : ''}`).join(', ') + (unread.length > 5 ? ', ...' : '');
    return [`pack ${pack} reads ${fileBands.length - unread.length} of sensor ${s.id}'s ${fileBands.length} bands (input ${bound.input.name}); band${unread.length > 1 ? 's' : ''} ${names} not read`];
  });
}

/** The scene lacks a sensor (or bands) an input of the pack requires; registry.ts withPacksTaking names packs that take it. */
export class PackBindingError extends FieldMoeError {}

/** Whether `input` may take a sensor's own bands (BandMapOptions.openUnfitting). */
function opens(input: PackInput, options: BandMapOptions): boolean {
  return !!options.openUnfitting && input.optional && input.bands.mode === 'fixed';
}

/** `input` bound to all of `bands` of `sensor`, as an `any` input of that count. */
function openedBinding(input: PackInput, index: number, sensor: SensorInfo, bands: readonly BandInfo[]): InputBinding {
  const opened = { ...input, bands: { mode: 'any' as const, minBands: bands.length, maxBands: bands.length } };
  return { ...binding(opened, index, sensor, bands.map((b) => b.index), bands.map((b) => b.wavelengthNm ?? NaN)), opened: true };
}

function binding(input: PackInput, index: number, sensor: SensorInfo | undefined, bandIndices: number[], wavelengths: number[]): InputBinding {
  // An optional `any` input with no sensor still gets a tensor: minBands zero channels.
  const channels = input.bands.mode === 'fixed' ? input.bands.list.length : bandIndices.length || input.bands.minBands;
  if (!sensor) wavelengths = new Array(channels).fill(0);
  const norm = input.normalization;
  const mean = new Float32Array(channels);
  const invStd = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    mean[c] = norm.type === 'uniform' ? norm.mean : norm.mean[c];
    invStd[c] = 1 / (norm.type === 'uniform' ? norm.std : norm.std[c]);
  }
  return { input, index, sensor, bandIndices, wavelengths, mean, invStd, available: !!sensor && !sensor.failed, channels };
}

type Match = { indices: number[]; wavelengths: number[] } | string;

function matchBands(input: PackInput, sensor: SensorInfo, bands: readonly BandInfo[]): Match {
  const spec = input.bands;
  if (spec.mode === 'any') {
    if (bands.length < spec.minBands || bands.length > spec.maxBands)
      return `scene sensor ${sensor.id} has ${bands.length} bands, the pack takes ${spec.minBands}..${spec.maxBands}`;
    if (spec.wavelengthsInput) {
      const missing = bands.filter((b) => b.wavelengthNm === undefined);
      // a fine-tuned pack's own sensor, given again without its wavelengths
      if (missing.length === bands.length && spec.wavelengthsNm?.length === bands.length) return { indices: bands.map((b) => b.index), wavelengths: [...spec.wavelengthsNm] };
      if (missing.length)
        return `scene sensor ${sensor.id} has no wavelength for band${missing.length > 1 ? 's' : ''} ${missing.map((b) => b.index + 1).join(', ')} (give them with --wavelengths ${sensor.id}=nm,nm,...)`;
    }
    return { indices: bands.map((b) => b.index), wavelengths: bands.map((b) => b.wavelengthNm ?? NaN) };
  }
  if (positionalFallback(spec.list, bands)) return { indices: bands.map((b) => b.index), wavelengths: bands.map(() => NaN) };
  const { indices, unmatched } = matchList(spec.list, bands);
  if (unmatched.length) {
    const noWavelengths = unmatched.some((r) => r.wavelengthNm !== undefined) && bands.every((b) => b.wavelengthNm === undefined);
    // with fills, more than half of the bands were missing (fillBands.ts fills the rest)
    const hint = noWavelengths
      ? ` (no wavelengths: give them with --wavelengths ${sensor.id}=nm,nm,...)`
      : unmatched.every((r) => r.fill !== undefined)
        ? ` (a pack fills at most half of an input's bands; a wavelength-conditioned pack such as default-spectralmoe takes any band set)`
        : '';
    return `scene sensor ${sensor.id} (${sensor.kind}) lacks ${unmatched.map(describeRequirement).join(', ')}; it has ${describeBands(bands)}${hint}`;
  }
  return { indices, wavelengths: indices.map((i) => bands.find((b) => b.index === i)?.wavelengthNm ?? NaN) };
}

/**
 * A list of a training sensor's bands (each with its `fill`, training/train.ts) takes a sensor
 * none of whose bands it recognises (no wavelengths, other names) band for band in file order
 * when the counts agree: what the `any` input of that count it replaced did (a 13-band
 * Sentinel-2 GeoTIFF without band metadata keeps working with the MaMOL pack). Hand-written
 * lists keep asking for wavelengths.
 */
function positionalFallback(list: readonly BandRequirement[], bands: readonly BandInfo[]): boolean {
  return bands.length === list.length && list.every((r) => r.fill !== undefined) && matchList(list, bands).unmatched.length === list.length;
}

/**
 * The band of `bands` each requirement takes, in order (each a distinct band: the pipeline
 * normalises each band in place once), and the requirements no band meets.
 */
export function matchList(list: readonly BandRequirement[], bands: readonly BandInfo[]): { indices: number[]; unmatched: BandRequirement[] } {
  const indices: number[] = [];
  const unmatched: BandRequirement[] = [];
  for (const req of list) {
    const hit = findBand(req, bands.filter((b) => !indices.includes(b.index)));
    if (hit) indices.push(hit.index);
    else unmatched.push(req);
  }
  return { indices, unmatched };
}

function findBand(req: BandRequirement, bands: readonly BandInfo[]): BandInfo | undefined {
  if ('index' in req && req.index !== undefined) return bands.find((b) => b.index === req.index);
  if (req.wavelengthNm !== undefined) {
    let best: BandInfo | undefined;
    for (const b of bands) {
      if (b.wavelengthNm === undefined) continue;
      const d = Math.abs(b.wavelengthNm - req.wavelengthNm);
      if (d <= req.toleranceNm && (!best || d < Math.abs(best.wavelengthNm! - req.wavelengthNm))) best = b;
    }
    return best;
  }
  const name = req.name!.toLowerCase();
  return bands.find((b) => b.name.toLowerCase() === name || b.name.toLowerCase().split(/\s+/)[0] === name);
}

function describeNeed(input: PackInput): string {
  const kinds = input.sensorKinds.join(' or ');
  const spec = input.bands;
  if (spec.mode === 'any') return `needs a ${kinds} sensor with ${spec.minBands}..${spec.maxBands} bands${spec.wavelengthsInput ? ' and known wavelengths' : ''}`;
  const nm = spec.list.filter((r) => r.wavelengthNm !== undefined).map((r) => r.wavelengthNm);
  const named = spec.list.filter((r) => r.wavelengthNm === undefined).map(describeRequirement);
  const parts = [nm.length ? `bands near ${joinAnd(nm.map((w) => `${w} nm`))}` : '', named.length ? `bands ${joinAnd(named)}` : ''].filter(Boolean);
  return `needs a ${kinds} sensor with ${parts.join(' and ')}`;
}

function describeRequirement(r: BandRequirement): string {
  if (r.wavelengthNm !== undefined) return `${r.wavelengthNm} nm (±${r.toleranceNm})`;
  if ('index' in r && r.index !== undefined) return `band ${r.index + 1}`;
  return `"${r.name}"`;
}

function describeBands(bands: readonly BandInfo[]): string {
  return bands.map((b) => (b.wavelengthNm !== undefined ? `${b.wavelengthNm}` : `"${b.name}"`)).join(', ') + (bands.some((b) => b.wavelengthNm !== undefined) ? ' nm' : '');
}

function describeSensors(sensors: readonly SensorInfo[]): string {
  return sensors.map((s) => `${s.id} (${s.kind})`).join(', ') || 'no sensors';
}

function joinAnd(xs: readonly (string | number | undefined)[]): string {
  return xs.length <= 1 ? String(xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
