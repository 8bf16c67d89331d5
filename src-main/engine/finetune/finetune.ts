/**
 * Few-shot fine-tuning of a model pack on one scene and the analyst's labels: keeps the pack's
 * frozen backbone, trains the chosen adapter and the head (the pack's classes when every label
 * class is one of them, else a new head for the labels' classes), and writes a new pack.
 */
import path from 'node:path';
import { loadModelPack } from '../ml/models/export';
import { contextIntoHidden, getArchitecture, type ModelConfig, type PixelHeadInputSpec } from '../ml/models/index';
import { describeFilled, fillsFor, withFilledBandsAtSceneScale } from '../packs/fillBands';
import { describeConverted, withPackUnits } from '../packs/units';
import { describeUnread, mapBands, type InputBinding } from '../packs/bandmap';
import { packSearchPath, resolvePack, withPacksTaking } from '../packs/registry';
import type { ModelPack } from '../packs/pack';
import type { PackClass, PackInput, PackManifest } from '../packs/manifest';
import { labelledArea, loadLabels, mapToPackClasses } from '../labels/index';
import type { LabelSet } from '../labels/types';
import { ELEVATION_KINDS, type PixelWindow, type Scene, type SensorKind } from '../scene/types';
import type { JobContext } from '../jobs/job';
import type { Provider } from '../runtime/session';
import type { Metrics } from '../eval/metrics';
import { FieldMoeError } from '../util/errors';
import { architectureAdapters, presetFor } from './adapters';
import { fit, type FitResult, type MissingRequest, type MissingSimulation } from './fit';
import { checkPackOutput, compatibleWeights, packClassesOf, writeTrainedPack } from './packio';

export interface FinetuneRequest {
  /** Pack folder, manifest or name on the pack search path. */
  model: string;
  scene: Scene;
  /** Labels file (raster + classes.json, GeoJSON, shapefile), or labels already loaded. */
  labels: string | LabelSet;
  /** A vector labels file's property holding the class (default: the first of CLASS_PROPERTY_CANDIDATES present). */
  classProperty?: string;
  out: string;
  adapter?: string;
  /** 'auto' (default): keep the pack's classes when every label class is one of them. */
  head?: 'auto' | 'keep' | 'new';
  epochs?: number;
  valSplit?: number;
  seed?: number;
  /**
   * The missing-sensor simulation; default: the architecture's `defaultMissing` on two sensors or
   * more (rate 0 turns it off). A mode without a rate takes the default's rate.
   */
  missing?: MissingRequest;
  wavelengths?: ReadonlyMap<string, readonly number[]>;
  /** Few-shot: labelled training pixels per class (default: all). */
  pixelsPerClass?: number;
  tilesPerClass?: number;
  batchSize?: number;
  lr?: number;
  patience?: number;
  threads?: number;
  /** Execution providers to try in order (CPU is always the fallback; default CPU only). */
  providers?: readonly Provider[];
  name?: string;
  /** Bytes up to which the scene is read whole; a larger one is read over the areas around the labels (labels/window.ts labelledArea). */
  readWholeUpTo?: number;
  /** Add the pixel head (per-pixel MLP on the raw bands, ml/models/pixelhead.ts; default true). */
  pixelHead?: boolean;
}

export interface FinetuneResult {
  out: string;
  adapter: string;
  head: 'keep' | 'new';
  classes: PackClass[];
  fit: FitResult;
  /** What the analyst should know before mapping with the pack (the labels' own warnings, declared classes left out, labelled pixels on nodata, validationWarnings); also in its card. */
  warnings: string[];
}

/**
 * Validation kappa below which a fine-tuned pack is flagged: at most "slight" agreement beyond
 * chance (Landis and Koch 1977: 0 to 0.2). Where the sensors barely tell the classes apart, the
 * model may settle on one class: eolearn's DEM alone with 50 labels per class (forest harness,
 * seeds 0-5) gave one class everywhere, kappa -0.37 to 0.08 on the scored pixels, and the forest
 * on the same labels -0.25 to 0.45. OA alone hides it where one class dominates.
 */
export const SLIGHT_AGREEMENT_KAPPA = 0.2;

export function validationWarnings(validation: Pick<Metrics, 'kappa'> | undefined): string[] {
  if (!validation) return ['no labelled pixel could be held back for validation (each class lies in one block or polygon), so nothing measures this pack: label more places per class'];
  if (validation.kappa >= SLIGHT_AGREEMENT_KAPPA) return [];
  return [`validation kappa ${validation.kappa.toFixed(3)} is at most slight agreement beyond chance (below ${SLIGHT_AGREEMENT_KAPPA}): the sensors barely tell these classes apart here; check the class map before using it, and add labels or a sensor`];
}

export async function finetune(req: FinetuneRequest, job: JobContext = {}): Promise<FinetuneResult> {
  const pack = await resolvePack(req.model, packSearchPath());
  try {
    return await finetunePack(pack, req, job);
  } catch (err) {
    throw await withPacksTaking(err, req.scene, packSearchPath(), pack.manifest.name);
  }
}

