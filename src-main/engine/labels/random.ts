import { seededRng, type Rng } from '../ml/models/init';

export { seededRng, type Rng };

/** Fisher-Yates shuffle of a copy, driven by the seeded generator. */
export function shuffled<T>(items: readonly T[], rand: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
