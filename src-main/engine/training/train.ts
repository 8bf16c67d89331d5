/**
 * Full training of a new pack (`fieldmoe train`): one compact model trained on one or more
 * labelled scenes together (class sets united by name), backbone included unless a frozen
 * backbone is given. The pack inputs are derived from the scenes' sensor kinds: SpectralMoE
 * takes any optical band set through the wavelength embedding (plus elevation for the depth
 * branch when every scene has it); MaMOL takes one optional input per sensor family with an
 * availability vector, so any of them may be missing.
 */
import type { SceneInfo, SensorInfo, SensorKind, Scene } from '../scene/types';
import type { LabelSet } from '../labels/types';
import { labelledArea, loadLabels, normalizeClassName, generatedColor, type LabelClass } from '../labels/index';
import type { BandRequirement, BandSpec, PackClass, PackInput } from '../packs/manifest';
import { SEG_PRESETS, MAMOL_PRESETS, MAMOL_PAPER_EXPERTS, SPECTRALMOE_PAPER_DEFAULTS, defaultLevels, type ModelConfig } from '../ml/models/index';
import { vitConfig, type VitConfig } from '../ml/models/vit';
import type { WeightMap } from '../ml/models/init';
import type { JobContext } from '../jobs/job';
import type { Provider } from '../runtime/session';
import { FieldMoeError } from '../util/errors';
import { fit, mappingManifest, type FitResult, type MissingRequest, type MissingSimulation } from '../finetune/fit';
import { mapBands, type BandMapOptions } from '../packs/bandmap';
import { looksLinear } from '../packs/units';
import { sampledBandMeans } from '../packs/fillBands';
import { readWhole } from '../scene/whole';
import { checkPackOutput, compatibleWeights, hexColor, shortPath, writeTrainedPack } from '../finetune/packio';
import { resolveMissing, withRate } from '../finetune/finetune';

export const ARCHES = ['spectralmoe', 'mamol'] as const;
export type Arch = (typeof ARCHES)[number];

/** Sensor families: which scene sensor kinds feed which MaMOL input. */
export const SENSOR_FAMILIES: { name: string; kinds: SensorKind[]; description: string }[] = [
  { name: 'optical', kinds: ['multispectral', 'hyperspectral', 'rgb'], description: 'optical bands (multispectral / hyperspectral / RGB)' },
  { name: 'sar', kinds: ['sar'], description: 'SAR backscatter' },
  { name: 'elevation', kinds: ['dem', 'lidar'], description: 'elevation (DEM / LiDAR)' },
];

const OPTICAL = SENSOR_FAMILIES[0].kinds;
const ELEVATION = SENSOR_FAMILIES[2].kinds;

/** The compact sizes trained on this CPU (see models/*\/README or the model card). */
export interface CompactSize {
  width: number;
  depth: number;
  heads: number;
  /** Pixels per token side. */
  patch: number;
  /** Tile side. */
  tile: number;
}

export const COMPACT: CompactSize = { width: 64, depth: 4, heads: 4, patch: 4, tile: 32 };

export function compactVitConfig(size: CompactSize, inChannels = 3): VitConfig {
  return vitConfig({ width: size.width, depth: size.depth, heads: size.heads, patchSize: size.patch, imageSize: size.tile, mlpRatio: 2, inChannels });
}

export interface TrainSource {
  scene: Scene;
  labels: string | LabelSet;
  wavelengths?: ReadonlyMap<string, readonly number[]>;
}

export interface TrainRequest {
  arch: Arch;
  sources: TrainSource[];
  out: string;
  name?: string;
  version?: string;
  size?: CompactSize;
  /** Adapter preset (SEG_PRESETS / MAMOL_PRESETS name). */
  preset?: string;
  /** A trained backbone to start from and keep frozen (weights by name, e.g. another pack's). */
  frozenBackbone?: { weights: WeightMap; source: string };
  epochs?: number;
  seed?: number;
  valSplit?: number;
  tilesPerClass?: number;
  batchSize?: number;
  lr?: number;
  patience?: number;
  /** A mode alone is refused: full training has no default rate. */
  missing?: MissingRequest;
  /** Vector labels files' property holding the class (default: the first of CLASS_PROPERTY_CANDIDATES present). */
  classProperty?: string;
  threads?: number;
  /** Execution providers to try in order (CPU is always the fallback; default CPU only). */
  providers?: readonly Provider[];
  /** Bytes up to which each scene is read whole; a larger one is read over the areas around its labels (labels/window.ts labelledArea). */
  readWholeUpTo?: number;
  /** Extra model-card text (e.g. the recipe). */
  note?: string;
}

