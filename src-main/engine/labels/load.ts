import path from 'node:path';
import { existsSync } from 'node:fs';
import { FieldMoeError } from '../util/errors';
import { throwIfCancelled } from '../jobs/job';
import { buildClassTable, classesFileFor, readClassesJson, type DeclaredClass } from './classes';
import { LabelAccumulator } from './build';
import { layerToPixel } from './crs';
import { readGeoJsonLabels } from './geojson';
import { readLabelRaster } from './raster';
import { rasterizePoint, rasterizePolygon } from './rasterize';
import { readShapefileLabels } from './shapefile';
import type { LabelGrid, LabelSet, LabelSourceKind } from './types';
import type { VectorLayer } from './vector';

export interface LoadLabelsOptions {
  /** Vector property holding the class (name or id). Default: the first of
   * CLASS_PROPERTY_CANDIDATES that every feature has (`label` before `class_id`), with a warning
   * where a better-ranked one was passed over or a generic one (`id`) chosen. */
  classProperty?: string;
  /** classes.json to use instead of the one found beside the labels. */
  classesFile?: string;
  /** Points label the pixel they fall in plus a disk of this radius in pixels (default 0). */
  pointRadius?: number;
  signal?: AbortSignal;
}

type Loader = (file: string, grid: LabelGrid, declared: DeclaredClass[], options: LoadLabelsOptions) => Promise<LabelSet>;

const vectorLoader =
  (read: (file: string, classProperty?: string) => Promise<VectorLayer>): Loader =>
  async (file, grid, declared, options) =>
    vectorLabels(await read(file, options.classProperty), grid, declared, options);

/** Label readers by file extension. */
const LOADERS: Record<string, Loader> = {
  '.tif': rasterLabels,
  '.tiff': rasterLabels,
  '.geojson': vectorLoader(readGeoJsonLabels),
  '.json': vectorLoader(readGeoJsonLabels),
  '.shp': vectorLoader(readShapefileLabels),
};

/**
 * Reads labels of any supported kind onto the scene grid (`scene.info` is a LabelGrid):
 * a label raster on that grid (the whole scene or a crop of it), GeoJSON or a shapefile (reprojected when its CRS differs).
 * Classes come from classes.json beside the file when present.
 */
export async function loadLabels(file: string, grid: LabelGrid, options: LoadLabelsOptions = {}): Promise<LabelSet> {
  const loader = LOADERS[path.extname(file).toLowerCase()];
  if (!loader) throw new FieldMoeError(file, `unsupported labels format (use ${Object.keys(LOADERS).join(', ')})`);
  if (!existsSync(file)) throw new FieldMoeError(file, 'file not found');
  const classesFile = options.classesFile ?? classesFileFor(file);
  const declared = classesFile ? readClassesJson(classesFile) : [];
  const set = await loader(file, grid, declared, options);
  if (set.x.length === 0) throw new FieldMoeError(file, 'no labelled pixels fall on the scene grid (check the CRS and extent)');
  return set;
}

async function rasterLabels(file: string, grid: LabelGrid, declared: DeclaredClass[], options: LoadLabelsOptions): Promise<LabelSet> {
  const px = await readLabelRaster(file, grid, options.signal);
  const table = buildClassTable(declared, new Set(px.value));
  const acc = new LabelAccumulator(grid.width, grid.height);
  for (let i = 0; i < px.x.length; i++) acc.add(px.x[i], px.y[i], table.indexOf(px.value[i]), -1);
  const warnings: string[] = [];
  const shadowed = declared.find((c) => c.id === px.nodata);
  if (shadowed) warnings.push(`class ${shadowed.id} (${shadowed.name}) is also the raster's nodata value, so its pixels read as unlabelled; set another nodata value (gdal_edit.py -a_nodata 0)`);
  if (px.negative) warnings.push(`${px.negative} pixels hold negative values, which are no class id, and read as unlabelled`);
  return acc.finish(file, 'raster', table, 0, warnings);
}

function vectorLabels(layer: VectorLayer, grid: LabelGrid, declared: DeclaredClass[], options: LoadLabelsOptions): LabelSet {
  const warnings = [...layer.warnings];
  const toPixel = layerToPixel(layer, grid, warnings);
  const table = buildClassTable(declared, layer.features.map((f) => f.classValue));
  const acc = new LabelAccumulator(grid.width, grid.height);
  const radius = options.pointRadius ?? 0;
  let empty = 0;
  for (const f of layer.features) {
    throwIfCancelled(options.signal);
    const cls = table.indexOf(f.classValue);
    let hits = 0;
    const visit = (x: number, y: number) => {
      hits++;
      acc.add(x, y, cls, f.index);
    };
    for (const p of f.points) rasterizePoint(toPixel(p), radius, grid.width, grid.height, visit);
    for (const rings of f.polygons) rasterizePolygon(rings.map((r) => r.map(toPixel)), grid.width, grid.height, visit);
    if (hits === 0) empty++;
  }
  if (empty > 0) warnings.push(`${empty} of ${layer.features.length} features cover no pixel centre of the scene grid (outside it or smaller than a pixel)`);
  return acc.finish(layer.file, vectorKind(layer), table, layer.features.length, warnings);
}

function vectorKind(layer: VectorLayer): LabelSourceKind {
  const hasPoints = layer.features.some((f) => f.points.length > 0);
  const hasPolygons = layer.features.some((f) => f.polygons.length > 0);
  return hasPoints && hasPolygons ? 'mixed' : hasPolygons ? 'polygons' : 'points';
}
