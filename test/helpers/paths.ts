import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared datasets live beside the checkout (`../shared/data`), in CI too. A missing folder
 * is an error, never a silent skip: tests that need real data must run.
 */
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data');

export function sharedData(...parts: string[]): string {
  const p = path.join(SHARED_DATA, ...parts);
  if (!existsSync(p)) throw new Error(`shared data not found: ${p} (expected ../shared/data beside the checkout)`);
  return p;
}

/** A per-run scratch folder under test/.artifacts (git-ignored), e.g. for screenshots and outputs. */
export function artifactDir(...parts: string[]): string {
  return path.join(REPO_ROOT, 'test', '.artifacts', ...parts);
}
