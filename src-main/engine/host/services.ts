/**
 * The engine capabilities the host can call. Each is optional: a capability whose engine code
 * is not in this build is absent, and the host reports it as unavailable with a reason instead
 * of pretending. `realServices()` (wiring.ts) fills these from the engine modules; tests inject
 * fakes.
 */
import type { JobContext } from '../jobs/job';
import type { Scene, SceneSpec } from '../scene/types';
import type { ClassDef, FailureSuggestion, FinetuneResultDto, PackSummary, ProviderChoice, SensorStats } from '../../ipc/contract';

export interface ClassifyRequest {
  scene: Scene;
  pack: string;
  provider: ProviderChoice;
  classMapOut: string;
  confidenceOut: string;
  tile?: number;
  overlap?: number;
}
export interface ClassifyOutcome {
  provider: string;
  degraded: boolean;
  notes: string[];
  classes: ClassDef[];
}

export interface FinetuneRequest {
  scene: Scene;
  pack: string;
  /** GeoJSON labels file (written by the host from the drawn labels). */
  labelsFile: string;
  /** Folder of the new pack. */
  out: string;
  name: string;
  adapter?: string;
  epochs: number;
}

export interface EngineServices {
  openScene?: (spec: SceneSpec) => Promise<Scene>;
  sceneStats?: (scene: Scene, sensor: string, ctx: JobContext) => Promise<SensorStats>;
  suggestFailures?: (scene: Scene, ctx: JobContext) => Promise<FailureSuggestion[]>;
  listPacks?: (extraDirs: string[]) => Promise<PackSummary[]>;
  classify?: (request: ClassifyRequest, ctx: JobContext) => Promise<ClassifyOutcome>;
  finetune?: (request: FinetuneRequest, ctx: JobContext) => Promise<FinetuneResultDto>;
  /** Classes (and how many pixels they label) of a labels file placed on the scene's grid. */
  labelClasses?: (file: string, scene: Scene) => Promise<{ classes: ClassDef[]; labelledPixels: number; warnings: string[] }>;
}

/** Why a capability is missing, phrased for the analyst. */
export const MISSING_REASONS: Record<keyof EngineServices, string> = {
  openScene: 'Opening scenes needs the scene reader, which is not in this build yet.',
  sceneStats: 'Band statistics are not in this build yet.',
  suggestFailures: 'Failure suggestions from band statistics are not in this build yet.',
  listPacks: 'Model packs are not in this build yet.',
  classify: 'The classify pipeline is not in this build yet.',
  finetune: 'Fine-tuning is not in this build yet: it arrives with the fine-tuning engine (adapters, training loop).',
  labelClasses: 'Reading labels files is not in this build yet; draw labels or take classes from a pack.',
};
