/** TIFF / GeoTIFF / GDAL tag numbers used by the reader and the writer. */
export const TAG = {
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  PhotometricInterpretation: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  Predictor: 317,
  ColorMap: 320,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  NewSubfileType: 254,
  SampleFormat: 339,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  ModelTransformation: 34264,
  GeoKeyDirectory: 34735,
  GeoDoubleParams: 34736,
  GeoAsciiParams: 34737,
  GdalMetadata: 42112,
  GdalNodata: 42113,
} as const;

/**
 * TIFF compression codes with the name an analyst (and gdalinfo) uses, and whether geotiff.js
 * can decode them. Checked when a raster is opened so an unreadable file fails at once with a
 * clear message instead of deep inside a tile read.
 */
export const COMPRESSIONS: Record<number, { name: string; readable: boolean }> = {
  1: { name: 'NONE', readable: true },
  2: { name: 'CCITTRLE', readable: false },
  3: { name: 'CCITTFAX3', readable: false },
  4: { name: 'CCITTFAX4', readable: false },
  5: { name: 'LZW', readable: true },
  6: { name: 'OJPEG', readable: false },
  7: { name: 'JPEG', readable: true },
  8: { name: 'DEFLATE', readable: true },
  32773: { name: 'PACKBITS', readable: true },
  32946: { name: 'DEFLATE', readable: true },
  34712: { name: 'JPEG2000', readable: false },
  34887: { name: 'LERC', readable: true },
  34925: { name: 'LZMA', readable: false },
  50000: { name: 'ZSTD', readable: true },
  // geotiff.js decodes WebP through browser image APIs that Node lacks.
  50001: { name: 'WEBP', readable: false },
  50002: { name: 'JXL', readable: false },
};

export function compressionName(code: number): string {
  return COMPRESSIONS[code]?.name ?? `compression code ${code}`;
}
