/**
 * Overlap blending of tile probabilities into class map rows.
 *
 * Most pixels lie in exactly one tile (with the default 256/32 tiling about three quarters of
 * them): their blended probabilities are that tile's own, so their argmax is taken straight from
 * the tile, with no accumulation. Only pixels covered by two or more tiles are accumulated, as
 * weighted sums in float64, so blending identical probabilities gives them back bit-exactly
 * (the result is rounded to float32 before the argmax). Both paths give exactly the same map.
 */
import { tileCoverage } from './tiling';

/** The counts a finished row adds to: nodata pixels and pixels per class (index into the pack's classes). */
export interface BlendStats {
  nodataPixels: number;
  readonly classCounts: number[];
}

/** A stretch [start, end) of a tile row whose pixels are all single-covered or all multi-covered. */
interface Run {
  start: number;
  end: number;
  single: boolean;
}

/**
 * The rolling accumulator: `rows` rows (one band of tiles) x scene width. Row 0 is scene row
 * `y`; `shift` moves on to the next band. Pixels covered by one tile get their class index and
 * confidence directly; the others sum weighted class probabilities (pixel-interleaved, so the
 * sums a tile edge touches lie together) and weights.
 */
export class Accumulator {
  private readonly probs: Float64Array;
  private readonly weights: Float64Array;
  private readonly hasData: Uint8Array;
  readonly classes: Uint8Array;
  readonly confidence: Float32Array;
  /** Class index of the argmax, per pixel. */
  private readonly best: Uint8Array;
  /** 1 where one tile column / one tile row covers the coordinate. */
  private readonly singleX: Uint8Array;
  private readonly singleY: Uint8Array;
  /** Per tile origin x0 and width: the runs of its rows. */
  private readonly runs = new Map<number, Run[]>();
  /** The blending weights of one tile row. */
  private readonly rowWeights: Float64Array;
  /** Scene row of accumulator row 0. */
  private y = 0;

  constructor(
    readonly width: number,
    readonly rows: number,
    readonly K: number,
    xs: readonly number[],
    ys: readonly number[],
    height: number,
  ) {
    const n = rows * width;
    this.probs = new Float64Array(K * n);
    this.weights = new Float64Array(n);
    this.hasData = new Uint8Array(n);
    this.classes = new Uint8Array(n);
    this.confidence = new Float32Array(n);
    this.best = new Uint8Array(n);
    this.singleX = singleCoverage(tileCoverage(width, xs, rows));
    this.singleY = singleCoverage(tileCoverage(height, ys, rows));
    this.rowWeights = new Float64Array(rows);
  }

  markData(anyValid: Uint8Array, rows: number): void {
    this.hasData.set(anyValid.subarray(0, rows * this.width));
  }

  /** Adds tile j of a batch (`probabilities` is [count, K, T, T]) whose left edge is x0 and visible size tw x th. */
  blend(probabilities: Float32Array, j: number, x0: number, tw: number, th: number, win: Float64Array): void {
    const T = win.length;
    const base = j * this.K * T * T;
    const runs = this.runsOf(x0, tw);
    for (let i = 0; i < th; i++) {
      const src = base + i * T;
      const arow = i * this.width + x0;
      if (!this.singleY[this.y + i]) {
        this.add(probabilities, src, arow, 0, tw, win[i], win, T);
        continue;
      }
      for (const run of runs) {
        if (run.single) this.take(probabilities, src, arow, run.start, run.end, T);
        else this.add(probabilities, src, arow, run.start, run.end, win[i], win, T);
      }
    }
  }

  /**
   * A single-covered stretch: the argmax of the tile's own probabilities. Class by class (each
   * plane read in order) rather than pixel by pixel: the K planes lie a power of two apart, and
   * reading them side by side thrashes the cache.
   */
  private take(probabilities: Float32Array, src: number, arow: number, start: number, end: number, T: number): void {
    const plane = T * T;
    const { best, confidence } = this;
    confidence.fill(-1, arow + start, arow + end);
    best.fill(0, arow + start, arow + end);
    for (let c = 0; c < this.K; c++) {
      const s = src + c * plane - arow;
      for (let q = arow + start; q < arow + end; q++) {
        const p = probabilities[s + q];
        if (p > confidence[q]) {
          confidence[q] = p;
          best[q] = c;
        }
      }
    }
  }

