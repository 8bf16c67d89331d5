import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { constants as zlibConstants, deflate as deflateCb } from 'node:zlib';
import type { RawGeoreferencing, SampleType } from '../scene/types';
import { FieldMoeError, errorMessage } from '../util/errors';
import { tempPathFor } from '../util/atomic';
import { SAMPLE_TYPE_SPECS, type NumericArray, type SampleTypeSpec } from './sampleTypes';
import { TAG } from './tiffTags';
import { FIELD_TYPE, encodeHeader, encodeIfd, tiffFlavour, type TiffField, type TiffFlavour } from './tiffEncoder';
import { formatGdalMetadata, type MetadataItem } from './gdalMetadata';

const deflate = promisify(deflateCb);

/** Typed arrays map straight onto the little-endian TIFFs we write only on little-endian hosts. */
if (endianness() !== 'LE') throw new Error('FieldMoE writes GeoTIFFs on little-endian hosts only');

export type RgbColor = readonly [number, number, number];

export interface GeoTiffWriteOptions {
  width: number;
  height: number;
  /** Number of bands (default 1). Several bands are stored band-separate (PlanarConfiguration=2). */
  bands?: number;
  sampleType: SampleType;
  /** Square tile size, a multiple of 16 (default 256). */
  tileSize?: number;
  /** Georeferencing tags copied as they are (e.g. `RasterSource.georeferencing` of the input). */
  georeferencing?: RawGeoreferencing;
  /** Written as GDAL_NODATA; also the value that pads the partial edge tiles. */
  nodata?: number;
  /** Palette for single-band uint8/uint16 maps: entry i is the colour of value i (0..255 each channel). */
  colorMap?: readonly RgbColor[];
  bandDescriptions?: readonly string[];
  bandWavelengthsNm?: readonly (number | undefined)[];
  /**
   * Extra GDAL_METADATA items (dataset level unless they name a sample). Items only known once the
   * pixels are written (a run's outcome) go in with `addMetadata` before `finish()`.
   */
  metadata?: readonly MetadataItem[];
  /** zlib level 1..9 (default 6). */
  compressionLevel?: number;
  /**
   * zlib strategy: 'default' (LZ77 + Huffman) or 'rle' (matches of distance 1 only: about three
   * times faster; class maps and float rasters compress almost as well). Both are plain DEFLATE.
   */
  compressionStrategy?: 'default' | 'rle';
  /** BigTIFF: 'auto' (default) picks it when the uncompressed size could pass 4 GB. */
  bigTiff?: boolean | 'auto';
}

const FOUR_GB = 2 ** 32;
const DEFLATE_CHUNK_BYTES = 64 * 1024;

/**
 * Whether a file needs BigTIFF: asked for explicitly, or ('auto') when the uncompressed tiles
 * plus tables could pass 4 GB. DEFLATE output is usually far smaller, but a classic TIFF that
 * overflows cannot be repaired after the fact, so the worst case decides.
 */
export function needsBigTiff(o: Pick<GeoTiffWriteOptions, 'width' | 'height' | 'bands' | 'sampleType' | 'tileSize' | 'bigTiff'>): boolean {
  const big = o.bigTiff ?? 'auto';
  if (big !== 'auto') return big;
  const tile = o.tileSize ?? 256;
  const tiles = Math.ceil(o.width / tile) * Math.ceil(o.height / tile) * (o.bands ?? 1);
  const uncompressed = tiles * tile * tile * SAMPLE_TYPE_SPECS[o.sampleType].bytes;
  return uncompressed + tiles * 64 + (1 << 20) >= FOUR_GB;
}

/**
 * A streaming, tiled, DEFLATE-compressed GeoTIFF writer. Data arrive one row of tiles at a time
 * (all bands), so memory stays at one band of tiles whatever the raster size. Pixels go to a temp
 * file beside the target, which is renamed on `finish()` and deleted on `abort()` or any error.
 */
