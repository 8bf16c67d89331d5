/**
 * The tiled inference pipeline: scene -> pack inputs -> onnxruntime -> blended class
 * probabilities -> class map + confidence, streamed row band by row band.
 *
 * Memory is bounded by two bands of tiles: we read a band of `tile` rows across the whole
 * scene width (and start reading the next one, so I/O overlaps inference), fill its tiles
 * (normalising on the way), run them in batches, blend their probabilities into a rolling
 * accumulator of `tile` rows (blend.ts: weighted by a smooth window where tiles overlap), and
 * hand the rows no later tile can touch to the sink. Nothing is proportional to the scene height.
 */
import type { PackManifest } from '../packs/manifest';
import { describeUnread, mapBands, type BandMapping, type InputBinding } from '../packs/bandmap';
import { describeFilled, withFilledBands } from '../packs/fillBands';
import { describeConverted, withPackUnits } from '../packs/units';
import { withSceneNormalization } from '../packs/sceneNormalization';
import type { PixelWindow, Scene, SensorBlock, SensorInfo } from '../scene/types';
import { bandsWithoutData, noDataError } from '../scene/emptyBands';
import { ProgressMeter, throwIfCancelled, type JobContext } from '../jobs/job';
import { FieldMoeError } from '../util/errors';
import { blendWindow, presentInTile, tileOrigins } from './tiling';
import { Accumulator } from './blend';
import type { BatchRunner, InferenceEngine, TileBatch } from './runner';

/** Receives finished rows; buffers are reused after the returned promise settles. */
export interface ResultSink {
  writeRows(y: number, rows: number, classes: Uint8Array, confidence: Float32Array): Promise<void>;
}

export interface PipelineOptions {
  /** Tile edge in pixels (default: the pack's). */
  tile?: number;
  /** Overlap in pixels (default: the pack's). */
  overlap?: number;
  /** Tiles per session.run (default: the pack's). */
  batch?: number;
  /** `--wavelengths` overrides per sensor id. */
  wavelengths?: ReadonlyMap<string, readonly number[]>;
  /**
   * Read the next band of tiles while the current one runs (default true): overlaps I/O with
   * inference at the cost of one more band of input in memory.
   */
  prefetch?: boolean;
  /** Log lines (provider, degraded, ...). */
  log?: (line: string) => void;
}

/** What a classify run did, for logs, output metadata and the app. */
export interface ClassifyReport {
  width: number;
  height: number;
  tile: number;
  overlap: number;
  tiles: number;
  batches: number;
  /** The execution provider that ran the model. */
  provider: string;
  /** Per pack input: the sensor bound to it and whether it was available. */
  inputs: { input: string; sensor: string | null; available: boolean; bands: number[] }[];
  /** True when some pixels were classified without one of the sensors (masked as zeros where the pack takes no availability), or a sensor is missing for a pack that cannot take that. */
  degraded: boolean;
  degradedReasons: string[];
  /** Sensors read in other units than their files hold, and inputs normalised by the scene's own statistics, as the pack was trained (packs/units.ts, packs/sceneNormalization.ts). */
  conversions: string[];
  /** Bands and sensors of the scene the pack does not read (bandmap.ts describeUnread). */
  unread: string[];
  /**
   * Sensors with pixels at the nodata value in some bands they feed but not all: such a pixel is
   * data (Landsat's SWIR is 0 over water), classified with those values as they are, which a band
   * dropout makes wrong (RunStats.partialNodata).
   */
  partialNodata: string[];
  /** Pixels written as nodata (no valid sensor). */
  nodataPixels: number;
  /** Pixel count per class id. */
  classCounts: Record<number, number>;
  /** Time inside session.run and in total, milliseconds. */
  sessionRunMs: number;
  totalMs: number;
  /** Where the rest of the time went (ms): reading windows, filling input tensors, blending, writing rows. */
  timings: { readMs: number; prepareMs: number; blendMs: number; writeMs: number };
}

