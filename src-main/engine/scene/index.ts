/** Public API of scenes: open, read windows, describe, statistics and failure suggestions. */
export * from './types';
export { openScene, type OpenSceneOptions } from './scene';
export { parseSensorFlag } from './sensorFlag';
export { resolveSceneSpec, type ResolvedSceneSpec } from './manifest';
export { guessSensorKind } from './kind';
