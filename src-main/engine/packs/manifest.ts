/**
 * The model pack manifest (`manifest.json`): what a pack needs from a scene, how to feed it and
 * what its outputs mean. One format serves the tiny per-pixel packs of the foundation, the
 * wavelength-conditioned SpectralMoE (with an elevation input) and MaMOL (per-sensor inputs
 * plus sensor availability). `models/README.md` documents every field.
 */
import { SENSOR_KINDS, type SensorKind } from '../scene/types';
import { FieldMoeError } from '../util/errors';

export const MANIFEST_FORMAT = 'fieldmoe-pack/1';

/**
 * One band a fixed-band input needs, matched by wavelength, by name, or by position. `fill` (on
 * a wavelength or a name): a band the model can do without; where the sensor lacks it, the
 * channel holds this constant in normalised units (the band's mean over the pack's training
 * scenes after their normalisation; packs/fillBands.ts).
 */
export type BandRequirement =
  | { wavelengthNm: number; toleranceNm: number; name?: string; fill?: number }
  | { name: string; wavelengthNm?: undefined; fill?: number }
  | { index: number; name?: string; wavelengthNm?: undefined; fill?: undefined };

/**
 * `fixed`: exactly these bands, in this order (the tensor has `list.length` channels).
 * `any`: every band of the matched sensor, in file order; when `wavelengthsInput` is set the
 * model receives the bands' wavelengths (float32 [C], nm) under that graph input name.
 * `wavelengthsNm`: those a fine-tuned pack was given for its sensor (`--wavelengths`), which a
 * sensor of as many bands none of whose bands carries one then takes.
 */
export type BandSpec =
  | { mode: 'fixed'; list: BandRequirement[] }
  | { mode: 'any'; minBands: number; maxBands: number; wavelengthsInput?: string; wavelengthsNm?: number[] };

/**
 * Normalisation applied before the model, per channel: `(value - mean) / std`.
 * `per-band` lists one mean/std per channel (fixed bands only); `uniform` applies one pair to
 * every channel (the rule for `any` band sets, e.g. reflectance x 10000 -> mean 0, std 10000).
 * Invalid pixels (nodata, NaN, failed sensor) become exactly 0 after normalisation.
 */
export type Normalization =
  | { type: 'per-band'; mean: number[]; std: number[] }
  /**
   * `perScene`: the pack was trained on each scene's own mean and std, and classify computes the
   * scene's (packs/sceneNormalization.ts); `mean` and `std` are then those of its first
   * training scene, for reference.
   */
  | { type: 'uniform'; mean: number; std: number; perScene?: boolean };

export interface PackInput {
  /** Graph input name; the tensor is float32 [N, C, tile, tile]. */
  name: string;
  /** Scene sensor kinds this input accepts. */
  sensorKinds: SensorKind[];
  bands: BandSpec;
  normalization: Normalization;
  /**
   * True when the model can run without this input (it gets zeros and availability 0). Only
   * packs with an availability input may declare optional inputs.
   */
  optional: boolean;
  /** Human-readable description used in error messages ("Sentinel-1 VV/VH backscatter"). */
  description?: string;
  /**
   * `dB`: the model was trained on decibels (SAR backscatter); a sensor whose values are linear
   * power (none negative) is converted on reading (packs/units.ts).
   */
  units?: 'dB';
}

export interface PackClass {
  /** Class id written to the class map, 1..255 (0 is nodata). */
  id: number;
  name: string;
  /** `#rrggbb` */
  color: string;
}

export interface TileSpec {
  /** Default tile edge in pixels. */
  size: number;
  /** Default overlap between neighbouring tiles, in pixels (< size). */
  overlap: number;
  /** True when the graph has a static spatial size: the tile size cannot be changed. */
  fixedSize: boolean;
  /** Tile sizes must be multiples of this (e.g. a ViT patch size); 1 when any size works. */
  multipleOf: number;
  /** Tiles per session.run. */
  batch: number;
}

