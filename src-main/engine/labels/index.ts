/** Public API of the labels area: reading labels onto a scene grid, class sets, sampling, splits. */
export type { LabelGrid, LabelSet, LabelClass, LabelSourceKind, Rgb } from './types';
export { loadLabels, type LoadLabelsOptions } from './load';
export { CLASS_PROPERTY_CANDIDATES } from './vector';
export { mapToPackClasses, normalizeClassName, generatedColor, readClassesJson, classesFileFor, type PackClassMapping, type DeclaredClass } from './classes';
export { splitLabels, type SplitOptions, type LabelSplit, type SplitUnit } from './split';
export { samplePatches, patchAround, subsamplePerClass, LabelLookup, type PatchSamplingOptions, type PatchSample } from './sampling';
export { readLabelledPixels, type LabelledPixels } from './pixels';
export { labelledArea, labelledWindows, cropLabels, placeLabels } from './window';
