/**
 * The e2e test bridge: serves the built renderer on localhost and stands in for Electron main
 * and the preload. POST /rpc carries one IPC call ({method, params}) through the same router as
 * main (runtime validation included) to the same EngineHost code the utility process runs;
 * GET /events streams AppEvents (server-sent events). The engine runs behind the real
 * EngineSupervisor (restart on crash included). Dialogs answer from a queue the test fills.
 */
import http from 'node:http';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { createRouter } from '../../src-main/app/ipc-router';
import { EngineSupervisor, type EngineProcess } from '../../src-main/app/engine-supervisor';
import { EngineHost, type HostToMain, type MainToHost } from '../../src-main/engine/host/host';
import type { EngineServices } from '../../src-main/engine/host/services';
import { realServices } from '../../src-main/engine/host/wiring';
import type { AppEvent } from '../../src-main/ipc/contract';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** JSON that carries bytes as {"$bytes": base64}, mirroring what Electron's structured clone keeps. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString('base64') } : v));
}

/**
 * The engine "utility process" of the bridge: the real EngineHost in this process behind the
 * same message protocol, so the real EngineSupervisor drives it, restarts included.
 */
class InProcessEngine extends EventEmitter {
  private readonly host: EngineHost;
  private dead = false;
  constructor(options: { workDir: string; stateDir: string; services: EngineServices }) {
    super();
    this.host = new EngineHost({ ...options, send: (m: HostToMain) => setImmediate(() => !this.dead && this.emit('message', m)), log: (l) => console.error(l) });
    setImmediate(() => this.emit('message', { type: 'ready' } satisfies HostToMain));
  }
  postMessage(message: MainToHost): void {
    if (!this.dead) this.host.handle(message);
  }
  kill(): boolean {
    this.die(0);
    return true;
  }
  /** What a native crash looks like from main: the process exits with a signal-ish code. */
  die(code: number): void {
    if (this.dead) return;
    this.dead = true;
    void this.host.dispose();
    this.emit('exit', code);
  }
}

export interface Bridge {
  url: string;
  /** Kills the engine as a crash would; the supervisor restarts it and tells the UI. */
  crashEngine(code: number): void;
  /**
   * Makes classify jobs wait (after they start, before any work) until the returned release is
   * called or the job is cancelled, so a test can act while a job is certainly still running.
   */
  holdClassify(): () => void;
  /** Holds the page's replies to `method` (the call itself completes) until release is called. */
  holdReplies(method: string): () => void;
  dialogAnswers: (string[] | string | null)[];
  calls: { method: string; ok: boolean; error?: string }[];
  close(): Promise<void>;
}

export async function startBridge(options: { rendererDir: string; workDir: string; stateDir: string }): Promise<Bridge> {
  const clients = new Set<http.ServerResponse>();
  const broadcast = (event: AppEvent) => {
    for (const c of clients) c.write(`data: ${encodeJson(event)}\n\n`);
  };
  const real = await realServices();
  let hold: Promise<void> | null = null;
  const heldReplies = new Map<string, Promise<void>>();
  const services: EngineServices = {
    ...real,
    classify: async (request, ctx) => {
      if (hold) await Promise.race([hold, new Promise((_, reject) => ctx.signal?.addEventListener('abort', () => reject(new Error('cancelled while held'))))]);
      return real.classify!(request, ctx);
    },
  };
  let current: InProcessEngine | null = null;
  const fork = () => (current = new InProcessEngine({ workDir: options.workDir, stateDir: options.stateDir, services })) as unknown as EngineProcess;
  const engine = new EngineSupervisor(fork, broadcast, {
    log: (line) => console.error(line),
  });
  engine.start();
  const recent: string[] = [];
  const dialogAnswers: Bridge['dialogAnswers'] = [];
  const calls: Bridge['calls'] = [];
  const nextAnswer = () => {
    if (!dialogAnswers.length) throw new Error('test bridge: a dialog opened but the test queued no answer');
    return dialogAnswers.shift()!;
  };
  const route = createRouter({
    engine,
    isTrustedSender: () => true,
    main: {
      'app.info': async () => ({ version: 'e2e', platform: process.platform, shell: 'test-bridge' as const }),
      'dialog.open': async () => {
        const a = nextAnswer();
        return a === null ? [] : Array.isArray(a) ? a : [a];
      },
      'dialog.save': async () => {
        const a = nextAnswer();
        return Array.isArray(a) ? a[0] ?? null : a;
      },
      'recent.list': async () => [...recent],
      'recent.add': async (p) => {
        recent.unshift(p.path);
        return [...recent];
      },
    },
  });

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/rpc') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const { method, params } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const reply = await route('http://localhost/', method, params);
        calls.push({ method, ok: reply.ok, error: reply.ok ? undefined : reply.error });
        await heldReplies.get(method);
        res.writeHead(200, { 'content-type': 'application/json' }).end(encodeJson(reply));
        return;
      }
      if (url.pathname === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(': connected\n\n');
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      const file = path.join(options.rendererDir, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
      if (!file.startsWith(options.rendererDir)) return void res.writeHead(403).end();
      const body = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch (err) {
      res.writeHead(404).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    dialogAnswers,
    calls,
    crashEngine: (code) => current?.die(code),
    holdClassify: () => {
      const gate = openableGate();
      hold = gate.closed;
      return () => {
        hold = null;
        gate.open();
      };
    },
    holdReplies: (method) => {
      const gate = openableGate();
      heldReplies.set(method, gate.closed);
      return () => {
        heldReplies.delete(method);
        gate.open();
      };
    },
    async close() {
      for (const c of clients) c.end();
      engine.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function openableGate(): { closed: Promise<void>; open: () => void } {
  let open!: () => void;
  const closed = new Promise<void>((resolve) => (open = resolve));
  return { closed, open };
}

/** Runs in the page before the app: the preload's `window.fieldmoe`, over HTTP instead of IPC. */
export const BRIDGE_CLIENT = `(() => {
  const decode = (text) => JSON.parse(text, (_k, v) => (v && typeof v === 'object' && typeof v.$bytes === 'string'
    ? Uint8Array.from(atob(v.$bytes), (c) => c.charCodeAt(0)) : v));
  const listeners = new Set();
  const source = new EventSource('/events');
  source.onmessage = (m) => { const e = decode(m.data); for (const l of listeners) l(e); };
  window.fieldmoe = {
    async invoke(method, params) {
      const res = await fetch('/rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method, params }) });
      const reply = decode(await res.text());
      if (!reply.ok) throw new Error(reply.error);
      return reply.result;
    },
    onEvent(listener) { listeners.add(listener); return () => listeners.delete(listener); },
  };
})();`;
