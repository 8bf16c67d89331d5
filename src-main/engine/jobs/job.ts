import { CancelledError } from '../util/errors';

/** One progress report of a long job. `fraction` is in 0..1; ETA is in seconds when known. */
export interface Progress {
  stage: string;
  fraction: number;
  etaSeconds?: number;
  message?: string;
}

/**
 * What every long engine job receives: a signal to cancel it and a sink for progress.
 * The same object is built by the CLI (Ctrl-C), the utility process (IPC) and tests.
 */
export interface JobContext {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * Turns "done k of n" into progress events with an ETA from the mean rate so far, throttled so
 * a fast loop does not flood IPC or stderr.
 */
export class ProgressMeter {
  private readonly start = performance.now();
  private lastEmit = -Infinity;

  constructor(
    private readonly stage: string,
    private readonly total: number,
    private readonly sink?: (p: Progress) => void,
    private readonly minIntervalMs = 200,
  ) {}

  update(done: number, message?: string): void {
    if (!this.sink) return;
    const now = performance.now();
    const finished = done >= this.total;
    if (!finished && now - this.lastEmit < this.minIntervalMs) return;
    this.lastEmit = now;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const elapsed = (now - this.start) / 1000;
    const etaSeconds = done > 0 ? (elapsed / done) * (this.total - done) : undefined;
    this.sink({ stage: this.stage, fraction, etaSeconds, message });
  }
}
