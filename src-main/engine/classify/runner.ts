/**
 * Runs batches of tiles through onnxruntime. Tensors are allocated once per batch size and
 * reused (inputs, availability, wavelengths and the output), in a ring of sets, so the pipeline
 * fills batches while earlier ones run. Two engines share this contract:
 *   sessionEngine  session.run on the calling thread (tests, the simplest path)
 *   workerEngine   the session lives in a worker thread: inference runs on its own core while
 *                  the main thread reads, normalises, blends and writes. Buffers move between
 *                  the threads by transfer (zero copy; onnxruntime-node rejects shared memory).
 * Both time session.run alone: the baseline of the classify overhead benchmark.
 */
import * as ort from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { PackManifest } from '../packs/manifest';
import type { InputBinding } from '../packs/bandmap';
import type { Provider } from '../runtime/session';

export interface TileBatch {
  /** Tiles in this batch. */
  count: number;
  /** Per binding (manifest input order): float32 [count, C, T, T], written by the caller. */
  inputs: Float32Array[];
  /** float32 [count, M]: per tile, 1 where the input's sensor is available (MaMOL packs). */
  availability: Float32Array;
  /** float32 [count, K, T, T] class probabilities once `run` resolves. */
  probabilities: Float32Array;
}

export interface BatchRunner {
  /** Milliseconds spent inside session.run, and how many runs. */
  readonly runMs: number;
  readonly runs: number;
  /**
   * How many batches may be running or queued while the caller fills the next one: 0 when `run`
   * works on the calling thread. Off-thread, a queue keeps inference busy through the caller's
   * longer pauses (finishing and writing a band of rows, starting the next).
   */
  readonly ahead: number;
  /** A batch of `count` tiles that is free to fill: at most `ahead` others are still in use. */
  batch(count: number): TileBatch;
  /** Runs a filled batch; resolves when its probabilities are ready. */
  run(batch: TileBatch): Promise<void>;
}

/** Where inference runs; `runner` binds it to one pack's inputs and tile size. */
export interface InferenceEngine {
  /** The execution provider that runs the model. */
  readonly provider: string;
  runner(manifest: PackManifest, bindings: readonly InputBinding[], tile: number): BatchRunner;
  release(): Promise<void>;
}

interface TensorSpec {
  name: string;
  dims: number[];
}

/** Names and shapes of a pack's feeds and output for a batch of `count` tiles. */
function batchLayout(manifest: PackManifest, bindings: readonly InputBinding[], tile: number, count: number) {
  const T = tile;
  const inputs: TensorSpec[] = bindings.map((b) => ({ name: b.input.name, dims: [count, b.channels, T, T] }));
  const availability: TensorSpec | undefined = manifest.availabilityInput ? { name: manifest.availabilityInput, dims: [count, bindings.length] } : undefined;
  const output: TensorSpec = { name: manifest.output, dims: [count, manifest.classes.length, T, T] };
  return { inputs, availability, output };
}

