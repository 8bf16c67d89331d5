import { existsSync, promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { fromFile, type GeoTIFF, type GeoTIFFImage, type BaseDecoder } from 'geotiff';
import { decoderFor } from './decoders';
import { BlockCache } from './blockCache';
import type { BandInfo, GeoTransform, PixelWindow, RasterInfo, RawGeoreferencing } from '../scene/types';
import { FieldMoeError, CancelledError, errorMessage } from '../util/errors';
import { sampleTypeOf, type NumericArray, type SampleTypeSpec } from './sampleTypes';
import { COMPRESSIONS, TAG, compressionName } from './tiffTags';
import { crsFromGeoKeys, type GeoKeys } from './crs';
import { bandMetadata, parseGdalMetadata, type MetadataItem } from './gdalMetadata';

export type { RawGeoreferencing };

export interface RasterSource {
  readonly info: RasterInfo;
  readonly georeferencing: RawGeoreferencing;
  /** All GDAL_METADATA items (dataset and per band). */
  readonly metadata: readonly MetadataItem[];
  /**
   * Reads a window as band-major float32 (bands x height x width), converting any sample type.
   * Pixels of the window outside the raster are NaN. `bandIndices` are 0-based (default: all).
   * Nodata values are returned as stored; the scene layer turns them into `valid = 0`.
   * `out`, when given, receives the pixels (it must hold at least bands x height x width values;
   * the result is `out` itself or its prefix of exactly that size): callers reading window after
   * window reuse one buffer instead of allocating, and collecting, a new one per window.
   */
  readWindow(window: PixelWindow, bandIndices?: readonly number[], signal?: AbortSignal, out?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface OpenRasterOptions {
  /**
   * Bytes of decoded blocks kept for reuse by the next read (default 64 MB, about one band of
   * 256 x 256 tiles of an 8192-pixel-wide 13-band uint16 raster); 0 disables the cache.
   */
  blockCacheBytes?: number;
}

const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;

/** Opens a GeoTIFF for windowed reads; every problem is a one-line FieldMoeError naming the file. */
export async function openRaster(path: string, options: OpenRasterOptions = {}): Promise<RasterSource> {
  await checkFile(path);
  let tiff: GeoTIFF;
  let image: GeoTIFFImage;
  try {
    tiff = await fromFile(path);
    image = await tiff.getImage(0);
  } catch (err) {
    throw new FieldMoeError(path, `not a readable GeoTIFF (corrupt or truncated header: ${errorMessage(err)})`, { cause: err });
  }
  try {
    return await GeoTiffRaster.open(path, tiff, image, options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES);
  } catch (err) {
    await Promise.resolve(tiff.close()).catch(() => undefined);
    if (err instanceof FieldMoeError) throw err;
    throw new FieldMoeError(path, `corrupt or truncated TIFF (${errorMessage(err)})`, { cause: err });
  }
}

async function checkFile(path: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new FieldMoeError(path, problem, { cause: err });
  }
  if (stat.isDirectory()) throw new FieldMoeError(path, 'is a folder, not a GeoTIFF');
  if (stat.size === 0) throw new FieldMoeError(path, 'empty file (0 bytes), not a GeoTIFF');
  const head = Buffer.alloc(4);
  const handle = await fs.open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (!TIFF_MAGICS.some((m) => head.equals(m))) {
    throw new FieldMoeError(path, 'not a TIFF file; FieldMoE reads GeoTIFF rasters (convert other formats with `gdal_translate -of GTiff <in> <out.tif>`)');
  }
}

/** Classic and BigTIFF signatures, little- and big-endian. */
const TIFF_MAGICS = [
  Buffer.from([0x49, 0x49, 42, 0]),
  Buffer.from([0x4d, 0x4d, 0, 42]),
  Buffer.from([0x49, 0x49, 43, 0]),
  Buffer.from([0x4d, 0x4d, 0, 43]),
];

type FileDirectory = ReturnType<GeoTIFFImage['getFileDirectory']>;

/** TIFF SampleFormat values (TIFF 6.0 and its supplement). */
const SAMPLE_FORMAT_NAMES: Record<number, string> = { 1: 'unsigned integer', 2: 'signed integer', 3: 'floating point', 5: 'complex integer', 6: 'complex floating point' };

/** Why a sample type cannot be read, and the conversion that makes it readable. */
function unsupportedSampleType(format: number, bits: number): string {
  const name = SAMPLE_FORMAT_NAMES[format];
  // a format outside the TIFF list is a damaged header more often than a real type
  if (!name) return `unsupported sample type (${bits}-bit, SampleFormat ${format}: not a TIFF sample format; the file may be truncated or corrupt)`;
  const to = format >= 5 ? 'convert the values you need to real bands first (e.g. gdal_translate -ot Float32 keeps the real part)' : `convert it with gdal_translate -ot ${format === 3 ? 'Float32' : bits < 8 ? 'Byte' : format === 2 ? 'Int16' : 'UInt16'} <in> <out>`;
  return `unsupported sample type (${bits}-bit ${name}); ${to}`;
}

/** NewSubfileType bit of a transparency mask (TIFF 6.0; GDAL's internal masks). */
const MASK_SUBFILE = 4;

/**
 * Refuses a raster whose validity lives in a mask (internal, or a GDAL .msk beside it):
 * FieldMoE takes nodata values and NaN as the mask, so it would classify the masked pixels. The
 * message gives the GDAL command that writes the mask as nodata. (Not an alpha ExtraSample: NAIP
 * tiles, chesapeake-naip among them, mark their near-infrared band so.)
 */
async function refuseMasks(path: string, tiff: GeoTIFF): Promise<void> {
  const fix = `write the masked pixels as nodata first, e.g. gdalwarp -dstnodata 0 ${path} <out.tif>`;
  for (let i = 1; i < (await tiff.getImageCount()); i++) {
    const sub = (await tagValue<number>((await tiff.getImage(i)).getFileDirectory(), TAG.NewSubfileType)) ?? 0;
    if (sub & MASK_SUBFILE) throw new FieldMoeError(path, `has an internal mask, which FieldMoE does not read (its masked pixels would be classified); ${fix}`);
  }
  if (existsSync(`${path}.msk`)) throw new FieldMoeError(path, `has a mask beside it (${basename(path)}.msk), which FieldMoE does not read (its masked pixels would be classified); ${fix}`);
}

async function tagValue<T>(fd: FileDirectory, tag: number): Promise<T | undefined> {
  return fd.hasTag(tag) ? ((await fd.loadValue(tag)) as T) : undefined;
}

async function numberArrayTag(fd: FileDirectory, tag: number): Promise<number[] | undefined> {
  const v = await tagValue<ArrayLike<number | bigint>>(fd, tag);
  return v === undefined ? undefined : Array.from(v as ArrayLike<number | bigint>, Number);
}

async function readGeoreferencing(fd: FileDirectory): Promise<RawGeoreferencing> {
  const geo: RawGeoreferencing = {};
  geo.geoKeyDirectory = await numberArrayTag(fd, TAG.GeoKeyDirectory);
  geo.geoDoubleParams = await numberArrayTag(fd, TAG.GeoDoubleParams);
  geo.geoAsciiParams = await tagValue<string>(fd, TAG.GeoAsciiParams);
  geo.modelPixelScale = await numberArrayTag(fd, TAG.ModelPixelScale);
  geo.modelTiepoint = await numberArrayTag(fd, TAG.ModelTiepoint);
  geo.modelTransformation = await numberArrayTag(fd, TAG.ModelTransformation);
  for (const k of Object.keys(geo) as (keyof RawGeoreferencing)[]) if (geo[k] === undefined) delete geo[k];
  return geo;
}

/**
 * GDAL-order geotransform from the model tags, by GDAL's own rules: pixel scale + first tiepoint,
 * or the matrix; a PixelIsPoint raster is shifted by half a pixel, as GDAL does by default.
 */
export function geoTransformFromTags(geo: RawGeoreferencing, keys?: GeoKeys | null): GeoTransform | undefined {
  let gt: GeoTransform | undefined;
  const t = geo.modelTransformation;
  const s = geo.modelPixelScale;
  const p = geo.modelTiepoint;
  if (t && t.length >= 16) gt = [t[3], t[0], t[1], t[7], t[4], t[5]];
  else if (s && s.length >= 2 && p && p.length >= 6) {
    const [i, j, , x, y] = p;
    gt = [x - i * s[0], s[0], 0, y + j * s[1], 0, -s[1]];
  }
  if (gt && keys?.GTRasterTypeGeoKey === 2) {
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

function parseNodata(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.replace(/\0/g, '').trim();
  if (t === '') return undefined;
  if (/^nan$/i.test(t)) return NaN;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

/** Decoder parameters as geotiff.js builds them internally (not exported there). */
async function decoderParameters(image: GeoTIFFImage, fd: FileDirectory, compression: number): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = {
    tileWidth: image.getTileWidth(),
    tileHeight: image.getTileHeight(),
    planarConfiguration: (await tagValue<number>(fd, TAG.PlanarConfiguration)) ?? 1,
    bitsPerSample: await tagValue(fd, TAG.BitsPerSample),
    predictor: (await tagValue<number>(fd, TAG.Predictor)) ?? 1,
    samplesPerPixel: image.getSamplesPerPixel(),
  };
  if (compression === 7) params.JPEGTables = await fd.loadValue('JPEGTables');
  if (compression === 34887) params.LercParameters = await fd.loadValue('LercParameters');
  return params;
}

function clampWindow(w: PixelWindow, width: number, height: number): PixelWindow {
  const x0 = Math.max(0, w.x);
  const y0 = Math.max(0, w.y);
  const x1 = Math.min(width, w.x + w.width);
  const y1 = Math.min(height, w.y + w.height);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

const PHOTOMETRIC_YCBCR = 6;

/** Rounds and clamps to 0..255; NaN (outside the raster) stays NaN. */
function clampByte(v: number): number {
  return v !== v ? v : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function swapBytes(buffer: ArrayBufferLike, bytes: number): ArrayBuffer {
  const src = new Uint8Array(buffer);
  const dst = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += bytes) for (let k = 0; k < bytes; k++) dst[i + k] = src[i + bytes - 1 - k];
  return dst.buffer;
}

/**
 * Copies bands of a decoded block into the band-major output, one block row at a time: all
 * requested bands of a row are copied while that row is in cache (a chunky row of 256 pixels x
 * 13 uint16 bands is 6.6 KB; a whole block is 1.7 MB, so band after band over the block would
 * stream it through the cache once per band). Planar blocks (stride 1) copy with
 * `set(subarray)`, which converts any sample type to float32 natively; chunky blocks (stride =
 * samples per pixel) need a strided loop. `srcStart` and `dstStart` hold, per band, the offset of
 * the first pixel to copy.
 */
function copyBlockBands(
  src: NumericArray, srcStart: readonly number[], stride: number, srcRowPitch: number,
  dst: Float32Array, dstStart: readonly number[], dstRowPitch: number,
  cols: number, rows: number,
): void {
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < srcStart.length; b++) {
      let s = srcStart[b] + r * srcRowPitch;
      let d = dstStart[b] + r * dstRowPitch;
      if (stride === 1) {
        dst.set(src.subarray(s, s + cols), d);
        continue;
      }
      const end = d + cols;
      while (d < end) {
        dst[d++] = src[s];
        s += stride;
      }
    }
  }
}

class GeoTiffRaster implements RasterSource {
  private constructor(
    readonly info: RasterInfo,
    readonly georeferencing: RawGeoreferencing,
    readonly metadata: readonly MetadataItem[],
    private readonly tiff: GeoTIFF,
    private readonly image: GeoTIFFImage,
    private readonly sample: SampleTypeSpec,
    private readonly planar: number,
    private readonly decoder: BaseDecoder,
    /** JPEG-in-TIFF stored as YCbCr: decoded blocks hold Y, Cb, Cr and are converted to RGB. */
    private readonly ycbcr: boolean,
    private readonly cache: BlockCache<NumericArray>,
  ) {}

  static async open(path: string, tiff: GeoTIFF, image: GeoTIFFImage, blockCacheBytes: number): Promise<GeoTiffRaster> {
    const fd = image.getFileDirectory();
    const width = image.getWidth();
    const height = image.getHeight();
    if (width <= 0 || height <= 0) throw new FieldMoeError(path, `zero-size raster (${width} x ${height} pixels)`);
    const bandCount = image.getSamplesPerPixel();
    const compression = (await tagValue<number>(fd, TAG.Compression)) ?? 1;
    if (!COMPRESSIONS[compression]?.readable) {
      throw new FieldMoeError(
        path,
        `uses ${compressionName(compression)} compression, which FieldMoE cannot read; convert it with \`gdal_translate -co COMPRESS=DEFLATE -co TILED=YES <in> <out>\``,
      );
    }
    const bits = (await numberArrayTag(fd, TAG.BitsPerSample)) ?? [1];
    const formats = (await numberArrayTag(fd, TAG.SampleFormat)) ?? [1];
    const sample = sampleTypeOf(formats[0], bits[0]);
    if (!sample) throw new FieldMoeError(path, unsupportedSampleType(formats[0], bits[0]));
    if (bits.some((b) => b !== bits[0]) || formats.some((f) => f !== formats[0])) {
      throw new FieldMoeError(path, 'bands have different sample types, which FieldMoE does not support; split the bands into separate files');
    }
    await refuseMasks(path, tiff);
    const planar = (await tagValue<number>(fd, TAG.PlanarConfiguration)) ?? 1;
    await fixBigEndianBlockTables(path, fd, image.littleEndian);
    await checkBlocksInsideFile(path, fd, image.isTiled);

    const georeferencing = await readGeoreferencing(fd);
    const metadata = parseGdalMetadata(await tagValue<string>(fd, TAG.GdalMetadata));
    const { names, wavelengthsNm } = bandMetadata(metadata, bandCount);
    const bands: BandInfo[] = names.map((name, index) => {
      const b: BandInfo = { index, name: name ?? `band ${index + 1}` };
      if (wavelengthsNm[index] !== undefined) b.wavelengthNm = wavelengthsNm[index];
      return b;
    });
    const info: RasterInfo = {
      path,
      width,
      height,
      bandCount,
      sampleType: sample.type,
      bands,
      blockWidth: image.getTileWidth(),
      blockHeight: image.getTileHeight(),
      compression: compressionName(compression),
    };
    const nodata = parseNodata(await tagValue<string>(fd, TAG.GdalNodata));
    if (nodata !== undefined) info.nodata = nodata;
    const geoKeys = image.getGeoKeys() as GeoKeys | null;
    const crs = crsFromGeoKeys(geoKeys);
    if (crs) info.crs = crs;
    const geoTransform = geoTransformFromTags(georeferencing, geoKeys);
    if (geoTransform) info.geoTransform = geoTransform;

    const decoder = await decoderFor(compression, await decoderParameters(image, fd, compression));
    const ycbcr = (await tagValue<number>(fd, TAG.PhotometricInterpretation)) === PHOTOMETRIC_YCBCR && bandCount === 3 && sample.type === 'uint8';
    return new GeoTiffRaster(info, georeferencing, metadata, tiff, image, sample, planar, decoder, ycbcr, new BlockCache(blockCacheBytes));
  }

  async readWindow(window: PixelWindow, bandIndices?: readonly number[], signal?: AbortSignal, buffer?: Float32Array): Promise<Float32Array> {
    const { width, height, bandCount, path } = this.info;
    const bands = bandIndices ?? Array.from({ length: bandCount }, (_, i) => i);
    for (const b of bands) {
      if (!Number.isInteger(b) || b < 0 || b >= bandCount) throw new FieldMoeError(path, `band index ${b} out of range (the raster has ${bandCount} bands)`);
    }
    if (![window.x, window.y, window.width, window.height].every(Number.isInteger) || window.width < 0 || window.height < 0) {
      throw new FieldMoeError(path, `invalid read window ${JSON.stringify(window)} (integers, width and height >= 0)`);
    }
    const size = bands.length * window.width * window.height;
    if (buffer && buffer.length < size) throw new FieldMoeError(path, `read buffer holds ${buffer.length} values, the window needs ${size}`);
    const out = buffer ? (buffer.length === size ? buffer : buffer.subarray(0, size)) : new Float32Array(size);
    const inside = clampWindow(window, width, height);
    if (inside.width !== window.width || inside.height !== window.height) out.fill(NaN);
    if (inside.width === 0 || inside.height === 0) return out;
    try {
      if (this.ycbcr) await this.readYCbCr(window, inside, bands, out, signal);
      else await this.readInside(window, inside, bands, out, signal);
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      if (err instanceof FieldMoeError) throw err;
      throw new FieldMoeError(path, `could not read pixels (${errorMessage(err)}); the file may be corrupt or truncated`, { cause: err });
    }
    return out;
  }

  private async readInside(window: PixelWindow, inside: PixelWindow, bands: readonly number[], out: Float32Array, signal?: AbortSignal): Promise<void> {
    const tw = this.info.blockWidth;
    const th = this.info.blockHeight;
    const plane = window.width * window.height;
    const tx0 = Math.floor(inside.x / tw);
    const tx1 = Math.floor((inside.x + inside.width - 1) / tw);
    const ty0 = Math.floor(inside.y / th);
    const ty1 = Math.floor((inside.y + inside.height - 1) / th);
    const jobs: Promise<void>[] = [];
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        // Chunky blocks hold every band: fetch once, copy each requested band from it.
        const fetches = this.planar === 1 ? [{ sample: 0, outBands: bands.map((b, i) => [b, i]) }] : bands.map((b, i) => ({ sample: b, outBands: [[b, i]] }));
        for (const f of fetches) {
          jobs.push(
            this.block(tx, ty, f.sample, signal).then((data) => {
              const bx0 = tx * tw;
              const by0 = ty * th;
              const x0 = Math.max(inside.x, bx0);
              const y0 = Math.max(inside.y, by0);
              const x1 = Math.min(inside.x + inside.width, bx0 + tw);
              const y1 = Math.min(inside.y + inside.height, by0 + th);
              const stride = this.planar === 1 ? this.info.bandCount : 1;
              const first = ((y0 - by0) * tw + (x0 - bx0)) * stride;
              const srcStart = f.outBands.map(([band]) => first + (this.planar === 1 ? band : 0));
              const dstStart = f.outBands.map(([, outIndex]) => outIndex * plane + (y0 - window.y) * window.width + (x0 - window.x));
              copyBlockBands(data, srcStart, stride, tw * stride, out, dstStart, window.width, x1 - x0, y1 - y0);
            }),
          );
        }
      }
    }
    await Promise.all(jobs);
  }

  /** Reads Y, Cb and Cr, converts them to R, G, B (JFIF equations, as libjpeg) and keeps the requested bands. */
  private async readYCbCr(window: PixelWindow, inside: PixelWindow, bands: readonly number[], out: Float32Array, signal?: AbortSignal): Promise<void> {
    const plane = window.width * window.height;
    const ycc = new Float32Array(3 * plane).fill(NaN);
    await this.readInside(window, inside, [0, 1, 2], ycc, signal);
    const rgb = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      const y = ycc[i];
      const cb = ycc[plane + i] - 128;
      const cr = ycc[2 * plane + i] - 128;
      rgb[i] = clampByte(y + 1.402 * cr);
      rgb[plane + i] = clampByte(y - 0.344136 * cb - 0.714136 * cr);
      rgb[2 * plane + i] = clampByte(y + 1.772 * cb);
    }
    bands.forEach((b, i) => out.set(rgb.subarray(b * plane, (b + 1) * plane), i * plane));
  }

  /** One decoded block as a typed array of the file's sample type, in host byte order. */
  private async block(tx: number, ty: number, sample: number, signal?: AbortSignal): Promise<NumericArray> {
    if (signal?.aborted) throw new CancelledError();
    // The decode itself is not tied to one caller's signal: a cached block may serve others.
    return this.cache.get(`${tx},${ty},${sample}`, () => this.decodeBlock(tx, ty, sample));
  }

  private async decodeBlock(tx: number, ty: number, sample: number): Promise<NumericArray> {
    const tile = await this.image.getTileOrStrip(tx, ty, sample, this.decoder);
    let buffer = tile.data;
    if (!this.image.littleEndian && this.sample.bytes > 1) buffer = swapBytes(buffer, this.sample.bytes);
    const expected = this.info.blockWidth * this.image.getBlockHeight(ty) * (this.planar === 1 ? this.info.bandCount : 1);
    const arr = new this.sample.array(buffer as ArrayBuffer, 0, Math.min(expected, Math.floor(buffer.byteLength / this.sample.bytes)));
    if (arr.length < expected) throw new Error(`block ${tx},${ty} decoded to ${arr.length} samples, expected ${expected}`);
    return arr;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await Promise.resolve(this.tiff.close());
  }
}

