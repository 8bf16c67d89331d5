/**
 * The one seeded random generator of the engine (mulberry32): weights, batch order, gate noise,
 * splits and sampling all draw from it, so the same seed gives the same numbers on every machine
 * (pure 32-bit integer arithmetic).
 */
export type RandomSource = () => number;

/** Uniform in [0, 1). */
export function seededRng(seed: number): RandomSource {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One N(0, 1) draw (Box-Muller). */
export function gaussian(rand: RandomSource): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rand: RandomSource): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A stateful generator with the draws training needs. */
export class Rng {
  private readonly uniform: RandomSource;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.uniform = seededRng(seed ^ 0x9e3779b9);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, both values of each pair used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    const u = 1 - this.next(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Fills `out` with standard normal values. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, scale = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = scale * this.normal();
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    return shuffled(Array.from({ length: n }, (_, i) => i), () => this.next());
  }

  /** An independent generator derived from this one (e.g. one stream for noise, one for order). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}