async function finetunePack(pack: ModelPack, req: FinetuneRequest, job: JobContext): Promise<FinetuneResult> {
  if (path.resolve(req.out) === path.resolve(pack.dir)) throw new FieldMoeError(req.out, 'is the pack being fine-tuned; give a new folder for the new pack');
  await checkPackOutput(req.out);
  const base = await loadModelPack(pack.dir);
  const arch = architectureAdapters(base.model.architecture);
  const { preset, choice } = presetFor(base.model.architecture, req.adapter ?? arch.defaultChoice);
  const allLabels = typeof req.labels === 'string' ? await loadLabels(req.labels, req.scene.info, { signal: job.signal, classProperty: req.classProperty }) : req.labels;
  // on a large scene the labelled areas are all that is read: units, fills and normalisation are then theirs
  const area = labelledArea(req.scene, allLabels, getArchitecture(base.model.architecture).tile(base.model.config).size, req.readWholeUpTo);
  const { labels } = area;
  const units = await withPackUnits(area.scene, base.pack.manifest, job.signal);
  const { scene, filled } = await withFilledBandsAtSceneScale(units.scene, base.pack.manifest, { wavelengths: req.wavelengths }, job.signal);

  const { head, classes, classMap, notes } = headFor(labels, base.pack.manifest.classes, req.head, typeof req.labels === 'string' ? req.labels : labels.source);

  // Inputs: the pack's, with band counts taken from the scene (a sensor the pack never saw, also
  // one whose bands do not fit an optional input's list, or a LiDAR stack beyond its band 1: the
  // input takes them as they are).
  // (SpectralMoE's image input takes any band set already, and its depth encoder reads band 1)
  const bandMapping = mapBands(scene.info, base.pack.manifest, { wavelengths: req.wavelengths, openUnfitting: !!arch.firstEmbeddingWeights });
  const { bindings } = bandMapping;
  let model: ModelConfig = arch.apply(arch.withClasses(base.model, classes.length), preset);
  model = withSceneBands(model, bindings.map((b) => ({ name: b.input.name, channels: b.channels, available: b.available })));
  model = arch.withoutAbsent(model, (input) => bindings.some((b) => b.input.name === input && b.available));
  // Only the inputs the fine-tuned model takes: an adapter without depth drops the pack's
  // optional elevation input and the availability input that gates it.
  const graphInputs = new Set(getArchitecture(model.architecture).inputs(model.config).map((s) => s.name));
  const kept = bindings.filter((b) => graphInputs.has(b.input.name));
  const packInputs = kept.map((b) => b.input);
  const availabilityInput = base.pack.manifest.availabilityInput && graphInputs.has(base.pack.manifest.availabilityInput) ? base.pack.manifest.availabilityInput : undefined;
  const requested = req.missing ? withRate(req.missing, arch.defaultMissing) : arch.defaultMissing && availabilityInput && kept.filter((b) => b.available).length > 1 ? arch.defaultMissing : undefined;
  const missing = requested?.rate ? resolveMissing(requested, kept, availabilityInput) : undefined;
  if (req.pixelHead ?? true) model = withPixelHead(model, kept, { missing });
  // a new head starts at zero (see compatibleWeights and the note above withPixelHead)
  // An input opened to a sensor's own bands reads it through the pixel head alone: the first
  // weights of its embedding start at zero and stay there (embeddings do not train), so the
  // backbone sees what it sees of a missing sensor, bias-only tokens. A random embedding trained
  // from the few labels did worse (sen1floods11 with S2 as a 4-band camera, seeds 0-2, 20/class,
  // camera alone: mean / min margin over the forest -0.3 / -5.1 against +0.3 / -0.3).
  const opened = bindings.filter((b) => b.opened);
  // without the head, such a sensor would reach no part of the model (one class everywhere)
  if (opened.length && req.pixelHead === false)
    throw new FieldMoeError('--no-pixel-head', `sensor ${opened[0].sensor!.id}'s ${opened[0].channels} bands do not fit the bands pack ${base.pack.manifest.name}'s input ${opened[0].input.name} lists and reach the model through the pixel head alone; keep the pixel head`);
  const zeroed = opened.flatMap((b) => arch.firstEmbeddingWeights?.(b.input.name) ?? []);
  const weights = compatibleWeights(model, base.weights, (name) => (head === 'new' && name.startsWith(arch.headPrefix)) || zeroed.includes(name));

  const result = await fit(
    {
      model,
      weights,
      trainsAdapter: (name) => arch.trains(choice, name),
      trainBackbone: false,
      inputs: packInputs,
      availabilityInput,
      sources: [{ name: scene.info.source, scene, labels, classMap, wavelengths: req.wavelengths }],
      epochs: req.epochs ?? 30,
      seed: req.seed ?? 0,
      valSplit: req.valSplit ?? 0.2,
      trainPixelsPerClass: req.pixelsPerClass,
      valPixelsPerClass: FINETUNE_VAL_PIXELS_PER_CLASS,
      validateTrainedClasses: true,
      tilesPerClass: req.tilesPerClass,
      batchSize: req.batchSize,
      lr: req.lr,
      patience: req.patience,
      midpoint: true,
      // an input whose embedding is zeroed reaches the model through the head alone
      plainStartAllowed: !bindings.some((b) => b.opened),
      packHead: head === 'keep' ? (name) => name.startsWith(arch.headPrefix) : undefined,
      missing,
      threads: req.threads,
      providers: req.providers,
      classNames: classes,
    },
    job,
  );

  const inputs = packInputs.map((input, i): PackInput => {
    const b = kept[i];
    const norm = result.normalization[0][i];
    // wavelengths given on the command line (the file has none) stay with the pack
    const given = input.bands.mode === 'any' && input.bands.wavelengthsInput && b.sensor && req.wavelengths?.has(b.sensor.id) ? { wavelengthsNm: b.wavelengths } : {};
    const bands = input.bands.mode === 'any' && b.sensor ? { ...input.bands, minBands: b.channels, maxBands: b.channels, ...given } : fillsFor(input.bands, filled.filter((f) => f.sensor === b.sensor?.id), norm);
    return { ...input, bands, normalization: { type: 'uniform', mean: norm.mean, std: norm.std } };
  });
  const name = req.name ?? path.basename(path.resolve(req.out));
  const provenance = {
    kind: 'finetune',
    base: { name: base.pack.manifest.name, version: base.pack.manifest.version, dir: base.pack.dir },
    scene: req.scene.info.source,
    labels: labels.source,
    adapter: choice,
    preset,
    head,
    seed: req.seed ?? 0,
    epochs: req.epochs ?? 30,
    valSplit: req.valSplit ?? 0.2,
    pixelsPerClass: req.pixelsPerClass ?? null,
    missing: requested && missing ? { ...requested, input: missing.mode, ...(req.missing ? {} : { default: true }) } : null,
    trainPixels: result.trainPixels[0],
    valPixels: result.valPixels[0],
    labelsOnNodata: result.labelsOnNodata[0],
    cachedFeatureInputs: result.cachedInputs,
    plainStart: !!result.plainStart,
    labelsAloneStart: !!result.labelsAloneStart,
    linearStartSamples: result.linearStartSamples ?? null,
    readWindows: area.cropped ? area.windows : null,
    date: new Date().toISOString(),
  };
  const v = result.validation?.pooled;
  const onNodata = result.labelsOnNodata[0] ? [`${result.labelsOnNodata[0]} of the ${labels.x.length} labelled pixels lie where no sensor has data (nodata) and were left out`] : [];
  const warnings = [...labels.warnings, ...notes, ...onNodata, ...validationWarnings(v)];
  await writeTrainedPack({
    dir: req.out,
    name,
    version: '1',
    model: result.model,
    classes,
    inputs,
    result,
    provenance,
    trainingText: [
      `Fine-tuned from pack ${base.pack.manifest.name} ${base.pack.manifest.version} (weights copied; its frozen backbone unchanged) with adapter "${choice}" (preset ${preset}) and ${head === 'keep' ? "the pack's classes" : 'a new head for the labels\' classes'}.`,
      `Scene ${req.scene.info.source}, labels ${labels.source}: ${result.trainPixels[0]} training pixels, ${result.valPixels[0]} validation pixels (spatial split by ${labels.kind === 'polygons' ? 'polygon' : 'block'}, seed ${req.seed ?? 0}).`,
      `${result.history.length} epoch(s)${result.stoppedEarly ? ' (early stop on validation loss)' : ''}, best epoch ${result.bestEpoch === 0 ? '0 (the start: no epoch of training beat it on validation)' : (result.bestEpoch ?? '-')}.`,
      result.plainStart ? "Start: the pack's own weights, the pixel head adding nothing; its regression on the labels scored clearly worse at the validation pixels." : '',
      result.labelsAloneStart ? "Start: the labels alone, the pack's class head zeroed and the pixel head's regression fitted without the pack's logits; with them it scored clearly worse at the validation pixels." : '',
      result.midpoint ? 'Weights: the midpoint between the start and that epoch (validation did not show the trained ones clearly better).' : '',
      result.averaging ? `Weights averaged over the steps (moving average, decay ${result.averaging.decay}): the scene's sensors are elevation only.` : '',
      v ? `Validation (held-out pixels): OA ${v.oa.toFixed(3)}, kappa ${v.kappa.toFixed(3)}, mIoU ${v.miou.toFixed(3)}, mAcc ${v.macc.toFixed(3)}.` : 'No validation pixels.',
      ...(result.validation?.withoutInput ?? []).map((w) => `Validation with input ${w.input} missing: OA ${w.metrics.oa.toFixed(3)}, kappa ${w.metrics.kappa.toFixed(3)}, mIoU ${w.metrics.miou.toFixed(3)}.`),
      ...warnings.map((w) => `Warning: ${w}.`),
      `Input normalisation recomputed from ${!area.cropped ? 'this scene' : windowsText(area.windows)} (uniform mean/std per input).`,
      ...[...describeConverted(units.converted, base.pack.manifest.name), ...describeFilled(filled, base.pack.manifest.name), ...describeUnread(scene.info, bandMapping, base.pack.manifest.name), ...describeOpened(bindings, base.pack.manifest)].map((line) => `${line[0].toUpperCase()}${line.slice(1)}.`),
      requested && missing ? `Missing-sensor simulation: rate ${requested.rate}, mode ${requested.mode}${req.missing ? '' : ' (the default for MaMOL on several sensors)'}.` : '',
    ].filter(Boolean).join('\n'),
  });
  return { out: req.out, adapter: choice, head, classes, fit: result, warnings };
}