/** Checks `--tile` / `--overlap` against the pack before any work starts. */
export function resolveTiling(manifest: PackManifest, options: Pick<PipelineOptions, 'tile' | 'overlap' | 'batch'>): { tile: number; overlap: number; batch: number } {
  const spec = manifest.tile;
  const tile = options.tile ?? spec.size;
  const overlap = options.overlap ?? Math.min(spec.overlap, Math.floor(tile / 2));
  const batch = options.batch ?? spec.batch;
  if (!Number.isInteger(tile) || tile < 8) throw new FieldMoeError('--tile', `${tile} must be an integer of at least 8 pixels`);
  if (spec.fixedSize && tile !== spec.size) throw new FieldMoeError('--tile', `model pack ${manifest.name} runs on ${spec.size}-pixel tiles only, got ${tile}`);
  if (tile % spec.multipleOf !== 0) throw new FieldMoeError('--tile', `${tile} must be a multiple of ${spec.multipleOf} for model pack ${manifest.name}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap * 2 > tile) throw new FieldMoeError('--overlap', `${overlap} must be an integer from 0 to half the tile size (${tile / 2})`);
  if (!Number.isInteger(batch) || batch < 1) throw new FieldMoeError('--batch', `${batch} must be a positive integer`);
  return { tile, overlap, batch };
}

/**
 * Classifies `scene` with an inference engine, streaming finished rows to `sink`. The engine may
 * still be opening: the first band of tiles is read meanwhile.
 */
export async function runPipeline(scene: Scene, manifest: PackManifest, engine: InferenceEngine | PromiseLike<InferenceEngine>, sink: ResultSink, options: PipelineOptions = {}, ctx: JobContext = {}): Promise<ClassifyReport> {
  const units = await withPackUnits(scene, manifest, ctx.signal);
  // before the fills: a filled band takes the scale the scene's own bands give
  const normalised = await withSceneNormalization(units.scene, manifest, { wavelengths: options.wavelengths }, ctx.signal);
  const { scene: adapted, filled } = withFilledBands(units.scene, normalised.manifest, { wavelengths: options.wavelengths });
  const known = { degradation: describeFilled(filled, manifest.name), conversions: [...describeConverted(units.converted, manifest.name), ...normalised.notes] };
  return new ClassifyRun(adapted, normalised.manifest, engine, sink, options, ctx, known).run();
}

/** Lap times of the pipeline's stages (ms). */
class Stopwatch {
  readonly timings = { readMs: 0, prepareMs: 0, blendMs: 0, writeMs: 0 };
  private clock = performance.now();
  /** Starts timing from now (after waiting that belongs to no stage). */
  restart(): void {
    this.clock = performance.now();
  }
  /** Adds the time since the last lap to `stage`. */
  lap(stage: keyof Stopwatch['timings']): void {
    const now = performance.now();
    this.timings[stage] += now - this.clock;
    this.clock = now;
  }
}

/** One classify run: the tile grid, the accumulator and the band-by-band loop. */
class ClassifyRun {
  private readonly started = performance.now();
  private readonly T: number;
  private readonly overlap: number;
  private readonly B: number;
  private readonly W: number;
  private readonly H: number;
  private readonly mapping: BandMapping;
  private readonly engine: Promise<InferenceEngine>;
  /** Bound to the pack once the engine is open. */
  private runner!: BatchRunner;
  private provider = '';
  private readonly xs: number[];
  private readonly ys: number[];
  private readonly win: Float64Array;
  private readonly progress: ProgressMeter;
  private readonly acc: Accumulator;
  private readonly stats: RunStats;
  private readonly readSensors: string[];
  /** Per read sensor: the file bands the bindings use (ascending), so nothing else is decoded. */
  private readonly readBands: Map<string, number[]>;
  private readonly classIds: Uint8Array;
  private readonly watch = new Stopwatch();
  private tilesDone = 0;
  /** Batches handed to the engine and not yet blended, oldest first (at most `runner.ahead` while the next one is filled). */
  private readonly inflight: { batch: TileBatch; band: BandData; first: number; ran: Promise<void> }[] = [];
  /**
   * Room for the "any sensor valid" masks of recent bands, used in turn: a band's mask is read
   * when its first batch is blended, and up to `runner.ahead` batches (of as many earlier bands)
   * may be waiting for that when the next band is made.
   */
  private validMasks: Uint8Array[] = [];
  /** The band whose rows the accumulator holds (blended, not yet finished). */
  private accBand?: BandData;

  constructor(
    private readonly scene: Scene,
    private readonly manifest: PackManifest,
    engine: InferenceEngine | PromiseLike<InferenceEngine>,
    private readonly sink: ResultSink,
    private readonly options: PipelineOptions,
    private readonly ctx: JobContext,
    /** Known before the run: why the result is degraded (bands the pack filled in), and the sensors converted. */
    private readonly known: { degradation: string[]; conversions: string[] },
  ) {
    ({ tile: this.T, overlap: this.overlap, batch: this.B } = resolveTiling(manifest, options));
    this.mapping = mapBands(scene.info, manifest, { wavelengths: options.wavelengths });
    ({ width: this.W, height: this.H } = scene.info);
    this.engine = Promise.resolve(engine);
    this.xs = tileOrigins(this.W, this.T, this.overlap);
    this.ys = tileOrigins(this.H, this.T, this.overlap);
    this.win = blendWindow(this.T, this.overlap);
    this.progress = new ProgressMeter('classify', this.xs.length * this.ys.length, ctx.onProgress);
    this.acc = new Accumulator(this.W, this.T, manifest.classes.length, this.xs, this.ys, this.H);
    this.stats = new RunStats(this.mapping, manifest);
    this.readSensors = this.mapping.bindings.filter((b) => b.available).map((b) => b.sensor!.id);
    this.readBands = bandsToRead(this.mapping.bindings);
    this.classIds = Uint8Array.from(manifest.classes.map((c) => c.id));
  }

  async run(): Promise<ClassifyReport> {
    const { ys } = this;
    const prefetch = this.options.prefetch ?? true;
    await this.checkBandsHaveData();
    // The next band is read while this one runs: file reads and inflating overlap inference
    // (and the first band is read while the model opens).
    let pending: Promise<Map<string, SensorBlock>> | undefined = this.readBand(0);
    // Blocks of the band before the current one: done with, so the next read reuses their buffers.
    let spent: Map<string, SensorBlock> | undefined;
    try {
      const engine = await this.engine;
      this.runner = engine.runner(this.manifest, this.mapping.bindings, this.T);
      this.provider = engine.provider;
      this.validMasks = Array.from({ length: this.runner.ahead + 1 }, () => new Uint8Array(this.W * this.T));
      for (let r = 0; r < ys.length; r++) {
        throwIfCancelled(this.ctx.signal);
        this.watch.restart();
        const blocks = await (pending ?? this.readBand(r, spent));
        pending = r + 1 < ys.length && prefetch ? this.readBand(r + 1, spent) : undefined;
        this.watch.lap('readMs');
        const band = new BandData(this.mapping.bindings, blocks, this.W, Math.min(this.T, this.H - ys[r]), r, this.validMasks[r % this.validMasks.length]);
        // rows an earlier band of tiles held too (the last band is shifted up to end at the scene's edge, or tiles overlap)
        this.stats.countBand(band, r ? Math.max(0, ys[r - 1] + this.T - ys[r]) : 0);
        this.watch.lap('prepareMs');
        await this.runTiles(band);
        spent = blocks;
      }
      while (this.inflight.length > 0) await this.blendOldest();
      await this.finishBand();
    } finally {
      // A cancel or an error must not leave a read or a batch running unobserved.
      await pending?.catch(() => undefined);
      await Promise.all(this.inflight.map((b) => b.ran.catch(() => undefined)));
    }
    this.stats.checkBands();
    return this.report();
  }

  /**
   * An all-NaN band fails before the run rather than after it (same error as the end-of-run
   * check, which stays as the net for sensors that only lose their data after resampling).
   */
  private async checkBandsHaveData(): Promise<void> {
    for (const b of this.mapping.bindings) {
      if (!b.available) continue;
      const empty = await bandsWithoutData(this.scene, b.sensor!.id, b.bandIndices, { signal: this.ctx.signal });
      if (empty.length > 0) throw noFiniteValueError(b.sensor!, empty[0]);
    }
  }

  private readBand(r: number, reuse?: Map<string, SensorBlock>): Promise<Map<string, SensorBlock>> {
    const y = this.ys[r];
    const window: PixelWindow = { x: 0, y, width: this.W, height: Math.min(this.T, this.H - y) };
    const read = this.scene.readWindow(window, { sensors: this.readSensors, bands: this.readBands, reuse, signal: this.ctx.signal });
    read.catch(() => undefined); // handled where it is awaited; this only keeps Node from calling it unhandled meanwhile
    return read;
  }

  /**
   * Runs the band's tiles in batches. With an engine that runs off this thread, later batches
   * are filled while earlier ones run, and blended while later ones run, across band boundaries
   * too: the first batches of a band run while the band before is finished and written.
   */
  private async runTiles(band: BandData): Promise<void> {
    const { runner, xs, T } = this;
    for (let first = 0; first < xs.length; first += this.B) {
      throwIfCancelled(this.ctx.signal);
      const count = Math.min(this.B, xs.length - first);
      const batch = runner.batch(count);
      for (let j = 0; j < count; j++) fillTile(batch, j, band, xs[first + j], T);
      this.watch.lap('prepareMs');
      const ran = runner.run(batch);
      ran.catch(() => undefined); // awaited in blendOldest
      this.inflight.push({ batch, band, first, ran });
      while (this.inflight.length > runner.ahead) await this.blendOldest();
    }
  }

  /** Waits for the oldest batch in flight and blends it, first finishing the band before when it starts a new one. */
  private async blendOldest(): Promise<void> {
    const { batch, band, first, ran } = this.inflight.shift()!;
    await ran;
    this.watch.restart();
    if (this.accBand !== band) {
      await this.finishBand();
      this.acc.markData(band.anyValid, band.rows);
      this.accBand = band;
    }
    const { xs, T, W } = this;
    for (let j = 0; j < batch.count; j++) this.acc.blend(batch.probabilities, j, xs[first + j], Math.min(T, W - xs[first + j]), band.rows, this.win);
    this.tilesDone += batch.count;
    this.progress.update(this.tilesDone);
    this.watch.lap('blendMs');
  }

  /** Turns the accumulator's band into classes and writes the rows no later band touches. */
  private async finishBand(): Promise<void> {
    const band = this.accBand;
    if (!band) return;
    const { acc, W, H, ys } = this;
    const r = band.index;
    const finished = (r + 1 < ys.length ? ys[r + 1] : H) - ys[r];
    this.watch.restart();
    acc.finish(finished, this.classIds, this.stats);
    this.watch.lap('blendMs');
    await this.sink.writeRows(ys[r], finished, acc.classes.subarray(0, finished * W), acc.confidence.subarray(0, finished * W));
    acc.shift(finished);
    this.accBand = undefined;
    this.watch.lap('writeMs');
  }

  private report(): ClassifyReport {
    const { stats, manifest } = this;
    const report: ClassifyReport = {
      width: this.W,
      height: this.H,
      tile: this.T,
      overlap: this.overlap,
      tiles: this.xs.length * this.ys.length,
      batches: this.runner.runs,
      provider: this.provider,
      inputs: this.mapping.bindings.map((b) => ({ input: b.input.name, sensor: b.sensor?.id ?? null, available: b.available, bands: b.bandIndices })),
      ...stats.degradation(this.known.degradation),
      conversions: this.known.conversions,
      unread: describeUnread(this.scene.info, this.mapping, manifest.name),
      partialNodata: stats.partialNodata(),
      nodataPixels: stats.nodataPixels,
      classCounts: Object.fromEntries(manifest.classes.map((c, k) => [c.id, stats.classCounts[k]])),
      sessionRunMs: this.runner.runMs,
      totalMs: performance.now() - this.started,
      timings: this.watch.timings,
    };
    for (const line of [...report.conversions, ...report.unread, ...report.partialNodata]) this.options.log?.(line);
    if (report.degraded) this.options.log?.(`degraded result: ${report.degradedReasons.join('; ')}`);
    return report;
  }
}

/** One row band of input: the blocks of each bound sensor plus the per-pixel "any valid" mask. */
class BandData {
  readonly perBinding: (SensorBlock | undefined)[];
  readonly anyValid: Uint8Array;
  /** Per binding: valid pixels in this band. */
  readonly validCount: number[];
  /** Only one sensor feeds the model: its validity is the data mask, no per-tile bookkeeping. */
  readonly singleSource: boolean;
  /** Per binding and channel: the plane of the block's `data` holding that channel's band. */
  readonly planes: number[][];
  constructor(
    readonly bindings: readonly InputBinding[],
    blocks: Map<string, SensorBlock>,
    readonly width: number,
    readonly rows: number,
    /** Which band of tiles (row of tiles) this is. */
    readonly index: number,
    /** Room for `anyValid`, reused by a later band (a band's mask is needed until its first batch is blended). */
    maskBuffer: Uint8Array,
  ) {
    this.perBinding = bindings.map((b) => (b.available ? blocks.get(b.sensor!.id) : undefined));
    this.anyValid = maskBuffer.subarray(0, width * rows).fill(0);
    this.validCount = this.perBinding.map((block) => {
      if (!block) return 0;
      const v = block.valid;
      let count = 0;
      for (let p = 0; p < v.length; p++) {
        this.anyValid[p] |= v[p];
        count += v[p];
      }
      return count;
    });
    this.singleSource = this.perBinding.filter((b) => b).length === 1;
    this.planes = bindings.map((b, i) => {
      const held = this.perBinding[i]?.bandIndices;
      return held ? b.bandIndices.map((f) => held.indexOf(f)) : b.bandIndices;
    });
  }
}

/**
 * Fills tile j of the batch from the band, normalised on the way (one pass over the pixels):
 * zeros in the padding past the scene edge and for unavailable sensors; sets availability per input.
 */
function fillTile(batch: TileBatch, j: number, band: BandData, x0: number, T: number): void {
  const W = band.width;
  const tw = Math.min(T, W - x0);
  const th = band.rows;
  const partial = tw < T || th < T;
  const plane = T * T;
  const M = band.bindings.length;
  for (let i = 0; i < M; i++) {
    const b = band.bindings[i];
    const dst = batch.inputs[i];
    const base = j * b.channels * plane;
    const block = band.perBinding[i];
    if (!block) {
      dst.fill(0, base, base + b.channels * plane);
      batch.availability[j * M + b.index] = 0;
      continue;
    }
    if (partial) dst.fill(0, base, base + b.channels * plane);
    // All valid (the common case): no mask to look up.
    const valid = band.validCount[i] === W * th ? undefined : block.valid;
    for (let c = 0; c < b.channels; c++) {
      const src = band.planes[i][c] * W * th + x0;
      copyNormalised(block.data, src, W, valid, x0, dst, base + c * plane, T, tw, th, b.mean[c], b.invStd[c]);
    }
    batch.availability[j * M + b.index] = band.singleSource || availableInTile(block.valid, band.anyValid, W, x0, tw, th) ? 1 : 0;
  }
}

/**
 * Copies a tw x th window of one band plane (row pitch W, starting at `src`) into a tile plane
 * (row pitch T): (value - mean) / std where the sensor is valid, exactly 0 where it is not
 * (nodata, NaN, failure regions). `valid` (row pitch W, window at `validStart`) is omitted when
 * every pixel is valid; v === v still filters NaN.
 */
function copyNormalised(
  data: Float32Array, src: number, W: number, valid: Uint8Array | undefined, validStart: number,
  dst: Float32Array, d: number, T: number, tw: number, th: number, mean: number, invStd: number,
): void {
  for (let r = 0; r < th; r++) {
    const s = src + r * W;
    const o = d + r * T;
    if (!valid) {
      for (let k = 0; k < tw; k++) {
        const v = data[s + k];
        dst[o + k] = v === v ? (v - mean) * invStd : 0;
      }
      continue;
    }
    const vr = validStart + r * W;
    for (let k = 0; k < tw; k++) {
      const v = data[s + k];
      dst[o + k] = valid[vr + k] !== 0 && v === v ? (v - mean) * invStd : 0;
    }
  }
}

/** presentInTile over the tile's window of `valid` and `anyValid`; the sensor's invalid pixels are zeros either way. */
function availableInTile(valid: Uint8Array, anyValid: Uint8Array, W: number, x0: number, tw: number, th: number): boolean {
  let validPx = 0;
  let dataPx = 0;
  for (let r = 0; r < th; r++) {
    const row = r * W + x0;
    for (let k = 0; k < tw; k++) {
      validPx += valid[row + k];
      dataPx += anyValid[row + k];
    }
  }
  return presentInTile(validPx, dataPx);
}

/** Counts that decide nodata, degradation and the all-NaN band check. */
class RunStats {
  nodataPixels = 0;
  readonly classCounts: number[];
  /** Per binding and channel: finite values seen. */
  private readonly finite: number[][];
  /** Per binding: valid pixels seen, and pixels where another sensor had data but this one not. */
  private readonly validPx: number[];
  private readonly maskedPx: number[];
  /** Per binding: valid pixels with the raster's nodata value in some channels, of all valid ones counted so, and per channel how often. */
  private readonly partialPx: number[];
  private readonly partialOf: number[];
  private readonly partialByChannel: number[][];

  constructor(
    readonly mapping: BandMapping,
    readonly manifest: PackManifest,
  ) {
    this.classCounts = new Array(manifest.classes.length).fill(0);
    this.finite = mapping.bindings.map((b) => new Array(b.channels).fill(0));
    this.validPx = mapping.bindings.map(() => 0);
    this.maskedPx = mapping.bindings.map(() => 0);
    this.partialPx = mapping.bindings.map(() => 0);
    this.partialOf = mapping.bindings.map(() => 0);
    this.partialByChannel = mapping.bindings.map((b) => new Array(b.channels).fill(0));
  }

  countBand(band: BandData, seenRows: number): void {
    band.perBinding.forEach((block, i) => {
      if (!block) return;
      const b = band.bindings[i];
      const n = band.width * band.rows;
      for (let c = 0; c < b.channels; c++) {
        if (this.finite[i][c] > 0) continue;
        const off = band.planes[i][c] * n;
        for (let p = 0; p < n; p++) {
          const v = block.data[off + p];
          if (v === v) {
            this.finite[i][c]++;
            break;
          }
        }
      }
      this.validPx[i] += band.validCount[i];
      this.countPartialNodata(i, block, band.planes[i], seenRows * band.width, n);
      // Pixels classified from the other sensors while this one had no data there.
      if (band.singleSource || band.validCount[i] === n) return;
      let masked = 0;
      for (let p = 0; p < n; p++) if (!block.valid[p] && band.anyValid[p]) masked++;
      this.maskedPx[i] += masked;
    });
  }

  /** Valid pixels of binding `i` from pixel `from` on holding its raster's nodata value in some of `planes` (a pixel with it in all is invalid). */
  private countPartialNodata(i: number, block: SensorBlock, planes: readonly number[], from: number, n: number): void {
    const nodata = this.mapping.bindings[i].sensor?.raster.nodata;
    if (nodata === undefined || planes.length < 2) return;
    const counts = this.partialByChannel[i];
    for (let p = from; p < n; p++) {
      if (!block.valid[p]) continue;
      this.partialOf[i]++;
      let hit = false;
      for (let c = 0; c < planes.length; c++)
        if (block.data[planes[c] * n + p] === nodata) {
          counts[c]++;
          hit = true;
        }
      if (hit) this.partialPx[i]++;
    }
  }

  /** One line per sensor with pixels at its nodata value in some bands (RunStats.countPartialNodata), naming the bands most often so. */
  partialNodata(): string[] {
    return this.mapping.bindings.flatMap((b, i) => {
      const px = this.partialPx[i];
      if (!px || !b.sensor) return [];
      const sensor = b.sensor;
      const bands = this.partialByChannel[i].map((count, c) => ({ count, c })).filter((x) => x.count > 0).sort((x, y) => y.count - x.count);
      const name = (c: number) => sensor.bands.find((x) => x.index === b.bandIndices[c])?.name ?? `band ${b.bandIndices[c] + 1}`;
      const share = ((100 * px) / this.partialOf[i]).toFixed(1);
      return [`sensor ${sensor.id}: ${px} pixels (${share}% of its valid ones) hold the nodata value ${sensor.raster.nodata} in some bands but not all (${bands.slice(0, 3).map((x) => `${name(x.c)} ${x.count}`).join(', ')}${bands.length > 3 ? ', ...' : ''}); they were classified with those values as data, which a band dropout makes wrong: check them on the map`];
    });
  }

  /** After the run: a used band with no finite value, or a sensor with no valid pixel, is bad input. */
  checkBands(): void {
    this.mapping.bindings.forEach((b, i) => {
      if (!b.available) return;
      const sensor = b.sensor!;
      this.finite[i].forEach((n, c) => {
        if (n === 0) throw noFiniteValueError(sensor, b.bandIndices[c]);
      });
      if (this.validPx[i] === 0)
        throw new FieldMoeError(sensor.file, `sensor ${sensor.id} has no valid pixel in the scene (all nodata or NaN); mark it missing with --missing ${sensor.id}`);
    });
  }

  degradation(known: readonly string[]): { degraded: boolean; degradedReasons: string[] } {
    const reasons = [...known];
    const withAvailability = !!this.manifest.availabilityInput;
    this.mapping.bindings.forEach((b, i) => {
      const who = b.sensor ? `sensor ${b.sensor.id}` : `input ${b.input.name}`;
      if (!b.available && !withAvailability) reasons.push(`${who} is missing; its bands were masked (zeros) because model pack ${this.manifest.name} takes no sensor availability`);
      // with a pack that takes availability too: those pixels lack that sensor all the same
      else if (this.maskedPx[i] > 0) reasons.push(`${who} had no valid data in ${this.maskedPx[i]} pixels classified from the other sensors`);
    });
    return { degraded: reasons.length > 0, degradedReasons: reasons };
  }
}

/** The one-line error for a used band without a single finite value (file band index, 0-based). */
function noFiniteValueError(sensor: SensorInfo, bandIndex: number): FieldMoeError {
  const band = sensor.bands.find((x) => x.index === bandIndex);
  return noDataError(sensor, `band ${bandIndex + 1}${band?.name ? ` (${band.name})` : ''}`, 'holds no finite value (all NaN)');
}

/** Per available sensor: the ascending union of the file bands its bindings use. */
function bandsToRead(bindings: readonly InputBinding[]): Map<string, number[]> {
  const bands = new Map<string, Set<number>>();
  for (const b of bindings) {
    if (!b.available) continue;
    const set = bands.get(b.sensor!.id) ?? new Set<number>();
    for (const i of b.bandIndices) set.add(i);
    bands.set(b.sensor!.id, set);
  }
  return new Map([...bands].filter(([, set]) => set.size > 0).map(([id, set]) => [id, [...set].sort((x, y) => x - y)]));
}
