/**
 * Classify into GeoTIFFs: a uint8 class map with the pack's colour table (0 = nodata) and an
 * optional float32 confidence raster (NaN = nodata), both georeferenced like the scene and
 * written through temp files, so an error or a cancel leaves no partial output.
 */
import type { ModelPack } from '../packs/pack';
import type { Scene } from '../scene/types';
import type { JobContext } from '../jobs/job';
import { errorMessage } from '../util/errors';
import { checkOutputFile } from '../util/atomic';
import { defaultThreads, openSession, type Provider } from '../runtime/session';
import { sessionEngine, workerEngine, type InferenceEngine } from './runner';
import { GeoTiffWriter, type GeoTiffWriteOptions, type RgbColor } from '../raster/writer';
import type { MetadataItem } from '../raster/gdalMetadata';
import { runPipeline, resolveTiling, type ClassifyReport, type PipelineOptions, type ResultSink } from './pipeline';
import { mapBandsWithFills } from '../packs/fillBands';
import { packSearchPath, withPacksTaking } from '../packs/registry';

export interface ClassifyFilesOptions extends PipelineOptions {
  /** Class map path (.tif). */
  out: string;
  /** Confidence raster path (.tif), optional. */
  confidence?: string;
  /** Execution providers to try in order (CPU is always the fallback). */
  providers?: readonly Provider[];
  /** Intra-op threads for onnxruntime (default: all cores). */
  threads?: number;
  /**
   * Where session.run runs: 'worker' (default) overlaps inference with reading, blending and
   * writing on the main thread; 'main' keeps everything on one thread.
   */
  inference?: 'worker' | 'main';
  /** Extra pack folders to search (the app's user pack folder): for the packs an error suggests. */
  packDirs?: readonly string[];
}

export interface ClassifyFilesReport extends ClassifyReport {
  out: string;
  confidence?: string;
  model: string;
  fallbacks: { provider: string; error: string }[];
}

/** Classifies an opened scene with a loaded pack into GeoTIFF files. */
export async function classifyToFiles(scene: Scene, pack: ModelPack, options: ClassifyFilesOptions, ctx: JobContext = {}): Promise<ClassifyFilesReport> {
  const { manifest } = pack;
  // Bad input is reported before the model loads or any file is created.
  resolveTiling(manifest, options);
  for (const file of [options.out, options.confidence]) if (file) await checkOutputFile(file);
  try {
    mapBandsWithFills(scene, manifest, { wavelengths: options.wavelengths });
  } catch (err) {
    throw await withPacksTaking(err, scene, packSearchPath(options.packDirs), manifest.name);
  }
  // The model opens (in a worker, usually) while the output files are created and the first
  // band of tiles is read.
  const opening = openEngine(pack, options).then((opened) => {
    options.log?.(`execution provider: ${opened.engine.provider}`);
    return opened;
  });
  opening.catch(() => undefined); // awaited below; this only keeps Node from calling it unhandled meanwhile
  const metadata: readonly MetadataItem[] = [{ name: 'FIELDMOE_MODEL', value: `${manifest.name} ${manifest.version}` }];
  const { width, height } = scene.info;
  // RLE-strategy DEFLATE: a third of the default's CPU for nearly the same size (classify writes
  // while inference runs, on the same cores).
  const base = { width, height, georeferencing: scene.info.georeferencing, metadata, compressionStrategy: 'rle' as const };
  const writers: GeoTiffWriter[] = [];
  let released: Promise<void> | undefined;
  try {
    const classWriter = await GeoTiffWriter.create(options.out, {
      ...base,
      sampleType: 'uint8',
      nodata: 0,
      colorMap: colorTable(pack),
      bandDescriptions: ['class'],
    });
    writers.push(classWriter);
    const confWriter = options.confidence
      ? await GeoTiffWriter.create(options.confidence, { ...base, sampleType: 'float32', nodata: NaN, bandDescriptions: ['confidence'] })
      : undefined;
    if (confWriter) writers.push(confWriter);
    const sink = new TileRowSink(classWriter, confWriter);
    const report = await runPipeline(scene, manifest, opening.then((o) => o.engine), sink, options, ctx);
    const { engine, fallbacks } = await opening;
    // Inference is over: the engine shuts down while the files are finished.
    released = engine.release();
    released.catch(() => undefined); // awaited (and thrown) in finally; this only keeps Node from calling it unhandled meanwhile
    await sink.flush();
    // The provider and the run's outcome are only known now; the writers take them until they finish.
    const outcome: MetadataItem[] = [
      { name: 'FIELDMOE_PROVIDER', value: engine.provider },
      { name: 'FIELDMOE_DEGRADED', value: report.degraded ? `yes: ${report.degradedReasons.join('; ')}` : 'no' },
      { name: 'FIELDMOE_AVAILABILITY', value: report.inputs.map((i) => `${i.sensor ?? i.input}=${i.available ? 1 : 0}`).join(',') },
    ];
    for (const w of writers) {
      w.addMetadata(outcome);
      await w.finish();
    }
    return { ...report, out: options.out, confidence: options.confidence, model: `${manifest.name} ${manifest.version}`, fallbacks };
  } catch (err) {
    for (const w of writers) await w.abort();
    throw err;
  } finally {
    await (released ?? opening.then((o) => o.engine.release(), () => undefined));
  }
}