export interface PackManifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  version: string;
  /** `segmentation`: dense per-pixel class probabilities. */
  task: 'segmentation';
  architecture: string;
  /** The inference graph, relative to the pack folder. */
  model: string;
  /** Other files of the pack (e.g. train-step graphs, adapters), relative to the pack folder. */
  files: string[];
  inputs: PackInput[];
  /**
   * Graph input receiving sensor availability, float32 [N, M] with M = inputs.length in
   * manifest order (1 = the sensor is present for the tile). Absent: failed sensors are masked.
   */
  availabilityInput?: string;
  /** Graph output with class probabilities, float32 [N, K, tile, tile], K = classes.length. */
  output: string;
  classes: PackClass[];
  tile: TileSpec;
  /** Model card: architecture, settings, training data, metrics, deviations (markdown). */
  card: string;
  /** Named figures, e.g. `train.overall_accuracy`. */
  metrics: Record<string, number>;
  /** Execution providers known NOT to support the graph's operators (issue 4 part 8). */
  unsupportedProviders?: string[];
}

type Json = Record<string, unknown>;

/** Validates parsed JSON against the manifest format; errors name `file` and the field. */
export function validateManifest(json: unknown, file: string): PackManifest {
  const v = new FieldReader(file);
  const root = v.object(json, '');
  const format = v.string(root, 'format');
  if (format !== MANIFEST_FORMAT) v.fail('format', `is "${format}", expected "${MANIFEST_FORMAT}"`);
  const task = v.string(root, 'task');
  if (task !== 'segmentation') v.fail('task', `"${task}" is not supported (supported: segmentation)`);

  const inputs = v.array(root, 'inputs').map((x, i) => readInput(v, x, `inputs[${i}]`));
  if (inputs.length === 0) v.fail('inputs', 'must list at least one input');
  unique(v, inputs.map((x) => x.name), 'inputs[].name');
  const availabilityInput = v.optionalString(root, 'availabilityInput');
  inputs.forEach((x, i) => {
    if (x.optional && !availabilityInput) v.fail(`inputs[${i}].optional`, 'needs an availabilityInput: without it the model cannot tell a missing sensor from zeros');
  });

  const classes = v.array(root, 'classes').map((x, i) => readClass(v, x, `classes[${i}]`));
  if (classes.length === 0) v.fail('classes', 'must list at least one class');
  unique(v, classes.map((c) => String(c.id)), 'classes[].id');

  const tileObj = v.object(root.tile, 'tile');
  const tile: TileSpec = {
    size: v.integer(tileObj, 'size', 'tile.', 1),
    overlap: v.integer(tileObj, 'overlap', 'tile.', 0),
    fixedSize: v.optionalBoolean(tileObj, 'fixedSize', 'tile.') ?? false,
    multipleOf: v.optionalInteger(tileObj, 'multipleOf', 'tile.', 1) ?? 1,
    batch: v.optionalInteger(tileObj, 'batch', 'tile.', 1) ?? 4,
  };
  if (tile.overlap >= tile.size) v.fail('tile.overlap', `${tile.overlap} must be smaller than tile.size ${tile.size}`);
  if (tile.size % tile.multipleOf !== 0) v.fail('tile.size', `${tile.size} is not a multiple of tile.multipleOf ${tile.multipleOf}`);

  const metricsObj = root.metrics === undefined ? {} : v.object(root.metrics, 'metrics');
  const metrics: Record<string, number> = {};
  for (const [k, m] of Object.entries(metricsObj)) {
    if (typeof m !== 'number' || !Number.isFinite(m)) v.fail(`metrics.${k}`, 'must be a finite number');
    metrics[k] = m as number;
  }
  const files = root.files === undefined ? [] : v.array(root, 'files').map((f, i) => (typeof f === 'string' ? f : v.fail(`files[${i}]`, 'must be a string')));
  const unsupportedProviders = root.unsupportedProviders === undefined ? undefined : v.array(root, 'unsupportedProviders').map((f, i) => (typeof f === 'string' ? f : v.fail(`unsupportedProviders[${i}]`, 'must be a string')));

  return {
    format: MANIFEST_FORMAT,
    name: v.string(root, 'name'),
    version: v.string(root, 'version'),
    task: 'segmentation',
    architecture: v.string(root, 'architecture'),
    model: relativeFile(v, v.string(root, 'model'), 'model'),
    files,
    inputs,
    availabilityInput,
    output: v.string(root, 'output'),
    classes,
    tile,
    card: v.string(root, 'card'),
    metrics,
    unsupportedProviders,
  };
}

