export { Rng } from '../../util/random';
