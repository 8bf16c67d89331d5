import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FieldMoeError } from './errors';

/** A temp path beside `finalPath`, so the final rename stays on one filesystem. */
export function tempPathFor(finalPath: string): string {
  const dir = path.dirname(finalPath);
  return path.join(dir, `.${path.basename(finalPath)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Runs `write(tmp)` and renames tmp onto `finalPath` only if it succeeds, so a crash, an error
 * or a cancel never leaves a partial file where the analyst expects a result.
 */
export async function writeAtomically<T>(finalPath: string, write: (tmpPath: string) => Promise<T>): Promise<T> {
  await fs.mkdir(path.dirname(path.resolve(finalPath)), { recursive: true });
  const tmp = tempPathFor(finalPath);
  try {
    const result = await write(tmp);
    await fs.rename(tmp, finalPath);
    return result;
  } catch (err) {
    await fs.rm(tmp, { force: true, recursive: true });
    throw err;
  }
}

export function writeFileAtomic(finalPath: string, data: Uint8Array | string): Promise<void> {
  return writeAtomically(finalPath, (tmp) => fs.writeFile(tmp, data));
}

/** Refuses an output file path that names an existing folder: checked before a long job, whose result would otherwise be lost at the final rename. */
export async function checkOutputFile(file: string): Promise<void> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat?.isDirectory()) throw new FieldMoeError(file, 'is a folder; give a file name for the output');
}