function readInput(v: FieldReader, raw: unknown, at: string): PackInput {
  const o = v.object(raw, at);
  const p = `${at}.`;
  const sensorKinds = v.array(o, 'sensorKinds', p).map((k, i) => {
    if (typeof k !== 'string' || !(SENSOR_KINDS as readonly string[]).includes(k)) v.fail(`${p}sensorKinds[${i}]`, `"${String(k)}" is not a sensor kind (${SENSOR_KINDS.join(', ')})`);
    return k as SensorKind;
  });
  if (sensorKinds.length === 0) v.fail(`${p}sensorKinds`, 'must list at least one sensor kind');
  const bands = readBands(v, o.bands, `${p}bands`);
  const normalization = readNormalization(v, o.normalization, `${p}normalization`);
  if (normalization.type === 'per-band') {
    if (bands.mode !== 'fixed') v.fail(`${p}normalization`, 'per-band normalisation needs fixed bands; use {"type":"uniform"} for any band set');
    else if (normalization.mean.length !== bands.list.length || normalization.std.length !== bands.list.length)
      v.fail(`${p}normalization`, `mean and std need ${bands.list.length} values (one per band), got ${normalization.mean.length} and ${normalization.std.length}`);
  }
  return {
    name: v.string(o, 'name', p),
    sensorKinds,
    bands,
    normalization,
    optional: v.optionalBoolean(o, 'optional', p) ?? false,
    description: v.optionalString(o, 'description', p),
    ...readUnits(v, o, p),
  };
}

function readUnits(v: FieldReader, o: Json, at: string): { units?: 'dB' } {
  const units = v.optionalString(o, 'units', at);
  if (units !== undefined && units !== 'dB') v.fail(`${at}units`, `"${units}" must be "dB" (or absent)`);
  return units === undefined ? {} : { units: 'dB' };
}

function readBands(v: FieldReader, raw: unknown, at: string): BandSpec {
  const o = v.object(raw, at);
  const p = `${at}.`;
  const mode = v.string(o, 'mode', p);
  if (mode === 'any') {
    const minBands = v.optionalInteger(o, 'minBands', p, 1) ?? 1;
    const maxBands = v.optionalInteger(o, 'maxBands', p, minBands) ?? 10_000;
    const wavelengthsNm =
      o.wavelengthsNm === undefined
        ? undefined
        : v.array(o, 'wavelengthsNm', p).map((x, i) => (typeof x === 'number' && x > 0 ? x : v.fail(`${p}wavelengthsNm[${i}]`, 'must be a wavelength in nm (> 0)')));
    if (wavelengthsNm && (wavelengthsNm.length < minBands || wavelengthsNm.length > maxBands)) v.fail(`${p}wavelengthsNm`, `lists ${wavelengthsNm.length} wavelengths for ${minBands}..${maxBands} bands`);
    return { mode, minBands, maxBands, wavelengthsInput: v.optionalString(o, 'wavelengthsInput', p), ...(wavelengthsNm ? { wavelengthsNm } : {}) };
  }
  if (mode !== 'fixed') v.fail(`${p}mode`, `"${mode}" must be "fixed" or "any"`);
  const list = v.array(o, 'list', p).map((b, i): BandRequirement => {
    const q = `${p}list[${i}]`;
    const bo = v.object(b, q);
    const name = v.optionalString(bo, 'name', `${q}.`);
    if (bo.wavelengthNm !== undefined) {
      const wavelengthNm = v.number(bo, 'wavelengthNm', `${q}.`);
      const toleranceNm = bo.toleranceNm === undefined ? 30 : v.number(bo, 'toleranceNm', `${q}.`);
      return { wavelengthNm, toleranceNm, name, ...optionalFill(v, bo, q) };
    }
    if (bo.index !== undefined) return { index: v.integer(bo, 'index', `${q}.`, 0), name };
    if (name === undefined) v.fail(q, 'needs a wavelengthNm, a name or an index');
    return { name: name!, ...optionalFill(v, bo, q) };
  });
  if (list.length === 0) v.fail(`${p}list`, 'must list at least one band');
  return { mode: 'fixed', list };
}

