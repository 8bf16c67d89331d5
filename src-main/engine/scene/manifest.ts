import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FieldMoeError, errorMessage } from '../util/errors';
import { SENSOR_KINDS, type FailureRegion, type SceneSpec, type SensorSpec } from './types';
import { anyOf, arrayOf, bool, byKey, num, object, oneOf, str, validate, type Check } from './schema';

/** A scene spec with every path absolute and every field checked, ready to open. */
export interface ResolvedSceneSpec {
  /** What the scene was opened from (tif path, manifest path, or its sensors' files); also the subject of errors. */
  source: string;
  sensors: SensorSpec[];
  failureRegions: FailureRegion[];
  referenceSensor?: string;
}

const MANIFEST_NAME = 'sensors.json';

const position: Check = arrayOf(num(), { minLength: 2 });
const ring: Check = arrayOf(position, { minLength: 4 });
const polygonCoords: Check = arrayOf(ring, { minLength: 1 });
const geometry: Check = byKey('type', {
  Polygon: object({ type: str(), coordinates: polygonCoords }),
  MultiPolygon: object({ type: str(), coordinates: arrayOf(polygonCoords, { minLength: 1 }) }),
});
const regionPlain = object({ sensor: str(), geometry });
const regionFeature = object({ type: oneOf(['Feature']), properties: object({ sensor: str() }), geometry });
const region: Check = anyOf(regionPlain, regionFeature);

const bandSchema = object({}, { name: str(), wavelength_nm: num({ min: 0, exclusiveMin: true }) });
const sensorSchema = object(
  { id: str(), kind: oneOf(SENSOR_KINDS), file: str() },
  { failed: bool(), bands: arrayOf(bandSchema), resampling: oneOf(['nearest', 'bilinear']) },
);
const sensorList = arrayOf(sensorSchema, { minLength: 1 });
const manifestSchema: Check = anyOf(
  sensorList,
  object(
    { sensors: sensorList },
    {
      failure_regions: anyOf(arrayOf(region), object({ type: oneOf(['FeatureCollection']), features: arrayOf(region) })),
      reference_sensor: str(),
    },
  ),
);

/** The in-memory form the CLI and the app build (camelCase, regions as {sensor, geometry}). */
const objectSpecSchema: Check = object(
  {
    sensors: arrayOf(
      object(
        { id: str(), file: str() },
        {
          kind: oneOf(SENSOR_KINDS),
          failed: bool(),
          resampling: oneOf(['nearest', 'bilinear']),
          bands: arrayOf(object({}, { name: str(), wavelengthNm: num({ min: 0, exclusiveMin: true }) })),
        },
      ),
      { minLength: 1 },
    ),
  },
  { failureRegions: arrayOf(regionPlain), referenceSensor: str() },
);

interface ManifestSensor {
  id: string;
  kind: SensorSpec['kind'];
  file: string;
  failed?: boolean;
  bands?: { name?: string; wavelength_nm?: number }[];
  resampling?: SensorSpec['resampling'];
}

type RawRegion = { sensor: string; geometry: FailureRegion['geometry'] } | { properties: { sensor: string }; geometry: FailureRegion['geometry'] };

function toRegion(r: RawRegion): FailureRegion {
  return { sensor: 'sensor' in r ? r.sensor : r.properties.sensor, geometry: r.geometry };
}

/** Turns any SceneSpec into absolute, checked sensor specs. */
export async function resolveSceneSpec(spec: SceneSpec): Promise<ResolvedSceneSpec> {
  if (typeof spec !== 'string') {
    const problems = validate(spec, objectSpecSchema);
    if (problems.length > 0) throw new FieldMoeError('scene', `invalid scene description: ${problems.slice(0, 3).join('; ')}`);
    const sensors = spec.sensors.map((s) => ({ ...s, file: path.resolve(s.file) }));
    const resolved: ResolvedSceneSpec = {
      // errors and cards name the scene by its files (there is no one file or manifest)
      source: `the scene of ${sensors.map((s) => `${s.id} (${s.file})`).join(', ')}`,
      sensors,
      failureRegions: spec.failureRegions ?? [],
    };
    if (spec.referenceSensor) resolved.referenceSensor = spec.referenceSensor;
    checkConsistency(resolved);
    return resolved;
  }
  const target = path.resolve(spec);
  let stat;
  try {
    stat = await fs.stat(target);
  } catch {
    throw new FieldMoeError(spec, 'file not found');
  }
  if (stat.isDirectory()) {
    const manifest = path.join(target, MANIFEST_NAME);
    try {
      await fs.access(manifest);
    } catch {
      throw new FieldMoeError(spec, `folder has no ${MANIFEST_NAME}; give a GeoTIFF, a manifest JSON or a folder with ${MANIFEST_NAME}`);
    }
    return readManifest(manifest);
  }
  if (/\.json$/i.test(target)) return readManifest(target);
  return { source: target, sensors: [{ id: sensorIdFromFile(target), file: target }], failureRegions: [] };
}

