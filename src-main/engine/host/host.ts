import path from 'node:path';
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Scene, SceneSpec } from '../scene/types';
import type { JobContext } from '../jobs/job';
import { FieldMoeError, errorMessage, isCancelled } from '../util/errors';
import { writeAtomically } from '../util/atomic';
import {
  CAPABILITIES, METHODS, isMethodName,
  type AppEvent, type Capabilities, type ClassifyParams, type ClassifyResult, type FinetuneParams, type FinetuneResultDto, type JobKind, type LayerSpec,
  type EngineMethodName, type MethodName, type OpenedScene, type Params, type Reply, type ResultRecord, type Result, type SceneSpecDto,
} from '../../ipc/contract';
import { validate } from '../../ipc/validate';
import { TileRenderer, type RasterSource } from '../render/tiles';
import { stretchRange } from '../render/stretch';
import { classLut } from '../render/palette';
import type { LayerStyle } from '../render/style';
import { RecoveryStore, openProject, saveProject } from '../project/project';
import { MISSING_REASONS, type EngineServices } from './services';
import { writeLabelsFile } from './labels-file';

/** Messages between Electron main (or a test bridge) and the engine host. */
export type MainToHost =
  | { type: 'request'; id: number; method: string; params: unknown }
  | { type: 'cancel'; jobId: string };
export type HostToMain =
  | { type: 'ready' }
  | { type: 'response'; id: number; reply: Reply<unknown> }
  | { type: 'event'; event: AppEvent };

export interface EngineHostOptions {
  /** Where classify results go before the analyst exports them. */
  workDir: string;
  /** Where autosave/recovery lives. */
  stateDir: string;
  services: EngineServices;
  send: (message: HostToMain) => void;
  log?: (line: string) => void;
}

type Handler<M extends MethodName> = (params: Params<M>) => Promise<Result<M>>;

interface OpenScene {
  scene: Scene;
  spec: SceneSpecDto;
}

/**
 * The engine side of the IPC contract: validates each request, dispatches it to a handler,
 * runs long work as cancellable jobs with streamed progress, and answers every request with a
 * Reply, so a bad message or a failing job never takes the process down.
 */
export class EngineHost {
  private readonly scenes = new Map<string, OpenScene>();
  private readonly results = new Map<string, ResultRecord>();
  private readonly resultScenes = new Map<string, Promise<Scene>>();
  private readonly jobs = new Map<string, AbortController>();
  private readonly renderer = new TileRenderer();
  private readonly styles = new Map<string, Promise<LayerStyle>>();
  private readonly recovery: RecoveryStore;

  constructor(private readonly options: EngineHostOptions) {
    this.recovery = new RecoveryStore(options.stateDir);
  }

  /** Entry point for every raw message; never throws. */
  handle(message: unknown): void {
    const m = message as Partial<MainToHost> | null;
    if (m && m.type === 'cancel' && typeof m.jobId === 'string') {
      this.cancel(m.jobId);
      return;
    }
    if (!m || m.type !== 'request' || typeof m.id !== 'number') {
      this.options.log?.(`engine host: ignored malformed message ${safeJson(message)}`);
      return;
    }
    const id = m.id;
    this.request(m.method, m.params).then((reply) => this.options.send({ type: 'response', id, reply }));
  }

  /** Validates and runs one request; resolves to a Reply (never rejects). */
  async request(method: unknown, params: unknown): Promise<Reply<unknown>> {
    if (!isMethodName(method) || METHODS[method].side !== 'engine') return { ok: false, error: `unknown engine method: ${safeJson(method)}` };
    const checked = validate(METHODS[method].params as (v: unknown, p: string) => unknown, params ?? {});
    if (!checked.ok) return { ok: false, error: `${method}: ${checked.error}` };
    try {
      const handler = this.handlers[method as EngineMethodName] as Handler<MethodName>;
      return { ok: true, result: await handler(checked.value as Params<MethodName>) };
    } catch (err) {
      if (!(err instanceof FieldMoeError) && !isCancelled(err)) this.options.log?.(`engine host: ${method} failed: ${(err as Error)?.stack ?? err}`);
      return { ok: false, error: errorMessage(err) };
    }
  }

  async dispose(): Promise<void> {
    for (const c of this.jobs.values()) c.abort();
    for (const s of this.scenes.values()) await s.scene.close().catch(() => undefined);
    for (const s of this.resultScenes.values()) await s.then((x) => x.close()).catch(() => undefined);
  }

  private emit(event: AppEvent): void {
    this.options.send({ type: 'event', event });
  }