/**
 * The classes the fine-tuned pack predicts and the model class of each label class (-1: none):
 * the pack's own when every labelled class is one of them (by name; `requested` 'keep' insists,
 * 'new' declines), else a new head of the labelled classes. A class the labels declare
 * (classes.json) without a labelled pixel cannot be learnt: it is left out, with a note. Labels
 * of fewer than two classes are refused: a classifier of one class says nothing (a GeoJSON whose
 * class property is missing gives every feature one name).
 */
export function headFor(labels: LabelSet, packClasses: readonly PackClass[], requested: FinetuneRequest['head'], file: string): { head: 'keep' | 'new'; classes: PackClass[]; classMap: Int32Array; notes: string[] } {
  const labelled = labels.classes.flatMap((_, i) => (labels.classCounts[i] > 0 ? [i] : []));
  const names = (idx: readonly number[]) => idx.map((i) => labels.classes[i].name).join(', ');
  if (labelled.length < 2) throw new FieldMoeError(file, labelled.length ? `holds labelled pixels of one class only (${names(labelled)}); fine-tuning needs at least two classes` : 'holds no labelled pixel');
  const unlabelled = labels.classes.flatMap((_, i) => (labels.classCounts[i] > 0 ? [] : [i]));
  const notes = unlabelled.length ? [`class${unlabelled.length > 1 ? 'es' : ''} ${names(unlabelled)} of the labels' class list ha${unlabelled.length > 1 ? 've' : 's'} no labelled pixel and ${unlabelled.length > 1 ? 'were' : 'was'} left out`] : [];
  const mapping = mapToPackClasses(labels.classes, packClasses);
  const unmatched = labelled.filter((i) => mapping.packIndex[i] < 0);
  const head = requested === 'keep' || requested === 'new' ? requested : unmatched.length ? 'new' : 'keep';
  if (head === 'keep' && unmatched.length) throw new FieldMoeError(file, `has classes the pack lacks (${names(unmatched)}); fine-tune with a new head`);
  if (head === 'keep') return { head, classes: [...packClasses], classMap: Int32Array.from(labels.classes, (_, i) => (labels.classCounts[i] > 0 ? mapping.packIndex[i] : -1)), notes };
  const classMap = new Int32Array(labels.classes.length).fill(-1);
  labelled.forEach((i, k) => (classMap[i] = k));
  return { head, classes: packClassesOf(labelled.map((i) => labels.classes[i])), classMap, notes };
}