/**
 * The engine classify runs on. In a worker (the default), inference overlaps the main thread's
 * reading, blending and writing. With only the CPU provider asked for, the worker opens the model
 * itself; GPU preferences first go through openSession, which tries each provider and falls back
 * to CPU, and the worker then opens exactly the one that worked. When the worker cannot start,
 * inference runs on the main thread.
 */
async function openEngine(pack: ModelPack, options: ClassifyFilesOptions): Promise<{ engine: InferenceEngine; fallbacks: ClassifyFilesReport['fallbacks'] }> {
  const threads = options.threads ?? defaultThreads();
  const inWorker = (options.inference ?? 'worker') === 'worker';
  const cpuOnly = (options.providers ?? []).every((p) => p === 'cpu');
  let workerError: unknown;
  if (inWorker && cpuOnly) {
    try {
      return { engine: await workerEngine(pack.modelPath, 'cpu', threads), fallbacks: [] };
    } catch (err) {
      workerError = err;
    }
  }
  // A model that cannot load at all fails here, with onnxruntime's own message.
  const opened = await openSession(pack.modelPath, { providers: options.providers, threads, log: options.log });
  const onMain = { engine: sessionEngine(opened.session, opened.provider), fallbacks: opened.fallbacks };
  if (inWorker && !workerError) {
    try {
      const engine = await workerEngine(pack.modelPath, opened.provider, threads);
      await opened.session.release();
      return { engine, fallbacks: opened.fallbacks };
    } catch (err) {
      workerError = err;
    }
  }
  if (workerError) options.log?.(`inference worker unavailable (${errorMessage(workerError)}); running inference on the main thread`);
  return onMain;
}

/** The palette: index = class id, nodata (0) black, unused ids black. */
export function colorTable(pack: ModelPack): RgbColor[] {
  const table: RgbColor[] = Array.from({ length: 256 }, () => [0, 0, 0] as const);
  for (const c of pack.manifest.classes) {
    const n = parseInt(c.color.slice(1), 16);
    table[c.id] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  return table;
}

/** What TileRowSink needs of a GeoTiffWriter. */
export type TileRowWriter = Pick<GeoTiffWriter, 'width' | 'tileSize' | 'rowHeight' | 'writeTileRow'>;

/**
 * Regroups the pipeline's finished rows into the writer's rows of tiles. A full row of tiles is
 * compressed and written while the next one fills (two buffers in turn), so the pipeline does not
 * wait on DEFLATE and the file: it waits only when a row is full before the one before it is
 * written.
 */
export class TileRowSink implements ResultSink {
  private readonly buffers: { classes: Uint8Array; confidence?: Float32Array }[];
  private current = 0;
  private filled = 0;
  /** Rows of tiles handed to the writers (written or still being written). */
  private handedOver = 0;
  /** The write of the last full row of tiles (its buffer is the next one to fill). */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly classWriter: TileRowWriter,
    private readonly confWriter?: TileRowWriter,
  ) {
    const n = classWriter.tileSize * classWriter.width;
    this.buffers = [0, 1].map(() => ({ classes: new Uint8Array(n), confidence: confWriter ? new Float32Array(n) : undefined }));
  }

  async writeRows(_y: number, rows: number, classes: Uint8Array, confidence: Float32Array): Promise<void> {
    const W = this.classWriter.width;
    let done = 0;
    while (done < rows) {
      const target = this.classWriter.rowHeight(this.handedOver);
      const take = Math.min(rows - done, target - this.filled);
      const buf = this.buffers[this.current];
      buf.classes.set(classes.subarray(done * W, (done + take) * W), this.filled * W);
      buf.confidence?.set(confidence.subarray(done * W, (done + take) * W), this.filled * W);
      this.filled += take;
      done += take;
      if (this.filled === target) await this.startWrite();
    }
  }

  /** Writes what is filled and waits until every row handed over is in the files. */
  async flush(): Promise<void> {
    if (this.filled > 0) await this.startWrite();
    await this.writing;
  }

  /** Hands the filled buffer to the writers, once the write before it is done (which frees the other buffer). */
  private async startWrite(): Promise<void> {
    await this.writing;
    const n = this.filled * this.classWriter.width;
    const buf = this.buffers[this.current];
    const writes = [this.classWriter.writeTileRow(buf.classes.subarray(0, n))];
    if (this.confWriter) writes.push(this.confWriter.writeTileRow(buf.confidence!.subarray(0, n)));
    this.writing = Promise.all(writes).then(() => undefined);
    this.writing.catch(() => undefined); // awaited by the next startWrite or flush; this only keeps Node from calling it unhandled meanwhile
    this.current = 1 - this.current;
    this.filled = 0;
    this.handedOver++;
  }
}

export type { GeoTiffWriteOptions };
