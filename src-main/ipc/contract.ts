/**
 * The one typed IPC contract shared by the renderer, the preload, Electron main and the engine
 * host. Each method has a runtime validator for its params (checked in main and again in the
 * host) and a result type. `side` says who answers: main (dialogs, recent files) or the engine
 * utility process (everything that touches rasters, models or project files).
 */
import { SENSOR_KINDS } from '../engine/scene/types';
import type { FailureRegion, SceneInfo, SensorKind } from '../engine/scene/types';
import type { Progress } from '../engine/jobs/job';
import {
  arrayOf, bool, int, literal, nonEmptyStr, nullable, num, object, optional, range, str, tuple, variant,
  ValidationError,
  type Check,
} from './validate';

export type { Progress, SceneInfo, SensorKind, FailureRegion };

// ---------------------------------------------------------------------------------------------
// Shared data shapes

const ring = arrayOf(tuple(num, num), 100_000);
const polygonGeometry = object({ type: literal('Polygon'), coordinates: arrayOf(ring, 1000) });
const multiPolygonGeometry = object({ type: literal('MultiPolygon'), coordinates: arrayOf(arrayOf(ring, 1000), 1000) });
export const geometryCheck = variant<PolygonGeometry>('type', {
  Polygon: polygonGeometry as Check<PolygonGeometry>,
  MultiPolygon: multiPolygonGeometry as Check<PolygonGeometry>,
});
export type PolygonGeometry = FailureRegion['geometry'];

export const failureRegionCheck: Check<FailureRegion> = object({ sensor: nonEmptyStr, geometry: geometryCheck });

export interface BandOverride {
  name: string;
  wavelengthNm?: number;
}
export interface SensorSpecDto {
  id: string;
  file: string;
  kind: SensorKind;
  failed: boolean;
  /** Analyst-edited band names and wavelengths (prefilled from metadata). */
  bands?: BandOverride[];
}
/** A scene as the app describes it: files assigned to sensors, plus failure regions. */
export interface SceneSpecDto {
  sensors: SensorSpecDto[];
  referenceSensor?: string;
  failureRegions: FailureRegion[];
}

const bandOverrideCheck: Check<BandOverride> = object({ name: str, wavelengthNm: optional(range(1, 1e7)) });
export const sensorSpecCheck: Check<SensorSpecDto> = object({
  id: nonEmptyStr,
  file: nonEmptyStr,
  kind: literal(...SENSOR_KINDS),
  failed: bool,
  bands: optional(arrayOf(bandOverrideCheck, 2000)),
});
export const sceneSpecCheck: Check<SceneSpecDto> = object({
  sensors: arrayOf(sensorSpecCheck, 64),
  referenceSensor: optional(nonEmptyStr),
  failureRegions: arrayOf(failureRegionCheck, 10_000),
});

export interface BandStats {
  band: number;
  name: string;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Share of sampled pixels that hold a valid value. */
  validFraction: number;
}
export interface SensorStats {
  sensor: string;
  /** Pixels the statistics were computed from (a regular sample for large scenes). */
  sampledPixels: number;
  exact: boolean;
  bands: BandStats[];
}

