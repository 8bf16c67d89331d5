import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

/**
 * A stand-in for the parts of `electron` main uses, recording what the app asks for, so the
 * main process runs under Node in tests (there is no Electron binary here).
 */
export class FakeUtilityProcess extends EventEmitter {
  posted: unknown[] = [];
  killed = false;
  constructor(readonly modulePath: string, readonly args: string[], readonly options: { env?: Record<string, string> } = {}) {
    super();
  }
  postMessage(m: unknown) {
    this.posted.push(m);
  }
  kill() {
    this.killed = true;
    return true;
  }
}

export class FakeWebContents extends EventEmitter {
  windowOpenHandler?: (d: { url: string }) => { action: string };
  sent: [string, unknown][] = [];
  url = 'app://fieldmoe/index.html';
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = h;
  }
  getURL() {
    return this.url;
  }
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
  }
}

export const state = {
  windows: [] as FakeBrowserWindow[],
  forks: [] as FakeUtilityProcess[],
  handlers: new Map<string, (...args: unknown[]) => unknown>(),
  appEvents: new EventEmitter(),
  permissionRequest: undefined as undefined | ((wc: unknown, perm: string, cb: (ok: boolean) => void) => void),
  permissionCheck: undefined as undefined | (() => boolean),
  beforeRequest: undefined as undefined | ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void),
  headersReceived: undefined as undefined | ((d: { responseHeaders: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void),
  menu: undefined as unknown,
  schemes: [] as unknown[],
  protocolHandlers: new Map<string, (req: { url: string }) => unknown>(),
  loaded: [] as string[],
};

export class FakeBrowserWindow extends EventEmitter {
  webContents = new FakeWebContents();
  constructor(readonly options: { webPreferences: Record<string, unknown> }) {
    super();
    state.windows.push(this);
  }
  async loadFile(p: string) {
    state.loaded.push(p);
  }
  async loadURL(u: string) {
    state.loaded.push(u);
  }
  show() {}
}

let readyResolve!: () => void;
const ready = new Promise<void>((r) => (readyResolve = r));
export function fireReady() {
  readyResolve();
}

export const electronMock = {
  app: {
    getPath: () => '/tmp/fieldmoe-test-userdata',
    getVersion: () => '0.1.0-test',
    getAppPath: () => '/app',
    isPackaged: false,
    whenReady: () => ready,
    on: (event: string, l: (...a: unknown[]) => void) => state.appEvents.on(event, l),
    quit: vi.fn(),
  },
  BrowserWindow: FakeBrowserWindow,
  Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => (state.menu = m) },
  dialog: { showOpenDialog: vi.fn(async () => ({ canceled: true, filePaths: [] })), showSaveDialog: vi.fn(async () => ({ canceled: true })) },
  ipcMain: { handle: (channel: string, h: (...a: unknown[]) => unknown) => state.handlers.set(channel, h) },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h: typeof state.permissionRequest) => (state.permissionRequest = h),
      setPermissionCheckHandler: (h: typeof state.permissionCheck) => (state.permissionCheck = h),
      webRequest: {
        onBeforeRequest: (h: typeof state.beforeRequest) => (state.beforeRequest = h),
        onHeadersReceived: (h: typeof state.headersReceived) => (state.headersReceived = h),
      },
    },
  },
  protocol: {
    registerSchemesAsPrivileged: (s: unknown[]) => state.schemes.push(...s),
    handle: (scheme: string, h: (req: { url: string }) => unknown) => state.protocolHandlers.set(scheme, h),
  },
  net: { fetch: vi.fn(async (url: string) => ({ fetched: url })) },
  utilityProcess: {
    fork: (modulePath: string, args: string[], options?: { env?: Record<string, string> }) => {
      const p = new FakeUtilityProcess(modulePath, args, options);
      state.forks.push(p);
      return p;
    },
  },
};
