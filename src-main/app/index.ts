/**
 * Electron main: one secure window, the engine in a utility process, the IPC router, menus.
 * The only module family that imports `electron`.
 */
import { app, BrowserWindow, Menu, dialog, ipcMain, net, protocol, session, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_CHANNELS, type AppEvent, type MenuAction } from '../ipc/contract';
import { EngineSupervisor, type EngineProcess } from './engine-supervisor';
import { createRouter } from './ipc-router';
import { RecentProjects } from './recent';
import { hardenSession, hardenWebContents, isAppUrl, secureWebPreferences } from './security';
import { menuTemplate } from './menu';
import { openDialog, saveDialog } from './dialogs';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appFileUrl } from './app-protocol';

const here = path.dirname(fileURLToPath(import.meta.url));
const devServerUrl = process.env.ELECTRON_RENDERER_URL;

export function startApp(): void {
  // Must happen before 'ready': app:// becomes a standard, secure scheme (see app-protocol.ts).
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }]);
  const rendererDir = path.join(here, '../renderer');
  let win: BrowserWindow | null = null;
  const send = (event: AppEvent) => win?.webContents.send(IPC_CHANNELS.event, event);
  const recent = new RecentProjects(path.join(app.getPath('userData'), 'recent-projects.json'));

  const engine = new EngineSupervisor(
    () =>
      utilityProcess.fork(path.join(here, 'engine-host.js'), [
        `--work-dir=${path.join(app.getPath('userData'), 'work')}`,
        `--state-dir=${path.join(app.getPath('userData'), 'state')}`,
      ], {
        serviceName: 'FieldMoE engine',
        stdio: 'inherit',
        // Built-in packs: <resources>/models when packaged, the checkout's models/ otherwise.
        env: { ...process.env, FIELDMOE_MODELS: app.isPackaged ? path.join(process.resourcesPath, 'models') : path.join(app.getAppPath(), 'models') },
      }) as unknown as EngineProcess,
    send,
    { log: (line) => console.error(line) },
  );

  const refreshMenu = async () => {
    const sendMenu = (action: MenuAction, p?: string) => send({ type: 'menu', action, path: p });
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(sendMenu, await recent.list(), process.platform === 'darwin')));
  };

  const route = createRouter({
    engine,
    isTrustedSender: (url) => isAppUrl(url, devServerUrl),
    main: {
      'app.info': async () => ({ version: app.getVersion(), platform: process.platform, shell: 'electron' as const }),
      'dialog.open': async (p) => (win ? openDialog(dialog, win, p) : []),
      'dialog.save': async (p) => (win ? saveDialog(dialog, win, p) : null),
      'recent.list': () => recent.list(),
      'recent.add': async (p) => {
        const list = await recent.add(p.path);
        await refreshMenu();
        return list;
      },
    },
  });

  app.on('web-contents-created', (_e, contents) => hardenWebContents(contents, devServerUrl));
  app.whenReady().then(async () => {
    hardenSession(session.defaultSession, devServerUrl);
    protocol.handle(APP_SCHEME, (request) => {
      const file = appFileUrl(rendererDir, request.url);
      return file ? net.fetch(file) : new Response('not found', { status: 404 });
    });
    ipcMain.handle(IPC_CHANNELS.invoke, (event, method: unknown, params: unknown) => route(event.senderFrame?.url ?? '', method, params));
    engine.start();
    await refreshMenu();
    win = new BrowserWindow({
      width: 1280,
      height: 800,
      minWidth: 1024,
      minHeight: 640,
      show: false,
      title: 'FieldMoE',
      backgroundColor: '#15191e',
      webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
    });
    win.once('ready-to-show', () => win?.show());
    win.on('closed', () => (win = null));
    if (devServerUrl) await win.loadURL(devServerUrl);
    else await win.loadURL(APP_INDEX_URL);
  });
  app.on('window-all-closed', () => {
    engine.stop();
    app.quit();
  });
}

startApp();