/** Constant feeds: the wavelengths of wavelength-conditioned inputs. */
function constantFeeds(bindings: readonly InputBinding[]): { name: string; data: Float32Array }[] {
  return bindings.flatMap((b) => (b.input.bands.mode === 'any' && b.input.bands.wavelengthsInput ? [{ name: b.input.bands.wavelengthsInput, data: Float32Array.from(b.wavelengths) }] : []));
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function newBatch(layout: ReturnType<typeof batchLayout>, count: number, M: number): TileBatch {
  return {
    count,
    inputs: layout.inputs.map((s) => new Float32Array(size(s.dims))),
    availability: new Float32Array(count * M),
    probabilities: new Float32Array(size(layout.output.dims)),
  };
}

/** A ring of `size` batches per batch size, made on first use. */
class BatchPool {
  private readonly rings = new Map<number, { batches: TileBatch[]; next: number }>();
  constructor(
    private readonly size: number,
    private readonly make: (count: number) => TileBatch,
  ) {}
  take(count: number): TileBatch {
    let ring = this.rings.get(count);
    if (!ring) {
      ring = { batches: [], next: 0 };
      this.rings.set(count, ring);
    }
    if (ring.batches.length < this.size) ring.batches.push(this.make(count));
    const b = ring.batches[ring.next];
    ring.next = (ring.next + 1) % this.size;
    return b;
  }
}

// ---- in-thread -----------------------------------------------------------------------------------

export function sessionEngine(session: ort.InferenceSession, provider: string): InferenceEngine {
  return {
    provider,
    runner: (manifest, bindings, tile) => new SessionRunner(session, manifest, bindings, tile),
    release: () => session.release(),
  };
}

class SessionRunner implements BatchRunner {
  runMs = 0;
  runs = 0;
  readonly ahead = 0;
  private readonly pool: BatchPool;
  private readonly feeds = new Map<TileBatch, { feeds: Record<string, ort.Tensor>; fetches: Record<string, ort.Tensor> }>();
  private readonly constants: Record<string, ort.Tensor> = {};

  constructor(
    private readonly session: ort.InferenceSession,
    manifest: PackManifest,
    bindings: readonly InputBinding[],
    tile: number,
  ) {
    for (const c of constantFeeds(bindings)) this.constants[c.name] = new ort.Tensor('float32', c.data, [c.data.length]);
    this.pool = new BatchPool(1, (count) => {
      const layout = batchLayout(manifest, bindings, tile, count);
      const batch = newBatch(layout, count, bindings.length);
      const feeds: Record<string, ort.Tensor> = { ...this.constants };
      layout.inputs.forEach((s, i) => (feeds[s.name] = new ort.Tensor('float32', batch.inputs[i], s.dims)));
      if (layout.availability) feeds[layout.availability.name] = new ort.Tensor('float32', batch.availability, layout.availability.dims);
      this.feeds.set(batch, { feeds, fetches: { [layout.output.name]: new ort.Tensor('float32', batch.probabilities, layout.output.dims) } });
      return batch;
    });
  }

  batch(count: number): TileBatch {
    return this.pool.take(count);
  }

  async run(batch: TileBatch): Promise<void> {
    const f = this.feeds.get(batch)!;
    const t0 = performance.now();
    await this.session.run(f.feeds, f.fetches);
    this.runMs += performance.now() - t0;
    this.runs++;
  }
}

// ---- worker thread -------------------------------------------------------------------------------

/**
 * Batches handed to the worker and not yet blended. The default packs' batches (four 32-pixel
 * tiles) run in a few milliseconds, less than the main thread's pause at the end of a band of
 * tiles (argmax, handing rows to the writers, starting the next band): with a single batch
 * queued, inference sat idle there.
 */
const WORKER_QUEUE = 3;

/**
 * The worker is plain CommonJS evaluated from this string, so it needs no TypeScript loader and
 * survives bundling; it requires onnxruntime-node by the path the main thread resolved.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const constants = {};
// One message at a time, in order: queued runs must not start (and start their clocks) while
// another runs.
let queue = Promise.resolve();
parentPort.on('message', (m) => {
  queue = queue.then(() => handle(m));
});
async function handle(m) {
  try {
    if (m.type === 'open') {
      session = await ort.InferenceSession.create(m.model, m.options);
      parentPort.postMessage({ type: 'opened' });
    } else if (m.type === 'constant') {
      constants[m.name] = new ort.Tensor('float32', new Float32Array(m.buffer), m.dims);
    } else if (m.type === 'run') {
      const feeds = Object.assign({}, constants);
      for (const f of m.feeds) feeds[f.name] = new ort.Tensor('float32', new Float32Array(f.buffer), f.dims);
      const fetches = { [m.output.name]: new ort.Tensor('float32', new Float32Array(m.output.buffer), m.output.dims) };
      const t0 = performance.now();
      await session.run(feeds, fetches);
      const ms = performance.now() - t0;
      const buffers = m.feeds.map((f) => f.buffer).concat([m.output.buffer]);
      parentPort.postMessage({ type: 'ran', id: m.id, ms, feeds: m.feeds.map((f) => f.buffer), output: m.output.buffer }, buffers);
    } else if (m.type === 'release') {
      if (session) await session.release();
      parentPort.postMessage({ type: 'released' });
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: m.id, message: String((err && err.message) || err) });
  }
}
`;

interface WorkerReply {
  type: 'opened' | 'ran' | 'released' | 'error';
  id?: number;
  ms?: number;
  feeds?: ArrayBuffer[];
  output?: ArrayBuffer;
  message?: string;
}

/** Opens the model in a worker thread with exactly `provider` (resolved by openSession first). */
export async function workerEngine(modelPath: string, provider: Provider, threads: number): Promise<InferenceEngine> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } });
  const channel = new WorkerChannel(worker);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle inference threads sleep instead of spinning: the main thread needs those cores
    // for reading and blending while the worker waits for the next batch.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  try {
    await channel.request({ type: 'open', model: modelPath, options });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    provider,
    runner: (manifest, bindings, tile) => new WorkerRunner(channel, manifest, bindings, tile),
    async release() {
      // Let the session free its memory, but never wait on a stuck worker for long.
      const grace = new Promise((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([channel.request({ type: 'release' }).catch(() => undefined), grace]);
      await worker.terminate();
    },
  };
}