function optionalFill(v: FieldReader, o: Json, at: string): { fill?: number } {
  return o.fill === undefined ? {} : { fill: v.number(o, 'fill', `${at}.`) };
}

function readNormalization(v: FieldReader, raw: unknown, at: string): Normalization {
  const o = v.object(raw, at);
  const p = `${at}.`;
  const type = v.string(o, 'type', p);
  if (type === 'uniform') {
    const std = v.number(o, 'std', p);
    if (!(std > 0)) v.fail(`${p}std`, 'must be > 0');
    const perScene = o.perScene;
    if (perScene !== undefined && typeof perScene !== 'boolean') v.fail(`${p}perScene`, 'must be true or false');
    return { type, mean: v.number(o, 'mean', p), std, ...(perScene ? { perScene: true } : {}) };
  }
  if (type !== 'per-band') v.fail(`${p}type`, `"${type}" must be "per-band" or "uniform"`);
  const nums = (key: string) =>
    v.array(o, key, p).map((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) v.fail(`${p}${key}[${i}]`, 'must be a finite number');
      return x as number;
    });
  const std = nums('std');
  std.forEach((s, i) => {
    if (!(s > 0)) v.fail(`${p}std[${i}]`, 'must be > 0');
  });
  return { type: 'per-band', mean: nums('mean'), std };
}

function readClass(v: FieldReader, raw: unknown, at: string): PackClass {
  const o = v.object(raw, at);
  const p = `${at}.`;
  const id = v.integer(o, 'id', p, 1);
  if (id > 255) v.fail(`${p}id`, `${id} does not fit the uint8 class map (1..255; 0 is nodata)`);
  const color = v.string(o, 'color', p);
  if (!/^#[0-9a-fA-F]{6}$/.test(color)) v.fail(`${p}color`, `"${color}" must be #rrggbb`);
  return { id, name: v.string(o, 'name', p), color };
}

function relativeFile(v: FieldReader, f: string, field: string): string {
  if (f.startsWith('/') || f.split(/[\\/]/).includes('..')) v.fail(field, `"${f}" must be a path inside the pack folder`);
  return f;
}

function unique(v: FieldReader, values: string[], field: string): void {
  const seen = new Set<string>();
  for (const x of values) {
    if (seen.has(x)) v.fail(field, `"${x}" appears twice`);
    seen.add(x);
  }
}

/** Typed field access that turns every schema problem into one FieldMoeError line. */
class FieldReader {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new FieldMoeError(this.file, `${field || 'manifest'} ${problem}`);
  }
  object(x: unknown, at: string): Json {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(at || 'manifest', 'must be a JSON object');
    return x as Json;
  }
  array(o: Json, key: string, p = ''): unknown[] {
    const x = o[key];
    if (!Array.isArray(x)) this.fail(`${p}${key}`, x === undefined ? 'is missing' : 'must be an array');
    return x as unknown[];
  }
  string(o: Json, key: string, p = ''): string {
    const x = o[key];
    if (typeof x !== 'string' || x === '') this.fail(`${p}${key}`, x === undefined ? 'is missing' : 'must be a non-empty string');
    return x as string;
  }
  optionalString(o: Json, key: string, p = ''): string | undefined {
    return o[key] === undefined ? undefined : this.string(o, key, p);
  }
  number(o: Json, key: string, p = ''): number {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(`${p}${key}`, x === undefined ? 'is missing' : 'must be a finite number');
    return x as number;
  }
  integer(o: Json, key: string, p = '', min = 0): number {
    const x = this.number(o, key, p);
    if (!Number.isInteger(x) || x < min) this.fail(`${p}${key}`, `must be an integer >= ${min}, got ${x}`);
    return x;
  }
  optionalInteger(o: Json, key: string, p = '', min = 0): number | undefined {
    return o[key] === undefined ? undefined : this.integer(o, key, p, min);
  }
  optionalBoolean(o: Json, key: string, p = ''): boolean | undefined {
    const x = o[key];
    if (x === undefined) return undefined;
    if (typeof x !== 'boolean') this.fail(`${p}${key}`, 'must be true or false');
    return x as boolean;
  }
}
