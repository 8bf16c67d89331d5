import { FieldMoeError } from '../util/errors';
import { SENSOR_KINDS, type SensorKind, type SensorSpec } from './types';

/**
 * Parses one `--sensor id=path[:kind]` value. The kind is split off only when the text after the
 * last ':' is a sensor kind, so Windows paths (C:\...) and paths with colons still work.
 */
export function parseSensorFlag(value: string): SensorSpec {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) {
    throw new FieldMoeError('--sensor', `expected id=path[:kind], got "${value}"`);
  }
  const id = value.slice(0, eq).trim();
  let file = value.slice(eq + 1);
  let kind: SensorKind | undefined;
  const colon = file.lastIndexOf(':');
  if (colon > 0) {
    const suffix = file.slice(colon + 1);
    if ((SENSOR_KINDS as readonly string[]).includes(suffix)) {
      kind = suffix as SensorKind;
      file = file.slice(0, colon);
    } else if (/^[a-z]+$/.test(suffix) && !/^[A-Za-z]$/.test(file.slice(0, colon))) {
      throw new FieldMoeError('--sensor', `unknown sensor kind "${suffix}" in "${value}"; use one of ${SENSOR_KINDS.join(', ')}`);
    }
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new FieldMoeError('--sensor', `sensor id "${id}" may use only letters, digits, '_', '.' and '-'`);
  if (!file) throw new FieldMoeError('--sensor', `no file given for sensor "${id}"`);
  const spec: SensorSpec = { id, file };
  if (kind) spec.kind = kind;
  return spec;
}