/** Request/reply over a worker's message port; one request of each id at a time. */
class WorkerChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private pendingControl?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

  constructor(readonly worker: Worker) {
    worker.on('message', (r: WorkerReply) => {
      const w = r.id !== undefined ? this.waiting.get(r.id) : this.pendingControl;
      if (r.id !== undefined) this.waiting.delete(r.id);
      else this.pendingControl = undefined;
      if (!w) return;
      if (r.type === 'error') w.reject(new Error(`inference worker: ${r.message}`));
      else w.resolve(r);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`inference worker exited (code ${code})`)));
  }

  /** A control message (open, release): replies carry no id. */
  request(message: Record<string, unknown>): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pendingControl = { resolve, reject };
      this.worker.postMessage(message);
    });
  }

  send(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  run(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.pendingControl?.reject(err);
    this.pendingControl = undefined;
  }
}

class WorkerRunner implements BatchRunner {
  runMs = 0;
  runs = 0;
  readonly ahead = WORKER_QUEUE;
  private readonly pool: BatchPool;
  private readonly layouts = new Map<number, ReturnType<typeof batchLayout>>();

  constructor(
    private readonly channel: WorkerChannel,
    private readonly manifest: PackManifest,
    private readonly bindings: readonly InputBinding[],
    private readonly tile: number,
  ) {
    for (const c of constantFeeds(bindings)) channel.send({ type: 'constant', name: c.name, buffer: c.data.buffer, dims: [c.data.length] }, [c.data.buffer as ArrayBuffer]);
    this.pool = new BatchPool(WORKER_QUEUE + 1, (count) => newBatch(this.layout(count), count, bindings.length));
  }

  private layout(count: number) {
    let l = this.layouts.get(count);
    if (!l) {
      l = batchLayout(this.manifest, this.bindings, this.tile, count);
      this.layouts.set(count, l);
    }
    return l;
  }

  batch(count: number): TileBatch {
    return this.pool.take(count);
  }

  async run(batch: TileBatch): Promise<void> {
    const layout = this.layout(batch.count);
    const feeds = layout.inputs.map((s, i) => ({ name: s.name, dims: s.dims, buffer: batch.inputs[i].buffer }));
    if (layout.availability) feeds.push({ name: layout.availability.name, dims: layout.availability.dims, buffer: batch.availability.buffer });
    const output = { ...layout.output, buffer: batch.probabilities.buffer };
    const transfer = [...feeds.map((f) => f.buffer), output.buffer] as ArrayBuffer[];
    const reply = await this.channel.run({ type: 'run', feeds, output }, transfer);
    // The buffers come back: re-wrap them in the batch (the old views were detached by the transfer).
    const back = reply.feeds!;
    batch.inputs = batch.inputs.map((_, i) => new Float32Array(back[i]));
    if (layout.availability) batch.availability = new Float32Array(back[batch.inputs.length]);
    batch.probabilities = new Float32Array(reply.output!);
    this.runMs += reply.ms!;
    this.runs++;
  }
}