export class GeoTiffWriter {
  readonly width: number;
  readonly height: number;
  readonly bands: number;
  readonly tileSize: number;
  readonly tilesAcross: number;
  readonly tileRows: number;
  private readonly spec: SampleTypeSpec;
  private readonly flavour: TiffFlavour;
  private readonly offsets: number[];
  private readonly byteCounts: number[];
  private nextRow = 0;
  private queue: Promise<void> = Promise.resolve();
  private position: number;
  private closed = false;
  private readonly tileBuffers: NumericArray[] = [];
  /** Items added with addMetadata, written after `options.metadata`. */
  private readonly addedMetadata: MetadataItem[] = [];

  private constructor(
    readonly path: string,
    private readonly tmpPath: string,
    private readonly file: FileHandle,
    private readonly options: GeoTiffWriteOptions,
  ) {
    this.width = options.width;
    this.height = options.height;
    this.bands = options.bands ?? 1;
    this.tileSize = options.tileSize ?? 256;
    this.spec = SAMPLE_TYPE_SPECS[options.sampleType];
    this.tilesAcross = Math.ceil(this.width / this.tileSize);
    this.tileRows = Math.ceil(this.height / this.tileSize);
    const tiles = this.tilesAcross * this.tileRows * this.bands;
    this.offsets = new Array(tiles).fill(0);
    this.byteCounts = new Array(tiles).fill(0);
    this.flavour = tiffFlavour(needsBigTiff(options));
    this.position = this.flavour.headerSize;
  }

  static async create(finalPath: string, options: GeoTiffWriteOptions): Promise<GeoTiffWriter> {
    validateOptions(finalPath, options);
    await fs.mkdir(path.dirname(path.resolve(finalPath)), { recursive: true });
    const tmp = tempPathFor(finalPath);
    let file: FileHandle;
    try {
      file = await fs.open(tmp, 'w');
    } catch (err) {
      throw new FieldMoeError(finalPath, `cannot create output (${errorMessage(err)})`, { cause: err });
    }
    const writer = new GeoTiffWriter(finalPath, tmp, file, options);
    await writer.guard(() => file.write(encodeHeader(writer.flavour, 0), 0, writer.flavour.headerSize, 0));
    return writer;
  }

  /** Height in pixels of tile row `row` (the last one may be shorter). */
  rowHeight(row: number): number {
    return Math.min(this.tileSize, this.height - row * this.tileSize);
  }

  /** Rows of tiles written so far. */
  get rowsWritten(): number {
    return this.nextRow;
  }

