import type { Crs, GeoTransform } from '../scene/types';

/**
 * The pixel grid labels are placed on. `SceneInfo` satisfies it, so callers pass `scene.info`;
 * tests and tools can describe a grid without opening a scene.
 */
export interface LabelGrid {
  width: number;
  height: number;
  geoTransform?: GeoTransform;
  crs?: Crs;
}

export type Rgb = [number, number, number];

/** One class of a label set. Its position in `LabelSet.classes` is the class index. */
export interface LabelClass {
  /** The id in the labels (raster value, `class_id`, classes.json id). */
  id: number;
  name: string;
  /** From classes.json when given there, otherwise generated (deterministic, distinct). */
  color: Rgb;
}

export type LabelSourceKind = 'raster' | 'points' | 'polygons' | 'mixed';

/**
 * Labelled pixels on a scene grid, stored sparse (struct of arrays, sorted by row then column).
 * Pixel i is at (x[i], y[i]) with class `classes[classIndex[i]]`; `featureId[i]` is the vector
 * feature (0-based order in the file) it came from, or -1 for raster labels. Features group
 * pixels for the validation split.
 */
export interface LabelSet {
  /** The labels file. */
  source: string;
  kind: LabelSourceKind;
  width: number;
  height: number;
  classes: LabelClass[];
  x: Uint32Array;
  y: Uint32Array;
  classIndex: Uint16Array;
  featureId: Int32Array;
  /** Number of features in the file (0 for rasters). */
  featureCount: number;
  /** Labelled pixels per class index. */
  classCounts: number[];
  /** Things the analyst should know (pixels dropped for conflicting classes, assumed CRS...). */
  warnings: string[];
}

/** The class of a feature as written in the file: a name (string) or an id (number). */
export type ClassValue = string | number;