export interface TrainResult {
  out: string;
  model: ModelConfig;
  classes: PackClass[];
  inputs: PackInput[];
  fit: FitResult;
}

/** United class list by normalised name, and each source's label -> model class map. */
export function uniteClasses(sets: readonly LabelSet[]): { classes: PackClass[]; maps: Int32Array[] } {
  const classes: PackClass[] = [];
  const byName = new Map<string, number>();
  const maps = sets.map((set) =>
    Int32Array.from(set.classes, (c: LabelClass) => {
      const key = normalizeClassName(c.name);
      let k = byName.get(key);
      if (k === undefined) {
        k = classes.length;
        byName.set(key, k);
        const id = k + 1;
        classes.push({ id, name: c.name, color: hexColor(sets.length === 1 ? c.color : generatedColor(id)) });
      }
      return k;
    }),
  );
  if (classes.length > 255) throw new FieldMoeError('labels', `${classes.length} classes; a class map holds at most 255`);
  return { classes, maps };
}

function firstOf(sensors: readonly SensorInfo[], kinds: readonly SensorKind[]): SensorInfo | undefined {
  return sensors.find((s) => kinds.includes(s.kind));
}

const UNIFORM = { type: 'uniform' as const, mean: 0, std: 1 };

/**
 * Elevation inputs read band 1 of a DEM or LiDAR raster (a DSM comes first by convention), so
 * that a LiDAR raster with more bands (intensity, return counts) feeds them rather than being
 * refused, or left unbound where the input is optional; its other bands are not read, except by
 * a MaMOL pack fine-tuned on it, whose input then takes them all (packs/bandmap.ts openUnfitting).
 */
const FIRST_BAND: BandSpec = { mode: 'fixed', list: [{ index: 0 }] };

/**
 * The spectral embedding with its sin-cos periods given in nanometres (embed.ts's defaults
 * 0.02..50 um times 1000): the classify pipeline feeds band wavelengths in nm, so the encoding
 * is the one the embedding defines for micrometres.
 */
export const SPECTRAL_EMBEDDING_NM = { kind: 'spectral', minPeriodUm: 20, maxPeriodUm: 50_000 } as unknown as { kind: 'spectral' };

/**
 * A MaMOL input's bands listed by wavelength, when every scene's sensor of its family has the
 * same wavelengths (within 1 nm), else by name, when they have the same two or more distinct
 * names (SAR's VV and VH): a scene can then bind them so, in its own order, and lack some
 * (fillBands.ts; the fill values come from the training scenes, trainingFills). Each band's
 * tolerance is half the gap to its nearest neighbour, at most 30 nm, so that Sentinel-2's B08
 * (842 nm) never takes B8A (865 nm). Undefined (bands by count) otherwise.
 */
export function listedBands(sensors: readonly (SensorInfo | undefined)[]): BandSpec | undefined {
  const present = sensors.filter((s): s is SensorInfo => !!s);
  const first = present[0]?.bands;
  if (!first?.length || present.some((s) => s.bands.length !== first.length)) return undefined;
  const nm = first.map((b) => b.wavelengthNm);
  if (nm.every((w) => w !== undefined) && present.every((s) => s.bands.every((b, i) => b.wavelengthNm !== undefined && Math.abs(b.wavelengthNm - nm[i]!) <= 1))) {
    const list = first.map((b, i) => {
      const gap = Math.min(...nm.filter((_, j) => j !== i).map((x) => Math.abs(x! - nm[i]!)));
      return { wavelengthNm: nm[i]!, toleranceNm: Math.min(30, gap / 2), name: b.name };
    });
    return { mode: 'fixed', list };
  }
  const names = first.map((b) => b.name.toLowerCase());
  if (names.length < 2 || new Set(names).size < names.length || !present.every((s) => s.bands.every((b, i) => b.name.toLowerCase() === names[i]))) return undefined;
  return { mode: 'fixed', list: first.map((b) => ({ name: b.name })) };
}