/** The windows read of a scene, as the card states them. */
function windowsText(windows: readonly PixelWindow[]): string {
  const text = (w: PixelWindow) => `${w.width} x ${w.height} pixels from column ${w.x}, row ${w.y}`;
  if (windows.length === 1) return `the labelled area of this scene (${text(windows[0])})`;
  const shown = windows.slice(0, 3).map(text).join('; ');
  return `the ${windows.length} labelled areas of this scene (${shown}${windows.length > 3 ? `; ${windows.length - 3} more in training.json` : ''})`;
}

/** Card lines for inputs that took a sensor's own bands, their list not fitting it (bandmap.ts openUnfitting). */
export function describeOpened(bindings: readonly InputBinding[], pack: PackManifest): string[] {
  return bindings.flatMap((b) => {
    const listed = pack.inputs.find((i) => i.name === b.input.name)?.bands;
    if (!b.opened || !b.sensor || listed?.mode !== 'fixed') return [];
    return [`sensor ${b.sensor.id}'s ${b.channels} bands do not fit the ${listed.list.length} bands pack ${pack.name}'s input ${b.input.name} lists: they reach the model through the pixel head alone (that input's embedding into the frozen backbone is zero)`];
  });
}

/** `m` with its rate, else the architecture's default one (`--missing-mode` alone); without a default, an error. */
export function withRate(m: MissingRequest, fallback: MissingSimulation | undefined): MissingSimulation {
  const rate = m.rate ?? fallback?.rate;
  if (rate === undefined) throw new FieldMoeError('--missing-mode', 'needs --missing-rate (no default missing-sensor simulation applies here)');
  return { rate, mode: m.mode };
}

/**
 * `--missing-mode` is "both" or a scene sensor id (or a pack input name); returned with the pack
 * input it drops. Only packs that take sensor availability can simulate missing sensors.
 */
export function resolveMissing(m: MissingSimulation, bindings: readonly InputBinding[], availability?: string): MissingSimulation {
  if (!availability) throw new FieldMoeError('--missing-rate', 'needs a pack and adapter that take sensor availability (MaMOL, or SpectralMoE with its optional elevation)');
  if (!(m.rate >= 0 && m.rate <= 1)) throw new FieldMoeError('--missing-rate', `must be between 0 and 1, got ${m.rate}`);
  if (m.mode === 'both') return m;
  const hit = bindings.find((b) => b.sensor?.id === m.mode) ?? bindings.find((b) => b.input.name === m.mode);
  if (!hit)
    throw new FieldMoeError('--missing-mode', `"${m.mode}" is neither "both" nor a sensor of the scene bound to the pack (${bindings.filter((b) => b.sensor).map((b) => b.sensor!.id).join(', ')})`);
  return { rate: m.rate, mode: hit.input.name };
}

/**
 * Validation pixels per class (each scored at the centre of its own tile): validation runs
 * every epoch, and at fit's 64 it cost a third of the time of the training steps.
 */
export const FINETUNE_VAL_PIXELS_PER_CLASS = 32;

