/** Flag readers and progress shared by the finetune, eval and train commands. */
import type { Progress } from '../../jobs/job';
import { FieldMoeError } from '../../util/errors';
import { stringFlag, type CliIO, type ParsedFlags } from '../command';
import { progressPrinter } from '../progress';
import type { MissingRequest } from '../../finetune/fit';
import { CLASS_PROPERTY_CANDIDATES } from '../../labels/index';
import { fellBackLine, isProvider, PROVIDERS, unavailableLine, type OpenedSession, type Provider } from '../../runtime/session';

export function floatFlag(flags: ParsedFlags, name: string, min: number, max: number): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!v.trim() || !Number.isFinite(n) || n < min || n > max) throw new FieldMoeError(`--${name}`, `"${v}" must be a number from ${min} to ${max}`);
  return n;
}

export const EP_USAGE = `  --ep <list>                 execution providers to try, comma-separated, in order:
                              ${PROVIDERS.join(', ')} (CPU is always the fallback)`;

/** `--ep cuda,webgpu`: the providers to try in order (openSession appends CPU). */
export function providersFlag(flags: ParsedFlags): Provider[] | undefined {
  const value = stringFlag(flags, 'ep');
  if (value === undefined) return undefined;
  return value.split(',').map((p) => {
    const name = p.trim().toLowerCase();
    if (!isProvider(name)) throw new FieldMoeError('--ep', `unknown execution provider "${p}"; use ${PROVIDERS.join(', ')}`);
    return name;
  });
}

/** A training run's fallbacks as classify's openSession log writes them: what failed, what ran. */
export function providerLines(run: Pick<OpenedSession, 'provider' | 'fallbacks'>): string {
  if (!run.fallbacks.length) return '';
  return [...run.fallbacks.map((f) => unavailableLine(f.provider, f.error)), fellBackLine(run.provider, run.fallbacks)].map((l) => `${l}\n`).join('');
}

/**
 * `--missing-rate r --missing-mode both|<sensor id>` (mode defaults to both). A mode alone comes
 * back without a rate: finetune.ts withRate gives it the architecture's default or refuses it.
 */
export function missingSimulationFlags(flags: ParsedFlags): MissingRequest | undefined {
  const rate = floatFlag(flags, 'missing-rate', 0, 1);
  const mode = stringFlag(flags, 'missing-mode');
  if (rate === undefined) return mode === undefined ? undefined : { mode };
  return { rate, mode: mode ?? 'both' };
}

/** `--class-property <name>`: the vector labels' attribute holding the class (labels/vector.ts pickClassValues). */
export const CLASS_PROPERTY_USAGE = `  --class-property <name>     GeoJSON/shapefile labels: the property holding the class (default:
                              the first present of ${CLASS_PROPERTY_CANDIDATES.slice(0, 4).join(', ')}, ...)`;
export const CLASS_PROPERTY_OPTIONS = { 'class-property': { type: 'string' } } as const;

export const MISSING_USAGE = `  --missing-rate <r>          share of training samples made incomplete (MaMOL packs; fine-tuning
                              MaMOL on two sensors or more defaults to 0.5, both; 0: none)
  --missing-mode both|<id>    both: each incomplete sample misses exactly one sensor, chosen
                              uniformly; <sensor id>: only that sensor goes missing (fine-tuning
                              MaMOL: alone, at rate 0.5)`;

/** Progress bar plus one line per epoch with training loss, validation loss/accuracy and ETA. */
export function trainingProgress(io: CliIO): { onProgress: (p: Progress) => void; done: () => void } {
  const bar = progressPrinter(io);
  return {
    onProgress(p) {
      if (p.stage === 'validate') {
        bar.done();
        io.err(`${p.message ?? ''}${p.etaSeconds !== undefined ? `  ETA ${Math.round(p.etaSeconds)}s` : ''}\n`);
      } else bar.onProgress(p);
    },
    done: bar.done,
  };
}
