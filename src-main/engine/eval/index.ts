/** Public API of evaluation: metrics, the random-forest baseline and .npy exchange. */
export { computeMetrics, confusionMatrix, metricsFromConfusion, type Metrics, type ClassMetrics, type ConfusionMatrix } from './metrics';
export { randomForestBaseline, DEFAULT_PYTHON, RF_SCRIPT, type PixelSamples, type RandomForestOptions, type RandomForestResult } from './randomForest';
export { readNpy, writeNpy, type Npy, type NpyArray } from './npy';
