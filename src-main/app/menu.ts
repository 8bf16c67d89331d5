import type { MenuItemConstructorOptions } from 'electron';
import type { MenuAction } from '../ipc/contract';

/** The application menu; every item sends a MenuAction to the renderer, which owns the workflow. */
export function menuTemplate(send: (action: MenuAction, path?: string) => void, recent: string[], isMac: boolean): MenuItemConstructorOptions[] {
  const item = (label: string, action: MenuAction, accelerator?: string): MenuItemConstructorOptions => ({ label, accelerator, click: () => send(action) });
  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      item('Open Scene…', 'open-scene', 'CmdOrCtrl+O'),
      item('Open Project…', 'open-project', 'CmdOrCtrl+Shift+O'),
      {
        label: 'Recent Projects',
        submenu: recent.length ? recent.map((p) => ({ label: p, click: () => send('open-project', p) })) : [{ label: '(none)', enabled: false }],
      },
      { type: 'separator' },
      item('Save Project', 'save-project', 'CmdOrCtrl+S'),
      item('Save Project As…', 'save-project-as', 'CmdOrCtrl+Shift+S'),
      { type: 'separator' },
      item('Export Class Map…', 'export', 'CmdOrCtrl+E'),
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  };
  const edit: MenuItemConstructorOptions = {
    label: '&Edit',
    submenu: [item('Undo', 'undo', 'CmdOrCtrl+Z'), item('Redo', 'redo', 'CmdOrCtrl+Shift+Z'), { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }],
  };
  const run: MenuItemConstructorOptions = { label: '&Run', submenu: [item('Classify', 'classify', 'CmdOrCtrl+Enter')] };
  const view: MenuItemConstructorOptions = { label: '&View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] };
  const help: MenuItemConstructorOptions = { label: '&Help', submenu: [item('About FieldMoE', 'about')] };
  return [...(isMac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []), file, edit, view, run, help];
}
