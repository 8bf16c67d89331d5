/**
 * Protocol results as data (the JSON report) and as Markdown tables in the papers' layout:
 * settings as rows, variants as columns, each cell the metrics x 100 (mean, and the standard
 * deviation over repeats when there are several), the best variant of each row in bold.
 * The findings compare the paper's method with every other variant row by row, so a report
 * states plainly where the paper's effect shows on our data and where it does not.
 */
import type { MetricKey } from './protocol';

export interface RunRecord {
  seed: number;
  metrics: Record<MetricKey, number>;
  seconds: number;
  details?: Record<string, unknown>;
}

export interface CellRecord {
  setting: string;
  variant: string;
  runs: RunRecord[];
  mean: Record<MetricKey, number>;
  std: Record<MetricKey, number>;
}

export interface ProtocolReport {
  name: string;
  title: string;
  mirrors: string;
  metrics: MetricKey[];
  reference: string;
  /** What the paper reports for this comparison, to hold the findings against. */
  claim?: string;
  rowHeaders: string[];
  description: string[];
  settings: { id: string; label: string[] }[];
  variants: { id: string; label: string; description: string }[];
  cells: CellRecord[];
  seconds: number;
}

export interface EvalReport {
  generated: string;
  command: string;
  /** loadAverage: 1/5/15-minute load when the report was written (other work on the machine slows the timings). */
  environment: { node: string; cpus: number; cpuModel: string; platform: string; loadAverage?: number[] };
  options: { quick: boolean; repeats: number; seed: number };
  protocols: ProtocolReport[];
  seconds: number;
}

const METRIC_LABELS: Record<MetricKey, string> = { oa: 'OA', kappa: 'kappa', miou: 'mIoU', macc: 'mAcc' };

/** Mean and population standard deviation of each metric over the runs. */
export function summarise(runs: readonly RunRecord[], metrics: readonly MetricKey[]): { mean: Record<MetricKey, number>; std: Record<MetricKey, number> } {
  const mean = {} as Record<MetricKey, number>;
  const std = {} as Record<MetricKey, number>;
  for (const m of metrics) {
    const v = runs.map((r) => r.metrics[m]);
    const mu = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
    mean[m] = mu;
    std[m] = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / Math.max(1, v.length));
  }
  return { mean, std };
}

const pct = (x: number) => (100 * x).toFixed(2);

