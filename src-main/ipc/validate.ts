/**
 * Small hand-written runtime validators for IPC messages. Every message that crosses a process
 * boundary (renderer -> main, main -> engine host) is checked with these before it is used, so
 * a malformed or hostile message yields a one-line error instead of a crash.
 */
export type Check<T> = (value: unknown, path: string) => T;

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new ValidationError(`${path}: expected ${expected}, got ${got}`);
}

export const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'string', v));
export const nonEmptyStr: Check<string> = (v, p) => (typeof v === 'string' && v.length > 0 ? v : fail(p, 'non-empty string', v));
export const num: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'finite number', v));
export const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean', v));
export const unknownValue: Check<unknown> = (v) => v;

export function int(min = -Infinity, max = Infinity): Check<number> {
  return (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(p, `integer in [${min}, ${max}]`, v));
}

export function range(min: number, max: number): Check<number> {
  return (v, p) => (typeof v === 'number' && v >= min && v <= max ? v : fail(p, `number in [${min}, ${max}]`, v));
}

export function literal<const T extends string>(...values: T[]): Check<T> {
  return (v, p) => ((values as unknown[]).includes(v) ? (v as T) : fail(p, values.map((x) => JSON.stringify(x)).join(' | '), v));
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, p) => (v === undefined ? undefined : check(v, p));
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, p) => (v === null ? null : check(v, p));
}

export function arrayOf<T>(check: Check<T>, maxLength = 100_000): Check<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) fail(p, 'array', v);
    if (v.length > maxLength) throw new ValidationError(`${p}: more than ${maxLength} items`);
    return v.map((item, i) => check(item, `${p}[${i}]`));
  };
}

export function tuple<T extends unknown[]>(...checks: { [K in keyof T]: Check<T[K]> }): Check<T> {
  return (v, p) => {
    if (!Array.isArray(v) || v.length !== checks.length) fail(p, `array of ${checks.length}`, v);
    return checks.map((c, i) => c(v[i], `${p}[${i}]`)) as T;
  };
}

export const bytes: Check<Uint8Array> = (v, p) => (v instanceof Uint8Array ? v : fail(p, 'bytes', v));

type Shape = Record<string, Check<unknown>>;
type FromShape<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
};

/** A plain object with exactly these keys (unknown keys are rejected: they are usually typos). */
export function object<S extends Shape>(shape: S): Check<FromShape<S>> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'object', v);
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!(key in shape)) throw new ValidationError(`${p}.${key}: unknown field`);
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = check(record[key], `${p}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out as FromShape<S>;
  };
}

/** A plain object with any keys and values of one kind (e.g. free-form metadata). */
export function recordOf<T>(check: Check<T>): Check<Record<string, T>> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'object', v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = check(x, `${p}.${k}`);
    return out;
  };
}

/** A discriminated union on `kind`. */
export function variant<T>(key: string, cases: Record<string, Check<T>>): Check<T> {
  return (v, p) => {
    const tag = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    const check = typeof tag === 'string' ? cases[tag] : undefined;
    if (!check) fail(`${p}.${key}`, Object.keys(cases).join(' | '), tag);
    return check(v, p);
  };
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function validate<T>(check: Check<T>, value: unknown, path = 'params'): ValidationResult<T> {
  try {
    return { ok: true, value: check(value, path) };
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, error: err.message };
    throw err;
  }
}
