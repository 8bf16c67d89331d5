/**
 * The renderer's state and actions (Svelte 5 runes). Panels and the map read this state and
 * call these actions; every engine call goes through `api` (the typed IPC contract), and
 * everything heavy runs in the engine process, so the UI never blocks.
 */
import { api } from './api';
import { SceneGeo } from './geo';
import { DEFAULT_CLASS_COLOURS } from '../../../src-main/ipc/palette';
import type {
  AppEvent, Capabilities, ClassDef, ClassifyResult, FailureSuggestion, FinetuneResultDto, LabelShape, MenuAction, OpenedScene, PackSummary, TrainFigures,
  PolygonGeometry, ProjectDocument, Progress, ProviderChoice, RecoveryInfo, ResultRecord, SceneSpecDto, SensorStats,
} from '../../../src-main/ipc/contract';

export type PanelId = 'scene' | 'sensors' | 'labels' | 'classify' | 'finetune' | 'export' | 'project';
export const PANELS: { id: PanelId; title: string }[] = [
  { id: 'scene', title: 'Scene' },
  { id: 'sensors', title: 'Sensors' },
  { id: 'labels', title: 'Labels' },
  { id: 'classify', title: 'Classify' },
  { id: 'finetune', title: 'Fine-tune' },
  { id: 'export', title: 'Export' },
  { id: 'project', title: 'Project' },
];
export type Tool = 'pan' | 'polygon' | 'rectangle' | 'brush' | 'failure';
export type LayerKind = 'composite' | 'classes' | 'confidence' | 'labels' | 'failures';
export interface MapLayer {
  id: string;
  title: string;
  kind: LayerKind;
  visible: boolean;
  opacity: number;
  resultId?: string;
}
export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'warning' | 'error';
  text: string;
}
export interface Display {
  sensor: string;
  bands: [number, number, number];
  stretch: { low: number; high: number };
}
interface RunningJob {
  jobId: string;
  kind: 'classify' | 'finetune';
  progress: Progress | null;
  startedAt: number;
  /** The scene opened for this job (closed when it ends); null when the job uses the display scene. */
  sceneId: string | null;
  pack: string;
}
type Editable = Pick<ProjectDocument, 'labels' | 'classes'> & { failureRegions: SceneSpecDto['failureRegions']; failed: Record<string, boolean> };

export function emptyDocument(name = 'Untitled'): ProjectDocument {
  return { format: 'fieldmoe-project', version: 1, name, scene: null, classes: [], labels: [], packs: [], results: [], layers: [], view: null };
}

const snapshot = <T>(v: T): T => $state.snapshot(v) as T;

function nearestBand(wavelengths: (number | undefined)[], target: number): number | undefined {
  let best: number | undefined;
  let dist = Infinity;
  wavelengths.forEach((w, i) => {
    if (w !== undefined && Math.abs(w - target) < dist && Math.abs(w - target) < 80) {
      dist = Math.abs(w - target);
      best = i;
    }
  });
  return best;
}

/** Band triplets for the composite presets, from wavelengths (nm). */
export function presetBands(wavelengths: (number | undefined)[], preset: 'true' | 'false'): [number, number, number] | null {
  const targets = preset === 'true' ? [660, 560, 485] : [835, 660, 560];
  const found = targets.map((t) => nearestBand(wavelengths, t));
  return found.every((b) => b !== undefined) ? (found as [number, number, number]) : null;
}

