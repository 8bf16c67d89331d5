import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FieldMoeError } from '../util/errors';
import type { ClassValue, LabelClass, Rgb } from './types';

/** A class as declared in a classes.json file (`[{"id", "name", "color"?}]`). */
export interface DeclaredClass {
  id: number;
  name: string;
  color?: Rgb;
}

/**
 * The classes.json that describes a labels file: `<stem>.classes.json` when present (several
 * label files in one folder), else `classes.json` in the same folder (the shared-data convention).
 */
export function classesFileFor(labelsFile: string): string | undefined {
  const dir = path.dirname(labelsFile);
  const stem = path.basename(labelsFile).replace(/\.[^.]+$/, '');
  return [path.join(dir, `${stem}.classes.json`), path.join(dir, 'classes.json')].find((p) => existsSync(p) && p !== labelsFile);
}

export function readClassesJson(file: string): DeclaredClass[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FieldMoeError(file, `not a readable classes JSON file (${(err as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(raw)) throw new FieldMoeError(file, 'expected an array of {"id", "name"} objects');
  const seen = new Set<number>();
  return raw.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    if (typeof e?.id !== 'number' || !Number.isInteger(e.id) || typeof e.name !== 'string' || e.name.trim() === '') {
      throw new FieldMoeError(file, `entry ${i} needs an integer "id" and a non-empty "name"`);
    }
    if (seen.has(e.id)) throw new FieldMoeError(file, `class id ${e.id} appears twice`);
    seen.add(e.id);
    // classes match packs' and each other by name: two ids of one name would train as one class
    const twin = raw.findIndex((other, j) => j < i && typeof other?.name === 'string' && normalizeClassName(other.name) === normalizeClassName(e.name as string));
    if (twin >= 0) throw new FieldMoeError(file, `class name "${(e.name as string).trim()}" is given to ids ${(raw[twin] as { id: unknown }).id} and ${e.id}; give each class its own name`);
    const color = e.color === undefined ? undefined : parseColor(e.color);
    if (e.color !== undefined && !color) throw new FieldMoeError(file, `entry ${i} has an unreadable color (use "#rrggbb" or [r, g, b])`);
    return { id: e.id, name: e.name.trim(), color };
  });
}

function parseColor(c: unknown): Rgb | undefined {
  if (typeof c === 'string' && /^#?[0-9a-f]{6}$/i.test(c)) {
    const h = c.replace('#', '');
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
  }
  if (Array.isArray(c) && c.length >= 3 && c.slice(0, 3).every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    return [c[0], c[1], c[2]];
  }
  return undefined;
}

/** Names compare case-, space-, dash- and underscore-insensitively ("Bare soil" = "bare_soil"). */
export function normalizeClassName(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
}

/**
 * A deterministic colour per class id, spread around the hue circle by the golden angle so
 * neighbouring ids get clearly different hues.
 */
export function generatedColor(id: number): Rgb {
  const hue = (id * 137.508) % 360;
  const lightness = id % 2 === 0 ? 0.45 : 0.6;
  return hslToRgb(hue, 0.7, lightness);
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** The class list of a label set plus how file values map to class indices. */
export interface ClassTable {
  classes: LabelClass[];
  indexOf(value: ClassValue): number;
  warnings: string[];
}

/**
 * Builds the class list from the declared classes (classes.json, may be empty) and the values
 * seen in the labels. Numbers are ids, strings are names. Values the declaration lacks become
 * new classes (ids after the declared ones, in name order) with a warning, so a typo shows up
 * in the class list instead of failing a long job. Classes are sorted by id.
 */
export function buildClassTable(declared: readonly DeclaredClass[], observed: Iterable<ClassValue>): ClassTable {
  const warnings: string[] = [];
  const byId = new Map<number, DeclaredClass>(declared.map((c) => [c.id, c]));
  const byName = new Map<string, DeclaredClass>(declared.map((c) => [normalizeClassName(c.name), c]));
  const newIds: number[] = [];
  const newNames = new Map<string, string>(); // normalised -> first spelling seen
  for (const v of observed) {
    if (typeof v === 'number') {
      if (!byId.has(v) && !newIds.includes(v)) newIds.push(v);
    } else if (!byName.has(normalizeClassName(v)) && !newNames.has(normalizeClassName(v))) {
      newNames.set(normalizeClassName(v), v.trim());
    }
  }
  for (const id of newIds.sort((a, b) => a - b)) {
    const c = { id, name: `class ${id}` };
    byId.set(id, c);
    byName.set(normalizeClassName(c.name), c);
  }
  let nextId = Math.max(0, ...byId.keys()) + 1;
  for (const [key, name] of [...newNames].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (byName.has(key)) continue;
    const c = { id: nextId++, name };
    byId.set(c.id, c);
    byName.set(normalizeClassName(name), c);
  }
  if (declared.length === 0 && newIds.length > 0)
    warnings.push(`no classes.json names the label values: classes are named after them (${newIds.slice(0, 3).map((id) => `class ${id}`).join(', ')}${newIds.length > 3 ? ', ...' : ''}), and match no pack class; name them in a classes.json beside the labels`);
  if (declared.length > 0 && (newIds.length > 0 || newNames.size > 0)) {
    const extra = [...newIds.map(String), ...newNames.values()].join(', ');
    warnings.push(`classes not in classes.json were added: ${extra}`);
  }
  const sorted = [...byId.values()].sort((a, b) => a.id - b.id);
  const classes = sorted.map((c) => ({ id: c.id, name: c.name, color: c.color ?? generatedColor(c.id) }));
  const indexById = new Map(classes.map((c, i) => [c.id, i]));
  return {
    classes,
    warnings,
    indexOf: (v) => indexById.get(typeof v === 'number' ? v : byName.get(normalizeClassName(v))!.id)!,
  };
}

/** How a label set's classes relate to a model pack's classes (matched by name). */
export interface PackClassMapping {
  /** For each label class index: the pack class index with the same name, or -1. */
  packIndex: Int32Array;
  /** For each pack class index: the label class with the same name, or -1 (to score a pack's
   * predictions against these labels). */
  labelIndexOfPack: Int32Array;
  /** True when every label class exists in the pack: fine-tuning can keep the pack's head. */
  allMatched: boolean;
  /** Label class names the pack lacks (they need a new head). */
  unmatched: string[];
}

export function mapToPackClasses(labelClasses: readonly { name: string }[], packClasses: readonly { name: string }[]): PackClassMapping {
  const packByName = new Map(packClasses.map((c, i) => [normalizeClassName(c.name), i]));
  const packIndex = Int32Array.from(labelClasses, (c) => packByName.get(normalizeClassName(c.name)) ?? -1);
  const labelIndexOfPack = new Int32Array(packClasses.length).fill(-1);
  packIndex.forEach((p, i) => p >= 0 && labelIndexOfPack[p] < 0 && (labelIndexOfPack[p] = i));
  const unmatched = labelClasses.filter((_, i) => packIndex[i] < 0).map((c) => c.name);
  return { packIndex, labelIndexOfPack, allMatched: unmatched.length === 0, unmatched };
}
