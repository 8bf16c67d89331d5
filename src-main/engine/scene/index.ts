/** Public API of scenes: open, read windows, describe, statistics and failure suggestions. */
export * from './types';
export { openScene, type OpenSceneOptions } from './scene';
export { parseSensorFlag } from './sensorFlag';
export { resolveSceneSpec, type ResolvedSceneSpec } from './manifest';
export { guessSensorKind } from './kind';
export { describeScene, jsonNodata, type SceneDescription, type SensorDescription, type JsonNodata } from './describe';
export {
  sceneStats, suggestFailures, FAILURE_THRESHOLDS,
  type SceneStats, type SensorStats, type BandStats, type SceneStatsOptions, type FailureSuggestion, type FailureProblem,
} from './stats';
export { bandsWithoutData, noDataError, type EmptyBandsOptions } from './emptyBands';
