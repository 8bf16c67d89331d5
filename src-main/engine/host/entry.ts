/**
 * Entry of the Electron utility process that runs the engine. It only uses Node APIs plus
 * `process.parentPort` (which Electron adds to utility processes), so it imports nothing from
 * `electron`. Arguments: --work-dir=<dir> --state-dir=<dir>.
 */
import { EngineHost, type HostToMain } from './host';
import { realServices } from './wiring';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

function arg(name: string): string {
  const prefix = `--${name}=`;
  const value = process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  if (!value) throw new Error(`engine host: missing ${prefix}<dir>`);
  return value;
}

async function main(): Promise<void> {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (!port) throw new Error('engine host: not started as an Electron utility process (no parentPort)');
  const host = new EngineHost({
    workDir: arg('work-dir'),
    stateDir: arg('state-dir'),
    services: await realServices(),
    send: (message: HostToMain) => port.postMessage(message),
    log: (line) => console.error(line),
  });
  port.on('message', (e) => host.handle(e.data));
  port.postMessage({ type: 'ready' } satisfies HostToMain);
}

// A stray rejection in a job must not kill the engine (and every job with it).
process.on('unhandledRejection', (err) => console.error('engine host: unhandled rejection', err));
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