  private cancel(jobId: string): boolean {
    const c = this.jobs.get(jobId);
    c?.abort();
    return Boolean(c);
  }

  private need<K extends keyof EngineServices>(name: K): NonNullable<EngineServices[K]> {
    const service = this.options.services[name];
    if (!service) throw new FieldMoeError(name, MISSING_REASONS[name]);
    return service as NonNullable<EngineServices[K]>;
  }

  private sceneById(sceneId: string): OpenScene {
    const s = this.scenes.get(sceneId);
    if (!s) throw new FieldMoeError(`scene ${sceneId}`, 'not open (it may have been closed, or the engine restarted): open the scene again');
    return s;
  }

  /** Runs `work` as a job: returns its id at once, streams progress, ends with done or failed. */
  private startJob(kind: JobKind, work: (ctx: JobContext) => Promise<unknown>): { jobId: string } {
    const jobId = randomUUID();
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    const ctx: JobContext = { signal: controller.signal, onProgress: (progress) => this.emit({ type: 'job.progress', jobId, progress }) };
    // Defer so the caller receives the job id before the first progress event.
    setImmediate(() => {
      work(ctx)
        .then((result) => this.emit({ type: 'job.done', jobId, kind, result }))
        .catch((err) => this.emit({ type: 'job.failed', jobId, kind, error: errorMessage(err), cancelled: isCancelled(err) || controller.signal.aborted }))
        .finally(() => this.jobs.delete(jobId));
    });
    return { jobId };
  }

  private async capabilities(): Promise<Capabilities> {
    const s = this.options.services;
    // Default packs = built-in packs that can be fine-tuned (SpectralMoE, MaMOL), once they ship.
    const builtInTunable = s.listPacks ? (await s.listPacks([]).catch(() => [])).some((p) => p.builtIn && p.adapters.length > 0) : false;
    const entry = (available: boolean, reason: string) => (available ? { available } : { available, reason });
    const caps: Record<string, { available: boolean; reason?: string }> = {
      openScene: entry(Boolean(s.openScene), MISSING_REASONS.openScene),
      stats: entry(Boolean(s.sceneStats), MISSING_REASONS.sceneStats),
      suggestFailures: entry(Boolean(s.suggestFailures), MISSING_REASONS.suggestFailures),
      classify: entry(Boolean(s.classify && s.listPacks), MISSING_REASONS.classify),
      finetune: entry(Boolean(s.finetune), MISSING_REASONS.finetune),
      export: entry(true, ''),
      importLabels: entry(Boolean(s.labelClasses), MISSING_REASONS.labelClasses),
      defaultPacks: entry(builtInTunable, 'No default SpectralMoE/MaMOL pack ships in this build yet; import a pack folder meanwhile.'),
    };
    return Object.fromEntries(CAPABILITIES.map((c) => [c, caps[c]])) as Capabilities;
  }

  // -------------------------------------------------------------------------------------------
  // Scenes

  private async openScene(params: Params<'scene.open'>): Promise<OpenedScene> {
    const openScene = this.need('openScene');
    const spec = params.spec;
    // Picked files: one sensor each, named after the file; the engine guesses kinds and reads
    // band names and wavelengths from the metadata, which the analyst then edits.
    const scene = spec
      ? await openScene(toEngineSpec(spec))
      : params.files
        ? await openScene({ sensors: filesToSensors(params.files) })
        : params.path
          ? await openScene(params.path)
          : undefined;
    if (!scene) throw new FieldMoeError('scene.open', 'give a path, files or a scene spec');
    const sceneId = randomUUID();
    const normalized = spec ? { ...spec, referenceSensor: scene.info.referenceSensor } : specFromInfo(scene);
    this.scenes.set(sceneId, { scene, spec: normalized });
    return { sceneId, info: scene.info, spec: normalized };
  }

  private async closeScene(sceneId: string): Promise<{ closed: boolean }> {
    const s = this.scenes.get(sceneId);
    if (!s) return { closed: false };
    this.scenes.delete(sceneId);
    this.renderer.forget(sceneId);
    await s.scene.close();
    return { closed: true };
  }

  private async stats(sceneId: string, sensor: string) {
    const { scene } = this.sceneById(sceneId);
    if (!scene.info.sensors.some((s) => s.id === sensor)) throw new FieldMoeError(`sensor ${sensor}`, 'not in this scene');
    return this.need('sceneStats')(scene, sensor, {});
  }

  // -------------------------------------------------------------------------------------------
  // Rendering