class Store {
  panel = $state<PanelId>('scene');
  caps = $state<Capabilities | null>(null);
  project = $state<ProjectDocument>(emptyDocument());
  projectPath = $state<string | null>(null);
  savedJson = $state(JSON.stringify(emptyDocument()));
  /** The scene as displayed: opened without failures, so failed sensors can still be looked at. */
  scene = $state<OpenedScene | null>(null);
  geo = $derived(this.scene ? new SceneGeo(this.scene.info) : null);
  stats = $state<Record<string, SensorStats | { error: string }>>({});
  preview = $state<string | null>(null);
  suggestions = $state<FailureSuggestion[] | null>(null);
  suggestionsNote = $state<string | null>(null);
  display = $state<Display | null>(null);
  layers = $state<MapLayer[]>([]);
  swipe = $state<{ layerId: string | null; position: number }>({ layerId: null, position: 50 });
  tool = $state<Tool>('pan');
  activeClass = $state<number | null>(null);
  brushRadius = $state(3);
  failureSensor = $state<string | null>(null);
  selectedLabel = $state<string | null>(null);
  packs = $state<PackSummary[]>([]);
  packsNote = $state<string | null>(null);
  selectedPack = $state<string | null>(null);
  provider = $state<ProviderChoice>('auto');
  job = $state<RunningJob | null>(null);
  /**
   * A job's end can reach us before job.start's reply tells us its id (events and replies travel
   * separately): the last few such events wait here until `track` adopts the job.
   */
  private unclaimedJobEnds = new Map<string, AppEvent>();
  lastResult = $state<ClassifyResult | null>(null);
  trainHistory = $state<TrainFigures[]>([]);
  finetuneResult = $state<FinetuneResultDto | null>(null);
  exportMessage = $state<string | null>(null);
  toasts = $state<Toast[]>([]);
  recovery = $state<RecoveryInfo | null>(null);
  autosavedAt = $state<string | null>(null);
  recent = $state<string[]>([]);
  busy = $state<string | null>(null);
  /** 'electron' when the app menu carries the Ctrl shortcuts (the page must not run them twice). */
  shell = $state<'electron' | 'test-bridge' | null>(null);
  cursor = $state<{ x: number; y: number; lon?: number; lat?: number } | null>(null);
  zoom = $state(0);
  /** Set by the map: where the camera is, for saving the view. */
  viewGetter: (() => ProjectDocument['view']) | null = null;
  viewSetter: ((v: NonNullable<ProjectDocument['view']>) => void) | null = null;

  dirty = $derived(JSON.stringify(this.project) !== this.savedJson);
  private undoStack: string[] = [];
  private redoStack: string[] = [];
  canUndo = $state(false);
  canRedo = $state(false);
  private toastId = 0;
  private autosaveTimer: ReturnType<typeof setTimeout> | null = null;

  // ---------------------------------------------------------------------------------------------
  // Start-up and events

  async init(): Promise<void> {
    api.onEvent((e) => this.onEvent(e));
    try {
      this.shell = (await api.invoke('app.info', {})).shell;
      this.caps = await api.invoke('engine.capabilities', {});
      this.recent = await api.invoke('recent.list', {});
      this.recovery = await api.invoke('project.recovery', {});
    } catch (err) {
      this.error(err);
    }
    this.refreshPacks();
    $effect.root(() => {
      $effect(() => {
        const json = JSON.stringify(this.project);
        if (json !== this.savedJson) this.scheduleAutosave();
      });
    });
  }

  private onEvent(e: AppEvent): void {
    if ((e.type === 'job.done' || e.type === 'job.failed') && this.job?.jobId !== e.jobId) {
      this.unclaimedJobEnds.set(e.jobId, e);
      for (const id of [...this.unclaimedJobEnds.keys()].slice(0, -8)) this.unclaimedJobEnds.delete(id);
    } else if (e.type === 'job.progress' && this.job?.jobId === e.jobId) {
      this.job.progress = e.progress;
      if (e.progress.train && this.trainHistory.length < 5000) this.trainHistory.push(e.progress.train);
    } else if (e.type === 'job.done' && this.job?.jobId === e.jobId) {
      if (e.kind === 'finetune') this.finetuneDone(e.result as FinetuneResultDto);
      else this.jobDone(e.result as ClassifyResult);
    } else if (e.type === 'job.failed' && this.job?.jobId === e.jobId) {
      const job = this.job;
      this.job = null;
      if (job.sceneId) void api.invoke('scene.close', { sceneId: job.sceneId }).catch(() => undefined);
      const what = job.kind === 'finetune' ? 'Fine-tuning' : 'Classification';
      if (e.cancelled) this.toast('info', `${what} cancelled; nothing was written.`);
      else this.toast('error', `${what} failed: ${e.error}`);
    } else if (e.type === 'engine.restarted') {
      this.toast('error', `Engine: ${e.reason}`);
      void this.reopenAfterRestart();
    } else if (e.type === 'menu') void this.menu(e.action, e.path);
  }

