import { promises as fs, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { FieldMoeError } from '../util/errors';
import { validateManifest, type PackManifest } from './manifest';

/** A loaded pack: its folder, validated manifest and the absolute path of its inference graph. */
export interface ModelPack {
  dir: string;
  manifestPath: string;
  manifest: PackManifest;
  modelPath: string;
}

export const MANIFEST_FILE = 'manifest.json';

/** Loads a pack from its folder (or its manifest.json), checking that every file it names exists. */
export async function loadPack(dirOrManifest: string): Promise<ModelPack> {
  const resolved = path.resolve(dirOrManifest);
  if (!existsSync(resolved)) throw new FieldMoeError(dirOrManifest, 'model pack not found (expected a folder with manifest.json)');
  const manifestPath = statSync(resolved).isDirectory() ? path.join(resolved, MANIFEST_FILE) : resolved;
  const dir = path.dirname(manifestPath);
  let text: string;
  try {
    text = await fs.readFile(manifestPath, 'utf8');
  } catch {
    throw new FieldMoeError(manifestPath, 'cannot read the pack manifest (is this a model pack folder?)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FieldMoeError(manifestPath, `is not valid JSON (${(err as Error).message})`);
  }
  const manifest = validateManifest(json, manifestPath);
  for (const f of [manifest.model, ...manifest.files])
    if (!existsSync(path.join(dir, f))) throw new FieldMoeError(manifestPath, `names file "${f}" which is not in ${dir}`);
  return { dir, manifestPath, manifest, modelPath: path.join(dir, manifest.model) };
}