/**
 * Spatial context of the pixel head (pixelhead.ts `context`: window means and standard
 * deviations) per sensor kind: for SAR, whose single pixels are speckle (the window mean is a
 * speckle filter), and elevation, where a cell alone says little and its height above the
 * surroundings and roughness say more. Not for optical bands: there it added features the few
 * labels overfitted (sen1floods11 S2 alone fell 4 to 7 OA points below the forest at one seed).
 * Not kept: a 15-pixel window for LiDAR as well (building-sized at 2.5 m): Houston 2013 DSM,
 * 20/class, seeds 0-5, margin over the forest mean +5.2 -> +6.4 but minimum -2.5 -> -5.6.
 * Not kept either: morphological top-hats of elevation into the hidden layer (x - open_k x and
 * close_k x - x, k = 3, 5, 9, 15, 21, by ONNX MaxPool on the raw input). Offline (sklearn on
 * Houston's DSM fragments, seeds 0-5) they lifted an MLP's margin over the forest from mean / min
 * +6.8 / -2.4 to +10.7 / +7.7 at 20 labels per class. In the head, seeds 0-5: 50/class +9.5 / +0.3
 * -> +11.1 / +4.7, but 20/class +5.1 / -2.5 -> +4.0 / -3.7. At 20 per class early stopping keeps
 * the start, the linear path's regression, which does not read them.
 */
export const PIXEL_HEAD_CONTEXT: Partial<Record<SensorKind, readonly number[]>> = { sar: [3, 7], dem: [3, 7], lidar: [3, 7] };

/**
 * Windows of the context the linear path alone reads on other inputs (`contextInto: ['linear']`),
 * whose start keeps them only where cross-validation on the labels says they help (fit.ts
 * linearPathFeatures).
 */
export const LINEAR_PATH_CONTEXT = [3, 7];

/**
 * Up to how many bands an input reads spatial context (PIXEL_HEAD_CONTEXT, LINEAR_PATH_CONTEXT):
 * the features grow fivefold with it, and many bands carry what context would add. A
 * hyperspectral cube's 200 bands carry the spectrum, not texture; a LiDAR stack's bands are often
 * derived heights already (Houston 2013's 21: the DSM and its morphological openings and closings,
 * windows of 3 to 21 pixels). There, forest harness, 20/class, seeds 0-5, with -> without context:
 * OA 0.35 / 0.46 / 0.43 / 0.24 / 0.35 / 0.50 -> 0.37 / 0.46 / 0.55 / 0.43 / 0.44 / 0.59 (mean
 * margin over the forest -17.6 -> -8.9; seeds 1 and 3 above it), fine-tuning 8 to 15 s instead of
 * about 60 (105 features took L-BFGS to its iteration cap; 21 fit by Newton).
 */
export const CONTEXT_MAX_BANDS = 16;

/*
 * RELATIVE_STACK_LEVEL. Elevation enters relative to its tile's mean (height above the
 * surroundings), which drops each band's level. On an elevation input of more than
 * CONTEXT_MAX_BANDS bands, which reads no window statistics, the linear path also reads the tile's
 * mean of each band (pixelhead.ts `tileMeanIntoLinear`), kept where cross-validation on the labels
 * says it helps, like the context. Houston 2013's 21-band LiDAR raster, 20/class, seeds 0-5, OA
 * 0.37 / 0.46 / 0.55 / 0.43 / 0.44 / 0.59 -> 0.38 / 0.46 / 0.59 / 0.42 / 0.49 / 0.71 (forest 0.70
 * / 0.45 / 0.63 / 0.36 / 0.57 / 0.67: above it at seeds 1, 3 and 5; mean margin -8.9 -> -5.5),
 * fine-tuning 18 to 26 s instead of 13 to 15. Not on one-band elevation, which has its window
 * statistics: Houston's DSM alone, seeds 0-2, -2.5 / -0.7 / +23.1 -> -3.7 / 0.0 / +6.7 (eolearn's
 * DEM unchanged). A held-out check on Houston's 7 x 7 patches laid on a grid at random (tiles of
 * unrelated neighbours, where a tile's mean says nothing) gave -33 to -36 points against the
 * forest at 20 and 50/class before this; the forest on tile-relative values fell likewise.
 */

/**
 * Hidden width of the pixel head: PIXEL_HEAD_UNITS_PER_FEATURE per feature it reads (bands plus
 * context features, over its inputs), between PIXEL_HEAD_MIN_HIDDEN and PIXEL_HEAD_MAX_HIDDEN. A
 * head on few features overfits a few dozen labels when wide: elevation alone (1 band + 4
 * context features) against the forest at 20 to 200 labels per class over three seeds, -20 to
 * +15 OA points at width 64, +1 to +9 at 16; on 13 optical + 2 SAR bands width 64 did better
 * than 16 (sen1floods11, seed 0: about 0.5 point on each sensor subset).
 */
export const PIXEL_HEAD_UNITS_PER_FEATURE = 4;
export const PIXEL_HEAD_MIN_HIDDEN = 16;
export const PIXEL_HEAD_MAX_HIDDEN = 64;

export function pixelHeadHidden(inputs: readonly Pick<PixelHeadInputSpec, 'bands' | 'context' | 'contextInto'>[]): number {
  const features = inputs.reduce((a, i) => a + i.bands * (1 + 2 * (contextIntoHidden(i) ? i.context!.length : 0)), 0);
  return Math.min(PIXEL_HEAD_MAX_HIDDEN, Math.max(PIXEL_HEAD_MIN_HIDDEN, PIXEL_HEAD_UNITS_PER_FEATURE * features));
}

