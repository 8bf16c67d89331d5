/**
 * Connects the host to the engine modules in this build, translating engine results into the
 * IPC contract's shapes. A capability appears here only once its engine code exists; until then
 * the UI shows it as unavailable with the reason from services.ts (fine-tuning: not yet).
 */
import path from 'node:path';
import { openScene } from '../scene/scene';
import { sceneStats, suggestFailures } from '../scene/stats';
import { listPacks, packSearchPath, BUILTIN_PACK_DIR } from '../packs/registry';
import { loadPack, type ModelPack } from '../packs/pack';
import { classifyToFiles } from '../classify/output';
import { PROVIDERS, type Provider } from '../runtime/session';
import { finetune } from '../finetune/finetune';
import { architectureAdapters } from '../finetune/adapters';
import type { Progress } from '../jobs/job';
import type { TrainProgress } from '../ml/train/loop';
import { loadLabels } from '../labels/load';
import { FieldMoeError } from '../util/errors';
import type { PackSummary, ProviderChoice, SensorStats, TrainFigures } from '../../ipc/contract';
import type { EngineServices } from './services';

/** 'auto' tries every GPU provider first; CPU is always the last resort (openSession adds it). */
function providerList(choice: ProviderChoice): Provider[] {
  return choice === 'auto' ? PROVIDERS.filter((p) => p !== 'cpu') : [choice];
}

/** Adapter choices for a pack (its default first), or why it cannot be fine-tuned. */
function fineTuning(architecture: string): { adapters: string[]; fineTuneNote?: string } {
  try {
    const a = architectureAdapters(architecture);
    const choices = Object.keys(a.presets);
    return { adapters: [a.defaultChoice, ...choices.filter((c) => c !== a.defaultChoice)] };
  } catch (err) {
    return { adapters: [], fineTuneNote: `Not fine-tunable: ${err instanceof Error ? err.message : err}. Import a SpectralMoE or MaMOL pack to fine-tune.` };
  }
}

/** Training figures from the training loop's progress, for the app's live chart. */
export function trainFigures(p: Progress): TrainFigures | undefined {
  const t = p as Partial<TrainProgress>;
  // the start's validation (epoch 0) has no training loss to chart
  if (t.epoch === undefined || t.loss === undefined) return undefined;
  const labelled = t.val?.metrics.labelled;
  return { epoch: t.epoch, epochs: t.epochs ?? 0, loss: t.loss, valAccuracy: labelled ? (t.val!.metrics.correct ?? 0) / labelled : undefined };
}

function packSummary(pack: ModelPack): PackSummary {
  const m = pack.manifest;
  return {
    ...fineTuning(m.architecture),
    path: pack.dir,
    name: m.name,
    version: m.version,
    task: m.task,
    classes: m.classes.map((c) => ({ id: c.id, name: c.name, colour: c.color.toLowerCase() })),
    inputs: m.inputs.map((i) => `${i.description ?? i.name} [${i.sensorKinds.join('/')}]${i.optional ? ' (optional)' : ''}`).join('; '),
    modelCard: m.card,
    builtIn: builtInDirs().includes(path.dirname(pack.dir)),
  };
}

/** Built-in pack folders: the checkout's models/ and, in the app, FIELDMOE_MODELS (see app/index.ts). */
function builtInDirs(): string[] {
  return [BUILTIN_PACK_DIR, ...(process.env.FIELDMOE_MODELS ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(d))];
}

export async function realServices(): Promise<EngineServices> {
  return {
    openScene: (spec) => openScene(spec),
    sceneStats: async (scene, sensor, ctx): Promise<SensorStats> => {
      const stats = await sceneStats(scene, { ...ctx });
      const s = stats.sensors.find((x) => x.sensor === sensor);
      if (!s) throw new FieldMoeError(`sensor ${sensor}`, 'not in this scene');
      return {
        sensor,
        sampledPixels: stats.sampledPixels,
        exact: stats.step === 1,
        bands: s.bands.map((b) => ({
          band: b.index, name: b.name, min: b.min ?? 0, max: b.max ?? 0, mean: b.mean ?? 0, std: b.std ?? 0,
          validFraction: b.count ? b.validCount / b.count : 0,
        })),
      };
    },
    suggestFailures: async (scene, ctx) =>
      suggestFailures(await sceneStats(scene, { ...ctx })).map((s) => ({
        sensor: s.sensor, band: s.band, reason: s.problem, message: s.message, wholeSensor: s.wholeSensor,
      })),
    listPacks: async (extraDirs) => {
      const listing = await listPacks(packSearchPath());
      const packs = listing.flatMap((l) => (l.pack ? [packSummary(l.pack)] : []));
      // An imported pack is one pack folder (not a folder of packs).
      for (const dir of extraDirs) if (!packs.some((p) => p.path === path.resolve(dir))) packs.push(packSummary(await loadPack(dir)));
      return packs;
    },
    classify: async (request, ctx) => {
      const pack = await loadPack(request.pack);
      const report = await classifyToFiles(request.scene, pack, {
        out: request.classMapOut, confidence: request.confidenceOut, tile: request.tile, overlap: request.overlap,
        providers: providerList(request.provider),
      }, ctx);
      // Fallbacks are expected on machines without a GPU: one short line, not the raw errors.
      const notes = [
        ...(report.fallbacks.length ? [`Not available here: ${report.fallbacks.map((f) => f.provider).join(', ')}.`] : []),
        ...report.degradedReasons,
        ...report.conversions,
        ...report.unread,
        ...report.partialNodata,
        `${report.tiles} tiles, ${report.nodataPixels} nodata pixels`,
      ];
      return { provider: report.provider, degraded: report.degraded, notes, classes: packSummary(pack).classes };
    },
    labelClasses: async (file, scene) => {
      const set = await loadLabels(file, scene.info);
      const hex = (rgb: readonly number[]) => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
      return {
        classes: set.classes.map((c) => ({ id: c.id, name: c.name, colour: hex(c.color) })),
        labelledPixels: set.x.length,
        warnings: set.warnings,
      };
    },
    finetune: async (request, ctx) => {
      const started = performance.now();
      const r = await finetune(
        { model: request.pack, scene: request.scene, labels: request.labelsFile, out: request.out, name: request.name, adapter: request.adapter, epochs: request.epochs },
        {
          signal: ctx.signal,
          onProgress: (p) => ctx.onProgress?.({ stage: p.stage, fraction: p.fraction, etaSeconds: p.etaSeconds, message: p.message, train: trainFigures(p) } as Progress),
        },
      );
      const v = r.fit.validation?.pooled;
      return {
        pack: r.out, adapter: r.adapter, head: r.head, epochs: r.fit.history.length, stoppedEarly: r.fit.stoppedEarly,
        provider: r.fit.provider, seconds: (performance.now() - started) / 1000, warnings: r.warnings,
        validation: v ? { oa: v.oa, kappa: v.kappa, miou: v.miou, classNames: r.classes.map((c) => c.name), confusion: v.confusion } : undefined,
      };
    },
  };
}
