import type { FieldMoeApi } from '../../../src-main/ipc/contract';

declare global {
  interface Window {
    /** Exposed by the preload in the app, or by the e2e test bridge. */
    fieldmoe?: FieldMoeApi;
  }
}

function missing(): never {
  throw new Error('FieldMoE engine bridge missing: start the app with `npm start` (the page alone has no engine)');
}

/** The typed contract; every call is validated again in main before it runs. */
export const api: FieldMoeApi = {
  invoke: (method, params) => (window.fieldmoe ? window.fieldmoe.invoke(method, params) : missing()),
  onEvent: (listener) => (window.fieldmoe ? window.fieldmoe.onEvent(listener) : () => undefined),
};
