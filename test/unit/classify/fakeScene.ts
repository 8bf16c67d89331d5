/** An in-memory Scene for pipeline tests: band-major float32 planes per sensor, NaN or all-nodata = invalid. */
import type { BandInfo, PixelWindow, ReadOptions, Scene, SceneInfo, SensorBlock, SensorKind } from '../../../src-main/engine/scene/types';
import { throwIfCancelled } from '../../../src-main/engine/jobs/job';
import { markInvalid } from '../../../src-main/engine/scene/scene';

export interface FakeSensor {
  id: string;
  kind: SensorKind;
  bands: { name: string; wavelengthNm?: number }[];
  /** bands x height x width */
  data: Float32Array;
  failed?: boolean;
  /** Values equal to this are invalid (besides NaN). */
  nodata?: number;
}

export class FakeScene implements Scene {
  readonly info: SceneInfo;
  /** Windows read, for tests that check memory bounds. */
  readonly reads: PixelWindow[] = [];
  /** The options of each read (same order as `reads`). */
  readonly readOptions: ReadOptions[] = [];
  constructor(
    readonly width: number,
    readonly height: number,
    readonly sensors: FakeSensor[],
  ) {
    this.info = {
      source: 'fake-scene.json',
      width,
      height,
      referenceSensor: sensors[0].id,
      failureRegions: [],
      sensors: sensors.map((s) => {
        const bands: BandInfo[] = s.bands.map((b, index) => ({ index, name: b.name, wavelengthNm: b.wavelengthNm }));
        return {
          id: s.id,
          kind: s.kind,
          file: `/fake/${s.id}.tif`,
          bands,
          failed: !!s.failed,
          resampled: false,
          raster: { path: `/fake/${s.id}.tif`, width, height, bandCount: bands.length, sampleType: 'float32', nodata: s.nodata, bands, blockWidth: width, blockHeight: height, compression: 'none' },
        };
      }),
    };
  }

  async readWindow(w: PixelWindow, options: ReadOptions = {}): Promise<Map<string, SensorBlock>> {
    throwIfCancelled(options.signal);
    this.reads.push(w);
    this.readOptions.push(options);
    const out = new Map<string, SensorBlock>();
    for (const s of this.sensors) {
      if (options.sensors && !options.sensors.includes(s.id)) continue;
      // Like the real scene: a band subset holds just those bands, in the order asked.
      const subset = options.bands?.get(s.id);
      const fileBands = subset ?? s.bands.map((_, b) => b);
      const B = fileBands.length;
      const data = new Float32Array(B * w.width * w.height);
      const valid = new Uint8Array(w.width * w.height);
      fileBands.forEach((fb, b) => {
        for (let y = 0; y < w.height; y++)
          for (let x = 0; x < w.width; x++) {
            const v = s.data[fb * this.width * this.height + (w.y + y) * this.width + w.x + x];
            data[b * w.width * w.height + y * w.width + x] = v;
          }
      });
      // The real scene's validity rule: any NaN band or all bands nodata -> invalid.
      if (!s.failed) {
        valid.fill(1);
        markInvalid(data, B, w.width * w.height, s.nodata, valid);
      }
      const block: SensorBlock = { sensor: s.id, bands: B, width: w.width, height: w.height, data, valid };
      if (subset) block.bandIndices = [...subset];
      out.set(s.id, block);
    }
    await new Promise((r) => setImmediate(r));
    return out;
  }

  async close(): Promise<void> {}
}

/** Smooth synthetic bands in [lo, hi] (sums of sines), deterministic. */
export function smoothBands(width: number, height: number, bands: number, lo = 0, hi = 255, seed = 1): Float32Array {
  const data = new Float32Array(bands * width * height);
  for (let b = 0; b < bands; b++) {
    const fx = 0.013 * (b + seed) + 0.02;
    const fy = 0.017 * (bands - b + seed) + 0.015;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const t = 0.5 + 0.25 * Math.sin(fx * x + b) + 0.25 * Math.cos(fy * y + 0.7 * b + 0.3 * Math.sin(0.05 * x));
        data[b * width * height + y * width + x] = lo + (hi - lo) * t;
      }
  }
  return data;
}