  /**
   * Writes the next row of tiles: band-major data (bands x rowHeight x width). Values are
   * rounded and clamped to integer sample types; NaN becomes nodata (or 0).
   */
  writeTileRow(data: ArrayLike<number>): Promise<void> {
    // Rows are written strictly in call order, even when a caller does not await each one.
    const job = this.queue.then(() => this.writeNextRow(data));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async writeNextRow(data: ArrayLike<number>): Promise<void> {
    if (this.closed) throw new FieldMoeError(this.path, 'writer already finished or aborted');
    const row = this.nextRow;
    const h = this.rowHeight(row);
    // A misuse is a bug upstream: drop the output too rather than write a wrong file.
    await this.guard(async () => {
      if (row >= this.tileRows) throw new FieldMoeError(this.path, `all ${this.tileRows} rows of tiles are already written`);
      if (data.length !== this.bands * h * this.width) {
        throw new FieldMoeError(this.path, `row of tiles ${row} has ${data.length} values, expected ${this.bands} x ${h} x ${this.width}`);
      }
      const tiles: Promise<Buffer>[] = [];
      for (let b = 0; b < this.bands; b++) {
        for (let tx = 0; tx < this.tilesAcross; tx++) tiles.push(this.compressTile(data, b, tx, h));
      }
      const compressed = await Promise.all(tiles);
      let k = 0;
      for (let b = 0; b < this.bands; b++) {
        for (let tx = 0; tx < this.tilesAcross; tx++) {
          const buf = compressed[k++];
          const index = b * this.tilesAcross * this.tileRows + row * this.tilesAcross + tx;
          this.offsets[index] = this.position;
          this.byteCounts[index] = buf.length;
          await this.file.write(buf, 0, buf.length, this.position);
          this.position += buf.length;
        }
      }
      if (!this.flavour.bigTiff && this.position >= FOUR_GB) throw new Error('output passed 4 GB; write it with bigTiff: true');
      this.nextRow++;
    });
  }

  private compressTile(data: ArrayLike<number>, band: number, tx: number, h: number): Promise<Buffer> {
    const t = this.tileSize;
    const tile = this.tileBuffer(band * this.tilesAcross + tx);
    const pad = this.options.nodata !== undefined && !Number.isNaN(this.options.nodata) ? this.options.nodata : this.spec.isInteger ? 0 : NaN;
    const x0 = tx * t;
    const cols = Math.min(t, this.width - x0);
    if (cols < t || h < t) tile.fill(pad);
    const srcBand = band * h * this.width;
    if (data instanceof this.spec.array) {
      for (let r = 0; r < h; r++) {
        const s = srcBand + r * this.width + x0;
        tile.set((data as NumericArray).subarray(s, s + cols) as never, r * t);
      }
    } else {
      convertInto(data, srcBand, this.width, tile, t, cols, h, x0, this.spec, pad);
    }
    return deflate(new Uint8Array(tile.buffer, 0, tile.byteLength), {
      level: this.options.compressionLevel ?? 6,
      strategy: this.options.compressionStrategy === 'rle' ? zlibConstants.Z_RLE : zlibConstants.Z_DEFAULT_STRATEGY,
      // 64 KB output chunks: each chunk costs a thread-pool round trip, and the default 16 KB
      // make a dozen of them for a float tile; larger ones would hold a tile-sized buffer per tile.
      chunkSize: DEFLATE_CHUNK_BYTES,
    });
  }

  /**
   * The buffer tile `index` of a row of tiles is assembled in. Rows compress one after another
   * (writeNextRow waits for all of a row's tiles), so each row reuses the last one's buffers
   * instead of leaving a row's worth of garbage.
   */
  private tileBuffer(index: number): NumericArray {
    this.tileBuffers[index] ??= new this.spec.array(this.tileSize * this.tileSize) as NumericArray;
    return this.tileBuffers[index];
  }

  /**
   * Adds GDAL_METADATA items (dataset level unless they name a sample) to the file; allowed any
   * time before `finish()`, since the IFD is only written then.
   */
  addMetadata(items: readonly MetadataItem[]): void {
    if (this.closed) throw new FieldMoeError(this.path, 'writer already finished or aborted');
    this.addedMetadata.push(...items.map((i) => ({ ...i })));
  }

  /** Writes the IFD and renames the temp file onto the target. All rows must have been written. */
  async finish(): Promise<void> {
    await this.queue;
    if (this.closed) throw new FieldMoeError(this.path, 'writer already finished or aborted');
    if (this.nextRow !== this.tileRows) {
      await this.abort();
      throw new FieldMoeError(this.path, `only ${this.nextRow} of ${this.tileRows} rows of tiles were written`);
    }
    await this.guard(async () => {
      const ifdOffset = this.position + (this.position % 2);
      const ifd = encodeIfd(this.flavour, this.fields(), ifdOffset);
      await this.file.write(ifd, 0, ifd.length, ifdOffset);
      const header = encodeHeader(this.flavour, ifdOffset);
      await this.file.write(header, 0, header.length, 0);
      await this.file.close();
      this.closed = true;
      await fs.rename(this.tmpPath, this.path);
    });
  }

  /** Stops writing and deletes the temp file; nothing appears at the target path. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.file.close().catch(() => undefined);
    }
    await fs.rm(this.tmpPath, { force: true });
  }

  /** Runs a write step; on failure the temp file is deleted and the error names the output. */
  private async guard<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      await this.abort();
      if (err instanceof FieldMoeError) throw err;
      throw new FieldMoeError(this.path, `write failed (${errorMessage(err)})`, { cause: err });
    }
  }

  private fields(): TiffField[] {
    const o = this.options;
    const { SHORT, LONG, DOUBLE, ASCII, LONG8 } = FIELD_TYPE;
    const n = this.bands;
    const repeat = (v: number, count: number) => new Array(count).fill(v) as number[];
    const offsetType = this.flavour.bigTiff ? LONG8 : LONG;
    const palette = o.colorMap !== undefined;
    const fields: TiffField[] = [
      { tag: TAG.ImageWidth, type: LONG, values: [this.width] },
      { tag: TAG.ImageLength, type: LONG, values: [this.height] },
      { tag: TAG.BitsPerSample, type: SHORT, values: repeat(this.spec.bits, n) },
      { tag: TAG.Compression, type: SHORT, values: [8] },
      { tag: TAG.PhotometricInterpretation, type: SHORT, values: [palette ? 3 : 1] },
      { tag: TAG.SamplesPerPixel, type: SHORT, values: [n] },
      { tag: TAG.PlanarConfiguration, type: SHORT, values: [n === 1 ? 1 : 2] },
      { tag: TAG.TileWidth, type: SHORT, values: [this.tileSize] },
      { tag: TAG.TileLength, type: SHORT, values: [this.tileSize] },
      { tag: TAG.TileOffsets, type: offsetType, values: this.offsets },
      { tag: TAG.TileByteCounts, type: offsetType, values: this.byteCounts },
      { tag: TAG.SampleFormat, type: SHORT, values: repeat(this.spec.format, n) },
    ];
    if (n > 1) fields.push({ tag: TAG.ExtraSamples, type: SHORT, values: repeat(0, n - 1) });
    if (palette) fields.push({ tag: TAG.ColorMap, type: SHORT, values: colorMapValues(o.colorMap!, this.spec.bits) });
    const g = o.georeferencing ?? {};
    if (g.modelPixelScale) fields.push({ tag: TAG.ModelPixelScale, type: DOUBLE, values: g.modelPixelScale });
    if (g.modelTiepoint) fields.push({ tag: TAG.ModelTiepoint, type: DOUBLE, values: g.modelTiepoint });
    if (g.modelTransformation) fields.push({ tag: TAG.ModelTransformation, type: DOUBLE, values: g.modelTransformation });
    if (g.geoKeyDirectory) fields.push({ tag: TAG.GeoKeyDirectory, type: SHORT, values: g.geoKeyDirectory });
    if (g.geoDoubleParams) fields.push({ tag: TAG.GeoDoubleParams, type: DOUBLE, values: g.geoDoubleParams });
    if (g.geoAsciiParams) fields.push({ tag: TAG.GeoAsciiParams, type: ASCII, values: g.geoAsciiParams });
    const metadata = this.metadataItems();
    if (metadata.length > 0) fields.push({ tag: TAG.GdalMetadata, type: ASCII, values: formatGdalMetadata(metadata) });
    if (o.nodata !== undefined) fields.push({ tag: TAG.GdalNodata, type: ASCII, values: Number.isNaN(o.nodata) ? 'nan' : String(o.nodata) });
    return fields;
  }

  private metadataItems(): MetadataItem[] {
    const o = this.options;
    const items: MetadataItem[] = [...(o.metadata ?? []), ...this.addedMetadata];
    o.bandDescriptions?.forEach((d, sample) => items.push({ name: 'DESCRIPTION', sample, role: 'description', value: d }));
    o.bandWavelengthsNm?.forEach((w, sample) => {
      if (w !== undefined) items.push({ name: 'wavelength_nm', sample, value: String(w) });
    });
    return items;
  }
}

