/**
 * A paper protocol = a data loader + settings (table rows) + variants (table columns) + the
 * metrics its table reports. The runner (run.ts) evaluates every (setting, variant, repeat)
 * cell the same way, so a protocol only says what to load and how each variant is fitted and
 * scored; protocols register themselves by name (a registry, not a switch).
 */
import type { JobContext } from '../jobs/job';
import type { Metrics } from '../eval/metrics';
import { FieldMoeError } from '../util/errors';

/** Metric keys of eval/metrics.ts that the tables can show (fractions, shown x 100). */
export type MetricKey = 'oa' | 'kappa' | 'miou' | 'macc';

export interface ProtocolOptions {
  /** Folder with the shared datasets (../shared/data beside the checkout). */
  dataDir: string;
  /** Smoke-test size: fewer settings, fewer epochs, fewer trees. */
  quick: boolean;
  /** Repeats per cell, seeds seed0, seed0 + 1, ... */
  repeats: number;
  seed: number;
  /** Overrides every model's training epochs (default: the protocol's). */
  epochs?: number;
  /** Intra-op threads for onnxruntime (default: all cores). */
  threads?: number;
}

/** What one variant produced in one cell. */
export interface CellResult {
  metrics: Metrics;
  seconds: number;
  /** Anything worth keeping per run (trainable parameters, losses, forests used). */
  details?: Record<string, unknown>;
}

export interface Setting {
  id: string;
  /** Row label(s) in the table, one per row-header column. */
  label: string[];
}

export interface Variant<D> {
  id: string;
  label: string;
  /** What it is, for the report's legend. */
  description: string;
  run(data: D, setting: Setting, seed: number, job: JobContext): Promise<CellResult>;
}

export interface Protocol<D> {
  name: string;
  title: string;
  /** The paper table it mirrors. */
  mirrors: string;
  metrics: MetricKey[];
  /** The paper's method (the variant the findings compare every other one with). */
  reference: string;
  /** What the paper reports for this comparison (shown above the findings). */
  claim: string;
  /** Run when no protocol is named (default true); a variant protocol kept for comparison says false. */
  inDefaultRun?: boolean;
  /** Headers of the row-label columns. */
  rowHeaders: string[];
  load(options: ProtocolOptions): Promise<D>;
  settings(data: D, options: ProtocolOptions): Setting[];
  variants(data: D, options: ProtocolOptions): Variant<D>[];
  /** Data, split, model and training facts for the report (stated, not hidden in code). */
  describe(data: D, options: ProtocolOptions): string[];
}

const PROTOCOLS = new Map<string, Protocol<unknown>>();

export function registerProtocol<D>(p: Protocol<D>): void {
  if (PROTOCOLS.has(p.name)) throw new Error(`protocol ${p.name} is registered twice`);
  PROTOCOLS.set(p.name, p as Protocol<unknown>);
}

export function getProtocol(name: string): Protocol<unknown> {
  const p = PROTOCOLS.get(name);
  if (!p) throw new FieldMoeError(`protocol "${name}"`, `is unknown (known: ${protocolNames().join(', ')})`);
  return p;
}

export function protocolNames(): string[] {
  return [...PROTOCOLS.keys()];
}

/** The protocols `npm run eval:papers` runs when none is named. */
export function defaultProtocolNames(): string[] {
  return [...PROTOCOLS.values()].filter((p) => p.inDefaultRun !== false).map((p) => p.name);
}