/**
 * `inputs` with each listed band's fill (fillBands.ts): its mean in normalised units
 * (after the scene's uniform normalisation over the input's bands, as the model sees it),
 * averaged over the training scenes, so that it holds for a scene of any scale (eolearn's
 * reflectance 0..1 and sen1floods11's x 10000 give the same figures). Sampled on a stride.
 */
export async function trainingFills(inputs: readonly PackInput[], scenes: readonly Scene[], wavelengths: readonly (BandMapOptions['wavelengths'] | undefined)[], signal?: AbortSignal): Promise<PackInput[]> {
  const out: PackInput[] = [];
  for (const input of inputs) {
    if (input.bands.mode !== 'fixed' || input.bands.list.some((r) => 'index' in r)) {
      out.push(input);
      continue;
    }
    const C = input.bands.list.length;
    const z = new Float64Array(C);
    let counted = 0;
    for (const [k, scene] of scenes.entries()) {
      if (!scene.info.sensors.some((x) => input.sensorKinds.includes(x.kind))) continue;
      const b = mapBands(scene.info, mappingManifest([{ ...input, optional: true }]), { wavelengths: wavelengths[k] }).bindings[0];
      if (!b.sensor) continue;
      const block = (await readWhole(scene, { sensors: [b.sensor.id], bands: new Map([[b.sensor.id, b.bandIndices]]), signal })).get(b.sensor.id)!;
      const means = sampledBandMeans(block, C);
      if (!means) continue;
      means.perBand.forEach((m, c) => (z[c] += (m - means.mean) / means.std));
      counted++;
    }
    const list = input.bands.list.map((r, c): BandRequirement => ('index' in r || !counted ? r : { ...r, fill: z[c] / counted }));
    out.push({ ...input, bands: { mode: 'fixed', list } });
  }
  return out;
}

/**
 * `inputs` with `units: 'dB'` on the SAR ones whose training sensors all hold decibels (some
 * negative values): a scene in linear power is then converted for them (packs/units.ts).
 */
export async function trainingUnits(inputs: readonly PackInput[], scenes: readonly Scene[], signal?: AbortSignal): Promise<PackInput[]> {
  const out: PackInput[] = [];
  for (const input of inputs) {
    const sensors = scenes.flatMap((scene) => scene.info.sensors.filter((s) => s.kind === 'sar' && input.sensorKinds.includes(s.kind)).map((s) => ({ scene, id: s.id })));
    out.push(sensors.length > 0 && !(await anyLooksLinear(sensors, signal)) ? { ...input, units: 'dB' } : input);
  }
  return out;
}

/** Whether any of `sensors` looks like linear power; stops reading at the first that does. */
async function anyLooksLinear(sensors: readonly { scene: Scene; id: string }[], signal?: AbortSignal): Promise<boolean> {
  for (const { scene, id } of sensors) if (await looksLinear(scene, id, signal)) return true;
  return false;
}