/** What geotiff.js keeps for a large array tag it loads lazily (not exported by geotiff.js). */
interface LazyArray {
  arrayOffset: number;
  fieldType: number;
  length: number;
}

const OFFSET_READERS: Record<number, (v: DataView, at: number) => number> = {
  3: (v, at) => v.getUint16(at, false),
  4: (v, at) => v.getUint32(at, false),
  16: (v, at) => Number(v.getBigUint64(at, false)),
};
const OFFSET_SIZES: Record<number, number> = { 3: 2, 4: 4, 16: 8 };

/**
 * geotiff.js 3.0.5 decodes its lazily loaded arrays (tile/strip offsets and byte counts of
 * larger files) as little-endian whatever the file says. For big-endian files we read those
 * arrays ourselves and hand geotiff.js the correct values.
 */
async function fixBigEndianBlockTables(path: string, fd: FileDirectory, littleEndian: boolean): Promise<void> {
  if (littleEndian) return;
  const lazy = fd.deferredArrays as unknown as Map<number | string, LazyArray>;
  for (const tag of [TAG.TileOffsets, TAG.TileByteCounts, TAG.StripOffsets, TAG.StripByteCounts]) {
    const arr = lazy.get(tag);
    if (!arr) continue;
    const read = OFFSET_READERS[arr.fieldType];
    const size = OFFSET_SIZES[arr.fieldType];
    if (!read) throw new FieldMoeError(path, `corrupt TIFF: block table of field type ${arr.fieldType}`);
    const bytes = Buffer.alloc(arr.length * size);
    const handle = await fs.open(path, 'r');
    try {
      await handle.read(bytes, 0, bytes.length, arr.arrayOffset);
    } finally {
      await handle.close();
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values = Array.from({ length: arr.length }, (_, i) => read(view, i * size));
    lazy.delete(tag);
    (fd.actualizedFields as Map<number | string, unknown>).set(tag, values);
  }
}

/** Fails at open time when a block lies beyond the end of the file (a truncated download or copy). */
async function checkBlocksInsideFile(path: string, fd: FileDirectory, tiled: boolean): Promise<void> {
  const offsets = await numberArrayTag(fd, tiled ? TAG.TileOffsets : TAG.StripOffsets);
  const counts = await numberArrayTag(fd, tiled ? TAG.TileByteCounts : TAG.StripByteCounts);
  if (!offsets || !counts) throw new FieldMoeError(path, 'corrupt TIFF: no tile or strip offsets');
  const size = (await fs.stat(path)).size;
  let end = 0;
  for (let i = 0; i < offsets.length; i++) end = Math.max(end, offsets[i] + (counts[i] ?? 0));
  if (end > size) throw new FieldMoeError(path, `truncated TIFF: pixel data runs to byte ${end} but the file has ${size} bytes`);
}
