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
import { FieldMoeError } from '../util/errors';
import type { PackSummary, ProviderChoice, SensorStats } from '../../ipc/contract';
import type { EngineServices } from './services';

/** 'auto' tries every GPU provider first; CPU is always the last resort (openSession adds it). */
function providerList(choice: ProviderChoice): Provider[] {
  return choice === 'auto' ? PROVIDERS.filter((p) => p !== 'cpu') : [choice];
}

function packSummary(pack: ModelPack): PackSummary {
  const m = pack.manifest;
  return {
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
        `${report.tiles} tiles, ${report.nodataPixels} nodata pixels`,
      ];
      return { provider: report.provider, degraded: report.degraded, notes, classes: packSummary(pack).classes };
    },
  };
}
