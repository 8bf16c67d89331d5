/**
 * Connects the host to the engine modules that are in this build. A capability appears here only
 * once its engine code exists; until then the UI shows it as unavailable with the reason from
 * services.ts.
 */
import { openScene } from '../scene/scene';
import type { EngineServices } from './services';

export async function realServices(): Promise<EngineServices> {
  return {
    openScene: (spec) => openScene(spec),
  };
}