/** A sensor id from a file name: its stem, reduced to safe characters. */
function sensorIdFromFile(file: string): string {
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  return stem.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'image';
}

async function readManifest(file: string): Promise<ResolvedSceneSpec> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new FieldMoeError(file, `not valid JSON (${errorMessage(err)})`, { cause: err });
  }
  const problems = validate(json, manifestSchema);
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).join('; ');
    throw new FieldMoeError(file, `manifest does not match the scene schema: ${shown}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
  }
  const doc = json as ManifestSensor[] | { sensors: ManifestSensor[]; failure_regions?: RawRegion[] | { features: RawRegion[] }; reference_sensor?: string };
  const sensors = Array.isArray(doc) ? doc : doc.sensors;
  const rawRegions = Array.isArray(doc) ? [] : doc.failure_regions ?? [];
  const regions = (Array.isArray(rawRegions) ? rawRegions : rawRegions.features).map(toRegion);
  const dir = path.dirname(file);
  const resolved: ResolvedSceneSpec = {
    source: file,
    sensors: await Promise.all(sensors.map((s, i) => manifestSensorSpec(file, dir, s, i))),
    failureRegions: regions,
  };
  if (!Array.isArray(doc) && doc.reference_sensor) resolved.referenceSensor = doc.reference_sensor;
  checkConsistency(resolved);
  return resolved;
}

async function manifestSensorSpec(manifest: string, dir: string, s: ManifestSensor, i: number): Promise<SensorSpec> {
  if (/[*?[\]]/.test(s.file)) {
    const matches = await globMatches(dir, s.file);
    throw new FieldMoeError(
      manifest,
      `sensors[${i}].file "${s.file}" is a pattern (${matches} matching files), not one raster; open one file with --sensor ${s.id}=<file>:${s.kind}`,
    );
  }
  const spec: SensorSpec = { id: s.id, file: path.resolve(dir, s.file), kind: s.kind };
  if (s.failed !== undefined) spec.failed = s.failed;
  if (s.resampling) spec.resampling = s.resampling;
  if (s.bands) {
    spec.bands = s.bands.map((b) => {
      const band: { name?: string; wavelengthNm?: number } = {};
      if (b.name !== undefined) band.name = b.name;
      if (b.wavelength_nm !== undefined) band.wavelengthNm = b.wavelength_nm;
      return band;
    });
  }
  return spec;
}

async function globMatches(dir: string, pattern: string): Promise<number> {
  const re = new RegExp(`^${pattern.split(/[*?]/).map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  const sub = path.dirname(pattern);
  try {
    const names = await fs.readdir(path.join(dir, sub));
    return names.filter((n) => re.test(path.join(sub, n).replace(/^\.\//, ''))).length;
  } catch {
    return 0;
  }
}

/** Checks that need the whole spec: unique ids, known reference, regions naming known sensors. */
function checkConsistency(spec: ResolvedSceneSpec): void {
  const subject = spec.source;
  if (spec.sensors.length === 0) throw new FieldMoeError(subject, 'scene has no sensors');
  const ids = new Set<string>();
  for (const s of spec.sensors) {
    if (!s.id) throw new FieldMoeError(subject, 'a sensor has an empty id');
    if (ids.has(s.id)) throw new FieldMoeError(subject, `sensor id "${s.id}" is used twice`);
    ids.add(s.id);
  }
  const known = [...ids].join(', ');
  if (spec.referenceSensor && !ids.has(spec.referenceSensor)) {
    throw new FieldMoeError(subject, `reference sensor "${spec.referenceSensor}" is not one of the sensors (${known})`);
  }
  spec.failureRegions.forEach((r, i) => {
    if (!ids.has(r.sensor)) throw new FieldMoeError(subject, `failure_regions[${i}].sensor "${r.sensor}" is not one of the sensors (${known})`);
  });
}