export const FAILURE_REASONS = ['all-nodata', 'constant', 'saturated', 'striped'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export interface FailureSuggestion {
  sensor: string;
  /** Band index when the suggestion is about one band; absent for the whole sensor. */
  band?: number;
  reason: FailureReason | string;
  message: string;
  /** True when the engine proposes marking the whole sensor failed. */
  wholeSensor: boolean;
}

export interface ClassDef {
  id: number;
  name: string;
  /** #rrggbb */
  colour: string;
}
export const classDefCheck: Check<ClassDef> = object({
  id: int(0, 255),
  name: str,
  colour: (v, p) => {
    const s = str(v, p);
    if (!/^#[0-9a-fA-F]{6}$/.test(s)) throw new ValidationError(`${p}: expected #rrggbb colour`);
    return s;
  },
});

/** A drawn training label: a polygon in the scene CRS with its class. */
export interface LabelShape {
  id: string;
  classId: number;
  tool: 'polygon' | 'rectangle' | 'brush';
  geometry: PolygonGeometry;
}
export const labelShapeCheck: Check<LabelShape> = object({
  id: nonEmptyStr,
  classId: int(0, 255),
  tool: literal('polygon', 'rectangle', 'brush'),
  geometry: geometryCheck,
});

export interface PackSummary {
  /** Folder of the pack; also its id. */
  path: string;
  name: string;
  version: string;
  task: string;
  classes: ClassDef[];
  inputs: string;
  modelCard: string;
  builtIn: boolean;
  /** Adapter choices when the pack can be fine-tuned (first = the pack's default), else []. */
  adapters: string[];
  /** Why the pack cannot be fine-tuned (absent when it can). */
  fineTuneNote?: string;
}

/** What a fine-tuning job trains: the drawn labels on the open scene, into a new pack. */
export interface FinetuneParams {
  sceneId: string;
  pack: string;
  adapter?: string;
  epochs: number;
  /** Name of the new pack (also its folder name under the app's packs folder). */
  name: string;
  labels: LabelShape[];
  classes: ClassDef[];
}
export interface FinetuneResultDto {
  /** Folder of the adapted pack (usable for classify at once). */
  pack: string;
  adapter: string;
  head: 'keep' | 'new';
  epochs: number;
  stoppedEarly: boolean;
  provider: string;
  seconds: number;
  validation?: { oa: number; kappa: number; miou: number; classNames: string[]; confusion: number[][] };
  /** What the analyst should know before mapping with the pack (the labels' warnings, classes left out, labelled pixels on nodata, a validation at chance level). */
  warnings: string[];
}
/** Training figures carried on fine-tuning progress events (for the live chart). */
export interface TrainFigures {
  epoch: number;
  epochs: number;
  loss: number;
  valAccuracy?: number;
}

export const PROVIDER_CHOICES = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

export interface ClassifyParams {
  sceneId: string;
  pack: string;
  provider: ProviderChoice;
  tile?: number;
  overlap?: number;
}
export interface ClassifyResult {
  resultId: string;
  classMap: string;
  confidence: string;
  /** The execution provider that actually ran. */
  provider: string;
  degraded: boolean;
  notes: string[];
  classes: ClassDef[];
  seconds: number;
}

/** What one raster layer of the map shows; the engine renders it to PNG tiles. */
export type LayerSpec =
  | { kind: 'composite'; sceneId: string; sensor: string; bands: [number, number, number]; stretch: { low: number; high: number } }
  | { kind: 'classes'; resultId: string }
  | { kind: 'confidence'; resultId: string };
export const layerSpecCheck: Check<LayerSpec> = variant<LayerSpec>('kind', {
  composite: object({
    kind: literal('composite'),
    sceneId: nonEmptyStr,
    sensor: nonEmptyStr,
    bands: tuple(int(0, 100_000), int(0, 100_000), int(0, 100_000)),
    stretch: object({ low: range(0, 100), high: range(0, 100) }),
  }) as Check<LayerSpec>,
  classes: object({ kind: literal('classes'), resultId: nonEmptyStr }) as Check<LayerSpec>,
  confidence: object({ kind: literal('confidence'), resultId: nonEmptyStr }) as Check<LayerSpec>,
});

export interface Capability {
  available: boolean;
  /** Why not, phrased for the analyst. */
  reason?: string;
}
export const CAPABILITIES = ['openScene', 'stats', 'suggestFailures', 'classify', 'finetune', 'export', 'importLabels', 'defaultPacks'] as const;
export type CapabilityName = (typeof CAPABILITIES)[number];
export type Capabilities = Record<CapabilityName, Capability>;

// ---------------------------------------------------------------------------------------------
// Project documents

export interface ViewState {
  center: [number, number];
  zoom: number;
  sensor?: string;
  bands?: [number, number, number];
  stretch?: { low: number; high: number };
}
export interface ResultRecord {
  resultId: string;
  pack: string;
  classMap: string;
  confidence: string;
  provider: string;
  degraded: boolean;
  createdAt: string;
  classes: ClassDef[];
}
export interface LayerState {
  id: string;
  visible: boolean;
  opacity: number;
}
export interface ProjectDocument {
  format: 'fieldmoe-project';
  version: 1;
  name: string;
  scene: SceneSpecDto | null;
  classes: ClassDef[];
  labels: LabelShape[];
  packs: string[];
  results: ResultRecord[];
  layers: LayerState[];
  view: ViewState | null;
}

const resultRecordCheck: Check<ResultRecord> = object({
  resultId: nonEmptyStr,
  pack: str,
  classMap: nonEmptyStr,
  confidence: str,
  provider: str,
  degraded: bool,
  createdAt: str,
  classes: arrayOf(classDefCheck, 256),
});
const viewCheck: Check<ViewState> = object({
  center: tuple(num, num),
  zoom: num,
  sensor: optional(str),
  bands: optional(tuple(int(0), int(0), int(0))),
  stretch: optional(object({ low: range(0, 100), high: range(0, 100) })),
});
export const projectDocumentCheck: Check<ProjectDocument> = object({
  format: literal('fieldmoe-project'),
  version: (v, p) => (v === 1 ? (1 as const) : (literal('1')(String(v), p), 1 as const)),
  name: str,
  scene: nullable(sceneSpecCheck),
  classes: arrayOf(classDefCheck, 256),
  labels: arrayOf(labelShapeCheck, 100_000),
  packs: arrayOf(str, 1000),
  results: arrayOf(resultRecordCheck, 1000),
  layers: arrayOf(object({ id: nonEmptyStr, visible: bool, opacity: range(0, 1) }), 1000),
  view: nullable(viewCheck),
});

export interface RecoveryInfo {
  projectPath: string | null;
  savedAt: string;
  document: ProjectDocument;
}

// ---------------------------------------------------------------------------------------------
// Methods

export const DIALOG_PURPOSES = ['scene', 'project', 'pack', 'labels', 'folder'] as const;
export const SAVE_PURPOSES = ['project', 'classMap', 'confidence'] as const;
export const JOB_KINDS = ['classify', 'finetune'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const sceneIdParams = object({ sceneId: nonEmptyStr });
const finetuneParamsCheck: Check<FinetuneParams> = object({
  sceneId: nonEmptyStr,
  pack: nonEmptyStr,
  adapter: optional(nonEmptyStr),
  epochs: int(1, 1000),
  name: (v, p) => {
    const s = nonEmptyStr(v, p);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s)) throw new ValidationError(`${p}: use letters, digits, '.', '_' or '-' (a folder name)`);
    return s;
  },
  labels: arrayOf(labelShapeCheck, 100_000),
  classes: arrayOf(classDefCheck, 256),
});
const classifyParamsCheck: Check<ClassifyParams> = object({
  sceneId: nonEmptyStr,
  pack: nonEmptyStr,
  provider: literal(...PROVIDER_CHOICES),
  tile: optional(int(16, 8192)),
  overlap: optional(int(0, 4096)),
});

export type MethodSide = 'main' | 'engine';
interface MethodDef<P, S extends MethodSide = MethodSide> {
  side: S;
  params: Check<P>;
}
function method<const S extends MethodSide, P>(side: S, params: Check<P>): MethodDef<P, S> {
  return { side, params };
}

export const METHODS = {
  'app.info': method('main', object({})),
  'dialog.open': method('main', object({ purpose: literal(...DIALOG_PURPOSES), multiple: optional(bool) })),
  'dialog.save': method('main', object({ purpose: literal(...SAVE_PURPOSES), defaultName: optional(str) })),
  'recent.list': method('main', object({})),
  'recent.add': method('main', object({ path: nonEmptyStr })),

  'engine.capabilities': method('engine', object({})),
  'scene.open': method('engine', object({ path: optional(nonEmptyStr), files: optional(arrayOf(nonEmptyStr, 64)), spec: optional(sceneSpecCheck) })),
  'scene.close': method('engine', sceneIdParams),
  'scene.stats': method('engine', object({ sceneId: nonEmptyStr, sensor: nonEmptyStr })),
  'scene.suggestFailures': method('engine', sceneIdParams),
  'render.tile': method('engine', object({ layer: layerSpecCheck, z: int(0, 30), x: int(0), y: int(0) })),
  'render.preview': method('engine', object({ layer: layerSpecCheck, maxSize: int(16, 2048) })),
  'packs.list': method('engine', object({ extra: optional(arrayOf(nonEmptyStr, 1000)) })),
  'job.start': method('engine', variant<{ kind: JobKind; params: unknown }>('kind', {
    classify: object({ kind: literal('classify'), params: classifyParamsCheck }),
    finetune: object({ kind: literal('finetune'), params: finetuneParamsCheck }) as Check<{ kind: JobKind; params: unknown }>,
  })),
  'job.cancel': method('engine', object({ jobId: nonEmptyStr })),
  'export.classMap': method('engine', object({ resultId: nonEmptyStr, out: nonEmptyStr, confidenceOut: optional(nonEmptyStr) })),
  'export.pack': method('engine', object({ pack: nonEmptyStr, outDir: nonEmptyStr })),
  'project.save': method('engine', object({ path: nonEmptyStr, document: projectDocumentCheck })),
  'project.open': method('engine', object({ path: nonEmptyStr })),
  'project.autosave': method('engine', object({ projectPath: nullable(str), document: projectDocumentCheck })),
  'project.recovery': method('engine', object({})),
  'project.discardRecovery': method('engine', object({})),
  'results.register': method('engine', object({ result: resultRecordCheck })),
  'labels.importClasses': method('engine', object({ sceneId: nonEmptyStr, path: nonEmptyStr })),
} satisfies Record<string, MethodDef<unknown>>;

export type MethodName = keyof typeof METHODS;
/** Methods the engine utility process answers (everything else is answered by main). */
export type EngineMethodName = { [M in MethodName]: (typeof METHODS)[M]['side'] extends 'engine' ? M : never }[MethodName];
export type Params<M extends MethodName> = (typeof METHODS)[M] extends MethodDef<infer P> ? P : never;

export interface OpenedScene {
  sceneId: string;
  info: SceneInfo;
  spec: SceneSpecDto;
}

export interface ResultTypes {
  'app.info': { version: string; platform: string; shell: 'electron' | 'test-bridge' };
  'dialog.open': string[];
  'dialog.save': string | null;
  'recent.list': string[];
  'recent.add': string[];
  'engine.capabilities': Capabilities;
  'scene.open': OpenedScene;
  'scene.close': { closed: boolean };
  'scene.stats': SensorStats;
  'scene.suggestFailures': FailureSuggestion[];
  'render.tile': Uint8Array;
  'render.preview': Uint8Array;
  'packs.list': PackSummary[];
  'job.start': { jobId: string };
  'job.cancel': { cancelled: boolean };
  'export.classMap': { files: string[] };
  'export.pack': { dir: string };
  'project.save': { path: string; savedAt: string };
  'project.open': { path: string; document: ProjectDocument };
  'project.autosave': { savedAt: string };
  'project.recovery': RecoveryInfo | null;
  'project.discardRecovery': { discarded: boolean };
  'results.register': { resultId: string };
  'labels.importClasses': { classes: ClassDef[]; labelledPixels: number; warnings: string[] };
}
export type Result<M extends MethodName> = ResultTypes[M];

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(METHODS, name);
}

// ---------------------------------------------------------------------------------------------
// Events (main -> renderer) and the envelope every reply travels in

export const MENU_ACTIONS = ['open-scene', 'open-project', 'save-project', 'save-project-as', 'export', 'classify', 'undo', 'redo', 'about'] as const;
export type MenuAction = (typeof MENU_ACTIONS)[number];

export type AppEvent =
  | { type: 'job.progress'; jobId: string; progress: Progress & { train?: TrainFigures } }
  | { type: 'job.done'; jobId: string; kind: JobKind; result: unknown }
  | { type: 'job.failed'; jobId: string; kind: JobKind; error: string; cancelled: boolean }
  | { type: 'engine.restarted'; reason: string }
  | { type: 'menu'; action: MenuAction; path?: string };

/** Replies never reject across a process boundary: errors travel as one-line messages. */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: string };

/** What the preload exposes as `window.fieldmoe` (and what the e2e test bridge imitates). */
export interface FieldMoeApi {
  invoke<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  onEvent(listener: (event: AppEvent) => void): () => void;
}

export const IPC_CHANNELS = { invoke: 'fieldmoe:invoke', event: 'fieldmoe:event' } as const;
