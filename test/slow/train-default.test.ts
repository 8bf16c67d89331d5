/**
 * `npm run train:default` rebuilds both default packs from ../shared/data alone; the rebuilt
 * packs must score as the committed ones do: every metric their model cards state (held-back
 * classify accuracy with each sensor missing in turn, and validation accuracy), within
 * REPRODUCED_WITHIN. The recipe is deterministic for a seed on one machine (the packs in models/
 * are its output); the margin leaves room for another CPU's float rounding, which can move early
 * stopping by an epoch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED_DATA } from '../helpers/paths';

const REPRODUCED_WITHIN = 0.02;
const PACKS = ['default-spectralmoe', 'default-mamol'];
const SCORES = /^(heldout\..*\.(oa|kappa|miou|macc)|val\.(oa|kappa|miou|macc))$/;

const out = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-train-default-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function manifest(dir: string): { classes: { name: string }[]; inputs: { name: string }[]; metrics: Record<string, number> } {
  return JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

describe('npm run train:default', () => {
  it('reproduces the committed packs: same classes and inputs, every stated score within 0.02', () => {
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/train-default.ts', '--data', SHARED_DATA, '--out', out], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    for (const pack of PACKS) {
      const committed = manifest(path.join(REPO_ROOT, 'models', pack));
      const rebuilt = manifest(path.join(out, pack));
      expect(rebuilt.classes.map((c) => c.name)).toEqual(committed.classes.map((c) => c.name));
      expect(rebuilt.inputs.map((i) => i.name)).toEqual(committed.inputs.map((i) => i.name));
      const keys = Object.keys(committed.metrics).filter((k) => SCORES.test(k));
      expect(keys.length, `${pack} states scores`).toBeGreaterThan(8);
      const off = keys.filter((k) => !(Math.abs(rebuilt.metrics[k] - committed.metrics[k]) <= REPRODUCED_WITHIN)).map((k) => `${k}: committed ${committed.metrics[k]}, rebuilt ${rebuilt.metrics[k]}`);
      expect(off, pack).toEqual([]);
    }
  });
});
