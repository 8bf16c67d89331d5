/**
 * Preload (sandboxed): exposes exactly the typed contract as `window.fieldmoe`: one invoke and
 * one event subscription. No Node or Electron object reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNELS, type AppEvent, type FieldMoeApi, type Reply } from '../ipc/contract';

const api: FieldMoeApi = {
  async invoke(method, params) {
    const reply = (await ipcRenderer.invoke(IPC_CHANNELS.invoke, method, params)) as Reply<never>;
    if (!reply.ok) throw new Error(reply.error);
    return reply.result;
  },
  onEvent(listener) {
    const wrapped = (_e: unknown, event: AppEvent) => listener(event);
    ipcRenderer.on(IPC_CHANNELS.event, wrapped);
    return () => ipcRenderer.removeListener(IPC_CHANNELS.event, wrapped);
  },
};

contextBridge.exposeInMainWorld('fieldmoe', api);