function cellText(cell: CellRecord | undefined, metrics: readonly MetricKey[], bold: boolean): string {
  if (!cell) return '-';
  const parts = metrics.map((m) => (cell.runs.length > 1 ? `${pct(cell.mean[m])} ± ${pct(cell.std[m])}` : pct(cell.mean[m])));
  const text = parts.join(' / ');
  return bold ? `**${text}**` : text;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

/** The protocol's table in Markdown (rows = settings, columns = variants). */
export function renderTable(p: ProtocolReport): string {
  const cellOf = (s: string, v: string) => p.cells.find((c) => c.setting === s && c.variant === v);
  const key = p.metrics[0];
  const header = [...p.rowHeaders, ...p.variants.map((v) => v.label)];
  const lines = [`| ${header.map(escapeCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const s of p.settings) {
    const values = p.variants.map((v) => cellOf(s.id, v.id)?.mean[key] ?? -Infinity);
    const best = Math.max(...values);
    const row = [...s.label, ...p.variants.map((v, i) => cellText(cellOf(s.id, v.id), p.metrics, values[i] === best && best > -Infinity))];
    lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface Finding {
  variant: string;
  /** Rows where the reference scored higher on the first metric, and rows compared. */
  referenceBetter: number;
  rows: number;
  /** Mean of (reference - variant) on the first metric, in points (x 100). */
  meanGapPoints: number;
}

/** The paper's method against each other variant, row by row, on the table's first metric. */
export function findings(p: ProtocolReport): Finding[] {
  const key = p.metrics[0];
  const value = (s: string, v: string) => p.cells.find((c) => c.setting === s && c.variant === v)?.mean[key];
  return p.variants
    .filter((v) => v.id !== p.reference)
    .map((v) => {
      let better = 0;
      let rows = 0;
      let gap = 0;
      for (const s of p.settings) {
        const r = value(s.id, p.reference);
        const o = value(s.id, v.id);
        if (r === undefined || o === undefined) continue;
        rows++;
        gap += r - o;
        if (r > o) better++;
      }
      return { variant: v.id, referenceBetter: better, rows, meanGapPoints: rows ? (100 * gap) / rows : 0 };
    });
}

function findingLines(p: ProtocolReport): string[] {
  const label = (id: string) => p.variants.find((v) => v.id === id)?.label ?? id;
  const metric = METRIC_LABELS[p.metrics[0]];
  const lines = p.claim ? [`Paper's claim: ${p.claim}`, ''] : [];
  return lines.concat(
    findings(p).map((f) => {
      const where = f.referenceBetter === f.rows ? 'every row' : f.referenceBetter === 0 ? 'no row' : 'some rows only';
      const sign = f.meanGapPoints >= 0 ? '+' : '';
      return `- ${label(p.reference)} vs ${label(f.variant)}: ${label(p.reference)} better in ${f.referenceBetter} of ${f.rows} rows (${where}), mean ${metric} difference ${sign}${f.meanGapPoints.toFixed(2)} points.`;
    }),
  );
}

/** "2 repeat(s) per cell, seeds 0, 1", from the runs themselves (merged reports included). */
function repeatsText(r: EvalReport): string {
  const cells = r.protocols.flatMap((p) => p.cells);
  const seeds = [...new Set(cells.flatMap((c) => c.runs.map((x) => x.seed)))].sort((a, b) => a - b);
  const counts = [...new Set(cells.map((c) => c.runs.length))].sort((a, b) => a - b);
  const repeats = cells.length ? counts.join(' to ') : String(r.options.repeats);
  return `${repeats} repeat(s) per cell, seeds ${(seeds.length ? seeds : [r.options.seed]).join(', ')}`;
}

/**
 * Several reports of the same protocols (e.g. one run per seed) as one: each cell's runs are
 * concatenated (by seed) and re-summarised; protocols or cells present in only some reports are
 * kept. Descriptions and settings come from the first report that has the protocol.
 */
export function mergeReports(reports: readonly EvalReport[]): EvalReport {
  if (!reports.length) throw new Error('mergeReports: no report');
  const protocols = new Map<string, ProtocolReport>();
  for (const r of reports)
    for (const p of r.protocols) {
      const into = protocols.get(p.name);
      if (!into) {
        protocols.set(p.name, { ...p, cells: p.cells.map((c) => ({ ...c, runs: [...c.runs] })) });
        continue;
      }
      into.seconds += p.seconds;
      into.claim ??= p.claim;
      for (const c of p.cells) {
        const target = into.cells.find((x) => x.setting === c.setting && x.variant === c.variant);
        if (target) target.runs.push(...c.runs.filter((run) => !target.runs.some((x) => x.seed === run.seed)));
        else into.cells.push({ ...c, runs: [...c.runs] });
      }
    }
  for (const p of protocols.values())
    for (const c of p.cells) {
      c.runs.sort((a, b) => a.seed - b.seed);
      Object.assign(c, summarise(c.runs, ['oa', 'kappa', 'miou', 'macc']));
    }
  const last = reports[reports.length - 1];
  return {
    ...last,
    command: reports.map((r) => r.command).join(' + '),
    options: { ...last.options, repeats: Math.max(...[...protocols.values()].flatMap((p) => p.cells.map((c) => c.runs.length))), seed: Math.min(...reports.map((r) => r.options.seed)) },
    protocols: [...protocols.values()],
    seconds: reports.reduce((s, r) => s + r.seconds, 0),
  };
}

/** The whole report as Markdown. */
export function renderMarkdown(r: EvalReport): string {
  const out = [
    '# Paper protocols on the shared data',
    '',
    `Generated ${r.generated} by \`${r.command}\` in ${(r.seconds / 60).toFixed(1)} min on ${r.environment.cpus} x ${r.environment.cpuModel} (${r.environment.platform}, Node ${r.environment.node})${r.environment.loadAverage ? `; load average ${r.environment.loadAverage.join(' / ')} (1/5/15 min) at the end, so timings include other work on the machine` : ''}.`,
    `Mode: ${r.options.quick ? 'quick (smoke test: fewer settings, epochs and trees; numbers are not meaningful)' : 'full'}; ${repeatsText(r)}.`,
    'Cells are metrics x 100; with several repeats, mean ± standard deviation. Bold: best in the row on the first metric.',
  ];
  for (const p of r.protocols) {
    out.push('', `## ${p.title}`, '', `Mirrors: ${p.mirrors}. Metrics: ${p.metrics.map((m) => METRIC_LABELS[m]).join(' / ')} (x 100). Time: ${(p.seconds / 60).toFixed(1)} min.`, '');
    out.push(...p.description.map((d) => `- ${d}`), '', renderTable(p), '', '### Variants', '');
    out.push(...p.variants.map((v) => `- **${v.label}** (\`${v.id}\`): ${v.description}`), '', '### Findings (computed from the table)', '');
    out.push(...findingLines(p));
  }
  return out.join('\n') + '\n';
}
