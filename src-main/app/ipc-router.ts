/**
 * The main-process end of the IPC contract: checks the sender, the method name and the params
 * (runtime validators from ipc/contract.ts) before anything runs; main-side methods are
 * answered here, engine methods go to the engine supervisor. Always answers with a Reply.
 */
import { METHODS, isMethodName, type MethodName, type Params, type Reply, type Result } from '../ipc/contract';
import { validate } from '../ipc/validate';
import { errorMessage } from '../engine/util/errors';

type MainMethod = { [M in MethodName]: (typeof METHODS)[M]['side'] extends 'main' ? M : never }[MethodName];
export type MainHandlers = { [M in MainMethod]: (params: Params<M>) => Promise<Result<M>> };

export interface RouterDeps {
  main: MainHandlers;
  engine: { request(method: string, params: unknown): Promise<Reply<unknown>> };
  /** Only the app's own pages may call in. */
  isTrustedSender: (url: string) => boolean;
}

export function createRouter(deps: RouterDeps) {
  return async function route(senderUrl: string, method: unknown, params: unknown): Promise<Reply<unknown>> {
    if (!deps.isTrustedSender(senderUrl)) return { ok: false, error: 'refused: request from an untrusted page' };
    if (!isMethodName(method)) return { ok: false, error: `unknown method: ${String(method).slice(0, 80)}` };
    const def = METHODS[method];
    const checked = validate(def.params as (v: unknown, p: string) => unknown, params ?? {});
    if (!checked.ok) return { ok: false, error: `${method}: ${checked.error}` };
    if (def.side === 'engine') return deps.engine.request(method, checked.value);
    try {
      const handler = deps.main[method as MainMethod] as (p: unknown) => Promise<unknown>;
      return { ok: true, result: await handler(checked.value) };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  };
}
