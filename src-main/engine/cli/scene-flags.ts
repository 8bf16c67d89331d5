/** The scene flags shared by every command that opens a scene. */
import type { ParseArgsConfig } from 'node:util';
import { openScene, parseSensorFlag, type Scene, type SceneSpec } from '../scene';
import { FieldMoeError } from '../util/errors';
import { idsFlag, listFlag, stringFlag, type ParsedFlags } from './command';

export const SCENE_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  scene: { type: 'string' },
  sensor: { type: 'string', multiple: true },
  missing: { type: 'string', multiple: true },
  reference: { type: 'string' },
};

export const SCENE_USAGE = `  --scene <path>              a GeoTIFF, a sensors.json manifest or the folder holding it
  --sensor id=path[:kind]     one sensor per flag, instead of --scene (kind: multispectral,
                              hyperspectral, rgb, sar, lidar, dem, other)
  --missing <ids>             sensors to treat as failed, comma-separated
  --reference <id>            sensor whose pixel grid the scene uses (default: the first)`;

/** The scene spec from `--scene`, a positional path, or repeated `--sensor`. */
export function sceneSpecFromFlags(flags: ParsedFlags, positional?: string): SceneSpec {
  const scene = stringFlag(flags, 'scene') ?? positional;
  const sensors = listFlag(flags, 'sensor');
  if (scene && sensors.length) throw new FieldMoeError('--sensor', 'give either a scene or --sensor flags, not both');
  if (sensors.length) return { sensors: sensors.map(parseSensorFlag) };
  if (!scene) throw new FieldMoeError('--scene', 'is required (a GeoTIFF, a sensors.json or its folder), or give --sensor id=path flags');
  return scene;
}

export function openSceneFromFlags(flags: ParsedFlags, positional?: string): Promise<Scene> {
  return openScene(sceneSpecFromFlags(flags, positional), { missing: idsFlag(flags, 'missing'), referenceSensor: stringFlag(flags, 'reference') });
}

/** `--wavelengths`, for the commands that map scene bands onto a pack's inputs. */
export const WAVELENGTHS_OPTIONS: NonNullable<ParseArgsConfig['options']> = { wavelengths: { type: 'string', multiple: true } };
export const WAVELENGTHS_USAGE = '  --wavelengths id=nm,nm,...  band wavelengths for a sensor whose file has none (repeatable)';

export function wavelengthsFromFlags(flags: ParsedFlags): Map<string, number[]> {
  return parseWavelengths(listFlag(flags, 'wavelengths'));
}

/** `--wavelengths l7=485,560,660` (repeatable) -> sensor id -> nm. */
export function parseWavelengths(values: string[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const nm = eq > 0 ? v.slice(eq + 1).split(',').map(Number) : [];
    if (eq <= 0 || nm.length === 0 || nm.some((x) => !Number.isFinite(x) || x <= 0))
      throw new FieldMoeError('--wavelengths', `expected sensor=nm,nm,... with positive numbers, got "${v}"`);
    map.set(v.slice(0, eq), nm);
  }
  return map;
}
