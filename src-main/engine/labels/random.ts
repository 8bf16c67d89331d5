export { seededRng, shuffled, type RandomSource as Rng } from '../util/random';
