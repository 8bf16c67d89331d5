import * as ort from 'onnxruntime-node';
import os from 'node:os';

/** Execution providers in the order FieldMoE prefers them. */
export const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(name: string): name is Provider {
  return (PROVIDERS as readonly string[]).includes(name);
}

export interface SessionOptions {
  /** Providers to try in order; CPU is always appended as the last resort. Default: CPU only. */
  providers?: readonly Provider[];
  /** Intra-op threads; default: the machine's core count (at least 1). */
  threads?: number;
  /** Free-form logger for fallbacks. */
  log?: (line: string) => void;
  /**
   * Graph optimisation level (default 'all'). Float64 graphs checked against references should
   * use 'basic': level 'all' folds scalar scales into float32 matmul attributes.
   */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider that actually runs the graph. */
  provider: Provider;
  /** Providers that were tried and threw, with their messages. */
  fallbacks: { provider: Provider; error: string }[];
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The log lines of a fallback: each provider that failed, then the one that ran. */
export function unavailableLine(provider: Provider, error: string): string {
  return `execution provider ${provider} unavailable: ${error.split('\n')[0]}`;
}
export function fellBackLine(provider: Provider, fallbacks: OpenedSession['fallbacks']): string {
  return `execution provider: ${provider} (fell back from ${fallbacks.map((f) => f.provider).join(', ')})`;
}

/**
 * Opens an onnxruntime session on the first provider that works. GPU providers that are not
 * present throw on creation (they do on this CI machine); we catch, note why and move on, so the
 * caller always learns which provider really ran.
 */
export async function openSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<OpenedSession> {
  const order = [...(options.providers ?? []), 'cpu' as const].filter((p, i, all) => all.indexOf(p) === i);
  const fallbacks: OpenedSession['fallbacks'] = [];
  const threads = options.threads ?? defaultThreads();
  for (const provider of order) {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    try {
      const session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, sessionOptions)
          : await ort.InferenceSession.create(model, sessionOptions);
      if (fallbacks.length) options.log?.(fellBackLine(provider, fallbacks));
      return { session, provider, fallbacks };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      fallbacks.push({ provider, error });
      options.log?.(unavailableLine(provider, error));
      if (provider === 'cpu') throw err;
    }
  }
  throw new Error('unreachable: the CPU provider is always tried');
}
