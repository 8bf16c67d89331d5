import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldMoeError, errorMessage } from '../util/errors';
import type { Scene } from '../scene/types';
import { PackBindingError } from './bandmap';
import { mapBandsWithFills } from './fillBands';
import type { PackManifest } from './manifest';
import { loadPack, MANIFEST_FILE, type ModelPack } from './pack';

/** The packs that ship with FieldMoE (`models/` at the repository root). */
export const BUILTIN_PACK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../models');

/** Where packs are looked up: the built-in folder, then user folders (the app adds its own). */
export function packSearchPath(userDirs: readonly string[] = []): string[] {
  const fromEnv = (process.env.FIELDMOE_MODELS ?? '').split(path.delimiter).filter(Boolean);
  return [BUILTIN_PACK_DIR, ...userDirs, ...fromEnv];
}

export interface PackListing {
  dir: string;
  pack?: ModelPack;
  /** Why the folder is listed but cannot be used. */
  error?: string;
}

/** Every pack folder (a sub-folder with manifest.json) under the search path, valid or not. */
export async function listPacks(searchDirs: readonly string[] = packSearchPath()): Promise<PackListing[]> {
  const out: PackListing[] = [];
  for (const root of searchDirs) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      const dir = path.join(root, entry.name);
      if (!entry.isDirectory() || !existsSync(path.join(dir, MANIFEST_FILE))) continue;
      try {
        out.push({ dir, pack: await loadPack(dir) });
      } catch (err) {
        out.push({ dir, error: errorMessage(err) });
      }
    }
  }
  return out;
}

/**
 * Resolves what a user typed for `--model`: a path to a pack folder or manifest, or the name
 * (folder name or manifest `name`) of a pack on the search path.
 */
export async function resolvePack(ref: string, searchDirs: readonly string[] = packSearchPath()): Promise<ModelPack> {
  if (existsSync(ref)) return loadPack(ref);
  const listing = await listPacks(searchDirs);
  const hit = listing.find((l) => path.basename(l.dir) === ref || l.pack?.manifest.name === ref);
  if (hit?.pack) return hit.pack;
  if (hit?.error) throw new FieldMoeError(ref, hit.error);
  const names = listing.filter((l) => l.pack).map((l) => path.basename(l.dir));
  throw new FieldMoeError(ref, `no such model pack (not a folder, and not among: ${names.join(', ') || 'none'})`);
}

/**
 * `err` as it is, or, where the scene lacks what pack `packName` needs (PackBindingError), the
 * same error naming the packs on the search path that do take the scene: an analyst who opened
 * a LiDAR-only scene with an optical pack learns which pack to pick.
 */
export async function withPacksTaking(err: unknown, scene: Scene, searchDirs: readonly string[], packName: string): Promise<unknown> {
  if (!(err instanceof PackBindingError)) return err;
  const names = (await listPacks(searchDirs)).flatMap((l) => (l.pack && l.pack.manifest.name !== packName && takes(l.pack.manifest, scene) ? [l.pack.manifest.name] : []));
  const taking = [...new Set(names)];
  return taking.length ? new PackBindingError(err.subject, `${err.problem} (packs that take this scene: ${taking.join(', ')})`, { cause: err }) : err;
}

/** Whether `manifest` binds every input it requires to the scene, with the bands it can fill. */
function takes(manifest: PackManifest, scene: Scene): boolean {
  try {
    mapBandsWithFills(scene, manifest);
    return true;
  } catch {
    return false;
  }
}
