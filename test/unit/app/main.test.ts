import { describe, expect, it, vi, beforeAll } from 'vitest';
import { IPC_CHANNELS, type AppEvent } from '../../../src-main/ipc/contract';
import { state, fireReady, FakeWebContents } from './electron-mock';

vi.mock('electron', async () => (await import('./electron-mock')).electronMock);

const flush = () => new Promise((r) => setTimeout(r, 20));

beforeAll(async () => {
  await import('../../../src-main/app/index');
  fireReady();
  // whenReady's handler awaits file reads (recent projects) before it opens the window.
  for (let i = 0; i < 200 && state.loaded.length === 0; i++) await flush();
});

describe('Electron main (electron mocked)', () => {
  it('opens one window with secure web preferences', () => {
    expect(state.windows).toHaveLength(1);
    const prefs = state.windows[0].options.webPreferences;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, webSecurity: true, webviewTag: false, allowRunningInsecureContent: false });
    expect(String(prefs.preload)).toMatch(/preload[\\/]index\.cjs$/);
    expect(state.loaded[0]).toBe('app://fieldmoe/index.html');
    expect(state.schemes).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
  });

  it('denies every permission request and check', () => {
    const answers: boolean[] = [];
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal']) state.permissionRequest!({}, p, (ok) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false]);
    expect(state.permissionCheck!()).toBe(false);
  });

  it('blocks remote content and sets a strict CSP header', () => {
    const decide = (url: string) => {
      let cancel: boolean | undefined;
      state.beforeRequest!({ url }, (r) => (cancel = r.cancel));
      return cancel;
    };
    expect(decide('https://tiles.example.com/1/2/3.png')).toBe(true);
    expect(decide('http://localhost:8080/x')).toBe(true);
    expect(decide('wss://evil.example/socket')).toBe(true);
    expect(decide('app://fieldmoe/index.html')).toBe(false);
    let headers: Record<string, string[]> = {};
    state.headersReceived!({ responseHeaders: {} }, (r) => (headers = r.responseHeaders));
    const csp = headers['Content-Security-Policy'][0];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(eval|inline)/);
    expect(csp).not.toMatch(/https?:/);
  });

  it('blocks navigation, redirects, webviews and new windows in every web contents', () => {
    const contents = new FakeWebContents();
    state.appEvents.emit('web-contents-created', {}, contents);
    expect(contents.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    for (const event of ['will-navigate', 'will-redirect']) {
      const e = { preventDefault: vi.fn() };
      contents.emit(event, e, 'https://example.com/phish');
      expect(e.preventDefault).toHaveBeenCalled();
    }
    const w = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', w);
    expect(w.preventDefault).toHaveBeenCalled();
  });

  it('validates IPC in main: malformed or untrusted requests never reach the engine', async () => {
    const invoke = state.handlers.get(IPC_CHANNELS.invoke)!;
    const engine = state.forks[0];
    const before = engine.posted.length;
    const trusted = { senderFrame: { url: 'app://fieldmoe/index.html' } };
    expect(await invoke(trusted, 'scene.open', { path: 42 })).toEqual({ ok: false, error: 'scene.open: params.path: expected non-empty string, got number' });
    expect(await invoke(trusted, 'fs.readFile', { path: '/etc/passwd' })).toEqual({ ok: false, error: 'unknown method: fs.readFile' });
    expect(await invoke(trusted, 'render.tile', 'z=1')).toMatchObject({ ok: false });
    expect(await invoke({ senderFrame: { url: 'https://evil.example/' } }, 'engine.capabilities', {})).toEqual({ ok: false, error: 'refused: request from an untrusted page' });
    expect(engine.posted.length).toBe(before);
    // Main-side methods are answered in main.
    expect(await invoke(trusted, 'app.info', {})).toEqual({ ok: true, result: { version: '0.1.0-test', platform: process.platform, shell: 'electron' } });
  });

  it('starts the engine in a utility process and forwards valid requests once it is ready', async () => {
    const invoke = state.handlers.get(IPC_CHANNELS.invoke)!;
    const engine = state.forks[0];
    expect(engine.modulePath).toMatch(/engine-host\.js$/);
    expect(engine.args.some((a) => a.startsWith('--state-dir='))).toBe(true);
    expect(engine.options.env?.FIELDMOE_MODELS).toBe('/app/models');
    const pending = invoke({ senderFrame: { url: 'app://fieldmoe/index.html' } }, 'engine.capabilities', {}) as Promise<unknown>;
    await flush();
    expect(engine.posted).toHaveLength(0); // queued until the host says it is ready
    engine.emit('message', { type: 'ready' });
    const req = engine.posted[0] as { id: number; method: string };
    expect(req.method).toBe('engine.capabilities');
    engine.emit('message', { type: 'response', id: req.id, reply: { ok: true, result: { finetune: { available: false } } } });
    expect(await pending).toEqual({ ok: true, result: { finetune: { available: false } } });
  });

  it('restarts a crashed engine, fails its running job and tells the UI', async () => {
    const invoke = state.handlers.get(IPC_CHANNELS.invoke)!;
    const ui = state.windows[0].webContents;
    const engine = state.forks[0];
    const trusted = { senderFrame: { url: 'app://fieldmoe/index.html' } };
    const start = invoke(trusted, 'job.start', { kind: 'classify', params: { sceneId: 's', pack: '/p', provider: 'auto' } }) as Promise<unknown>;
    await flush();
    const req = engine.posted.at(-1) as { id: number };
    engine.emit('message', { type: 'response', id: req.id, reply: { ok: true, result: { jobId: 'job-1' } } });
    await start;
    const stats = invoke(trusted, 'scene.stats', { sceneId: 's', sensor: 'l7' }) as Promise<unknown>;
    await flush();
    engine.emit('exit', 139);
    expect(await stats).toEqual({ ok: false, error: 'the engine stopped unexpectedly (exit code 139); it was restarted, try again' });
    expect(state.forks).toHaveLength(2);
    const events = ui.sent.filter(([c]) => c === IPC_CHANNELS.event).map(([, e]) => e as AppEvent);
    expect(events).toContainEqual(expect.objectContaining({ type: 'job.failed', jobId: 'job-1', cancelled: false, error: expect.stringContaining('exit code 139') }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'engine.restarted' }));
    // The new engine serves requests.
    const fresh = state.forks[1];
    const caps = invoke(trusted, 'engine.capabilities', {}) as Promise<unknown>;
    fresh.emit('message', { type: 'ready' });
    await flush();
    const r = fresh.posted[0] as { id: number };
    fresh.emit('message', { type: 'response', id: r.id, reply: { ok: true, result: 'fresh' } });
    expect(await caps).toEqual({ ok: true, result: 'fresh' });
    // Events from the dead process are ignored.
    engine.emit('message', { type: 'event', event: { type: 'job.done', jobId: 'zombie', kind: 'classify', result: null } });
    expect(ui.sent.some(([, e]) => (e as { jobId?: string }).jobId === 'zombie')).toBe(false);
  });

  it('serves only files inside the renderer folder over app://', async () => {
    const handle = state.protocolHandlers.get('app')!;
    const ok = (await handle({ url: 'app://fieldmoe/assets/index.js' })) as { fetched: string };
    expect(ok.fetched).toMatch(/^file:\/\/.*[\\/]renderer[\\/]assets[\\/]index\.js$/);
    // The URL parser folds dot segments, so this stays inside the renderer folder.
    const folded = (await handle({ url: 'app://fieldmoe/../../etc/passwd' })) as { fetched: string };
    expect(folded.fetched).toMatch(/[\\/]renderer[\\/]etc[\\/]passwd$/);
    for (const url of ['app://fieldmoe/%2F..%2F..%2F..%2Fetc%2Fpasswd', 'app://evil/index.html']) {
      expect(((await handle({ url })) as Response).status).toBe(404);
    }
  });

  it('builds an application menu with keyboard accelerators for the main actions', () => {
    const menu = state.menu as { label?: string; submenu?: { label?: string; accelerator?: string }[] }[];
    const items = menu.flatMap((m) => m.submenu ?? []);
    const accel = (label: string) => items.find((i) => i.label === label)?.accelerator;
    expect(accel('Open Scene…')).toBe('CmdOrCtrl+O');
    expect(accel('Save Project')).toBe('CmdOrCtrl+S');
    expect(accel('Export Class Map…')).toBe('CmdOrCtrl+E');
    expect(accel('Classify')).toBe('CmdOrCtrl+Enter');
    expect(accel('Undo')).toBe('CmdOrCtrl+Z');
  });
});