/** Pack inputs and model config for `arch` on these scenes. */
export function designModel(arch: Arch, scenes: readonly Scene[], classes: number, size: CompactSize, preset?: string): { model: ModelConfig; inputs: PackInput[]; availabilityInput?: string } {
  const infos = scenes.map((s) => s.info);
  if (arch === 'spectralmoe') {
    const optical = infos.map((i) => firstOf(i.sensors, OPTICAL));
    const missing = optical.findIndex((o) => !o);
    if (missing >= 0) throw new FieldMoeError(infos[missing].source, 'has no optical (multispectral, hyperspectral or RGB) sensor for a SpectralMoE pack');
    // Elevation feeds the depth branch when any scene has it; when only some do, it is optional
    // (availability-gated: a tile without it runs as the w/o-depth variant).
    const elevation = infos.map((i) => firstOf(i.sensors, ELEVATION));
    const firstElevation = elevation.find((e) => !!e);
    const optional = !!firstElevation && elevation.some((e) => !e);
    const vit = compactVitConfig(size);
    const moeBase = { ...SPECTRALMOE_PAPER_DEFAULTS, experts: 4, tokensPerExpert: 16, rank: 8, loadLambda: 1 };
    const adapters = SEG_PRESETS[preset ?? (firstElevation ? 'spectralmoe' : 'wo-depth')].apply(moeBase);
    if (adapters.moe) adapters.moe = { ...adapters.moe, depth: adapters.moe.depth && !!firstElevation };
    const depth = !!adapters.moe?.depth;
    const inputs: PackInput[] = [
      { name: 'image', sensorKinds: [...OPTICAL], bands: { mode: 'any', minBands: 1, maxBands: 1000, wavelengthsInput: 'wavelengths' }, normalization: UNIFORM, optional: false, description: 'optical bands with known wavelengths' },
    ];
    if (depth) inputs.push({ name: 'depth', sensorKinds: [...ELEVATION], bands: FIRST_BAND, normalization: UNIFORM, optional: optional, description: optional ? 'elevation for the depth branch (optional: without it the model runs as w/o depth)' : 'elevation for the depth branch' });
    const model: ModelConfig = {
      architecture: 'spectralmoe',
      config: {
        vit,
        // No depth encoder (none can be imported here; a random frozen one adds cost, not
        // information): elevation becomes per-block tokens through trained projections.
        depthVit: null,
        depthSource: depth && firstElevation ? { source: 'elevation', kind: firstElevation.kind === 'lidar' ? 'lidar' : 'dem' } : { source: 'none' },
        ...(depth && optional ? { depthOptional: true } : {}),
        adapters,
        decoder: { levels: defaultLevels(vit.depth, Math.min(4, vit.depth)), hidden: 64, classes },
        tile: size.tile,
        embedding: SPECTRAL_EMBEDDING_NM,
      },
    };
    return { model, inputs, ...(depth && optional ? { availabilityInput: 'available' } : {}) };
  }
  const families = SENSOR_FAMILIES.filter((f) => infos.some((i) => firstOf(i.sensors, f.kinds)));
  const modalities = families.map((f) => {
    const counts = new Set(infos.map((i) => firstOf(i.sensors, f.kinds)?.bands.length).filter((n): n is number => n !== undefined));
    if (counts.size > 1) throw new FieldMoeError('--scene', `the ${f.name} sensors of the scenes have different band counts (${[...counts].join(', ')}); MaMOL needs one per input`);
    return { name: f.name, bands: [...counts][0] };
  });
  const inputs: PackInput[] = families.map((f, i) => ({
    name: f.name,
    sensorKinds: [...f.kinds],
    bands: f.name === 'elevation' && modalities[i].bands === 1 ? FIRST_BAND : (listedBands(infos.map((info) => firstOf(info.sensors, f.kinds))) ?? { mode: 'any', minBands: modalities[i].bands, maxBands: modalities[i].bands }),
    normalization: UNIFORM,
    optional: true,
    description: f.description,
  }));
  const experts = MAMOL_PRESETS[preset ?? 'mamol'].apply({ ...MAMOL_PAPER_EXPERTS, rank: 4, routerHidden: 32 });
  const model: ModelConfig = {
    architecture: 'mamol',
    config: {
      vit: compactVitConfig(size),
      modalities,
      size: size.tile,
      tokenPatch: size.patch,
      embedHidden: 64,
      experts,
      adaptedBlocks: Math.max(1, Math.floor(size.depth / 2)),
      head: 'dense',
      classes,
    },
  };
  return { model, inputs, availabilityInput: 'available' };
}

/** `--missing-mode` as a pack input: a sensor id of any of the scenes names the input it feeds there (finetune.ts resolveMissing). */
function sensorMissing(m: MissingSimulation, scenes: readonly SceneInfo[], inputs: PackInput[], availabilityInput: string | undefined): MissingSimulation {
  if (m.mode === 'both' || inputs.some((i) => i.name === m.mode)) return m;
  return resolveMissing(m, scenes.flatMap((info) => mapBands(info, mappingManifest(inputs, availabilityInput)).bindings), availabilityInput);
}

