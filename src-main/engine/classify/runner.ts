/**
 * Runs batches of tiles through one onnxruntime session with tensors allocated once per batch
 * size and reused for every batch (inputs, availability, wavelengths and the output), so the
 * hot loop allocates nothing. It also times `session.run` alone, the baseline of the
 * classify overhead benchmark.
 */
import * as ort from 'onnxruntime-node';
import type { PackManifest } from '../packs/manifest';
import type { InputBinding } from '../packs/bandmap';

export interface TileBatch {
  /** Tiles in this batch. */
  count: number;
  /** Per binding (manifest input order): float32 [count, C, T, T], written by the caller. */
  inputs: Float32Array[];
  /** float32 [count, M]: per tile, 1 where the input's sensor is available (MaMOL packs). */
  availability: Float32Array;
  /** float32 [count, K, T, T] class probabilities after `run`. */
  probabilities: Float32Array;
}

interface Prepared {
  batch: TileBatch;
  feeds: Record<string, ort.Tensor>;
  fetches: Record<string, ort.Tensor>;
}

export class TileRunner {
  /** Milliseconds spent inside session.run. */
  runMs = 0;
  runs = 0;
  private readonly prepared = new Map<number, Prepared>();
  private readonly constantFeeds: Record<string, ort.Tensor> = {};

  constructor(
    readonly session: ort.InferenceSession,
    readonly manifest: PackManifest,
    readonly bindings: readonly InputBinding[],
    readonly tile: number,
  ) {
    for (const b of bindings) {
      const name = b.input.bands.mode === 'any' ? b.input.bands.wavelengthsInput : undefined;
      if (name) this.constantFeeds[name] = new ort.Tensor('float32', Float32Array.from(b.wavelengths), [b.wavelengths.length]);
    }
  }

  /** The reusable batch for `count` tiles (at most two sizes per scene: full and remainder). */
  batch(count: number): TileBatch {
    let p = this.prepared.get(count);
    if (!p) {
      p = this.prepare(count);
      this.prepared.set(count, p);
    }
    return p.batch;
  }

  async run(batch: TileBatch): Promise<void> {
    const p = this.prepared.get(batch.count)!;
    const t0 = performance.now();
    await this.session.run(p.feeds, p.fetches);
    this.runMs += performance.now() - t0;
    this.runs++;
  }

  private prepare(count: number): Prepared {
    const T = this.tile;
    const K = this.manifest.classes.length;
    const M = this.bindings.length;
    const feeds: Record<string, ort.Tensor> = { ...this.constantFeeds };
    const inputs = this.bindings.map((b) => {
      const data = new Float32Array(count * b.channels * T * T);
      feeds[b.input.name] = new ort.Tensor('float32', data, [count, b.channels, T, T]);
      return data;
    });
    const availability = new Float32Array(count * M);
    if (this.manifest.availabilityInput) feeds[this.manifest.availabilityInput] = new ort.Tensor('float32', availability, [count, M]);
    const probabilities = new Float32Array(count * K * T * T);
    const fetches = { [this.manifest.output]: new ort.Tensor('float32', probabilities, [count, K, T, T]) };
    return { batch: { count, inputs, availability, probabilities }, feeds, fetches };
  }
}