  private async resolveLayer(layer: LayerSpec): Promise<{ source: RasterSource; style: LayerStyle; styleKey: string }> {
    if (layer.kind === 'composite') {
      const { scene } = this.sceneById(layer.sceneId);
      const sensor = scene.info.sensors.find((s) => s.id === layer.sensor);
      if (!sensor) throw new FieldMoeError(`sensor ${layer.sensor}`, 'not in this scene');
      const bad = layer.bands.find((b) => b >= sensor.bands.length);
      if (bad !== undefined) throw new FieldMoeError(`sensor ${layer.sensor}`, `has ${sensor.bands.length} bands; band ${bad + 1} does not exist`);
      const source = { key: layer.sceneId, scene, sensor: layer.sensor };
      const styleKey = `rgb:${layer.bands.join(',')}:${layer.stretch.low}-${layer.stretch.high}`;
      const style = this.memoStyle(`${layer.sceneId}|${layer.sensor}|${styleKey}`, async () => {
        const ov = await this.renderer.overview(source);
        const ranges = layer.bands.map((b) => stretchRange(ov, b, layer.stretch.low, layer.stretch.high));
        return { kind: 'rgb', bands: layer.bands, ranges } as LayerStyle;
      });
      return { source, style: await style, styleKey };
    }
    const record = this.results.get(layer.resultId);
    if (!record) throw new FieldMoeError(`result ${layer.resultId}`, 'unknown result: classify again or reopen the project');
    const file = layer.kind === 'classes' ? record.classMap : record.confidence;
    const scene = await this.resultScene(file);
    const source = { key: `${layer.kind}:${file}`, scene, sensor: scene.info.sensors[0].id };
    const style: LayerStyle = layer.kind === 'classes' ? { kind: 'palette', band: 0, lut: classLut(record.classes) } : { kind: 'ramp', band: 0, min: 0, max: 1 };
    return { source, style, styleKey: layer.kind };
  }

  private memoStyle(key: string, make: () => Promise<LayerStyle>): Promise<LayerStyle> {
    let s = this.styles.get(key);
    if (!s) {
      s = make();
      s.catch(() => this.styles.delete(key));
      this.styles.set(key, s);
    }
    return s;
  }