/*
 * Tried on the forest harness (scripts/finetune-vs-rf.ts, sen1floods11 S2+S1 MaMOL, seeds 0-2, 20
 * and 50 labels per class; margins over the forest in OA points; its earlier protocol, where
 * fine-tuning also early-stopped on 32 held-out pixels per class) and not kept, none moving the
 * weakest row (S2 alone, 20/class, seed 0: -4.8) past -3.3 nor helping the rows together:
 * - bagging: 8 head members, each trained on its own 63% of the labels, logits averaged: S2 alone
 *   at 20/class -5.3 and its mean -1.7 (from -0.7), SAR alone's mean 1.5 lower;
 * - 8 members on all labels (a deep ensemble): within a point either way (DEM only at 200/class
 *   mean +2.9, minimum unchanged);
 * - log optical bands (ratios become differences): row means 0 to +0.5 at 20/class, -0.8 to -1.2
 *   at 50/class; on seeds 3-5 -0.8 to +0.1;
 * - a zero-initialised linear path besides the MLP (with log bands: as log bands alone); one MLP
 *   per sensor, logits summed (late fusion; S2 alone 20/class -5.6); a third of the learning rate
 *   (-7.0); on seed 0 at 20/class only, training the head alone first (LP-FT) and an auxiliary
 *   loss on the head alone (both lower on S2 alone and on SAR alone);
 * - WiSE-FT, w0 + a (w - w0) with a chosen on the validation loss (-4.0; the loss is flat in a)
 *   or fixed at 0.5 (-3.3 at 20/class but -1.1 at 50/class).
 * Why: at 20/class early stopping keeps epoch 1 (8 steps) and the unfine-tuned default-mamol pack
 * already scores S2 alone 0.899 on seed 0's held-out pixels against the fine-tuned 0.875 and the
 * forest's 0.923; on those 40 pixels alone, logistic regression on log bands scores 0.925, an MLP
 * 0.905 (sklearn). The few labels pull the model away from the pack and the validation pixels
 * cannot see it.
 *
 * Kept: the linear path (pixelhead.ts `linear`) started from a logistic regression on the
 * labelled pixels' standardised bands with the pack's logits as a fixed offset, its L2 strength
 * cross-validated on those pixels (fit.ts linearPathStart). Under the harness's present protocol
 * (cab63a8: fine-tuning sees only the N labels), sen1floods11 seeds 0-5, margins mean / min over
 * the seeds, before -> after: 20/class all sensors +1.4/-2.7 -> +0.9/-1.7, S2 alone -0.3/-9.8 ->
 * +0.2/-4.0, SAR alone +8.1/+2.1 -> +4.2/+1.4; 50/class +0.8/-1.4 -> +1.0/-0.9, +0.1/-2.9 ->
 * +0.2/-2.5, +3.7/-6.9 -> +6.3/+3.8. So the worst seeds rise (the S2-alone 20/class and the
 * SAR-alone 50/class collapses) at a cost of 4 points in SAR alone's 20/class mean; eolearn DEM
 * only moves within a point (20/class +9.95/-18.1 -> +9.92/-18.5, 50/class +17.5/+5.3 ->
 * +16.6/+4.7). Not kept: the regression alone, no SGD after it (C = 1: S2 alone at 50/class
 * -2.1 mean over seeds 0-2); C = 1 fixed instead of cross-validated (SAR alone 20/class
 * down to -2.0 at seed 5); the context features in the linear path as well (SAR alone 20/class
 * -5.5 at seed 2); a per-sensor-subset bias in it (no better). A zero-initialised linear path
 * scored about as before on seeds 3-5 and kept the collapses (S2 alone -4.7 at seed 0,
 * 20/class; SAR alone -6.1 at seed 2, 50/class).
 *
 * The figures above drew the labels and scored on sen1floods11 and eolearn pixels the default
 * packs had trained on; there the unadapted pack beat fine-tuning outright (sen1floods11 20/class,
 * seeds 0-5, margin over the forest of the pack alone +1.7 / +0.7 / +9.7 for all sensors / S2
 * alone / SAR alone, fine-tuned -0.4 / -3.7 / +8.8). Since then the harness scores within the
 * packs' held-back pixels. There, sen1floods11 seeds 0-5, mean / min, before -> after:
 * - the linear path's own weights for each sensor's absence (pixelhead.ts `linearWithout`, each
 *   from its own regression): one set of weights for all sensor subsets had to serve the sensors
 *   together, where the pack's logits already say much, and S2 alone, where they say less; fitted
 *   on the S2-alone samples only, S2 alone rose by 2 to 3 points on the pack alone and SAR alone
 *   fell (the shared bias). With both: S2 alone 20/class -2.3 / -11.0 -> +1.4 / -1.1, 50/class
 *   +0.7 / -1.0 -> +1.1 / 0.0; all sensors +1.4 / -0.5 -> +1.2 / -1.0 and +0.3 / -0.6 -> +0.3 /
 *   -0.2; SAR alone +4.6 / +2.6 -> +3.5 / +0.8 and +4.4 / +3.5 -> +4.7 / +3.3;
 * - early stopping may keep the start (TrainLoop `includeStart`; measured alone, with the
 *   held-back pixels split in 32-pixel blocks): +0.4 to +0.9 on the 20/class means, the 50/class
 *   ones within 0.3;
 * - a new class head starting at zero (packio.ts compatibleWeights) rather than random, so the
 *   regression's offset is not noise: chesapeake NAIP 20/class seeds 0-5 mean +1.8 -> +2.1
 *   (per seed -7.3 +5.4 -2.4 -6.9 +13.0 +8.8 -> -4.8 +4.0 +4.6 -9.8 +12.2 +6.3), Salinas
 *   seeds 0-2 +1.8 / +1.1 -> +2.1 / +1.6.
 * Not kept: a fitted scale of the pack's logits in the regression (it fits 1.4 to 2.7: the pack
 * is underconfident on these pixels; no gain); fitting the regression on the validation pixels
 * too (20/class all sensors +1.0, 50/class -0.6); the pixel head at twice the learning rate
 * instead of ten times (within half a point); elevation read absolute instead of relative for
 * eolearn DEM only (mean -3.5 against -0.6; both swing by 25 points over seeds on eolearn's
 * small held-back side); refitting on all the labels for the best epoch count, without
 * validation (SAR alone 50/class down to -17.1 at seed 1). At 200/class (seeds 0-2) early
 * stopping keeps the start on every seed and the optical rows lose by about 1.4; patience 10,
 * the head-only adapter and a 100x lower learning rate for the linear path alone did not change
 * that (training loss falls, validation loss rises from the first epoch).
 *
 * Kept since: the linear path reads the window means and spreads of optical bands too where
 * cross-validation on the labels says they help (LINEAR_PATH_CONTEXT, fit.ts
 * linearPathFeatures), and the model drops them where it does not, so that training cannot fit
 * them either. chesapeake NAIP, seeds 0-5, mean / min: 20/class +2.1 / -9.8 -> +6.7 / -0.9 (per
 * seed -0.9 +10.9 +5.7 +2.4 +16.1 +6.3), 50/class +7.3 / -0.7 (seeds 0 and 3 were -13.1 and
 * -6.5). sen1floods11 moves within a point (50/class: all sensors +0.3 -> +0.5, S2 alone +1.1 ->
 * +0.7, SAR alone +4.7 -> +5.6; minima unchanged or higher), Salinas (204 bands: no context) and
 * eolearn at 20/class not at all; eolearn at 50/class falls, -1.2 -5.3 +9.2 -> -2.0 -19.5 +9.2:
 * at seed 1 cross-validation kept the context and the test blocks disagree (eolearn's held-back
 * side is two 32-pixel blocks; see the harness).
 * Not kept:
 * - the context weights in the graph whatever the start chose (training then fitted them from
 *   zero: eolearn 20/class seed 1 -4.5 -> -16.1, while SAR alone gained up to 4.5 points);
 * - the context chosen by the lower cross-validated loss alone, without the one-standard-error
 *   rule (S2 alone 20/class seed 1 -0.8 -> -8.6), or with more features than samples (seed 5
 *   +4.0 -> -2.0);
 * - the linear path frozen during training (chesapeake 20/class +8.3 / +1.4, 50/class +7.6 /
 *   -1.1; sen1floods11 50/class all sensors +0.3 / -1.5);
 * - keeping the start unless an epoch beats its validation loss by one standard error (the
 *   per-pixel losses' spread): chesapeake 20/class +8.1 / -0.9, 50/class +9.0 / +4.3, but it
 *   kept the start on every sen1floods11 run, where training helps at 50/class (all sensors +0.1 /
 *   -1.0, S2 alone -0.2 / -1.6). The start alone (no training) scores chesapeake +9.4 / +3.6 and
 *   +9.0 / +4.3: training loses 2 to 3 points there on average, and the validation pixels (4 to
 *   10 per class) cannot tell;
 * - the head-only adapter on chesapeake (20/class +6.4 / -0.9, 50/class +6.5 / -0.1): the adapters
 *   are not what costs those points;
 * - the pixel head at the base learning rate instead of ten times it, now that the linear path
 *   starts fitted: better at 20/class (chesapeake +8.5 / +2.4; sen1floods11 S2 alone +1.6 / -0.8),
 *   worse minima at 50/class (chesapeake -0.9, sen1floods11 all sensors and S2 alone -1.1 and
 *   -1.2 at seed 1).
 *
 * Kept since: an epoch replaces the start only if its per-pixel validation losses are lower than
 * the start's by one standard error of their paired difference (TrainLoop `beatsStart`, fit.ts
 * `clearlyLower`: far tighter than the unpaired margin above, which blocked sen1floods11).
 * chesapeake 20/class +6.7 / -0.9 -> +8.1 / -0.9, 50/class +7.3 / -0.7 -> +8.0 / -0.7;
 * sen1floods11 within 0.3 of before; nc-landsat7 50/class +30.5 / +22.0 -> +33.4 / +30.2.
 * Then the midpoint between the start and the trained weights (WiSE-FT), kept unless the
 * trained weights are clearly better at the validation pixels (fit.ts keepMidpoint, with its
 * figures). Always taken, without that check, it helped where the classes are new and the region
 * moves (chesapeake 20/class +8.1 / -0.9 -> +8.5 / +2.0; in tile 367 +3.4 / -3.9 -> +4.4 / -2.6,
 * in tile 184 +1.1 / -9.0 -> +2.0 / -5.8) and cost where training carries the model (Salinas
 * 50/class +1.5 / +1.3 -> 0.0 / -2.6; sen1floods11 50/class all sensors seed 1 -0.1 -> -1.8).
 *
 * Not kept: quantile bins per band in the linear path (a piecewise-linear encoding, Gorishniy et
 * al. 2022: per band 16 ramps between the scene's quantiles, thresholds as a forest's splits),
 * kept by cross-validation like the context. On Houston 2013's 21-band LiDAR raster (sklearn on
 * the harness's pixels, seeds 0-2, 20/class) a regression on them scored 0.57 on average against
 * 0.35 on the standardised bands, and the forest 0.59; in the head, Houston's DSM alone fell
 * (20/class, per seed, without -> with: -2.5 / -0.7 / +24.0 -> -6.0 / +3.7 / +3.8; with the
 * regression's folds by block, fit.ts linearPathFeatures, -1.9 / +20.8 / +24.0 -> +0.9 / +3.7 /
 * +14.8), and with block folds sen1floods11's camera alone at seed 1 (-3.1 -> -5.5).
 * Nor, since LiDAR stacks reach the head whole, 8 such ramps per band on inputs of more than
 * CONTEXT_MAX_BANDS bands alone: Houston's 21-band raster, 20/class, seeds 0-2, margin -33.1 /
 * +1.4 / -8.4 -> -26.3 / +2.5 / -17.6, fine-tuning five times slower. Those bands read absolute
 * instead of relative: -32.4 / -18.7 / -24.0; trained to the last epoch, no early stopping: OA
 * 0.34 / 0.44 / 0.55 against the start's 0.37 / 0.46 / 0.55. Offline on the same samples
 * (scripts/finetune-vs-rf.ts --dump, sklearn), OA at seeds 0-2: logistic regression 0.44 / 0.26 /
 * 0.40, on 4 quantile ramps per band 0.59 / 0.49 / 0.47, an RBF SVM 0.54 / 0.48 / 0.51, an MLP
 * 0.53 / 0.42 / 0.65, the forest 0.70 / 0.45 / 0.63: its thresholds fit a morphological profile
 * best. Nor, for sen1floods11 at 200/class (about a point behind the forest with optical bands),
 * refitting the regression on the validation pixels too once everything is chosen: offline, on
 * the harness's samples, 25% more labels moved a regression by -0.7 to +0.6 points on average
 * over seeds 0-5 (20 and 50/class).
 */