  /** A multi-covered stretch: weighted sums of the probabilities and of the weights. */
  private add(probabilities: Float32Array, src: number, arow: number, start: number, end: number, wy: number, win: Float64Array, T: number): void {
    const { K, probs, weights } = this;
    const plane = T * T;
    const w = this.rowWeights;
    for (let k = start; k < end; k++) {
      w[k] = wy * win[k];
      weights[arow + k] += w[k];
    }
    for (let c = 0; c < K; c++) {
      const s = src + c * plane;
      const d = arow * K + c;
      for (let k = start; k < end; k++) probs[d + k * K] += w[k] * probabilities[s + k];
    }
  }

  private runsOf(x0: number, tw: number): Run[] {
    const key = x0 * (this.width + 1) + tw; // unique: tw <= width
    let runs = this.runs.get(key);
    if (!runs) {
      runs = [];
      for (let k = 0; k < tw; ) {
        const single = this.singleX[x0 + k] === 1;
        const start = k;
        while (k < tw && (this.singleX[x0 + k] === 1) === single) k++;
        runs.push({ start, end: k, single });
      }
      this.runs.set(key, runs);
    }
    return runs;
  }

  /**
   * Turns the first `n` rows into class ids and confidence: nodata where no sensor is valid,
   * else the argmax (of the blended probabilities where several tiles overlap).
   */
  finish(n: number, classIds: Uint8Array, stats: BlendStats): void {
    const W = this.width;
    const rowRuns = this.runsOf(0, W);
    for (let r = 0; r < n; r++) {
      const row = r * W;
      if (!this.singleY[this.y + r]) this.argmaxOfSums(row, row + W);
      else for (const run of rowRuns) if (!run.single) this.argmaxOfSums(row + run.start, row + run.end);
      for (let q = row; q < row + W; q++) {
        if (!this.hasData[q]) {
          this.classes[q] = 0;
          this.confidence[q] = NaN;
          stats.nodataPixels++;
          continue;
        }
        const b = this.best[q];
        this.classes[q] = classIds[b];
        stats.classCounts[b]++;
      }
    }
  }

  /**
   * Argmax of the weighted sums over pixels [from, to), class by class (see `take`); the sums
   * are zeroed once read, ready for the rows that `shift` moves in.
   */
  private argmaxOfSums(from: number, to: number): void {
    const { K, probs, weights, best, confidence } = this;
    confidence.fill(-1, from, to);
    best.fill(0, from, to);
    for (let c = 0; c < K; c++) {
      for (let q = from; q < to; q++) {
        // Rounding to float32 first makes the tie-break identical to the unblended probabilities.
        const p = Math.fround(probs[q * K + c] / weights[q]);
        if (p > confidence[q]) {
          confidence[q] = p;
          best[q] = c;
        }
      }
    }
    probs.fill(0, from * K, to * K);
    weights.fill(0, from, to);
  }

  /**
   * Drops the first `n` rows (already finished, so their sums are zero) and moves the rest up.
   * Of the rows freed at the end, only those that held moved rows still need zeroing.
   */
  shift(n: number): void {
    const { width: W, rows: R, K } = this;
    this.probs.copyWithin(0, n * W * K, R * W * K);
    this.probs.fill(0, Math.max(n, R - n) * W * K);
    this.weights.copyWithin(0, n * W, R * W);
    this.weights.fill(0, Math.max(n, R - n) * W);
    this.y += n;
  }
}

function singleCoverage(counts: Uint8Array): Uint8Array {
  return counts.map((c) => (c === 1 ? 1 : 0));
}