  async menu(action: MenuAction, path?: string): Promise<void> {
    const actions: Record<MenuAction, () => unknown> = {
      'open-scene': () => this.pickScene(),
      'open-project': () => (path ? this.openProject(path) : this.pickProject()),
      'save-project': () => this.save(false),
      'save-project-as': () => this.save(true),
      export: () => this.exportLatest(),
      classify: () => this.classify(),
      // The menu's Ctrl+Z reaches us even while typing: then it is the text field's undo.
      undo: () => (typingInField() ? document.execCommand('undo') : this.undo()),
      redo: () => (typingInField() ? document.execCommand('redo') : this.redo()),
      about: () => this.toast('info', 'FieldMoE: offline land-cover mapping when sensors fail and labels are few.'),
    };
    await actions[action]();
  }

  toast(kind: Toast['kind'], text: string): void {
    const id = ++this.toastId;
    this.toasts.push({ id, kind, text });
    setTimeout(() => (this.toasts = this.toasts.filter((t) => t.id !== id)), kind === 'error' ? 12_000 : 6_000);
  }

  error(err: unknown): void {
    this.toast('error', err instanceof Error ? err.message : String(err));
  }

  private async guard<T>(label: string, work: () => Promise<T>): Promise<T | undefined> {
    this.busy = label;
    try {
      return await work();
    } catch (err) {
      this.error(err);
      return undefined;
    } finally {
      this.busy = null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scenes

  async pickScene(): Promise<void> {
    const paths = await api.invoke('dialog.open', { purpose: 'scene', multiple: true });
    if (paths.length) await this.openScenePaths(paths);
  }

  /** One manifest/folder/GeoTIFF path, or several GeoTIFFs (one sensor each). */
  async openScenePaths(paths: string[]): Promise<void> {
    await this.guard('Opening scene…', async () => {
      const opened = paths.length === 1 ? await api.invoke('scene.open', { path: paths[0] }) : await api.invoke('scene.open', { files: paths });
      await this.adoptScene(opened);
      this.commitFresh();
      this.toast('success', `Opened ${opened.info.sensors.length} sensor(s), ${opened.info.width} x ${opened.info.height} px`);
    });
  }

  /** Makes `opened` the project's scene and shows it (reopened without failures for display). */
  private async adoptScene(opened: OpenedScene, keepView = false): Promise<void> {
    if (this.scene) await api.invoke('scene.close', { sceneId: this.scene.sceneId }).catch(() => undefined);
    this.project.scene = opened.spec;
    const hasFailures = opened.spec.failureRegions.length > 0 || opened.spec.sensors.some((s) => s.failed);
    if (hasFailures) {
      await api.invoke('scene.close', { sceneId: opened.sceneId });
      opened = await api.invoke('scene.open', { spec: displaySpec(opened.spec) });
    }
    this.scene = opened;
    this.failureSensor = opened.info.sensors[0]?.id ?? null;
    if (!keepView || !this.display) this.display = this.defaultDisplay(opened.info.sensors[0].id);
    this.layers = this.baseLayers();
    this.stats = {};
    this.suggestions = null;
    void this.loadSensorDetails();
  }

  private defaultDisplay(sensorId: string): Display {
    const sensor = this.scene!.info.sensors.find((s) => s.id === sensorId)!;
    const n = sensor.bands.length;
    const bands = presetBands(sensor.bands.map((b) => b.wavelengthNm), 'true') ?? ([0, Math.min(1, n - 1), Math.min(2, n - 1)] as [number, number, number]);
    return { sensor: sensorId, bands, stretch: { low: 2, high: 98 } };
  }

  private baseLayers(): MapLayer[] {
    const old = new Map(this.layers.map((l) => [l.id, l]));
    const keep = (l: MapLayer) => ({ ...l, visible: old.get(l.id)?.visible ?? l.visible, opacity: old.get(l.id)?.opacity ?? l.opacity });
    const results = this.project.results.flatMap((r) => resultLayers(r)).map(keep);
    return [
      keep({ id: 'labels', title: 'Labels', kind: 'labels', visible: true, opacity: 0.75 }),
      keep({ id: 'failures', title: 'Failure regions', kind: 'failures', visible: true, opacity: 0.6 }),
      ...results,
      keep({ id: 'scene', title: 'Scene', kind: 'composite', visible: true, opacity: 1 }),
    ];
  }

  async loadSensorDetails(): Promise<void> {
    const scene = this.scene;
    if (!scene) return;
    for (const s of scene.info.sensors) {
      api.invoke('scene.stats', { sceneId: scene.sceneId, sensor: s.id })
        .then((st) => (this.stats[s.id] = st))
        .catch((err) => (this.stats[s.id] = { error: String(err?.message ?? err) }));
    }
    void this.refreshPreview();
    if (this.caps?.suggestFailures.available) {
      try {
        this.suggestions = await api.invoke('scene.suggestFailures', { sceneId: scene.sceneId });
        this.suggestionsNote = null;
      } catch (err) {
        this.suggestionsNote = err instanceof Error ? err.message : String(err);
      }
    } else this.suggestionsNote = this.caps?.suggestFailures.reason ?? null;
  }

  async refreshPreview(): Promise<void> {
    if (!this.scene || !this.display) return;
    try {
      const png = await api.invoke('render.preview', { layer: this.compositeLayerSpec()!, maxSize: 320 });
      if (this.preview) URL.revokeObjectURL(this.preview);
      this.preview = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    } catch (err) {
      this.error(err);
    }
  }

  compositeLayerSpec() {
    if (!this.scene || !this.display) return null;
    return { kind: 'composite' as const, sceneId: this.scene.sceneId, sensor: this.display.sensor, bands: snapshot(this.display.bands), stretch: snapshot(this.display.stretch) };
  }

  setDisplay(next: Partial<Display>): void {
    if (!this.display) return;
    if (next.sensor && next.sensor !== this.display.sensor) {
      this.display = this.defaultDisplay(next.sensor);
    } else this.display = { ...this.display, ...next };
    void this.refreshPreview();
  }

  /** Re-opens the scene with the analyst's edits to sensor ids, kinds, bands and wavelengths. */
  async applySceneEdits(spec: SceneSpecDto): Promise<void> {
    await this.guard('Re-opening scene with your edits…', async () => {
      const opened = await api.invoke('scene.open', { spec: snapshot(spec) });
      this.pushHistory();
      await this.adoptScene(opened, true);
      this.toast('success', 'Scene updated with your sensor and band edits.');
    });
  }

  private async reopenAfterRestart(): Promise<void> {
    this.job = null;
    if (!this.project.scene) return;
    try {
      this.scene = await api.invoke('scene.open', { spec: displaySpec(snapshot(this.project.scene)) });
      for (const r of this.project.results) await api.invoke('results.register', { result: snapshot(r) });
      this.toast('info', 'Scene and results reloaded in the restarted engine.');
    } catch (err) {
      this.error(err);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sensors and failure regions

  setSensorFailed(sensor: string, failed: boolean): void {
    const s = this.project.scene?.sensors.find((x) => x.id === sensor);
    if (!s || s.failed === failed) return;
    this.pushHistory();
    s.failed = failed;
    this.toast('info', failed ? `Sensor ${sensor} marked failed for the whole scene.` : `Sensor ${sensor} is no longer marked failed.`);
  }

  addFailureRegion(geometry: PolygonGeometry): void {
    if (!this.project.scene || !this.failureSensor) return;
    this.pushHistory();
    this.project.scene.failureRegions.push({ sensor: this.failureSensor, geometry });
  }

  removeFailureRegion(index: number): void {
    if (!this.project.scene) return;
    this.pushHistory();
    this.project.scene.failureRegions.splice(index, 1);
  }

  acceptSuggestion(s: FailureSuggestion): void {
    this.setSensorFailed(s.sensor, true);
    this.suggestions = (this.suggestions ?? []).filter((x) => x !== s);
  }

  // ---------------------------------------------------------------------------------------------
  // Classes and labels

  addClass(name: string, colour?: string): void {
    const id = Math.max(0, ...this.project.classes.map((c) => c.id)) + 1;
    this.pushHistory();
    this.project.classes.push({ id, name: name || `class ${id}`, colour: colour ?? DEFAULT_CLASS_COLOURS[(id - 1) % DEFAULT_CLASS_COLOURS.length] });
    this.activeClass = id;
  }

  updateClass(id: number, patch: Partial<ClassDef>): void {
    const c = this.project.classes.find((x) => x.id === id);
    if (!c) return;
    this.pushHistory();
    Object.assign(c, patch);
  }

  removeClass(id: number): void {
    this.pushHistory();
    this.project.classes = this.project.classes.filter((c) => c.id !== id);
    this.project.labels = this.project.labels.filter((l) => l.classId !== id);
    if (this.activeClass === id) this.activeClass = this.project.classes[0]?.id ?? null;
  }

  classesFromPack(pack: PackSummary): void {
    this.pushHistory();
    this.project.classes = pack.classes.map((c) => ({ ...c }));
    this.activeClass = this.project.classes[0]?.id ?? null;
    this.toast('info', `Took ${pack.classes.length} classes from ${pack.name}.`);
  }

  /** Classes (names, colours, ids) from a labels file: a label raster with classes.json, GeoJSON or shapefile. */
  async classesFromLabelsFile(): Promise<void> {
    if (!this.scene) return this.toast('error', 'Open a scene first: labels are read on its grid.');
    const [file] = await api.invoke('dialog.open', { purpose: 'labels' });
    if (!file) return;
    await this.guard('Reading labels…', async () => {
      const r = await api.invoke('labels.importClasses', { sceneId: this.scene!.sceneId, path: file });
      const usable = r.classes.filter((c) => c.id >= 0 && c.id <= 255);
      this.pushHistory();
      this.project.classes = usable;
      this.activeClass = usable[0]?.id ?? null;
      const skipped = r.classes.length - usable.length;
      this.toast('info', `Took ${usable.length} classes from ${file} (${r.labelledPixels} labelled pixels on this scene)${skipped ? `; ${skipped} with ids outside 0-255 skipped` : ''}.${r.warnings.length ? ` ${r.warnings.join(' ')}` : ''}`);
    });
  }

  addLabel(tool: LabelShape['tool'], geometry: PolygonGeometry): boolean {
    if (this.activeClass === null || !this.project.classes.some((c) => c.id === this.activeClass)) {
      this.toast('error', 'Pick or add a class first (Labels panel), then draw.');
      return false;
    }
    this.pushHistory();
    const id = `L${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    this.project.labels.push({ id, classId: this.activeClass, tool, geometry });
    this.selectedLabel = id;
    return true;
  }

  setLabelClass(id: string, classId: number): void {
    const l = this.project.labels.find((x) => x.id === id);
    if (!l) return;
    this.pushHistory();
    l.classId = classId;
  }

  deleteLabel(id: string | null = this.selectedLabel): void {
    if (!id) return;
    this.pushHistory();
    this.project.labels = this.project.labels.filter((l) => l.id !== id);
    if (this.selectedLabel === id) this.selectedLabel = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Undo / redo over labels, classes, failure regions and failed flags

  private editable(): string {
    const p = this.project;
    const e: Editable = {
      labels: p.labels, classes: p.classes, failureRegions: p.scene?.failureRegions ?? [],
      failed: Object.fromEntries((p.scene?.sensors ?? []).map((s) => [s.id, s.failed])),
    };
    return JSON.stringify(e);
  }

  private restore(json: string): void {
    const e = JSON.parse(json) as Editable;
    this.project.labels = e.labels;
    this.project.classes = e.classes;
    if (this.project.scene) {
      this.project.scene.failureRegions = e.failureRegions;
      for (const s of this.project.scene.sensors) s.failed = e.failed[s.id] ?? s.failed;
    }
  }

  pushHistory(): void {
    this.undoStack.push(this.editable());
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
    this.canUndo = true;
    this.canRedo = false;
  }

  private commitFresh(): void {
    this.undoStack = [];
    this.redoStack = [];
    this.canUndo = this.canRedo = false;
  }

  undo(): void {
    const prev = this.undoStack.pop();
    if (!prev) return;
    this.redoStack.push(this.editable());
    this.restore(prev);
    this.canUndo = this.undoStack.length > 0;
    this.canRedo = true;
  }

  redo(): void {
    const next = this.redoStack.pop();
    if (!next) return;
    this.undoStack.push(this.editable());
    this.restore(next);
    this.canUndo = true;
    this.canRedo = this.redoStack.length > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Packs and classify

  async refreshPacks(): Promise<void> {
    if (!this.caps?.classify.available && !this.caps?.finetune.available) {
      this.packsNote = this.caps?.classify.reason ?? 'Model packs are not available.';
      return;
    }
    try {
      this.packs = await api.invoke('packs.list', { extra: snapshot(this.project.packs) });
      this.packsNote = this.packs.length ? null : 'No model packs found. Import a pack folder (with manifest.json).';
      if (!this.selectedPack || !this.packs.some((p) => p.path === this.selectedPack)) this.selectedPack = this.packs[0]?.path ?? null;
    } catch (err) {
      this.packsNote = err instanceof Error ? err.message : String(err);
    }
  }

  async importPack(): Promise<void> {
    const [dir] = await api.invoke('dialog.open', { purpose: 'pack' });
    if (!dir) return;
    if (!this.project.packs.includes(dir)) this.project.packs.push(dir);
    await this.refreshPacks();
    this.selectedPack = this.packs.find((p) => p.path === dir || p.path.startsWith(dir))?.path ?? this.selectedPack;
  }

  async classify(): Promise<void> {
    if (this.job) return;
    if (!this.caps?.classify.available) return this.toast('error', this.caps?.classify.reason ?? 'Classify is not available.');
    if (!this.project.scene) return this.toast('error', 'Open a scene first.');
    if (!this.selectedPack) return this.toast('error', 'Choose a model pack first.');
    const pack = this.selectedPack;
    await this.guard('Starting classification…', async () => {
      // Classify sees the failures (failed sensors, regions); the display scene does not.
      const opened = await api.invoke('scene.open', { spec: snapshot(this.project.scene!) });
      try {
        const { jobId } = await api.invoke('job.start', { kind: 'classify', params: { sceneId: opened.sceneId, pack, provider: this.provider } });
        this.track({ jobId, kind: 'classify', progress: null, startedAt: Date.now(), sceneId: opened.sceneId, pack });
      } catch (err) {
        await api.invoke('scene.close', { sceneId: opened.sceneId }).catch(() => undefined);
        throw err;
      }
    });
  }

  async cancelJob(): Promise<void> {
    if (this.job) await api.invoke('job.cancel', { jobId: this.job.jobId }).catch((err) => this.error(err));
  }

  /** Fine-tunes `pack` on the drawn labels (the display scene: failures do not matter for labels). */
  async finetune(pack: string, adapter: string | undefined, epochs: number, name: string): Promise<void> {
    if (this.job) return;
    if (!this.caps?.finetune.available) return this.toast('error', this.caps?.finetune.reason ?? 'Fine-tuning is not available.');
    if (!this.scene) return this.toast('error', 'Open a scene first.');
    await this.guard('Starting fine-tuning…', async () => {
      const params = { sceneId: this.scene!.sceneId, pack, adapter, epochs, name, labels: snapshot(this.project.labels), classes: snapshot(this.project.classes) };
      const { jobId } = await api.invoke('job.start', { kind: 'finetune', params });
      this.trainHistory = [];
      this.finetuneResult = null;
      this.track({ jobId, kind: 'finetune', progress: null, startedAt: Date.now(), sceneId: null, pack });
    });
  }

  /** Follows a started job, and ends it at once if its end already arrived. */
  private track(job: RunningJob): void {
    this.job = job;
    const early = this.unclaimedJobEnds.get(job.jobId);
    this.unclaimedJobEnds.delete(job.jobId);
    if (early) this.onEvent(early);
  }

  private finetuneDone(result: FinetuneResultDto): void {
    this.job = null;
    this.finetuneResult = result;
    if (!this.project.packs.includes(result.pack)) this.project.packs.push(result.pack);
    void this.refreshPacks().then(() => (this.selectedPack = result.pack));
    const v = result.validation ? ` Validation OA ${result.validation.oa.toFixed(3)}, kappa ${result.validation.kappa.toFixed(3)}.` : '';
    this.toast('success', `Fine-tuned in ${result.seconds.toFixed(0)} s on ${result.provider.toUpperCase()} (${result.epochs} epochs, ${result.adapter}); the adapted pack is ready to classify with.${v}`);
    for (const w of result.warnings) this.toast('warning', `${w[0].toUpperCase()}${w.slice(1)}.`);
  }

  async savePack(pack: string): Promise<void> {
    const [dir] = await api.invoke('dialog.open', { purpose: 'folder' });
    if (!dir) return;
    await this.guard('Saving pack…', async () => {
      const r = await api.invoke('export.pack', { pack, outDir: dir });
      this.toast('success', `Adapted pack saved to ${r.dir}`);
    });
  }

  private jobDone(result: ClassifyResult): void {
    const job = this.job!;
    this.job = null;
    if (job.sceneId) void api.invoke('scene.close', { sceneId: job.sceneId }).catch(() => undefined);
    const record: ResultRecord = {
      resultId: result.resultId, pack: job.pack, classMap: result.classMap, confidence: result.confidence, provider: result.provider,
      degraded: result.degraded, createdAt: new Date().toISOString(), classes: result.classes,
    };
    this.project.results.push(record);
    this.lastResult = result;
    const [classes, confidence] = resultLayers(record);
    const sceneIndex = this.layers.findIndex((l) => l.kind === 'composite');
    this.layers.splice(Math.max(0, sceneIndex), 0, classes, confidence);
    const degraded = result.degraded ? ' Degraded: some sensors were missing.' : '';
    this.toast('success', `Classified in ${result.seconds.toFixed(1)} s on ${result.provider.toUpperCase()}; added class map and confidence layers.${degraded}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Export

  async exportResult(resultId: string, withConfidence = false): Promise<void> {
    const out = await api.invoke('dialog.save', { purpose: 'classMap', defaultName: `${this.project.name || 'classes'}-classes.tif` });
    if (!out) return;
    const confidenceOut = withConfidence ? out.replace(/(\.tiff?)?$/i, '-confidence.tif') : undefined;
    await this.guard('Exporting…', async () => {
      const r = await api.invoke('export.classMap', { resultId, out, confidenceOut });
      this.exportMessage = `Class map saved to ${r.files[0]}${r.files[1] ? ` and confidence to ${r.files[1]}` : ''}`;
      this.toast('success', this.exportMessage);
    });
  }

  async exportLatest(): Promise<void> {
    const last = this.project.results.at(-1);
    if (!last) return this.toast('error', 'Nothing to export yet: classify first.');
    this.panel = 'export';
    await this.exportResult(last.resultId);
  }

  // ---------------------------------------------------------------------------------------------
  // Projects

  private documentForSave(): ProjectDocument {
    const view = this.viewGetter?.() ?? this.project.view;
    const doc = snapshot(this.project);
    doc.view = view ? { ...view, ...(this.display ? { sensor: this.display.sensor, bands: snapshot(this.display.bands), stretch: snapshot(this.display.stretch) } : {}) } : null;
    doc.layers = this.layers.map((l) => ({ id: l.id, visible: l.visible, opacity: l.opacity }));
    return doc;
  }

  async save(as: boolean): Promise<void> {
    let file = this.projectPath;
    if (!file || as) file = await api.invoke('dialog.save', { purpose: 'project', defaultName: `${this.project.name || 'project'}.fieldmoe.json` });
    if (!file) return;
    const target = file;
    await this.guard('Saving project…', async () => {
      if (this.project.name === 'Untitled') this.project.name = target.split(/[\\/]/).pop()!.replace(/(\.fieldmoe)?\.json$/i, '');
      const doc = this.documentForSave();
      await api.invoke('project.save', { path: target, document: doc });
      this.project.view = doc.view;
      this.project.layers = doc.layers;
      this.projectPath = target;
      this.savedJson = JSON.stringify(this.project);
      this.recent = await api.invoke('recent.add', { path: target });
      this.toast('success', `Project saved to ${target}`);
    });
  }

  async pickProject(): Promise<void> {
    const [file] = await api.invoke('dialog.open', { purpose: 'project' });
    if (file) await this.openProject(file);
  }

  async openProject(file: string): Promise<void> {
    await this.guard('Opening project…', async () => {
      const { document } = await api.invoke('project.open', { path: file });
      await this.loadDocument(document);
      this.projectPath = file;
      this.savedJson = JSON.stringify(this.project);
      this.recent = await api.invoke('recent.add', { path: file });
      this.toast('success', `Opened project ${document.name}`);
    });
  }

  private async loadDocument(document: ProjectDocument): Promise<void> {
    if (this.scene) await api.invoke('scene.close', { sceneId: this.scene.sceneId }).catch(() => undefined);
    this.scene = null;
    this.project = document;
    this.commitFresh();
    for (const r of document.results) await api.invoke('results.register', { result: r });
    if (document.scene) {
      const opened = await api.invoke('scene.open', { spec: displaySpec(document.scene) });
      this.scene = opened;
      this.project.scene = document.scene;
      this.failureSensor = opened.info.sensors[0]?.id ?? null;
      const v = document.view;
      this.display = v?.sensor && v.bands && v.stretch ? { sensor: v.sensor, bands: v.bands, stretch: v.stretch } : this.defaultDisplay(opened.info.sensors[0].id);
      this.layers = this.baseLayers();
      const saved = new Map(document.layers.map((l) => [l.id, l]));
      for (const l of this.layers) Object.assign(l, saved.get(l.id) ? { visible: saved.get(l.id)!.visible, opacity: saved.get(l.id)!.opacity } : {});
      void this.loadSensorDetails();
      if (v) queueMicrotask(() => this.viewSetter?.(v));
    } else this.layers = [];
    this.activeClass = document.classes[0]?.id ?? null;
  }

  async recover(): Promise<void> {
    const r = this.recovery;
    if (!r) return;
    this.recovery = null;
    await this.guard('Recovering unsaved work…', async () => {
      await this.loadDocument(r.document);
      this.projectPath = r.projectPath;
      this.savedJson = '';
      this.toast('success', `Recovered unsaved work from ${new Date(r.savedAt).toLocaleString()}. Save it to keep it.`);
    });
  }

  async discardRecovery(): Promise<void> {
    this.recovery = null;
    await api.invoke('project.discardRecovery', {}).catch((err) => this.error(err));
  }

  newProject(): void {
    if (this.scene) void api.invoke('scene.close', { sceneId: this.scene.sceneId }).catch(() => undefined);
    this.project = emptyDocument();
    this.projectPath = null;
    this.savedJson = JSON.stringify(this.project);
    this.scene = null;
    this.layers = [];
    this.display = null;
    this.commitFresh();
  }

  private scheduleAutosave(): void {
    if (this.autosaveTimer) clearTimeout(this.autosaveTimer);
    this.autosaveTimer = setTimeout(async () => {
      if (!this.dirty) return;
      try {
        const r = await api.invoke('project.autosave', { projectPath: this.projectPath, document: this.documentForSave() });
        this.autosavedAt = r.savedAt;
      } catch (err) {
        this.toast('error', `Autosave failed: ${err instanceof Error ? err.message : err}`);
      }
    }, 1500);
  }

  // ---------------------------------------------------------------------------------------------
  // Layers

  moveLayer(id: string, delta: -1 | 1): void {
    const i = this.layers.findIndex((l) => l.id === id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= this.layers.length) return;
    const next = [...this.layers];
    [next[i], next[j]] = [next[j], next[i]];
    this.layers = next;
  }
}

function typingInField(): boolean {
  const el = document.activeElement as HTMLInputElement | null;
  return Boolean(el && (el.tagName === 'TEXTAREA' || (el.tagName === 'INPUT' && ['text', 'number', 'search', ''].includes(el.type))));
}

function resultLayers(r: ResultRecord): [MapLayer, MapLayer] {
  const when = new Date(r.createdAt).toLocaleTimeString();
  return [
    { id: `classes:${r.resultId}`, title: `Class map (${when})`, kind: 'classes', visible: true, opacity: 0.85, resultId: r.resultId },
    { id: `confidence:${r.resultId}`, title: `Confidence (${when})`, kind: 'confidence', visible: false, opacity: 0.85, resultId: r.resultId },
  ];
}

/** The same scene with no failures, for looking at failed sensors. */
function displaySpec(spec: SceneSpecDto): SceneSpecDto {
  return { ...spec, sensors: spec.sensors.map((s) => ({ ...s, failed: false })), failureRegions: [] };
}

export const store = new Store();