/**
 * Adds the pixel head (ml/models/pixelhead.ts) on the inputs that carry a sensor's bands per
 * pixel (image and modality roles, not elevation-as-depth or availability) and that the scene
 * provides; elevation sensors enter relative to the tile's mean; inputs of up to CONTEXT_MAX_BANDS
 * bands read spatial context: SAR and elevation theirs (PIXEL_HEAD_CONTEXT) in both paths, others
 * theirs in the linear path alone (LINEAR_PATH_CONTEXT;
 * fine-tuning drops it where its start finds no use for it). Dense models only (a class map, like
 * the head's output).
 */
export function withPixelHead(model: ModelConfig, bindings: readonly InputBinding[], options: { hidden?: number; missing?: MissingSimulation } = {}): ModelConfig {
  const arch = getArchitecture(model.architecture);
  if (!arch.dense(model.config)) return model;
  const roles = new Map(arch.inputs(model.config).map((s) => [s.name, s.role]));
  const inputs = bindings
    .filter((b) => b.available && b.channels > 0 && ['image', 'modality'].includes(roles.get(b.input.name) ?? ''))
    .map((b) => {
      const kind = b.sensor?.kind;
      const sensorContext = kind && b.channels <= CONTEXT_MAX_BANDS ? PIXEL_HEAD_CONTEXT[kind] : undefined;
      const context = sensorContext
        ? { context: sensorContext, contextInto: ['hidden', 'linear'] as const }
        : b.channels <= CONTEXT_MAX_BANDS
          ? { context: LINEAR_PATH_CONTEXT, contextInto: ['linear'] as const }
          : {};
      // elevation enters relative to the tile's mean: height above the surroundings. Absolute
      // instead, once the linear path's start could read it (seeds 0-2, mean / min, relative ->
      // absolute): Houston LiDAR 20/class +5.1 / -2.3 -> +4.7 / -5.4, 50/class +9.8 / +7.9 ->
      // +10.5 / +5.8; eolearn DEM 20/class -13.5 / -37.6 -> -8.6 / -37.6, 50/class about equal
      const relative = kind !== undefined && ELEVATION_KINDS.includes(kind);
      // an elevation stack reads no window statistics: the linear path reads its tile means instead (RELATIVE_STACK_LEVEL)
      const level = relative && b.channels > CONTEXT_MAX_BANDS ? { tileMeanIntoLinear: true } : {};
      return { name: b.input.name, bands: b.channels, ...(relative ? { relative } : {}), ...context, ...level };
    });
  if (!inputs.length) return model;
  // the inputs the missing-sensor simulation drops get linear weights of their own for their absence (fit.ts linearPathStart)
  const { missing } = options;
  const linearWithout = missing && inputs.length > 1 ? inputs.filter((i) => missing.mode === 'both' || missing.mode === i.name).map((i) => i.name) : [];
  const pixelHead = { hidden: options.hidden ?? pixelHeadHidden(inputs), inputs, linear: true, ...(linearWithout.length ? { linearWithout } : {}) };
  return { ...model, config: { ...model.config, pixelHead } } as ModelConfig;
}

/** Sets per-input band counts of configs whose graph inputs fix them (MaMOL modalities). */
export function withSceneBands(model: ModelConfig, inputs: readonly { name: string; channels: number; available: boolean }[]): ModelConfig {
  if (model.architecture !== 'mamol') return model;
  const modalities = model.config.modalities.map((m) => {
    const b = inputs.find((i) => i.name === m.name);
    return b && b.available && b.channels > 0 ? { ...m, bands: b.channels } : m;
  });
  void getArchitecture;
  return { architecture: 'mamol', config: { ...model.config, modalities } };
}
