/** The protocol machinery with a toy protocol: registry, cells, repeats and seeds, report files. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeMetrics } from '../../../src-main/engine/eval/metrics';
import { getProtocol, protocolNames, registerProtocol, runProtocols, writeReport, type EvalReport } from '../../../src-main/engine/evaluation/index';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const CLASSES = [{ id: 1, name: 'x' }, { id: 2, name: 'y' }];
const calls: string[] = [];

/** Truth 0,1,0,1...; variant "good" predicts right except every `seed + 2`-th sample, "bad" always 0. */
registerProtocol<{ truth: number[] }>({
  name: 'toy-runner',
  title: 'Toy',
  mirrors: 'a test',
  metrics: ['oa', 'kappa'],
  reference: 'good',
  claim: 'good wins',
  rowHeaders: ['Setting'],
  load: async () => ({ truth: Array.from({ length: 20 }, (_, i) => i % 2) }),
  settings: (_d, o) => (o.quick ? [{ id: 's1', label: ['one'] }] : [{ id: 's1', label: ['one'] }, { id: 's2', label: ['two'] }]),
  variants: () => [
    { id: 'bad', label: 'Bad', description: 'predicts 0', run: async (d, s, seed) => (calls.push(`${s.id}/bad/${seed}`), { metrics: computeMetrics(d.truth, d.truth.map(() => 0), CLASSES), seconds: 0 }) },
    {
      id: 'good',
      label: 'Good',
      description: 'mostly right',
      run: async (d, s, seed) => (calls.push(`${s.id}/good/${seed}`), { metrics: computeMetrics(d.truth, d.truth.map((t, i) => (i % (seed + 2) === 0 ? 1 - t : t)), CLASSES), seconds: 0 }),
    },
  ],
  describe: () => ['toy data'],
});

describe('protocol runner', () => {
  it('registers the paper protocols and refuses unknown names', () => {
    expect(protocolNames()).toEqual(expect.arrayContaining(['mamol-houston', 'spectralmoe-slovenia']));
    expect(() => getProtocol('nope')).toThrow(/protocol "nope": is unknown \(known: .*mamol-houston/);
  });

  it('runs every setting x variant x repeat with consecutive seeds and writes JSON + Markdown', async () => {
    calls.length = 0;
    const report: EvalReport = await runProtocols(['toy-runner'], { dataDir: '.', quick: false, repeats: 2, seed: 3 }, 'test');
    expect(calls).toEqual(['s1/bad/3', 's1/bad/4', 's1/good/3', 's1/good/4', 's2/bad/3', 's2/bad/4', 's2/good/3', 's2/good/4']);
    const p = report.protocols[0];
    const good = p.cells.find((c) => c.setting === 's1' && c.variant === 'good')!;
    // seed 3: every 5th of 20 wrong (4) -> 0.8; seed 4: every 6th (0, 6, 12, 18) wrong -> 0.8
    expect(good.runs.map((r) => r.metrics.oa)).toEqual([0.8, 0.8]);
    expect(good.mean.oa).toBeCloseTo(0.8, 12);
    expect(p.cells.find((c) => c.variant === 'bad')!.mean.kappa).toBe(0);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldmoe-evalreport-'));
    dirs.push(dir);
    const files = await writeReport(report, path.join(dir, 'r'));
    expect(JSON.parse(readFileSync(files.json, 'utf8')).protocols[0].cells).toHaveLength(4);
    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain('| one | 50.00 ± 0.00 / 0.00 ± 0.00 | **80.00 ± 0.00 / 60.00 ± 0.00** |');
    expect(md).toContain('Good vs Bad: Good better in 2 of 2 rows (every row)');
  });

  it('quick mode and a variant filter shrink the run', async () => {
    calls.length = 0;
    await runProtocols(['toy-runner'], { dataDir: '.', quick: true, repeats: 1, seed: 0, variants: ['good'] }, 'test');
    expect(calls).toEqual(['s1/good/0']);
  });
});
