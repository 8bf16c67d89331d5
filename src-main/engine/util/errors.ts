/**
 * Errors an analyst can act on: every one names the file (or input) and the problem in one
 * line. The CLI prints `message` alone; the app shows it in a toast. Anything that is not a
 * FieldMoeError is a bug and is reported with its stack.
 */
export class FieldMoeError extends Error {
  override readonly name = 'FieldMoeError';
  constructor(
    /** What the problem is about: a file path, a CLI flag, a manifest field. */
    readonly subject: string,
    /** The problem, phrased for the analyst, ideally with what to do. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${subject}: ${problem}`, options);
  }
}

/** Thrown when a job is cancelled through its AbortSignal. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

export function isCancelled(err: unknown): err is CancelledError {
  return err instanceof CancelledError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
