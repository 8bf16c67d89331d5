/**
 * `npm run eval:papers -- --quick` end to end on the shared data: every protocol, every variant,
 * one setting each, 1 epoch, 20 trees. Checks the report's structure and that the numbers are
 * real measurements (test sizes, sane ranges), not the papers' claims.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../scripts/eval-papers';
import type { EvalReport } from '../../src-main/engine/evaluation/index';
import { SHARED_DATA, sharedData } from '../helpers/paths';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-evalpapers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run eval:papers -- --quick', () => {
  it('runs both protocols and writes a JSON and a Markdown report', async () => {
    sharedData('houston2013-pixels');
    sharedData('eolearn-slovenia');
    const out = path.join(dir, 'quick');
    expect(await main(['--quick', '--data', SHARED_DATA, '--out', out])).toBe(0);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as EvalReport;
    expect(report.options).toEqual({ quick: true, repeats: 1, seed: 0 });
    expect(report.protocols.map((p) => p.name)).toEqual(['mamol-houston-regions', 'spectralmoe-slovenia']);

    const [houston, slovenia] = report.protocols;
    expect(houston.settings.map((s) => s.label)).toEqual([['70%', '65% / 65%']]);
    expect(houston.variants.map((v) => v.id)).toEqual(['frozen', 'moe-ada', 'moe-task', 'mamol', 'rf']);
    expect(slovenia.variants.map((v) => v.id)).toEqual(['frozen', 'lora', 'rein', 'wo-moe', 'wo-dual-gating', 'wo-depth', 'wo-cross-attention', 'spectralmoe', 'rf']);
    for (const p of report.protocols) {
      expect(p.cells).toHaveLength(p.settings.length * p.variants.length);
      for (const c of p.cells) for (const v of Object.values(c.mean)) expect(v).toBeGreaterThanOrEqual(-1), expect(v).toBeLessThanOrEqual(1);
    }
    // Houston: whole regions held out; one epoch already beats chance (1/15).
    const cell = (p: typeof houston, v: string) => p.cells.find((c) => c.variant === v)!;
    const forest = cell(houston, 'rf');
    expect(forest.runs[0].details?.forests).toHaveLength(3); // HS + LiDAR, HS only, LiDAR only
    for (const v of ['frozen', 'mamol']) expect(cell(houston, v).mean.oa).toBeGreaterThan(0.2);
    expect(forest.mean.oa).toBeGreaterThan(0.2);
    // Slovenia: four shared classes; every variant predicts something of the test half.
    for (const c of slovenia.cells) expect(c.mean.miou).toBeGreaterThan(0);

    const md = readFileSync(`${out}.md`, 'utf8');
    expect(md).toContain('| Missing rate | Train/Test HS / LiDAR | Frozen + head | MoE-ada | MoE-task | MaMOL | RF per subset |');
    expect(md).toContain('| Train -> test | Head only | LoRA | Rein | w/o MoE | w/o dual gating | w/o depth | w/o cross-attn | SpectralMoE | RF |');
    expect(md).toContain('The split is by spatial region');
    expect(md).toContain('0.0% of the test pixels lie in a region that also has training pixels');
    expect(md).toMatch(/MaMOL vs Frozen \+ head: MaMOL better in [01] of 1 rows/);
  });
});
