import { describe, expect, it } from 'vitest';
import { findings, mergeReports, renderMarkdown, renderTable, summarise, type EvalReport, type ProtocolReport, type RunRecord } from '../../../src-main/engine/evaluation/index';

const run = (seed: number, oa: number, kappa: number): RunRecord => ({ seed, metrics: { oa, kappa, miou: 0, macc: 0 }, seconds: 1 });

function protocol(): ProtocolReport {
  const cell = (setting: string, variant: string, runs: RunRecord[]) => ({ setting, variant, runs, ...summarise(runs, ['oa', 'kappa', 'miou', 'macc']) });
  return {
    name: 'toy',
    title: 'Toy',
    mirrors: 'nothing',
    metrics: ['oa', 'kappa'],
    reference: 'ours',
    claim: 'ours wins',
    rowHeaders: ['Rate', 'HS / LiDAR'],
    description: ['a toy protocol'],
    settings: [
      { id: 'a', label: ['50%', '100% / 50%'] },
      { id: 'b', label: ['90%', '55% / 55%'] },
    ],
    variants: [
      { id: 'base', label: 'Base', description: 'baseline' },
      { id: 'ours', label: 'Ours', description: 'the method' },
    ],
    cells: [
      cell('a', 'base', [run(0, 0.8, 0.7)]),
      cell('a', 'ours', [run(0, 0.9, 0.85)]),
      cell('b', 'base', [run(0, 0.6, 0.5)]),
      cell('b', 'ours', [run(0, 0.5, 0.4)]),
    ],
    seconds: 3,
  };
}

describe('protocol report', () => {
  it('summarises repeats as mean and population standard deviation', () => {
    const s = summarise([run(0, 0.8, 0.6), run(1, 0.9, 0.8)], ['oa', 'kappa']);
    expect(s.mean.oa).toBeCloseTo(0.85, 12);
    expect(s.std.oa).toBeCloseTo(0.05, 12);
    expect(s.mean.kappa).toBeCloseTo(0.7, 12);
    expect(s.std.kappa).toBeCloseTo(0.1, 12);
  });

  it('renders settings as rows and variants as columns, metrics x 100, the best of each row in bold', () => {
    const lines = renderTable(protocol()).split('\n');
    expect(lines[0]).toBe('| Rate | HS / LiDAR | Base | Ours |');
    expect(lines[1]).toBe('|---|---|---|---|');
    expect(lines[2]).toBe('| 50% | 100% / 50% | 80.00 / 70.00 | **90.00 / 85.00** |');
    expect(lines[3]).toBe('| 90% | 55% / 55% | **60.00 / 50.00** | 50.00 / 40.00 |');
  });

  it('shows mean ± std when a cell has several repeats', () => {
    const p = protocol();
    p.cells[0] = { setting: 'a', variant: 'base', runs: [run(0, 0.8, 0.7), run(1, 0.7, 0.6)], ...summarise([run(0, 0.8, 0.7), run(1, 0.7, 0.6)], ['oa', 'kappa']) };
    expect(renderTable(p)).toContain('| 75.00 ± 5.00 / 65.00 ± 5.00 |');
  });

  it('findings count the rows where the paper\'s method wins and the mean gap, including where it loses', () => {
    const [f] = findings(protocol());
    expect(f.variant).toBe('base');
    expect(f.referenceBetter).toBe(1);
    expect(f.rows).toBe(2);
    expect(f.meanGapPoints).toBeCloseTo(0, 10); // +10 and -10 points
  });

  it('the Markdown report states mode, seeds, the description, the table and the verdicts', () => {
    const report: EvalReport = {
      generated: '2026-11-27T00:00:00.000Z',
      command: 'npm run eval:papers',
      environment: { node: 'v20', cpus: 2, cpuModel: 'cpu', platform: 'linux x64' },
      options: { quick: false, repeats: 2, seed: 5 },
      protocols: [protocol()],
      seconds: 120,
    };
    const md = renderMarkdown(report);
    expect(md).toContain('1 repeat(s) per cell, seeds 0.'); // from the runs, not the options
    expect(md).toContain('## Toy');
    expect(md).toContain('- a toy protocol');
    expect(md).toContain('| 50% | 100% / 50% |');
    expect(md).toContain('Ours vs Base: Ours better in 1 of 2 rows (some rows only), mean OA difference +0.00 points.');
    expect(md).toContain("Paper's claim: ours wins");
  });
});

describe('merging reports', () => {
  it('concatenates each cell\'s runs across reports (one per seed), re-summarises, and states the seeds', () => {
    const base = (seed: number, oa: number): EvalReport => {
      const p = protocol();
      p.cells = p.cells.map((c) => {
        const runs = [run(seed, oa, oa)];
        return { ...c, runs, ...summarise(runs, ['oa', 'kappa', 'miou', 'macc']) };
      });
      return { generated: 'x', command: `seed ${seed}`, environment: { node: 'v20', cpus: 2, cpuModel: 'cpu', platform: 'linux' }, options: { quick: false, repeats: 1, seed }, protocols: [p], seconds: 10 };
    };
    const merged = mergeReports([base(1, 0.6), base(0, 0.8), base(1, 0.6)]);
    const cell = merged.protocols[0].cells[0];
    expect(cell.runs.map((r) => r.seed)).toEqual([0, 1]); // the duplicate seed-1 run is not counted twice
    expect(cell.mean.oa).toBeCloseTo(0.7, 12);
    expect(cell.std.oa).toBeCloseTo(0.1, 12);
    expect(merged.options).toMatchObject({ repeats: 2, seed: 0 });
    expect(merged.seconds).toBe(30);
    expect(renderMarkdown(merged)).toContain('2 repeat(s) per cell, seeds 0, 1');
  });
});
