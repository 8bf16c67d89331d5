import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldMoeError, errorMessage } from '../util/errors';
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