/** Converts a row of a band into a tile of an integer or float type, rounding and clamping integers. */
function convertInto(
  src: ArrayLike<number>, srcBand: number, srcWidth: number,
  tile: NumericArray, tileSize: number, cols: number, rows: number, x0: number,
  spec: SampleTypeSpec, pad: number,
): void {
  const { min, max, isInteger } = spec;
  for (let r = 0; r < rows; r++) {
    let s = srcBand + r * srcWidth + x0;
    let d = r * tileSize;
    const end = d + cols;
    if (!isInteger) {
      while (d < end) tile[d++] = src[s++];
      continue;
    }
    while (d < end) {
      const v = src[s++];
      tile[d++] = v !== v ? pad : v <= min ? min : v >= max ? max : Math.round(v);
    }
  }
}

/** TIFF ColorMap: all reds, then greens, then blues, 16-bit, 2^bits entries (missing ones black). */
function colorMapValues(colors: readonly RgbColor[], bits: number): number[] {
  const n = 2 ** bits;
  const values = new Array(3 * n).fill(0) as number[];
  colors.slice(0, n).forEach((c, i) => {
    for (let ch = 0; ch < 3; ch++) values[ch * n + i] = Math.max(0, Math.min(255, Math.round(c[ch]))) * 257;
  });
  return values;
}