  private resultScene(file: string): Promise<Scene> {
    let s = this.resultScenes.get(file);
    if (!s) {
      s = this.need('openScene')(file);
      s.catch(() => this.resultScenes.delete(file));
      this.resultScenes.set(file, s);
    }
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Classify and export

  private async classify(params: ClassifyParams, ctx: JobContext): Promise<ClassifyResult> {
    const classify = this.need('classify');
    const { scene } = this.sceneById(params.sceneId);
    const resultId = randomUUID();
    const dir = path.join(this.options.workDir, 'results', resultId);
    await fs.mkdir(dir, { recursive: true });
    const started = performance.now();
    const classMap = path.join(dir, 'classes.tif');
    const confidence = path.join(dir, 'confidence.tif');
    try {
      const outcome = await classify({ scene, pack: params.pack, provider: params.provider, classMapOut: classMap, confidenceOut: confidence, tile: params.tile, overlap: params.overlap }, ctx);
      const record: ResultRecord = {
        resultId, pack: params.pack, classMap, confidence, provider: outcome.provider, degraded: outcome.degraded,
        createdAt: new Date().toISOString(), classes: outcome.classes,
      };
      this.results.set(resultId, record);
      return { resultId, classMap, confidence, provider: outcome.provider, degraded: outcome.degraded, notes: outcome.notes, classes: outcome.classes, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async finetune(params: FinetuneParams, labelsFile: string, ctx: JobContext): Promise<FinetuneResultDto> {
    const { scene } = this.sceneById(params.sceneId);
    const packsDir = path.join(this.options.workDir, 'packs');
    await fs.mkdir(packsDir, { recursive: true });
    let out = path.join(packsDir, params.name);
    for (let i = 2; await exists(out); i++) out = path.join(packsDir, `${params.name}-${i}`);
    return this.need('finetune')({ scene, pack: params.pack, labelsFile, out, name: path.basename(out), adapter: params.adapter, epochs: params.epochs }, ctx);
  }

  private async exportPack(pack: string, outDir: string): Promise<{ dir: string }> {
    const dest = path.join(outDir, path.basename(pack));
    if (await exists(dest)) throw new FieldMoeError(dest, 'already exists; choose another folder');
    try {
      await fs.cp(pack, `${dest}.partial`, { recursive: true });
      await fs.rename(`${dest}.partial`, dest);
    } catch (err) {
      await fs.rm(`${dest}.partial`, { recursive: true, force: true });
      throw new FieldMoeError(dest, `saving the pack failed (${errorMessage(err)})`);
    }
    return { dir: dest };
  }

  private async exportClassMap(params: Params<'export.classMap'>): Promise<{ files: string[] }> {
    const record = this.results.get(params.resultId);
    if (!record) throw new FieldMoeError(`result ${params.resultId}`, 'unknown result: classify again or reopen the project');
    const pairs: [string, string][] = [[record.classMap, params.out]];
    if (params.confidenceOut) pairs.push([record.confidence, params.confidenceOut]);
    for (const [from, to] of pairs) {
      try {
        await writeAtomically(to, (tmp) => fs.copyFile(from, tmp));
      } catch (err) {
        throw new FieldMoeError(to, `export failed (${errorMessage(err)})`);
      }
    }
    return { files: pairs.map(([, to]) => to) };
  }

  // -------------------------------------------------------------------------------------------

  private readonly handlers: { [M in EngineMethodName]: Handler<M> } = {
    'engine.capabilities': () => this.capabilities(),
    'scene.open': (p) => this.openScene(p),
    'scene.close': (p) => this.closeScene(p.sceneId),
    'scene.stats': (p) => this.stats(p.sceneId, p.sensor),
    'scene.suggestFailures': async (p) => this.need('suggestFailures')(this.sceneById(p.sceneId).scene, {}),
    'render.tile': async (p) => {
      const { source, style, styleKey } = await this.resolveLayer(p.layer);
      return this.renderer.tile(source, style, styleKey, p.z, p.x, p.y);
    },
    'render.preview': async (p) => {
      const { source, style } = await this.resolveLayer(p.layer);
      return this.renderer.preview(source, style, p.maxSize);
    },
    'packs.list': (p) => this.need('listPacks')(p.extra ?? []),
    'job.start': async (p) => {
      if (p.kind === 'finetune') {
        this.need('finetune');
        const params = p.params as FinetuneParams;
        const { scene } = this.sceneById(params.sceneId);
        const labelsFile = await writeLabelsFile(path.join(this.options.workDir, 'labels', `${randomUUID()}.geojson`), params.labels, params.classes, scene.info.crs);
        return this.startJob('finetune', (ctx) => this.finetune(params, labelsFile, ctx));
      }
      this.need('classify');
      const params = p.params as ClassifyParams;
      this.sceneById(params.sceneId);
      return this.startJob('classify', (ctx) => this.classify(params, ctx));
    },
    'job.cancel': async (p) => ({ cancelled: this.cancel(p.jobId) }),
    'export.classMap': (p) => this.exportClassMap(p),
    'export.pack': (p) => this.exportPack(p.pack, p.outDir),
    'project.save': async (p) => {
      const saved = await saveProject(p.path, p.document);
      await this.recovery.discard();
      return saved;
    },
    'project.open': (p) => openProject(p.path),
    'project.autosave': (p) => this.recovery.autosave(p.projectPath, p.document),
    'project.recovery': () => this.recovery.read(),
    'project.discardRecovery': async () => ({ discarded: await this.recovery.discard() }),
    'labels.importClasses': async (p) => this.need('labelClasses')(p.path, this.sceneById(p.sceneId).scene),
    'results.register': async (p) => {
      this.results.set(p.result.resultId, p.result);
      return { resultId: p.result.resultId };
    },
  };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Each picked file becomes one sensor with a unique id made from its file name. */
export function filesToSensors(files: string[]): { id: string; file: string }[] {
  const used = new Set<string>();
  return files.map((file) => {
    const base = path.basename(file).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '_') || 'sensor';
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    return { id, file: path.resolve(file) };
  });
}

function toEngineSpec(spec: SceneSpecDto): SceneSpec {
  return {
    sensors: spec.sensors.map((s) => ({
      id: s.id,
      file: s.file,
      kind: s.kind,
      failed: s.failed,
      // Band names and wavelengths the analyst edited override the file's metadata; a cleared
      // name falls back to the file's.
      bands: s.bands?.length ? s.bands.map((b) => ({ name: b.name || undefined, wavelengthNm: b.wavelengthNm })) : undefined,
    })),
    failureRegions: spec.failureRegions,
    referenceSensor: spec.referenceSensor,
  };
}

function specFromInfo(scene: Scene): SceneSpecDto {
  const { info } = scene;
  return {
    sensors: info.sensors.map((s) => ({ id: s.id, file: s.file, kind: s.kind, failed: s.failed, bands: s.bands.map((b) => ({ name: b.name, wavelengthNm: b.wavelengthNm })) })),
    referenceSensor: info.referenceSensor,
    failureRegions: info.failureRegions,
  };
}

