import type { Progress } from '../jobs/job';
import type { CliIO } from './command';

/** Renders job progress on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
export function progressPrinter(io: CliIO): { onProgress: (p: Progress) => void; done: () => void } {
  let lastDecile = -1;
  let drawn = false;
  return {
    onProgress(p) {
      const pct = Math.floor(p.fraction * 100);
      const line = `${p.stage} ${String(pct).padStart(3)}%${p.etaSeconds !== undefined && p.fraction < 1 ? `  ETA ${formatDuration(p.etaSeconds)}` : ''}`;
      if (io.isTTY) {
        io.err(`\r${line}\x1b[K`);
        drawn = true;
      } else if (Math.floor(pct / 10) > lastDecile) {
        lastDecile = Math.floor(pct / 10);
        io.err(`${line}\n`);
      }
    },
    done() {
      if (drawn) io.err('\n');
      drawn = false;
    },
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
