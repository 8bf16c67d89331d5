/**
 * Runs registered protocols cell by cell (setting x variant x repeat) and collects the report.
 * Each cell's metrics come from eval/metrics.ts, for models and baselines alike.
 */
import os from 'node:os';
import { ProgressMeter, throwIfCancelled, type JobContext } from '../jobs/job';
import { writeFileAtomic } from '../util/atomic';
import { getProtocol, type Protocol, type ProtocolOptions } from './protocol';
import { renderMarkdown, summarise, type CellRecord, type EvalReport, type ProtocolReport, type RunRecord } from './report';

export interface RunOptions extends ProtocolOptions {
  /** Only these variants (ids); all when empty. */
  variants?: string[];
  /** Called after every cell, e.g. to log progress. */
  onCell?: (protocol: string, cell: CellRecord) => void;
}

/** Evaluates one protocol: every setting x variant x repeat. */
export async function runProtocol<D>(protocol: Protocol<D>, options: RunOptions, job: JobContext = {}): Promise<ProtocolReport> {
  const started = performance.now();
  const data = await protocol.load(options);
  const settings = protocol.settings(data, options);
  const variants = protocol.variants(data, options).filter((v) => !options.variants?.length || options.variants.includes(v.id));
  const cells: CellRecord[] = [];
  const meter = new ProgressMeter(protocol.name, settings.length * variants.length * options.repeats, (p) => job.onProgress?.(p));
  let done = 0;
  for (const setting of settings) {
    for (const variant of variants) {
      const runs: RunRecord[] = [];
      for (let r = 0; r < options.repeats; r++) {
        throwIfCancelled(job.signal);
        const seed = options.seed + r;
        const result = await variant.run(data, setting, seed, { signal: job.signal });
        const m = result.metrics;
        runs.push({ seed, metrics: { oa: m.oa, kappa: m.kappa, miou: m.miou, macc: m.macc }, seconds: result.seconds, details: result.details });
        meter.update(++done, `${setting.id} ${variant.id} seed ${seed}`);
      }
      const cell: CellRecord = { setting: setting.id, variant: variant.id, runs, ...summarise(runs, ['oa', 'kappa', 'miou', 'macc']) };
      cells.push(cell);
      options.onCell?.(protocol.name, cell);
    }
  }
  return {
    name: protocol.name,
    title: protocol.title,
    mirrors: protocol.mirrors,
    metrics: protocol.metrics,
    reference: protocol.reference,
    claim: protocol.claim,
    rowHeaders: protocol.rowHeaders,
    description: protocol.describe(data, options),
    settings: settings.map((s) => ({ id: s.id, label: s.label })),
    variants: variants.map((v) => ({ id: v.id, label: v.label, description: v.description })),
    cells,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Runs the named protocols in order and returns the whole report; `onProtocol` receives the
 * report so far after each protocol (so a long run can be saved as it goes).
 */
export async function runProtocols(
  names: readonly string[],
  options: RunOptions,
  command: string,
  job: JobContext = {},
  onProtocol?: (partial: EvalReport) => Promise<void>,
): Promise<EvalReport> {
  const started = performance.now();
  const protocols: ProtocolReport[] = [];
  const cpus = os.cpus();
  const snapshot = (): EvalReport => ({
    generated: new Date().toISOString(),
    command,
    environment: { node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) },
    options: { quick: options.quick, repeats: options.repeats, seed: options.seed },
    protocols: [...protocols],
    seconds: (performance.now() - started) / 1000,
  });
  for (const name of names) {
    protocols.push(await runProtocol(getProtocol(name), options, job));
    await onProtocol?.(snapshot());
  }
  return snapshot();
}

/** Writes `<base>.json` and `<base>.md`, each atomically. */
export async function writeReport(report: EvalReport, base: string): Promise<{ json: string; markdown: string }> {
  const json = `${base}.json`;
  const markdown = `${base}.md`;
  await writeFileAtomic(json, JSON.stringify(report, null, 1) + '\n');
  await writeFileAtomic(markdown, renderMarkdown(report));
  return { json, markdown };
}