function validateOptions(file: string, o: GeoTiffWriteOptions): void {
  const bands = o.bands ?? 1;
  const tile = o.tileSize ?? 256;
  const problems: string[] = [];
  if (!Number.isInteger(o.width) || !Number.isInteger(o.height) || o.width <= 0 || o.height <= 0) problems.push(`invalid size ${o.width} x ${o.height}`);
  if (!Number.isInteger(bands) || bands < 1 || bands > 65535) problems.push(`invalid band count ${bands}`);
  if (!Number.isInteger(tile) || tile < 16 || tile % 16 !== 0 || tile > 65535) problems.push(`tile size ${tile} is not a multiple of 16`);
  if (!(o.sampleType in SAMPLE_TYPE_SPECS)) problems.push(`unknown sample type ${o.sampleType}`);
  if (o.colorMap && (bands !== 1 || (o.sampleType !== 'uint8' && o.sampleType !== 'uint16'))) problems.push('a colour map needs a single uint8 or uint16 band');
  const spec = SAMPLE_TYPE_SPECS[o.sampleType];
  if (spec?.isInteger && o.nodata !== undefined && !(Number.isInteger(o.nodata) && o.nodata >= spec.min && o.nodata <= spec.max)) {
    problems.push(`nodata ${o.nodata} is not a ${o.sampleType} value`);
  }
  if (o.bandDescriptions && o.bandDescriptions.length !== bands) problems.push(`${o.bandDescriptions.length} band descriptions for ${bands} bands`);
  if (problems.length > 0) throw new FieldMoeError(file, `cannot write GeoTIFF: ${problems.join('; ')}`);
}

/**
 * Runs `fill(writer)`, then finishes the file; any error (or cancel) aborts it so no partial
 * output is left behind.
 */
export async function withGeoTiffWriter<T>(finalPath: string, options: GeoTiffWriteOptions, fill: (w: GeoTiffWriter) => Promise<T>): Promise<T> {
  const writer = await GeoTiffWriter.create(finalPath, options);
  try {
    const result = await fill(writer);
    await writer.finish();
    return result;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Writes a whole raster held in memory (band-major); for small outputs and tests. */
export async function writeGeoTiff(finalPath: string, options: GeoTiffWriteOptions, data: ArrayLike<number>): Promise<void> {
  await withGeoTiffWriter(finalPath, options, async (w) => {
    const bands = w.bands;
    const plane = w.width * w.height;
    if (data.length !== bands * plane) throw new FieldMoeError(finalPath, `got ${data.length} values, expected ${bands} x ${w.height} x ${w.width}`);
    for (let row = 0; row < w.tileRows; row++) {
      const h = w.rowHeight(row);
      const y0 = row * w.tileSize;
      const size = h * w.width;
      if (ArrayBuffer.isView(data)) {
        // Same typed array as the input, so a matching sample type is copied without conversion.
        const typed = data as unknown as NumericArray;
        const chunk = new (typed.constructor as new (n: number) => NumericArray)(bands * size);
        for (let b = 0; b < bands; b++) chunk.set(typed.subarray(b * plane + y0 * w.width, b * plane + y0 * w.width + size) as never, b * size);
        await w.writeTileRow(chunk);
        continue;
      }
      const chunk = new Float64Array(bands * size);
      for (let b = 0; b < bands; b++) {
        const start = b * plane + y0 * w.width;
        for (let i = 0; i < size; i++) chunk[b * size + i] = data[start + i];
      }
      await w.writeTileRow(chunk);
    }
  });
}
