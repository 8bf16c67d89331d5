import { promisify } from 'node:util';
import { inflate as inflateCb } from 'node:zlib';
import { BaseDecoder, getDecoder } from 'geotiff';

const inflate = promisify(inflateCb);

/**
 * DEFLATE through Node's native zlib instead of geotiff.js's pure-JS inflate: several times
 * faster, and it runs on libuv's thread pool, so tiles of one window decompress in parallel
 * while the main thread converts samples. BaseDecoder still applies the TIFF predictor.
 */
class NodeDeflateDecoder extends BaseDecoder {
  private blockBytes(): number {
    const { tileWidth, tileHeight, bitsPerSample, planarConfiguration, samplesPerPixel } = this.parameters;
    const bits = typeof bitsPerSample === 'number' ? bitsPerSample : Number(bitsPerSample[0]);
    const samples = planarConfiguration === 2 ? 1 : (samplesPerPixel ?? 1);
    return Math.max(64 * 1024, Math.ceil((tileWidth * tileHeight * samples * bits) / 8));
  }

  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBufferLike> {
    // One output chunk per block: zlib's default 16 KB chunks cost a thread-pool round trip each.
    // The chunk has a few bytes to spare: a block that fills it exactly makes Node allocate a
    // second, unused block-sized chunk (and that garbage drives the collector).
    const out = await inflate(new Uint8Array(buffer), { chunkSize: this.blockBytes() + SPARE_BYTES });
    // Typed-array views need the data at offset 0 of its own buffer; copy only when it is not
    // (spare bytes past the data are harmless: readers view the first block's worth).
    if (out.byteOffset === 0) return out.buffer;
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}

/** Spare room in the inflate output chunk: a multiple of every sample size, so views still fit. */
const SPARE_BYTES = 8;

/** Our own decoders by TIFF compression code; everything else goes to geotiff.js. */
const NATIVE_DECODERS: Record<number, new (params: never) => BaseDecoder> = {
  8: NodeDeflateDecoder,
  32946: NodeDeflateDecoder,
};

export async function decoderFor(compression: number, params: Record<string, unknown>): Promise<BaseDecoder> {
  const Native = NATIVE_DECODERS[compression];
  return Native ? new Native(params as never) : getDecoder(compression, params as never);
}
