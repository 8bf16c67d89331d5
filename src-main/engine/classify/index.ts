/**
 * Classify API used by the CLI, the app's utility process and later issues:
 *   classify(request, ctx)                    scene spec + pack reference -> GeoTIFF files
 *   classifyToFiles(scene, pack, options, ctx) opened scene + loaded pack -> GeoTIFF files
 *   runPipeline(scene, manifest, engine, sink, options, ctx)   the streaming core, any sink
 *   sessionEngine(session, provider) / workerEngine(modelPath, provider, threads)  where session.run runs
 */
import { openScene, type SceneSpec } from '../scene';
import { packSearchPath, resolvePack } from '../packs/registry';
import type { JobContext } from '../jobs/job';
import { classifyToFiles, type ClassifyFilesOptions, type ClassifyFilesReport } from './output';

export * from './pipeline';
export * from './output';
export * from './sinks';
export { tileOrigins, blendWindow } from './tiling';
export { sessionEngine, workerEngine, type InferenceEngine, type BatchRunner, type TileBatch } from './runner';

export interface ClassifyRequest extends ClassifyFilesOptions {
  scene: SceneSpec;
  /** Pack folder, manifest path, or name of a pack on the search path. */
  model: string;
  /** Sensor ids to treat as failed (`--missing`). */
  missing?: readonly string[];
  referenceSensor?: string;
}

export async function classify(request: ClassifyRequest, ctx: JobContext = {}): Promise<ClassifyFilesReport> {
  const pack = await resolvePack(request.model, packSearchPath(request.packDirs));
  const scene = await openScene(request.scene, { missing: request.missing, referenceSensor: request.referenceSensor });
  try {
    return await classifyToFiles(scene, pack, request, ctx);
  } finally {
    await scene.close();
  }
}
