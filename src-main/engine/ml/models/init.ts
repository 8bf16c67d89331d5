/**
 * Parameters for model definitions: seeded initialisers and one place (`ParamSource`) that
 * decides, for each named weight, whether its values come from a checkpoint or from an
 * initialiser, in which float type, and whether it is trained.
 *
 * Each weight's random stream is seeded from the source's seed and the weight's full name, so
 * adding a module to a model does not change the initial values of the others, and the same
 * config and seed always give the same weights.
 */
import type { Graph, Value } from '../graph/graph';
import type { FloatDType } from '../graph/dtype';
import { FieldMoeError } from '../../util/errors';

export { seededRng, gaussian, type RandomSource as Rng } from '../../util/random';
import type { RandomSource as Rng } from '../../util/random';
import { gaussian, seededRng } from '../../util/random';

/** FNV-1a of a string mixed with a seed: a weight's own stream. */
export function nameSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** How a weight is initialised; `fanIn`/`fanOut` default from the shape (PyTorch conventions). */
export type Initializer =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'normal'; std: number; mean?: number }
  /** Normal truncated at +-2 std (timm's trunc_normal_ with a = -2 std, b = 2 std). */
  | { kind: 'truncNormal'; std: number }
  | { kind: 'uniform'; low: number; high: number }
  /** Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
  | { kind: 'xavierUniform' }
  /** PyTorch's default for Linear/Conv weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  | { kind: 'kaimingUniform' };

export const init = {
  zeros: { kind: 'zeros' } as Initializer,
  ones: { kind: 'ones' } as Initializer,
  constant: (value: number): Initializer => ({ kind: 'constant', value }),
  normal: (std: number, mean = 0): Initializer => ({ kind: 'normal', std, mean }),
  truncNormal: (std: number): Initializer => ({ kind: 'truncNormal', std }),
  uniform: (low: number, high: number): Initializer => ({ kind: 'uniform', low, high }),
  xavierUniform: { kind: 'xavierUniform' } as Initializer,
  kaimingUniform: { kind: 'kaimingUniform' } as Initializer,
};

/** PyTorch's fans: a [out, in, ...kernel] weight has fanIn = in * kernel, fanOut = out * kernel. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

type Sampler = (rand: Rng, shape: readonly number[]) => () => number;

/** One sampler per initialiser kind (a registry, not a switch). */
const SAMPLERS: { [K in Initializer['kind']]: (spec: Extract<Initializer, { kind: K }>) => Sampler } = {
  zeros: () => () => () => 0,
  ones: () => () => () => 1,
  constant: (s) => () => () => s.value,
  normal: (s) => (rand) => () => (s.mean ?? 0) + s.std * gaussian(rand),
  truncNormal: (s) => (rand) => () => {
    for (;;) {
      const z = gaussian(rand);
      if (Math.abs(z) <= 2) return s.std * z;
    }
  },
  uniform: (s) => (rand) => () => s.low + (s.high - s.low) * rand(),
  xavierUniform: () => (rand, shape) => {
    const { fanIn, fanOut } = fans(shape);
    const a = Math.sqrt(6 / (fanIn + fanOut));
    return () => (2 * rand() - 1) * a;
  },
  kaimingUniform: () => (rand, shape) => {
    const a = 1 / Math.sqrt(fans(shape).fanIn);
    return () => (2 * rand() - 1) * a;
  },
};

/** Fills a new array of `dtype` with `spec`'s values for `shape`, from `seed`. */
export function initTensor(spec: Initializer, shape: readonly number[], dtype: FloatDType, seed: number): Float32Array | Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const make = SAMPLERS[spec.kind] as (s: Initializer) => Sampler;
  const next = make(spec)(seededRng(seed), shape);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
}

/** Checkpoint tensors by full parameter name (already mapped to our names, see weights.ts). */
export type WeightMap = ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>;

export interface ParamSourceOptions {
  dtype: FloatDType;
  seed?: number;
  /** Values to use instead of initialisers, by full (scoped) parameter name. */
  weights?: WeightMap;
  /** Which parameters are trained: all (true, default), none (false), or by full name. */
  trainable?: boolean | ((name: string) => boolean);
  /** Where `weights` came from, for error messages. */
  source?: string;
}

/**
 * Makes the graph's parameters for a model definition. A definition asks for a weight by local
 * name, shape and initialiser; the source supplies checkpoint values when it has them (checking
 * the shape), otherwise seeded initial values, in the source's dtype. `unused()` lists the
 * checkpoint tensors that no definition asked for, so an import can report them.
 */
export class ParamSource {
  readonly dtype: FloatDType;
  readonly seed: number;
  private readonly used = new Set<string>();

  constructor(readonly options: ParamSourceOptions) {
    this.dtype = options.dtype;
    this.seed = options.seed ?? 0;
  }

  /** Creates parameter `local` (scoped by the graph's current scope) and returns its value. */
  param(g: Graph, local: string, shape: readonly number[], initializer: Initializer, opts: { trainable?: boolean } = {}): Value {
    const name = g.scopedName(local);
    const data = this.values(name, shape, initializer);
    return g.param(local, data, shape, { trainable: opts.trainable ?? this.isTrainable(name) });
  }

  /** The values for full name `name`: from the checkpoint when present, else initialised. */
  values(name: string, shape: readonly number[], initializer: Initializer): Float32Array | Float64Array {
    const w = this.options.weights?.get(name);
    if (!w) return initTensor(initializer, shape, this.dtype, nameSeed(this.seed, name));
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))
      throw new FieldMoeError(this.options.source ?? 'weights', `tensor ${name} has shape [${w.shape.join(',')}], the model needs [${shape.join(',')}]`);
    this.used.add(name);
    return this.dtype === 'float32' ? Float32Array.from(w.data) : Float64Array.from(w.data);
  }

  isTrainable(name: string): boolean {
    const t = this.options.trainable ?? true;
    return typeof t === 'boolean' ? t : t(name);
  }

  /** Checkpoint tensors that no parameter used so far took. */
  unused(): string[] {
    return [...(this.options.weights?.keys() ?? [])].filter((k) => !this.used.has(k));
  }

  /** Names of checkpoint tensors taken so far. */
  usedNames(): string[] {
    return [...this.used];
  }

  /** A source with the same weights and seed but other options (e.g. a frozen view). */
  with(options: Partial<ParamSourceOptions>): ParamSource {
    return new ParamSource({ ...this.options, ...options });
  }
}
