/**
 * A tiny structural validator for JSON manifests: each check appends "field: problem" messages,
 * so the analyst sees which field of which file is wrong. No schema package needed.
 */
export type Check = (value: unknown, at: string, problems: string[]) => void;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

const field = (at: string, key: string | number) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key);
/** How a path reads in a message: the empty path is the document itself. */
const label = (at: string) => at || 'top level';

export const str = (): Check => (v, at, p) => {
  if (typeof v !== 'string' || v.length === 0) p.push(`${label(at)}: expected a non-empty string, got ${describe(v)}`);
};

export const num = (opts: { min?: number; exclusiveMin?: boolean } = {}): Check => (v, at, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) p.push(`${label(at)}: expected a number, got ${describe(v)}`);
  else if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) p.push(`${label(at)}: must be ${opts.exclusiveMin ? '>' : '>='} ${opts.min}, got ${v}`);
};

export const bool = (): Check => (v, at, p) => {
  if (typeof v !== 'boolean') p.push(`${label(at)}: expected true or false, got ${describe(v)}`);
};

export const oneOf = (values: readonly string[]): Check => (v, at, p) => {
  if (typeof v !== 'string' || !values.includes(v)) p.push(`${label(at)}: expected one of ${values.join(', ')}, got ${describe(v)}`);
};

export const arrayOf = (item: Check, opts: { minLength?: number } = {}): Check => (v, at, p) => {
  if (!Array.isArray(v)) {
    p.push(`${label(at)}: expected an array, got ${describe(v)}`);
    return;
  }
  if (opts.minLength !== undefined && v.length < opts.minLength) p.push(`${label(at)}: needs at least ${opts.minLength} item(s)`);
  v.forEach((x, i) => item(x, field(at, i), p));
};

/** Checks listed keys; `optional` keys may be absent; other keys are allowed (manifests carry notes). */
export const object = (required: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at, p) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    p.push(`${label(at)}: expected an object, got ${describe(v)}`);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const [k, check] of Object.entries(required)) {
    if (!(k in o)) p.push(`${field(at, k)}: missing`);
    else check(o[k], field(at, k), p);
  }
  for (const [k, check] of Object.entries(optional)) if (k in o && o[k] !== undefined) check(o[k], field(at, k), p);
};

/**
 * Passes when any alternative passes. Otherwise it reports the alternative that got furthest:
 * one that rejects the value's own type ranks last, then fewer problems win, so the analyst
 * hears about the field that is wrong rather than about a form they did not mean.
 */
export const anyOf = (...alternatives: Check[]): Check => (v, at, p) => {
  const attempts = alternatives.map((check) => {
    const own: string[] = [];
    check(v, at, own);
    const wrongType = own.some((m) => m.startsWith(`${label(at)}: expected`));
    return { own, rank: wrongType ? Infinity : own.length };
  });
  if (attempts.some((a) => a.own.length === 0)) return;
  const best = attempts.reduce((a, b) => (b.rank < a.rank ? b : a));
  p.push(...best.own);
};

/** Picks the check by the value of a discriminating key (e.g. GeoJSON `type`). */
export const byKey = (key: string, cases: Record<string, Check>): Check => (v, at, p) => {
  const kind = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
  const check = typeof kind === 'string' ? cases[kind] : undefined;
  if (check) check(v, at, p);
  else object({ [key]: oneOf(Object.keys(cases)) })(v, at, p);
};

export function validate(value: unknown, check: Check): string[] {
  const problems: string[] = [];
  check(value, '', problems);
  return problems;
}
