/** Shared set-up for pipeline tests: run a pack on a scene into memory. */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { REPO_ROOT } from '../../helpers/paths';
import { loadPack, type ModelPack } from '../../../src-main/engine/packs';
import type { PackManifest } from '../../../src-main/engine/packs/manifest';
import { openSession } from '../../../src-main/engine/runtime/session';
import { MemorySink, runPipeline, sessionEngine, workerEngine, type ClassifyReport, type InferenceEngine, type PipelineOptions } from '../../../src-main/engine/classify';
import type { Scene } from '../../../src-main/engine/scene/types';
import type { JobContext } from '../../../src-main/engine/jobs/job';

export const packDir = (name: string) => path.join(REPO_ROOT, 'models', name);

/** Runs the pipeline into memory, with session.run on this thread (default) or in a worker. */
export async function runInMemory(scene: Scene, pack: ModelPack, options: PipelineOptions & { inference?: 'main' | 'worker' } = {}, ctx: JobContext = {}): Promise<{ sink: MemorySink; report: ClassifyReport }> {
  let engine: InferenceEngine;
  if (options.inference === 'worker') engine = await workerEngine(pack.modelPath, 'cpu', 1);
  else {
    const opened = await openSession(pack.modelPath, { threads: 1 });
    engine = sessionEngine(opened.session, opened.provider);
  }
  try {
    const sink = new MemorySink(scene.info.width, scene.info.height);
    const report = await runPipeline(scene, pack.manifest, engine, sink, options, ctx);
    return { sink, report };
  } finally {
    await engine.release();
  }
}

/** Writes a pack (manifest + model bytes) into a fresh temp folder and loads it. */
export async function tempPack(manifest: Omit<PackManifest, 'format' | 'task' | 'model' | 'files' | 'version' | 'card' | 'metrics' | 'architecture'>, model: Uint8Array): Promise<ModelPack> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-pack-'));
  const full = { format: 'fieldmoe-pack/1', task: 'segmentation', version: '0.0.1', architecture: 'test', model: 'model.onnx', files: [], card: 'test pack', metrics: {}, ...manifest };
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(full));
  await fs.writeFile(path.join(dir, 'model.onnx'), model);
  return loadPack(dir);
}

/** Bitwise equality of float32 arrays (NaN equals NaN of the same bits). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