export async function train(req: TrainRequest, job: JobContext = {}): Promise<TrainResult> {
  if (!req.sources.length) throw new FieldMoeError('--scene', 'give at least one scene with --labels');
  await checkPackOutput(req.out);
  const size = req.size ?? COMPACT;
  const loaded = await Promise.all(req.sources.map((s) => (typeof s.labels === 'string' ? loadLabels(s.labels, s.scene.info, { signal: job.signal, classProperty: req.classProperty }) : s.labels)));
  // of a large scene the labelled areas are all that is read (labels/window.ts)
  const areas = loaded.map((labels, i) => labelledArea(req.sources[i].scene, labels, size.tile, req.readWholeUpTo));
  const sets = areas.map((a) => a.labels);
  const sources = req.sources.map((s, i) => ({ ...s, scene: areas[i].scene }));
  const { classes, maps } = uniteClasses(sets);
  const { model, inputs, availabilityInput } = designModel(req.arch, sources.map((s) => s.scene), classes.length, size, req.preset);
  const missing = req.missing && sensorMissing(withRate(req.missing, undefined), sources.map((s) => s.scene.info), inputs, availabilityInput);
  const frozen = req.frozenBackbone;
  const weights = frozen ? compatibleWeights(model, frozen.weights) : new Map();
  const result = await fit(
    {
      model,
      weights,
      trainsAdapter: () => true,
      trainBackbone: !frozen,
      inputs,
      availabilityInput,
      sources: sources.map((s, i) => ({ name: shortPath(s.scene.info.source), scene: s.scene, labels: sets[i], classMap: maps[i], wavelengths: s.wavelengths })),
      epochs: req.epochs ?? 20,
      seed: req.seed ?? 0,
      valSplit: req.valSplit ?? 0.2,
      tilesPerClass: req.tilesPerClass ?? 48,
      batchSize: req.batchSize ?? 16,
      lr: req.lr ?? 2e-3,
      patience: req.patience ?? 6,
      missing,
      threads: req.threads,
      providers: req.providers,
      classNames: classes,
    },
    job,
  );
  // Each scene was normalised by its own statistics, and so is a scene to classify (perScene);
  // the manifest records those of the first scene with the input's sensor, for reference.
  const scenes = sources.map((s) => s.scene);
  const withFills = await trainingFills(await trainingUnits(inputs, scenes, job.signal), scenes, sources.map((s) => s.wavelengths), job.signal);
  const packInputs = withFills.map((input, i) => {
    const s = Math.max(0, result.inputPresent.findIndex((present) => present[i]));
    return { ...input, normalization: { type: 'uniform' as const, ...result.normalization[s][i], perScene: true } };
  });
  const name = req.name ?? `${req.arch}-trained`;
  const per = result.validation?.perSource ?? [];
  await writeTrainedPack({
    dir: req.out,
    name,
    version: req.version ?? '1',
    model,
    classes,
    inputs: packInputs,
    result,
    provenance: {
      kind: 'train',
      arch: req.arch,
      preset: req.preset ?? null,
      size,
      frozenBackbone: frozen?.source ?? null,
      sources: sources.map((s, i) => ({ scene: shortPath(s.scene.info.source), labels: shortPath(sets[i].source), normalization: result.normalization[i], trainPixels: result.trainPixels[i], valPixels: result.valPixels[i], readWindows: areas[i].cropped ? areas[i].windows : null })),
      seed: req.seed ?? 0,
      missing: req.missing ? { ...req.missing, input: missing!.mode } : null,
      date: new Date().toISOString(),
    },
    trainingText: [
      `Trained here on ${sources.length} labelled scene(s) together (${frozen ? `backbone frozen from ${frozen.source}` : 'backbone trained'}):`,
      ...sources.map((s, i) => `- ${shortPath(s.scene.info.source)} with ${shortPath(sets[i].source)}: ${result.trainPixels[i]} labelled training pixels, ${result.valPixels[i]} held-back validation pixels (spatial block split, tile-centre scoring).`),
      `${result.history.length} epoch(s), seed ${req.seed ?? 0}${req.missing ? `, missing-sensor simulation rate ${req.missing.rate} mode ${req.missing.mode}` : ''}.`,
      `Input normalisation: uniform mean/std of each scene, at training and when classifying a scene (per scene); the manifest records, per input, those of the first training scene with that sensor.`,
      ...per.map((p) => `- validation on ${p.name}: OA ${p.metrics.oa.toFixed(3)}, kappa ${p.metrics.kappa.toFixed(3)}, mIoU ${p.metrics.miou.toFixed(3)}, mAcc ${p.metrics.macc.toFixed(3)} (${p.pixels} px)`),
      req.note ?? '',
    ].filter(Boolean).join('\n'),
  });
  return { out: req.out, model, classes, inputs: packInputs, fit: result };
}
