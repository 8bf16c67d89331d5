/**
 * The labels the analyst drew, as a GeoJSON file the engine's labels loader reads (the same
 * format as a labels file on disk): polygons in the scene CRS (named by a GeoJSON `crs`
 * member), each with `label` (class name, matched to pack classes by name) and `class_id`.
 */
import { FieldMoeError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';
import type { Crs } from '../scene/types';
import type { ClassDef, LabelShape } from '../../ipc/contract';

export function labelsToGeoJson(labels: readonly LabelShape[], classes: readonly ClassDef[], crs: Crs | undefined): object {
  if (labels.length === 0) throw new FieldMoeError('labels', 'none drawn yet: draw at least one shape per class to fine-tune');
  if (!crs?.epsg) throw new FieldMoeError('labels', 'the scene CRS has no EPSG code, so drawn labels cannot be handed to the labels loader; use a labels file instead');
  const byId = new Map(classes.map((c) => [c.id, c]));
  const features = labels.map((l) => {
    const c = byId.get(l.classId);
    if (!c) throw new FieldMoeError(`label ${l.id}`, `class ${l.classId} is not defined; add it in the Labels panel`);
    return { type: 'Feature', properties: { label: c.name, class_id: c.id }, geometry: l.geometry };
  });
  return { type: 'FeatureCollection', crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${crs.epsg}` } }, features };
}

export async function writeLabelsFile(file: string, labels: readonly LabelShape[], classes: readonly ClassDef[], crs: Crs | undefined): Promise<string> {
  await writeFileAtomic(file, JSON.stringify(labelsToGeoJson(labels, classes, crs)));
  return file;
}
