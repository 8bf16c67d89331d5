/**
 * Runs the engine in a child (an Electron utility process in the app), forwards requests to it,
 * and restarts it when it dies: pending requests get an error reply, running jobs are reported
 * failed, and the UI is told the engine restarted. Electron-free so it is testable under Node;
 * index.ts passes a fork function backed by `utilityProcess.fork`.
 */
import type { AppEvent, JobKind, Reply } from '../ipc/contract';
import type { HostToMain, MainToHost } from '../engine/host/host';

export interface EngineProcess {
  postMessage(message: MainToHost): void;
  on(event: 'message', listener: (message: HostToMain) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}
export type ForkEngine = () => EngineProcess;

export interface SupervisorOptions {
  /** Give up restarting after this many crashes within `crashWindowMs` (a crash loop). */
  maxCrashes?: number;
  crashWindowMs?: number;
  log?: (line: string) => void;
}

export class EngineSupervisor {
  private child: EngineProcess | null = null;
  private ready = false;
  private stopping = false;
  private nextId = 1;
  private readonly queue: MainToHost[] = [];
  private readonly pending = new Map<number, { method: string; resolve: (r: Reply<unknown>) => void }>();
  private readonly jobs = new Map<string, JobKind>();
  private crashes: number[] = [];
  /** Bumps on every (re)start; tests and the UI can read it. */
  generation = 0;

  constructor(
    private readonly fork: ForkEngine,
    private readonly onEvent: (event: AppEvent) => void,
    private readonly options: SupervisorOptions = {},
  ) {}

  start(): void {
    this.stopping = false;
    this.ready = false;
    this.generation++;
    const child = this.fork();
    this.child = child;
    child.on('message', (message) => {
      if (this.child === child) this.receive(message);
    });
    child.on('exit', (code) => {
      if (this.child === child) this.exited(code);
    });
  }

  /** Sends one request; resolves with the engine's reply, or an error reply if the engine dies. */
  request(method: string, params: unknown): Promise<Reply<unknown>> {
    if (!this.child) return Promise.resolve({ ok: false, error: 'the engine is not running' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, {
        method,
        resolve: (reply) => {
          if (method === 'job.start' && reply.ok) {
            const kind = (params as { kind?: JobKind }).kind ?? 'classify';
            this.jobs.set((reply.result as { jobId: string }).jobId, kind);
          }
          resolve(reply);
        },
      });
      this.send({ type: 'request', id, method, params });
    });
  }

  cancel(jobId: string): void {
    this.send({ type: 'cancel', jobId });
  }

  runningJobs(): string[] {
    return [...this.jobs.keys()];
  }

  stop(): void {
    this.stopping = true;
    this.child?.kill();
    this.child = null;
  }

  private send(message: MainToHost): void {
    if (this.ready && this.child) this.child.postMessage(message);
    else this.queue.push(message);
  }

  private receive(message: HostToMain): void {
    if (message.type === 'ready') {
      this.ready = true;
      for (const m of this.queue.splice(0)) this.child?.postMessage(m);
    } else if (message.type === 'response') {
      const p = this.pending.get(message.id);
      this.pending.delete(message.id);
      p?.resolve(message.reply);
    } else if (message.type === 'event') {
      const e = message.event;
      if (e.type === 'job.done' || e.type === 'job.failed') this.jobs.delete(e.jobId);
      this.onEvent(e);
    }
  }

  private exited(code: number): void {
    this.child = null;
    this.ready = false;
    if (this.stopping) return;
    const reason = `the engine stopped unexpectedly (exit code ${code})`;
    this.options.log?.(reason);
    for (const [, p] of this.pending) p.resolve({ ok: false, error: `${reason}; it was restarted, try again` });
    this.pending.clear();
    // Requests queued for the dead process must not reach the new one out of context.
    this.queue.splice(0);
    for (const [jobId, kind] of this.jobs) this.onEvent({ type: 'job.failed', jobId, kind, error: `${reason} while this job ran; the engine was restarted`, cancelled: false });
    this.jobs.clear();

    const now = Date.now();
    const window = this.options.crashWindowMs ?? 60_000;
    this.crashes = [...this.crashes.filter((t) => now - t < window), now];
    if (this.crashes.length > (this.options.maxCrashes ?? 5)) {
      this.onEvent({ type: 'engine.restarted', reason: `${reason}; it crashed ${this.crashes.length} times in a minute and was not restarted again. Save your project and restart FieldMoE.` });
      return;
    }
    this.start();
    this.onEvent({ type: 'engine.restarted', reason: `${reason}; it was restarted. Open scenes were reloaded; running jobs failed.` });
  }
}
